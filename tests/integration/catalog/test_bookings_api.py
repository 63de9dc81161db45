from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Flask
from sqlalchemy import func, select

from contracts import BookingCreated, decode
from control_plane.catalog.models import Booking, CatalogSession
from control_plane.kits.extensions import db
from control_plane.kits.outbox.models import OutboxMessage
from tests.integration.api_helpers import bearer, new_session, register


def _counts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        bookings = db.session.scalar(select(func.count()).select_from(Booking)) or 0
        events = db.session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
        db.session.remove()
    return bookings, events


def test_only_creators_and_facilitators_publish(app: Flask) -> None:
    client = app.test_client()
    user = register(client)
    response = client.post("/api/sessions", json={"title": "x"}, headers=bearer(user))
    assert response.status_code == 403


def test_session_validation_names_fields(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    response = client.post(
        "/api/sessions",
        headers=bearer(owner),
        json={
            "title": "",
            "starts_at": "2031-05-01T18:00:00",
            "ends_at": "yesterday",
            "capacity": 0,
            "timezone": "Mars/Olympus",
            "kind": "party",
        },
    )
    assert response.status_code == 422
    assert {"title", "starts_at", "ends_at", "capacity", "timezone", "kind"} <= set(response.get_json()["errors"])


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


def test_capacity_cannot_drop_below_seats_taken_and_only_the_owner_edits(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    attendee, second = register(client), register(client)
    listing = new_session(client, owner, capacity=3)
    for person in (attendee, second):
        client.post("/api/bookings", json={"session_id": listing["id"]}, headers=bearer(person))
    low = client.patch(f"/api/sessions/{listing['id']}", json={"capacity": 0}, headers=bearer(owner))
    assert low.status_code == 422
    below = client.patch(f"/api/sessions/{listing['id']}", json={"capacity": 1}, headers=bearer(owner))
    assert below.status_code == 409 and below.get_json()["errors"] == {"capacity": ["must be at least 2"]}
    exact = client.patch(f"/api/sessions/{listing['id']}", json={"capacity": 2}, headers=bearer(owner))
    assert exact.status_code == 200 and exact.get_json()["seats_left"] == 0
    stranger = client.patch(f"/api/sessions/{listing['id']}", json={"title": "Mine"}, headers=bearer(attendee))
    assert stranger.status_code == 403
    owner_view = client.get(f"/api/sessions/{listing['id']}/bookings", headers=bearer(owner)).get_json()
    assert [b["user"]["id"] for b in owner_view["items"]] == [attendee["user"]["id"], second["user"]["id"]]
