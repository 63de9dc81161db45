from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from sqlalchemy import func, select

from contracts import BookingCreated, decode
from control_plane.catalog.models import Booking, CatalogSession
from control_plane.kits.extensions import db
from control_plane.kits.outbox.models import OutboxMessage
from tests.integration.api_helpers import SESSION, bearer, count_rows, new_session, problem, register
from tests.integration.people import many_people


def _counts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        bookings = db.session.scalar(select(func.count()).select_from(Booking)) or 0
        events = db.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
        db.session.remove()
    return bookings, events


def test_booking_writes_the_booking_and_its_event_together(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"], name="Fran")
    attendee = register(client, name="Ana")
    listing = new_session(client, owner, price={"amount": 0, "currency": "EUR"})
    response = client.post("/api/bookings", json={"session_id": listing["id"]}, headers=bearer(attendee))
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "confirmed"
    assert body["session"]["seats_taken"] == 1 and body["session"]["seats_left"] == 2
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage)).all()
        assert len(rows) == 1 and rows[0].sent_at is None and rows[0].topic == "booking.events"
        event = decode(rows[0].payload)  # the producer emits a valid contract event
        assert isinstance(event, BookingCreated)
        assert (event.booking_id, event.owner_id, event.attendee_name) == (body["id"], owner["user"]["id"], "Ana")
        assert rows[0].key == str(listing["id"]).encode()
        db.session.remove()


def test_already_booked_and_bad_input_change_nothing(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["creator"])
    attendee = register(client)
    listing = new_session(client, owner)
    assert client.post("/api/bookings", json={"session_id": listing["id"]}, headers=bearer(attendee)).status_code == 201
    before = _counts(app)
    again = client.post("/api/bookings", json={"session_id": listing["id"]}, headers=bearer(attendee))
    assert again.status_code == 409 and again.get_json()["code"] == "already-booked"
    for bad in (
        {"session_id": "one"},
        {"session_id": listing["id"], "seats": 0},
        {"seats": 1},
        {"session_id": listing["id"], "waitlist": "maybe"},
    ):
        response = client.post("/api/bookings", json=bad, headers=bearer(attendee))
        assert response.status_code == 422, bad
        assert response.mimetype == "application/problem+json"
    missing = client.post("/api/bookings", json={"session_id": 999999}, headers=bearer(attendee))
    assert missing.status_code == 404
    assert _counts(app) == before


def test_idempotency_key_replays_and_refuses_a_different_body(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    attendee = register(client)
    first_session = new_session(client, owner)
    second_session = new_session(client, owner, title="Other")
    headers = {**bearer(attendee), "Idempotency-Key": "booking-123"}
    first = client.post("/api/bookings", json={"session_id": first_session["id"]}, headers=headers)
    replay = client.post("/api/bookings", json={"session_id": first_session["id"]}, headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.get_json()["id"] == first.get_json()["id"] and replay.headers["Idempotent-Replayed"] == "true"
    other = client.post("/api/bookings", json={"session_id": second_session["id"]}, headers=headers)
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency-key-reused"
    assert _counts(app) == (1, 1)


def test_concurrent_bookings_never_overbook(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    attendees = [register(client) for _ in range(12)]
    listing = new_session(client, owner, capacity=5)

    def book(person: dict[str, object]) -> int:
        return (
            app.test_client()
            .post(
                "/api/bookings",
                json={"session_id": listing["id"]},
                headers=bearer(person),  # type: ignore[arg-type]
            )
            .status_code
        )

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(book, attendees))
    assert sorted(statuses) == [201] * 5 + [409] * 7
    with app.app_context():
        row = db.session.get(CatalogSession, listing["id"])
        assert row is not None and row.seats_taken == 5
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 5
        db.session.remove()


def test_numbers_and_times_are_the_json_types_the_contract_names(app: Flask) -> None:
    client = app.test_client()
    host = register(client, roles=["facilitator"])
    (guest,) = many_people(app, 1)
    listing = new_session(client, host)
    for body, field in (
        ({"session_id": str(listing["id"])}, "session_id"),
        ({"session_id": listing["id"], "seats": "2"}, "seats"),
        ({"session_id": listing["id"], "waitlist": "yes"}, "waitlist"),
    ):
        assert field in problem(client.post("/api/bookings", json=body, headers=bearer(guest)), 422)["errors"]
    assert count_rows(app, Booking) == 0
    priced = client.post(
        "/api/sessions", json={**SESSION, "price": {"amount": "100", "currency": "EUR"}}, headers=bearer(host)
    )
    assert problem(priced, 422)["errors"] == {"price.amount": ["must be a whole number"]}
    unix = client.post("/api/sessions", json={**SESSION, "starts_at": 1_800_000_000}, headers=bearer(host))
    assert problem(unix, 422)["errors"] == {"starts_at": ["must be a date and time like 2031-05-01T18:00:00+02:00"]}


def test_messages_say_what_happened_in_plain_words(app: Flask) -> None:
    client = app.test_client()
    host = register(client, roles=["facilitator"])
    a, b = many_people(app, 2)
    listing = new_session(client, host, capacity=1)
    assert client.post("/api/bookings", json={"session_id": listing["id"]}, headers=bearer(a)).status_code == 201
    full = problem(client.post("/api/bookings", json={"session_id": listing["id"]}, headers=bearer(b)), 409)
    assert full["detail"] == f"Session {listing['id']} is full; join the waitlist to get the next free seat"
    forged = client.get("/api/bookings", headers={"Authorization": "Bearer \xb7\xb7.e30.x"})
    detail = problem(forged, 401)["detail"]
    assert "codec" not in detail and "log in again" in detail


def test_bookings_are_paginated_with_limit_and_cursor(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    (guest,) = many_people(app, 1)
    for i in range(3):
        listing = new_session(client, owner, title=f"S{i}")
        client.post("/api/bookings", json={"session_id": listing["id"]}, headers=bearer(guest))
    first = client.get("/api/bookings?limit=2", headers=bearer(guest)).get_json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = client.get(f"/api/bookings?limit=2&cursor={first['next_cursor']}", headers=bearer(guest)).get_json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
