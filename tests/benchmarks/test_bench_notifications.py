"""Notification path under load: booking -> facilitator's socket latency at 50 bookings per
second (every process involved), and how many notifications per second one worker stores and
pushes when it has a backlog."""

from __future__ import annotations

import json
import sqlite3
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import websocket

from contracts import BookingCreated, encode
from contracts.topics import BOOKING_EVENTS
from downbeat.kafka import make_producer
from tests.benchmarks.report import report
from tests.support.people import register_person
from tests.support.stack import Stack, http_json

pytestmark = pytest.mark.benchmark
RATE = 50  # bookings per second
BOOKINGS = 100
BACKLOG = 2000


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _listen(ws: websocket.WebSocket, arrivals: dict[int, float], expected: int) -> None:
    while len(arrivals) < expected:
        try:
            message = json.loads(ws.recv())
        except (websocket.WebSocketException, OSError, ValueError):
            return
        if message.get("type") == "notification":
            arrivals[message["data"]["booking_id"]] = time.perf_counter()


def test_bench_alert_latency_at_50_bookings_per_second(stack: Stack) -> None:
    owner = register_person(stack.base, ["facilitator"], "Rate Host")
    status, listing = http_json(
        "POST",
        f"{stack.base}/api/sessions",
        {
            "title": "Rate bench",
            "starts_at": "2031-09-01T18:00:00+00:00",
            "ends_at": "2031-09-01T20:00:00+00:00",
            "capacity": BOOKINGS,
            "status": "published",
        },
        token=owner["access_token"],
    )
    assert status == 201
    with ThreadPoolExecutor(8) as pool:
        guests = list(pool.map(lambda i: register_person(stack.base, ["user"], f"Rate {i}"), range(BOOKINGS)))
    ws = websocket.create_connection(stack.base.replace("http", "ws") + "/ws/notifications", timeout=60)
    ws.send(json.dumps({"type": "auth", "token": owner["access_token"], "since": None}))
    arrivals: dict[int, float] = {}
    listener = threading.Thread(target=_listen, args=(ws, arrivals, BOOKINGS), daemon=True)
    listener.start()
    time.sleep(0.5)
    returned: dict[int, float] = {}
    start = time.perf_counter() + 0.2

    def book(i: int) -> None:
        time.sleep(max(0.0, start + i / RATE - time.perf_counter()))  # a steady 50 per second
        code, body = http_json(
            "POST", f"{stack.base}/api/bookings", {"session_id": listing["id"]}, token=guests[i]["access_token"]
        )
        assert code == 201, body
        returned[body["id"]] = time.perf_counter()

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(book, range(BOOKINGS)))
    achieved = BOOKINGS / (max(returned.values()) - start)
    listener.join(60)
    ws.close()
    latencies = [(arrivals[b] - t) * 1000 for b, t in returned.items() if b in arrivals]
    report(
        "notification_latency_at_rate",
        ["bookings", "target/s", "achieved/s", "received", "p50 ms", "p95 ms", "p99 ms", "max ms"],
        [
            [
                BOOKINGS,
                RATE,
                achieved,
                len(latencies),
                statistics.median(latencies),
                _percentile(latencies, 0.95),
                _percentile(latencies, 0.99),
                max(latencies),
            ]
        ],
        "From POST /api/bookings returning to the alert on the facilitator's /ws/notifications socket.",
    )
    assert len(latencies) == BOOKINGS


def test_bench_notifications_per_second_one_worker_sustains(stack: Stack) -> None:
    owner = register_person(stack.base, ["facilitator"], "Backlog Host")
    uid = int(owner["user"]["id"])
    producer = make_producer(stack.bootstrap, client_id="notification-bench", acks=1)
    first = 60_000_000
    for booking_id in range(first, first + BACKLOG):
        event: Any = BookingCreated(
            booking_id=booking_id,
            session_id=first + booking_id % 8,
            session_title="Backlog",
            owner_id=uid,
            attendee_id=uid,
            attendee_name="Load",
            seats=1,
            status="confirmed",
            starts_at=datetime(2031, 9, 2, 18, tzinfo=UTC),
        )
        producer.send(BOOKING_EVENTS, key=event.partition_key, value=encode(event))
    producer.flush(60)
    producer.close(10)
    deadline = time.monotonic() + 120
    rows: list[tuple[str]] = []
    while time.monotonic() < deadline:
        with sqlite3.connect(stack.data_dir / "notifications.db", timeout=30) as conn:
            rows = conn.execute("SELECT created_at FROM notifications WHERE user_id = ? ORDER BY id", (uid,)).fetchall()
        if len(rows) >= BACKLOG:
            break
        time.sleep(0.5)
    stamps = [datetime.fromisoformat(r[0]) for r in rows]
    seconds = (stamps[-1] - stamps[0]).total_seconds()
    report(
        "notification_worker_throughput",
        ["notifications", "seconds", "per second"],
        [[len(rows), seconds, (len(rows) - 1) / seconds]],
        "One notification worker (concurrency 1, SQLite store) draining a backlog on booking.events:"
        " decode, store (one transaction per event), publish to Redis.",
    )
    assert len(rows) == BACKLOG
