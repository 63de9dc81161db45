"""Booking -> facilitator's socket latency through every process (control plane, outbox,
relay, Tansu, notification service, Redis, gateway)."""

from __future__ import annotations

import json
import statistics
import time

import pytest
import websocket

from tests.benchmarks.report import report
from tests.support.people import register_person
from tests.support.stack import Stack, http_json

pytestmark = pytest.mark.benchmark
BOOKINGS = 50


def test_bench_booking_alert_latency(stack: Stack) -> None:
    owner = register_person(stack.base, ["facilitator"], "Bench Host")
    status, listing = http_json(
        "POST",
        f"{stack.base}/api/sessions",
        {
            "title": "Bench",
            "starts_at": "2031-05-01T18:00:00+00:00",
            "ends_at": "2031-05-01T20:00:00+00:00",
            "capacity": BOOKINGS,
            "status": "published",
        },
        token=owner["access_token"],
    )
    assert status == 201
    guests = [register_person(stack.base, ["user"], f"Guest {i}") for i in range(BOOKINGS)]
    ws = websocket.create_connection(stack.base.replace("http", "ws") + "/ws/notifications", timeout=30)
    ws.send(json.dumps({"type": "auth", "token": owner["access_token"], "since": None}))
    time.sleep(0.5)
    latencies = []
    for guest in guests:
        started = time.perf_counter()
        code, _ = http_json(
            "POST", f"{stack.base}/api/bookings", {"session_id": listing["id"]}, token=guest["access_token"]
        )
        assert code == 201
        while json.loads(ws.recv())["type"] != "notification":
            pass
        latencies.append((time.perf_counter() - started) * 1000)
    ws.close()
    latencies.sort()
    p50 = statistics.median(latencies)
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    report(
        "booking_alert_latency",
        ["bookings", "p50 ms", "p95 ms", "max ms", "min ms"],
        [[BOOKINGS, p50, p95, max(latencies), latencies[0]]],
        "POST /api/bookings until the facilitator's /ws/notifications socket receives the alert.",
    )
    assert len(latencies) == BOOKINGS
