"""Concurrency in the pretix style: first show the race exists without the guard, then hammer
the real endpoints from many threads (each with its own connection) and require exactly the
right number of successes. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from control_plane.catalog.models import Booking, CatalogSession
from control_plane.kits.extensions import db
from tests.integration.api_helpers import bearer, new_session, register
from tests.integration.people import many_people


def _parallel(count: int, fn: Any, items: list[Any]) -> list[Any]:
    barrier = threading.Barrier(min(count, len(items)))

    def run(item: Any) -> Any:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=30)
        return fn(item)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, items))


def _held_seats(app: Flask, session_id: int) -> tuple[int, int, int]:
    with app.app_context():
        listing = db.session.get(CatalogSession, session_id)
        assert listing is not None
        held = db.session.scalar(
            select(func.coalesce(func.sum(Booking.seats), 0)).where(
                Booking.session_id == session_id, Booking.status.in_(("confirmed", "pending_payment"))
            )
        )
        result = (listing.seats_taken, int(held or 0), listing.capacity)
        db.session.remove()
    return result


def test_the_race_exists_without_the_guard(app: Flask, database_url: str) -> None:
    """A naive read-check-write booking (what the guard replaces) oversells under load."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite serialises every write transaction (BEGIN IMMEDIATE): the naive race cannot happen")
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    listing = new_session(client, owner, capacity=5)
    people = many_people(app, 40)

    def naive_book(person: dict[str, Any]) -> bool:
        with app.app_context():
            conn = db.engine.connect()
            try:
                with conn.begin():
                    taken = conn.execute(
                        text("SELECT seats_taken, capacity FROM sessions WHERE id = :id"), {"id": listing["id"]}
                    ).one()
                    if taken.seats_taken >= taken.capacity:
                        return False
                    conn.execute(
                        text("UPDATE sessions SET seats_taken = :n WHERE id = :id"),
                        {"n": taken.seats_taken + 1, "id": listing["id"]},
                    )
                    conn.execute(
                        text(
                            "INSERT INTO bookings (session_id, user_id, seats, status, notes, amount, currency, "
                            "created_at, updated_at, cancel_reason) VALUES (:s, :u, 1, 'confirmed', '', 0, 'EUR', "
                            "now(), now(), '')"
                        ),
                        {"s": listing["id"], "u": person["user"]["id"]},
                    )
                return True
            finally:
                conn.close()

    results = _parallel(40, naive_book, people)
    assert sum(results) > 5  # oversold: the naive check let more than the capacity in


def test_200_people_racing_for_10_seats(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    listing = new_session(client, owner, capacity=10)
    people = many_people(app, 200)

    def book(person: dict[str, Any]) -> tuple[int, str]:
        waitlist = person["user"]["id"] % 2 == 0
        response = app.test_client().post(
            "/api/bookings", json={"session_id": listing["id"], "waitlist": waitlist}, headers=bearer(person)
        )
        body = response.get_json()
        return response.status_code, body["code"] if response.status_code >= 400 else body["status"]

    outcomes = Counter(_parallel(50, book, people))
    confirmed = outcomes[(201, "confirmed")]
    assert confirmed == 10, outcomes
    assert confirmed + outcomes[(201, "waitlisted")] + outcomes[(409, "session-full")] == 200, outcomes
    assert _held_seats(app, listing["id"]) == (10, 10, 10)


def test_one_person_sending_20_requests_at_once_gets_one_booking(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    listing = new_session(client, owner, capacity=50)
    (person,) = many_people(app, 1)

    def book(_: int) -> int:
        return (
            app.test_client()
            .post("/api/bookings", json={"session_id": listing["id"]}, headers=bearer(person))
            .status_code
        )

    statuses = Counter(_parallel(20, book, list(range(20))))
    assert statuses == {201: 1, 409: 19}
    assert _held_seats(app, listing["id"]) == (1, 1, 50)


def test_cancellations_racing_with_promotion_never_exceed_capacity(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    for _round in range(3):
        listing = new_session(client, owner, capacity=3)
        holders = many_people(app, 3)
        waiting = many_people(app, 6)
        held = [
            client.post("/api/bookings", json={"session_id": listing["id"]}, headers=bearer(p)).get_json()
            for p in holders
        ]
        queued = [
            client.post(
                "/api/bookings", json={"session_id": listing["id"], "waitlist": True}, headers=bearer(p)
            ).get_json()
            for p in waiting
        ]
        assert {b["status"] for b in held} == {"confirmed"} and {b["status"] for b in queued} == {"waitlisted"}

        def act(
            index: int,
            held: list[Any] = held,
            holders: list[Any] = holders,
            queued: list[Any] = queued,
            waiting: list[Any] = waiting,
        ) -> int:
            c = app.test_client()
            if index < 3:  # the three seat holders cancel at once...
                return c.post(
                    f"/api/bookings/{held[index]['id']}/cancel", json={}, headers=bearer(holders[index])
                ).status_code
            # ...while three people on the waitlist leave it and others try to book directly
            j = index - 3
            if j < 3:
                return c.post(
                    f"/api/bookings/{queued[j + 3]['id']}/cancel", json={}, headers=bearer(waiting[j + 3])
                ).status_code
            return 0

        assert _parallel(6, act, list(range(6))).count(200) == 6
        taken, held_now, capacity = _held_seats(app, listing["id"])
        assert taken == held_now == capacity == 3
        # First come, first served: the three earliest on the waitlist got the seats.
        for booking, person in zip(queued[:3], waiting[:3], strict=True):
            got = client.get(f"/api/bookings/{booking['id']}", headers=bearer(person)).get_json()
            assert got["status"] == "confirmed"
