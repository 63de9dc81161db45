"""Nobody misses an alert: offline catch-up, store epochs, and the faults that could lose or
double a notification (worker SIGKILL mid-stream, Redis restart mid-delivery). Real broker,
Redis, processes; events are produced straight to Kafka where speed matters."""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import redis
import websocket

from contracts import BookingCreated, encode
from contracts.topics import BOOKING_EVENTS
from downbeat.embedded import redis_command
from downbeat.kafka import make_producer
from tests.support.people import register_person
from tests.support.services import wait_port
from tests.support.stack import Stack, http_json

pytestmark = pytest.mark.e2e
SYNTHETIC_BOOKING_IDS = 50_000_000  # far above real ids: no clash with reminder keys


class Listener:
    """A /ws/notifications client reading in a thread, as a browser tab would."""

    def __init__(self, stack: Stack, token: str, since: int | None = None, epoch: str | None = None) -> None:
        self.messages: list[dict[str, Any]] = []
        self._ws = websocket.create_connection(stack.base.replace("http", "ws") + "/ws/notifications", timeout=60)
        self._ws.send(json.dumps({"type": "auth", "token": token, "since": since, "epoch": epoch}))
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while raw := self._ws.recv():
                self.messages.append(json.loads(raw))
        except (websocket.WebSocketException, OSError):
            pass  # closed

    @property
    def notes(self) -> list[dict[str, Any]]:
        return [m for m in list(self.messages) if m["type"] == "notification"]

    def wait(self, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.notes) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.notes

    def close(self) -> None:
        self._ws.close()
        self._thread.join(5)


def _session(stack: Stack, owner: dict[str, Any], capacity: int) -> dict[str, Any]:
    status, body = http_json(
        "POST",
        f"{stack.base}/api/sessions",
        {
            "title": "Late night jam",
            "starts_at": "2031-05-01T18:00:00+00:00",
            "ends_at": "2031-05-01T20:00:00+00:00",
            "capacity": capacity,
            "status": "published",
        },
        token=owner["access_token"],
    )
    assert status == 201, body
    return dict(body)


def _inbox(stack: Stack, person: dict[str, Any], since: int = 0) -> dict[str, Any]:
    status, body = http_json(
        "GET", f"{stack.base}/api/notifications?since={since}&limit=500", token=person["access_token"]
    )
    assert status == 200, body
    return dict(body)


def _wait_inbox(stack: Stack, person: dict[str, Any], count: int, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        page = _inbox(stack, person)
        if len(page["items"]) >= count or time.monotonic() > deadline:
            return page
        time.sleep(0.2)


def test_an_offline_facilitator_gets_exactly_the_missed_bookings_in_order(stack: Stack) -> None:
    facilitator = register_person(stack.base, ["facilitator"], "Olga Offline")
    listing = _session(stack, facilitator, capacity=60)
    first = Listener(stack, facilitator["access_token"])
    time.sleep(0.5)
    first.close()
    epoch = first.messages[0]["epoch"]
    assert first.messages[0]["type"] == "epoch" and first.notes == []

    with ThreadPoolExecutor(8) as pool:
        guests = list(pool.map(lambda i: register_person(stack.base, ["user"], f"Offline Guest {i}"), range(50)))
    booked = []
    for guest in guests:
        status, body = http_json(
            "POST", f"{stack.base}/api/bookings", {"session_id": listing["id"]}, token=guest["access_token"]
        )
        assert status == 201, body
        booked.append(body["id"])
    assert len(_wait_inbox(stack, facilitator, 50)["items"]) == 50

    back = Listener(stack, facilitator["access_token"], since=None, epoch=epoch)
    missed = back.wait(50)
    time.sleep(1.0)  # anything extra would arrive now
    back.close()
    assert back.messages[0] == {"type": "epoch", "epoch": epoch}
    assert len(back.notes) == 50
    assert [n["data"]["booking_id"] for n in missed] == booked  # exactly those, in booking order
    ids = [n["id"] for n in missed]
    assert ids == sorted(set(ids)) and all(n["epoch"] == epoch for n in missed)

    again = Listener(stack, facilitator["access_token"], since=ids[-1], epoch=epoch)
    time.sleep(1.5)
    again.close()
    assert [m["type"] for m in again.messages] == ["epoch"]  # nothing more


def test_a_client_from_another_store_epoch_is_reset_and_gets_everything(stack: Stack) -> None:
    facilitator = register_person(stack.base, ["facilitator"], "Eve Epoch")
    listing = _session(stack, facilitator, capacity=5)
    guest = register_person(stack.base, ["user"], "Ed Epoch")
    assert (
        http_json("POST", f"{stack.base}/api/bookings", {"session_id": listing["id"]}, token=guest["access_token"])[0]
        == 201
    )
    page = _wait_inbox(stack, facilitator, 1)
    assert page["epoch"] and page["unread"] == 1 and page["last_id"] == page["items"][0]["id"]

    stale = Listener(stack, facilitator["access_token"], since=page["last_id"] + 1000, epoch="an-old-store")
    stale.wait(1, timeout=10)
    time.sleep(0.5)
    stale.close()
    kinds = [m["type"] for m in stale.messages]
    assert kinds == ["epoch", "reset", "notification"]
    assert stale.messages[1]["epoch"] == page["epoch"]
    assert stale.notes[0]["id"] == page["last_id"]


def _user_id(person: dict[str, Any]) -> int:
    return int(person["user"]["id"])


def _produce_bookings(stack: Stack, owner_id: int, count: int, sessions: int, first_booking: int) -> list[int]:
    """BookingCreated events straight onto booking.events (several sessions: several partitions).
    The attendee is the owner, so each event tells exactly one person: the owner."""
    producer = make_producer(stack.bootstrap, client_id="notification-fault-test", acks=1)
    booking_ids = list(range(first_booking, first_booking + count))
    try:
        for booking_id in booking_ids:
            event = BookingCreated(
                booking_id=booking_id,
                session_id=first_booking + booking_id % sessions,
                session_title="Fault drill",
                owner_id=owner_id,
                attendee_id=owner_id,
                attendee_name="Drill",
                seats=1,
                status="confirmed",
                starts_at=datetime(2031, 6, 1, 18, tzinfo=UTC),
            )
            producer.send(BOOKING_EVENTS, key=event.partition_key, value=encode(event))
        producer.flush(60)
    finally:
        producer.close(10)
    return booking_ids


def _stored(stack: Stack, user_id: int) -> list[tuple[int, str, int]]:
    with sqlite3.connect(stack.data_dir / "notifications.db", timeout=30) as conn:
        rows = conn.execute(
            "SELECT id, event_id, data FROM notifications WHERE user_id = ? ORDER BY id", (user_id,)
        ).fetchall()
    return [(i, e, json.loads(d)["booking_id"]) for i, e, d in rows]


def _wait_stored(stack: Stack, user_id: int, count: int, timeout: float) -> list[tuple[int, str, int]]:
    deadline = time.monotonic() + timeout
    while True:
        rows = _stored(stack, user_id)
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def test_sigkill_of_the_worker_mid_stream_loses_and_doubles_nothing(stack: Stack) -> None:
    facilitator = register_person(stack.base, ["facilitator"], "Kai Killed")
    uid = _user_id(facilitator)
    client = Listener(stack, facilitator["access_token"])
    time.sleep(0.5)
    total = 1000
    producing = threading.Thread(
        target=_produce_bookings, args=(stack, uid, total, 8, SYNTHETIC_BOOKING_IDS), daemon=True
    )
    producing.start()
    before_kill = len(_wait_stored(stack, uid, total // 4, timeout=60))
    assert before_kill < total, "the worker finished before the kill; nothing was tested"
    stack.kill("notifications")  # SIGKILL: no clean commit, no goodbye to the group
    killed_at = len(_stored(stack, uid))
    stack.start("notifications")
    stack.wait_ready("notifications")
    producing.join(60)
    rows = _wait_stored(stack, uid, total, timeout=120)
    client.wait(total, timeout=60)
    time.sleep(1.0)
    client.close()

    print(f"\nSIGKILL after {killed_at} of {total} stored; after restart {len(rows)} stored")
    assert len(rows) == total  # from the store: nothing lost, nothing twice
    assert sorted(b for _, _, b in rows) == list(range(SYNTHETIC_BOOKING_IDS, SYNTHETIC_BOOKING_IDS + total))
    assert len({e for _, e, _ in rows}) == total
    ids = [n["id"] for n in client.notes]  # from the client that stayed connected
    assert len(ids) == len(set(ids)) == total
    assert set(ids) == {i for i, _, _ in rows}


_REPLACEMENTS: list[subprocess.Popen[bytes]] = []


@pytest.fixture(scope="session", autouse=True)
def _stop_replacement_redis() -> Iterator[None]:
    """A Redis started by a test keeps serving the rest of the session; stop it at the end."""
    yield
    for process in _REPLACEMENTS:
        process.terminate()
        process.wait(10)


@pytest.fixture
def restart_redis(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Callable[[], None]:
    """Stops the stack's private Redis and starts a fresh one on the same port."""
    port = urlparse(stack.redis_url).port
    binary = shutil.which("redis-server")
    assert port and binary

    def restart() -> None:
        with contextlib.suppress(redis.ConnectionError):  # it answers by closing the connection
            redis.Redis.from_url(stack.redis_url).shutdown(nosave=True)
        time.sleep(1.0)  # publishes fail meanwhile: those notifications exist only in the store
        folder: Path = tmp_path_factory.mktemp("redis-again")
        _REPLACEMENTS.append(subprocess.Popen(redis_command(binary, port, folder), stdout=subprocess.DEVNULL))
        wait_port(port)

    return restart


def test_a_redis_restart_during_delivery_loses_nothing(stack: Stack, restart_redis: Callable[[], None]) -> None:
    facilitator = register_person(stack.base, ["facilitator"], "Rita Restart")
    uid = _user_id(facilitator)
    client = Listener(stack, facilitator["access_token"])
    time.sleep(0.5)
    total = 300
    producing = threading.Thread(
        target=_produce_bookings, args=(stack, uid, total, 4, SYNTHETIC_BOOKING_IDS + 10_000), daemon=True
    )
    producing.start()
    client.wait(30, timeout=60)
    restart_redis()
    producing.join(60)
    rows = _wait_stored(stack, uid, total, timeout=90)
    received = client.wait(total, timeout=60)
    time.sleep(1.0)
    client.close()
    assert len(rows) == total
    ids = [n["id"] for n in received]
    assert len(ids) == len(set(ids)) == total  # the open socket resynced from the store
    fresh = Listener(stack, facilitator["access_token"], since=None)  # and a reconnecting one gets all
    assert [n["id"] for n in fresh.wait(total)] == [i for i, _, _ in rows]
    fresh.close()
