"""Every booking state change writes exactly one contract event, in the same transaction."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask
from sqlalchemy import select

from contracts import ALL_EVENT_TYPES, BookingEvent, SessionCancelled, decode
from control_plane.kits.extensions import db
from control_plane.kits.outbox.models import OutboxMessage
from tests.integration.api_helpers import bearer, new_session, register
from tests.integration.people import many_people


class Outbox:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.seen = 0

    def new(self) -> list[str]:
        with self.app.app_context():
            rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
            events = [decode(row.payload) for row in rows]
            for row, event in zip(rows, events, strict=True):
                assert row.event_id == str(event.event_id) and row.key == event.partition_key
            db.session.remove()
        fresh = [e.type for e in events[self.seen :]]
        self.seen = len(events)
        return fresh


def test_each_booking_state_change_emits_exactly_one_event(app: Flask) -> None:
    client = app.test_client()
    outbox = Outbox(app)
    owner = register(client, roles=["facilitator"])
    a, b, c = many_people(app, 3)
    free = new_session(client, owner, capacity=1)
    assert outbox.new() == []  # creating a session is not a booking event

    def post(person: dict[str, Any], path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = client.post(path, json=body, headers=bearer(person))
        assert response.status_code in (200, 201), response.get_json()
        return dict(response.get_json())

    first = post(a, "/api/bookings", {"session_id": free["id"]})
    assert outbox.new() == ["booking.created"]
    post(b, "/api/bookings", {"session_id": free["id"], "waitlist": True})
    assert outbox.new() == ["booking.waitlisted"]
    post(a, f"/api/bookings/{first['id']}/cancel", {})
    assert outbox.new() == ["booking.cancelled", "booking.promoted"]  # two changes, two events

    paid = new_session(client, owner, capacity=2, price={"amount": 1000, "currency": "EUR"})
    booking = post(c, "/api/bookings", {"session_id": paid["id"]})
    assert outbox.new() == ["booking.created"]
    gateway = app.extensions["downbeat.payment_gateway"]
    ref = booking["payment"]["checkout_url"].rsplit("/", 1)[1]
    body = json.dumps({"type": "payment.succeeded", "data": {"ref": ref, "amount": 1000, "currency": "EUR"}}).encode()
    for _ in range(2):  # a retried webhook is not a second change
        client.post(
            "/api/payments/webhook",
            data=body,
            content_type="application/json",
            headers={"Downbeat-Signature": gateway.sign(body)},
        )
    assert outbox.new() == ["booking.payment_confirmed"]
    post(owner, f"/api/sessions/{paid['id']}/cancel", {"reason": "storm"})
    assert outbox.new() == ["booking.refunded", "session.cancelled"]
    assert client.post(f"/api/bookings/{booking['id']}/cancel", json={}, headers=bearer(c)).status_code == 409
    assert outbox.new() == []  # a refused change writes nothing


def test_every_booking_event_type_is_covered_by_a_producer() -> None:
    booking_types = {t for t in ALL_EVENT_TYPES if issubclass(t, BookingEvent | SessionCancelled)}
    produced = {
        "booking.created",
        "booking.waitlisted",
        "booking.cancelled",
        "booking.promoted",
        "booking.payment_confirmed",
        "booking.refunded",
        "session.cancelled",
    }
    assert {t.model_fields["type"].default for t in booking_types} == produced
