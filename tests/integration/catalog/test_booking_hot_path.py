"""The two-statement booking on PostgreSQL gives the same answers, rows and events as the
portable path, and its idempotency claim behaves like the advisory lock it replaced.
Runs on SQLite too (there the portable path answers), so both paths are held to one spec."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from flask import Flask
from sqlalchemy import event, func, select, text

from contracts import BookingCreated, decode
from control_plane.catalog.models import Booking
from control_plane.kits.extensions import db
from control_plane.kits.idempotency import IdempotencyRecord
from control_plane.kits.outbox.models import OutboxMessage
from tests.integration.api_helpers import bearer, new_session, register


def test_stored_answer_and_event_match_the_answer_given(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"], name="Fran")
    attendee = register(client, name="Ana")
    listing = new_session(client, owner, capacity=4)
    headers = {**bearer(attendee), "Idempotency-Key": "hot-1"}
    first = client.post("/api/bookings", json={"session_id": listing["id"], "notes": "aisle"}, headers=headers)
    assert first.status_code == 201
    body = first.get_json()
    assert (body["status"], body["notes"], body["payment"]) == ("confirmed", "aisle", None)
    assert (body["session"]["seats_taken"], body["session"]["seats_left"]) == (1, 3)
    assert body["session"]["owner_name"] == "Fran" and body["session"]["starts_at"] == "2031-05-01T16:00:00+00:00"
    replay = client.post("/api/bookings", json={"session_id": listing["id"], "notes": "aisle"}, headers=headers)
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.get_json() == body
    assert client.get(f"/api/bookings/{body['id']}", headers=bearer(attendee)).get_json() == body
    with app.app_context():
        (row,) = db.session.scalars(select(OutboxMessage)).all()
        created = decode(row.payload)
        assert isinstance(created, BookingCreated)
        assert (created.booking_id, created.session_id, created.owner_id, created.attendee_id) == (
            body["id"],
            listing["id"],
            owner["user"]["id"],
            attendee["user"]["id"],
        )
        assert (created.attendee_name, created.seats, created.status) == ("Ana", 1, "confirmed")
        assert created.starts_at.isoformat() == body["session"]["starts_at"]
        assert (row.topic, row.key, row.event_type) == ("booking.events", str(listing["id"]).encode(), created.type)
        record = db.session.scalar(select(IdempotencyRecord))
        assert record is not None and record.status_code == 201 and json.loads(record.response_body) == body
        db.session.remove()


def test_postgres_bookings_take_the_hot_path(app: Flask, database_url: str) -> None:
    """On PostgreSQL the token family check, the key claim, the booking and its event all go
    through the driver directly (no SQLAlchemy statement at all); SQLite takes the ORM path."""
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    attendee = register(client)
    listing = new_session(client, owner)
    statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.post(
            "/api/bookings",
            json={"session_id": listing["id"]},
            headers={**bearer(attendee), "Idempotency-Key": "budget"},
        )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 201
    touched = [s for s in statements if "bookings" in s or "sessions" in s or "idempotency_keys" in s]
    if database_url.startswith("postgresql"):
        assert statements == [], statements
    else:
        assert len(touched) >= 4, statements  # the portable ORM path, for contrast


def test_paid_sessions_and_the_waitlist_still_take_the_full_path(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    payer, second, waiting = register(client), register(client), register(client)
    paid = new_session(client, owner, capacity=1, price={"amount": 1500, "currency": "EUR"})
    held = client.post("/api/bookings", json={"session_id": paid["id"], "seats": 1}, headers=bearer(payer))
    assert held.status_code == 201
    assert held.get_json()["status"] == "pending_payment" and held.get_json()["payment"]["status"] == "pending"
    full = client.post("/api/bookings", json={"session_id": paid["id"]}, headers=bearer(second))
    assert full.status_code == 409 and full.get_json()["code"] == "session-full"
    assert full.mimetype == "application/problem+json"
    queued = client.post("/api/bookings", json={"session_id": paid["id"], "waitlist": True}, headers=bearer(waiting))
    assert queued.status_code == 201 and queued.get_json()["status"] == "waitlisted"
    assert queued.get_json()["waitlist_position"] == 1
    again = client.post("/api/bookings", json={"session_id": paid["id"]}, headers=bearer(waiting))
    assert again.status_code == 409 and again.get_json()["code"] == "already-booked"


def test_twin_requests_with_one_key_make_one_booking(app: Flask) -> None:
    """Ten copies of one request at once: one booking, every answer the same booking."""
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    attendee = register(client)
    listing = new_session(client, owner, capacity=5)
    headers = {**bearer(attendee), "Idempotency-Key": "twins"}
    barrier = threading.Barrier(10)

    def book(_: int) -> tuple[int, Any]:
        barrier.wait(timeout=30)
        response = app.test_client().post("/api/bookings", json={"session_id": listing["id"]}, headers=headers)
        body = response.get_json()
        return response.status_code, body.get("id", body.get("code"))

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = Counter(pool.map(book, range(10)))
    assert len(outcomes) == 1 and next(iter(outcomes))[0] == 201, outcomes
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 1
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
        db.session.remove()


def test_a_logged_out_token_books_nothing_on_either_path(app: Flask) -> None:
    """The booking view skips jwt_required's family check to make it in its own first
    statement (PostgreSQL) or through require_live_token (every other path)."""
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    attendee = register(client)
    free = new_session(client, owner, capacity=2)
    paid = new_session(client, owner, capacity=2, price={"amount": 900, "currency": "EUR"})
    assert client.post("/api/auth/logout", headers=bearer(attendee)).status_code == 204
    for body in ({"session_id": free["id"]}, {"session_id": paid["id"]}, {"session_id": free["id"], "waitlist": True}):
        for headers in (bearer(attendee), {**bearer(attendee), "Idempotency-Key": f"out-{body}"}):
            refused = client.post("/api/bookings", json=body, headers=headers)
            assert refused.status_code == 401 and refused.get_json()["code"] == "token-revoked", refused.get_json()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 0
        assert db.session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
        db.session.remove()


def test_pooled_connections_go_back_transactional(app: Flask) -> None:
    """The hot path borrows connections in autocommit mode; the ORM must never get one so."""
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    listing = new_session(client, owner, capacity=10)
    people = [register(client) for _ in range(3)]
    for person in people:
        assert (
            client.post("/api/bookings", json={"session_id": listing["id"]}, headers=bearer(person)).status_code == 201
        )
    full = new_session(client, owner, capacity=1)
    assert client.post("/api/bookings", json={"session_id": full["id"]}, headers=bearer(people[0])).status_code == 201
    refused = client.post("/api/bookings", json={"session_id": full["id"]}, headers=bearer(people[1]))
    assert refused.status_code == 409  # a refusal leaves the borrowed connection in the pool too
    with app.app_context():
        pooled = [db.engine.raw_connection() for _ in range(3)]
        try:
            for connection in pooled:
                assert getattr(connection.driver_connection, "autocommit", False) is False
        finally:
            for connection in pooled:
                connection.close()
        # A write through the ORM that is rolled back leaves nothing: it ran in a transaction.
        db.session.execute(text("UPDATE sessions SET title = 'changed' WHERE id = :id"), {"id": listing["id"]})
        db.session.rollback()
        title = db.session.scalar(text("SELECT title FROM sessions WHERE id = :id"), {"id": listing["id"]})
        assert title == "Drum circle"
        db.session.remove()
