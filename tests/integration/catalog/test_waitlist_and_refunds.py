"""Waitlist, cancellations, refunds, payments by webhook and holds (issue 3), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select, update

from contracts import decode
from control_plane.catalog.models import Booking, CatalogSession
from control_plane.kits.db.types import utcnow
from control_plane.kits.extensions import db
from control_plane.kits.jobs import run_due_jobs
from control_plane.kits.outbox.models import OutboxMessage
from control_plane.schedule import ALL_JOBS
from tests.integration.api_helpers import bearer, new_session, register
from tests.integration.people import many_people


def _events(app: Flask) -> list[str]:
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        types = [decode(row.payload).type for row in rows]
        db.session.remove()
    return types


def _book(client: Any, person: dict[str, Any], session_id: int, **extra: Any) -> Any:
    return client.post("/api/bookings", json={"session_id": session_id, **extra}, headers=bearer(person))


def _seat_invariant(app: Flask, session_id: int) -> int:
    """seats_taken always equals the seats of the bookings that hold them."""
    with app.app_context():
        listing = db.session.get(CatalogSession, session_id)
        assert listing is not None
        held = db.session.scalar(
            select(func.coalesce(func.sum(Booking.seats), 0)).where(
                Booking.session_id == session_id, Booking.status.in_(("confirmed", "pending_payment"))
            )
        )
        assert listing.seats_taken == held <= listing.capacity
        taken = listing.seats_taken
        db.session.remove()
    return int(taken)


def _soon(hours: float) -> tuple[str, str]:
    start = datetime.now(UTC) + timedelta(hours=hours)
    return start.isoformat(), (start + timedelta(hours=2)).isoformat()


def test_waitlist_joins_when_full_and_promotes_first_come_first_served(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    first, second, third, fourth = many_people(app, 4)
    listing = new_session(client, owner, capacity=1)
    sid = listing["id"]
    assert _book(client, first, sid).status_code == 201
    full = _book(client, second, sid)
    assert full.status_code == 409 and full.get_json()["code"] == "session-full"
    w2 = _book(client, second, sid, waitlist=True).get_json()
    w3 = _book(client, third, sid, waitlist=True).get_json()
    assert (w2["status"], w2["waitlist_position"], w3["waitlist_position"]) == ("waitlisted", 1, 2)
    assert _book(client, second, sid, waitlist=True).get_json()["code"] == "already-booked"
    # The third person leaves the waitlist; then the seat holder cancels: the second is promoted.
    assert client.post(f"/api/bookings/{w3['id']}/cancel", json={}, headers=bearer(third)).status_code == 200
    w4 = _book(client, fourth, sid, waitlist=True).get_json()
    before = len(_events(app))
    mine = client.get("/api/bookings", headers=bearer(first)).get_json()["items"][0]
    cancelled = client.post(f"/api/bookings/{mine['id']}/cancel", json={"reason": "ill"}, headers=bearer(first))
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    promoted = client.get(f"/api/bookings/{w2['id']}", headers=bearer(second)).get_json()
    assert promoted["status"] == "confirmed"
    assert client.get(f"/api/bookings/{w4['id']}", headers=bearer(fourth)).get_json()["waitlist_position"] == 1
    assert _events(app)[before:] == ["booking.cancelled", "booking.promoted"]  # one event per change
    assert _seat_invariant(app, sid) == 1
    again = client.post(f"/api/bookings/{mine['id']}/cancel", json={}, headers=bearer(first))
    assert again.status_code == 409 and again.get_json()["code"] == "invalid-transition"
    stranger = client.post(f"/api/bookings/{w2['id']}/cancel", json={}, headers=bearer(first))
    assert stranger.status_code == 404


def test_owner_cancels_the_session_everyone_is_cancelled_and_told(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["creator"])
    a, b, c = many_people(app, 3)
    listing = new_session(client, owner, capacity=2)
    for person in (a, b):
        assert _book(client, person, listing["id"]).status_code == 201
    _book(client, c, listing["id"], waitlist=True)
    stranger = client.post(f"/api/sessions/{listing['id']}/cancel", json={}, headers=bearer(a))
    assert stranger.status_code == 403
    response = client.post(
        f"/api/sessions/{listing['id']}/cancel", json={"reason": "venue flooded"}, headers=bearer(owner)
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "cancelled" and body["seats_taken"] == 0
    statuses = {
        p["user"]["id"]: client.get("/api/bookings", headers=bearer(p)).get_json()["items"][0]["status"]
        for p in (a, b, c)
    }
    assert set(statuses.values()) == {"cancelled"}
    with app.app_context():
        row = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id.desc())).first()
        assert row is not None
        event = decode(row.payload)
        db.session.remove()
    assert event.type == "session.cancelled"
    assert sorted(event.attendee_ids) == sorted(p["user"]["id"] for p in (a, b, c))  # type: ignore[union-attr]
    assert _book(client, a, listing["id"]).get_json()["code"] == "session-not-bookable"
    twice = client.post(f"/api/sessions/{listing['id']}/cancel", json={}, headers=bearer(owner))
    assert twice.status_code == 409


def _pay_by_webhook(app: Flask, client: Any, ref: str, amount: int, currency: str = "EUR") -> Any:
    gateway = app.extensions["downbeat.payment_gateway"]
    body = json.dumps(
        {"id": "evt_1", "type": "payment.succeeded", "data": {"ref": ref, "amount": amount, "currency": currency}}
    ).encode()
    return client.post(
        "/api/payments/webhook",
        data=body,
        content_type="application/json",
        headers={"Downbeat-Signature": gateway.sign(body)},
    )


def test_paid_booking_is_held_then_confirmed_only_by_a_signed_webhook(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    (guest,) = many_people(app, 1)
    listing = new_session(client, owner, capacity=3, price={"amount": 2500, "currency": "EUR"})
    booked = _book(client, guest, listing["id"], seats=2).get_json()
    assert booked["status"] == "pending_payment"
    payment = booked["payment"]
    assert payment["status"] == "pending" and payment["amount"] == {"amount": 5000, "currency": "EUR"}
    ref = payment["checkout_url"].rsplit("/", 1)[1]
    forged = client.post(
        "/api/payments/webhook",
        json={"type": "payment.succeeded", "data": {"ref": ref}},
        headers={"Downbeat-Signature": "t=1,v1=deadbeef"},
    )
    assert forged.status_code == 400 and forged.get_json()["code"] == "invalid-webhook"
    wrong = _pay_by_webhook(app, client, ref, 1)
    assert wrong.status_code == 422
    assert _pay_by_webhook(app, client, ref, 5000).status_code == 200
    assert _pay_by_webhook(app, client, ref, 5000).status_code == 200  # providers retry; nothing happens twice
    confirmed = client.get(f"/api/bookings/{booked['id']}", headers=bearer(guest)).get_json()
    assert confirmed["status"] == "confirmed" and confirmed["payment"]["status"] == "succeeded"
    assert _events(app).count("booking.payment_confirmed") == 1


def test_refunds_follow_the_session_policy(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    early, middle, late = many_people(app, 3)
    policy = {"full_until_hours": 48, "partial_until_hours": 24, "partial_percent": 50}
    cases = [(early, 100, 2500), (middle, 30, 1250), (late, 5, 0)]
    for person, hours, expected in cases:
        starts, ends = _soon(hours)
        listing = new_session(
            client,
            owner,
            capacity=5,
            price={"amount": 2500, "currency": "EUR"},
            starts_at=starts,
            ends_at=ends,
            refund_policy=policy,
        )
        booked = _book(client, person, listing["id"]).get_json()
        _pay_by_webhook(app, client, booked["payment"]["checkout_url"].rsplit("/", 1)[1], 2500)
        cancelled = client.post(f"/api/bookings/{booked['id']}/cancel", json={}, headers=bearer(person)).get_json()
        assert cancelled["payment"]["refunded"] == {"amount": expected, "currency": "EUR"}, hours
    assert _events(app).count("booking.refunded") == 2  # no event for a zero refund


def test_unpaid_holds_expire_and_the_waitlist_moves_up(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    slow, waiting = many_people(app, 2)
    listing = new_session(client, owner, capacity=1, price={"amount": 900, "currency": "EUR"})
    held = _book(client, slow, listing["id"]).get_json()
    queued = _book(client, waiting, listing["id"], waitlist=True).get_json()
    settings = app.extensions["downbeat.settings"]
    with app.app_context():
        assert run_due_jobs(db.engine, datetime.now(UTC), settings, ALL_JOBS)["release_expired_holds"] == 0
        later = datetime.now(UTC) + timedelta(minutes=settings.bookings.payment_hold_minutes + 1)
        assert run_due_jobs(db.engine, later, settings, ALL_JOBS)["release_expired_holds"] == 1
        # The promoted person's hold started just now: it is not released with the old one.
        assert run_due_jobs(db.engine, datetime.now(UTC), settings, ALL_JOBS)["release_expired_holds"] == 0
    assert client.get(f"/api/bookings/{held['id']}", headers=bearer(slow)).get_json()["status"] == "cancelled"
    promoted = client.get(f"/api/bookings/{queued['id']}", headers=bearer(waiting)).get_json()
    assert promoted["status"] == "pending_payment" and promoted["payment"]["status"] == "pending"
    assert _seat_invariant(app, listing["id"]) == 1


def test_a_waitlist_entry_bigger_than_the_session_is_refused(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    (guest,) = many_people(app, 1)
    listing = new_session(client, owner, capacity=3)
    response = client.post(
        "/api/bookings", json={"session_id": listing["id"], "seats": 5, "waitlist": True}, headers=bearer(guest)
    )
    assert response.status_code == 409 and response.get_json()["code"] == "too-many-seats"


def test_raising_capacity_promotes_the_waitlist_and_cancelled_sessions_stay_cancelled(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    first, second = many_people(app, 2)
    listing = new_session(client, owner, capacity=1)
    client.post("/api/bookings", json={"session_id": listing["id"]}, headers=bearer(first))
    queued = client.post(
        "/api/bookings", json={"session_id": listing["id"], "waitlist": True}, headers=bearer(second)
    ).get_json()
    grown = client.patch(f"/api/sessions/{listing['id']}", json={"capacity": 2}, headers=bearer(owner))
    assert grown.status_code == 200 and grown.get_json()["seats_left"] == 0
    assert client.get(f"/api/bookings/{queued['id']}", headers=bearer(second)).get_json()["status"] == "confirmed"
    client.post(f"/api/sessions/{listing['id']}/cancel", json={}, headers=bearer(owner))
    reopened = client.patch(f"/api/sessions/{listing['id']}", json={"status": "published"}, headers=bearer(owner))
    assert reopened.status_code == 409


def test_nobody_is_promoted_into_a_session_that_has_started(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    holder, queued = many_people(app, 2)
    listing = new_session(client, owner, capacity=1)
    held = client.post("/api/bookings", json={"session_id": listing["id"]}, headers=bearer(holder)).get_json()
    waiting = client.post(
        "/api/bookings", json={"session_id": listing["id"], "waitlist": True}, headers=bearer(queued)
    ).get_json()
    assert waiting["status"] == "waitlisted"
    with app.app_context():  # the session begins
        db.session.execute(
            update(CatalogSession)
            .where(CatalogSession.id == listing["id"])
            .values(starts_at=utcnow() - timedelta(minutes=5), ends_at=utcnow() + timedelta(hours=1))
        )
        db.session.commit()
    assert client.post(f"/api/bookings/{held['id']}/cancel", json={}, headers=bearer(holder)).status_code == 200
    with app.app_context():
        assert db.session.get(Booking, waiting["id"]).status == "waitlisted"  # type: ignore[union-attr]
