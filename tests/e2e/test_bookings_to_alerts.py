"""Thin path 1: a booking goes outbox -> Kafka -> notification service -> facilitator's socket."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import websocket

from notification_service.store import InboxStore
from tests.support.people import register_person
from tests.support.stack import Stack, http_json

pytestmark = pytest.mark.e2e


def _session(stack: Stack, owner: dict[str, Any], capacity: int = 10, title: str = "Drum circle") -> dict[str, Any]:
    status, listing = http_json(
        "POST",
        f"{stack.base}/api/sessions",
        {
            "title": title,
            "starts_at": "2031-05-01T18:00:00+00:00",
            "ends_at": "2031-05-01T20:00:00+00:00",
            "capacity": capacity,
            "status": "published",
        },
        token=owner["access_token"],
    )
    assert status == 201, listing
    return dict(listing)


def _socket(stack: Stack, token: str, since: int | None = None) -> websocket.WebSocket:
    ws = websocket.create_connection(stack.base.replace("http", "ws") + "/ws/notifications", timeout=30)
    ws.send(json.dumps({"type": "auth", "token": token, "since": since}))
    return ws


def _next_notification(ws: websocket.WebSocket) -> dict[str, Any]:
    """The next `notification` message (the socket also says its store `epoch` first)."""
    while True:
        message = json.loads(ws.recv())
        if message["type"] == "notification":
            return dict(message)


def _book(stack: Stack, person: dict[str, Any], session_id: int) -> dict[str, Any]:
    status, body = http_json(
        "POST", f"{stack.base}/api/bookings", {"session_id": session_id}, token=person["access_token"]
    )
    assert status == 201, body
    return dict(body)


def test_a_booking_reaches_the_facilitators_open_socket(stack: Stack) -> None:
    facilitator = register_person(stack.base, ["facilitator"], "Fran Host")
    guest = register_person(stack.base, ["user"], "Gus Guest")
    listing = _session(stack, facilitator)
    ws = _socket(stack, facilitator["access_token"])
    time.sleep(0.3)  # let the gateway subscribe before the booking happens
    started = time.monotonic()
    booking = _book(stack, guest, listing["id"])
    message = _next_notification(ws)
    latency = time.monotonic() - started
    ws.close()
    assert message["type"] == "notification" and message["kind"] == "booking.created"
    assert message["data"]["booking_id"] == booking["id"] and message["data"]["session_id"] == listing["id"]
    assert "Gus Guest" in message["body"] and isinstance(message["id"], int)
    print(f"\nbooking -> facilitator socket: {latency * 1000:.0f} ms")
    # The guest is told too, and the inbox API returns the same stored notification.
    status, inbox = http_json("GET", f"{stack.base}/api/notifications?since=0", token=facilitator["access_token"])
    assert status == 200 and [n["id"] for n in inbox["items"]] == [message["id"]]


def test_reconnecting_with_since_gets_only_what_was_missed(stack: Stack) -> None:
    facilitator = register_person(stack.base, ["facilitator"], "Fay Host")
    listing = _session(stack, facilitator, capacity=20)
    first_guest = register_person(stack.base, ["user"], "First Guest")
    _book(stack, first_guest, listing["id"])
    ws = _socket(stack, facilitator["access_token"])
    first = _next_notification(ws)
    ws.close()
    guests = [register_person(stack.base, ["user"], f"Guest {i}") for i in range(3)]
    bookings = [_book(stack, guest, listing["id"]) for guest in guests]
    ws = _socket(stack, facilitator["access_token"], since=first["id"])
    missed = [_next_notification(ws) for _ in bookings]
    assert [m["data"]["booking_id"] for m in missed] == [b["id"] for b in bookings]
    assert all(m["id"] > first["id"] for m in missed)
    ws.settimeout(1.5)
    with pytest.raises(websocket.WebSocketTimeoutException):
        _next_notification(ws)  # nothing twice
    ws.close()


def test_relay_killed_between_publish_and_mark_still_yields_one_notification(stack: Stack) -> None:
    facilitator = register_person(stack.base, ["facilitator"], "Kim Host")
    listing = _session(stack, facilitator)
    first, second = (register_person(stack.base, ["user"], n) for n in ("Ann Crash", "Ben After"))
    stack.kill("relay", sig=15)
    stack.start("relay", {"DOWNBEAT_RELAY__FAILPOINT": "after_publish"})
    try:
        crashed = _book(stack, first, listing["id"])
        assert stack.wait_exit("relay", timeout=60) == -9  # killed itself after publishing, before marking
        outbox = _outbox_state(stack)
        assert outbox[crashed["id"]] is None  # still unsent: the restart will publish it again
    finally:
        if "relay" in stack.processes:
            stack.kill("relay")
        stack.start("relay")  # the rest of the session needs a working relay, whatever happened here
        stack.wait_ready("relay")
    marker = _book(stack, second, listing["id"])  # same key, same partition: consumed after the duplicate
    ws = _socket(stack, facilitator["access_token"])
    seen = [_next_notification(ws) for _ in range(2)]
    ws.settimeout(1.5)
    with pytest.raises(websocket.WebSocketTimeoutException):
        _next_notification(ws)
    ws.close()
    assert [n["data"]["booking_id"] for n in seen] == [crashed["id"], marker["id"]]
    assert _outbox_state(stack)[crashed["id"]] is not None
    store = InboxStore.from_url(f"sqlite:///{stack.data_dir / 'notifications.db'}")
    event_id = _event_id(stack, crashed["id"])
    assert store.count_for_event(event_id) == 2  # owner and attendee, once each


def _outbox_state(stack: Stack) -> dict[int, object]:
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{stack.data_dir / 'downbeat.db'}")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT payload, sent_at FROM outbox")).all()
    engine.dispose()
    booked = [(json.loads(payload), sent) for payload, sent in rows]
    return {event["booking_id"]: sent for event, sent in booked if event["type"] == "booking.created"}


def _event_id(stack: Stack, booking_id: int) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{stack.data_dir / 'downbeat.db'}")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT event_id, payload FROM outbox")).all()
    engine.dispose()
    return next(
        str(eid)
        for eid, payload in rows
        if json.loads(payload)["type"] == "booking.created" and json.loads(payload)["booking_id"] == booking_id
    )
