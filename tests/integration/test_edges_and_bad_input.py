"""Edges found in review: each was a 500, a wrong answer or a stuck waitlist before."""

from __future__ import annotations

from flask import Flask

from tests.integration.api_helpers import bearer, new_session, register
from tests.integration.people import many_people


def test_json_endpoints_refuse_form_encodings_and_accept_an_empty_body(app: Flask) -> None:
    client = app.test_client()
    form = client.post("/api/auth/login", data='{"email":"a@b.c","password":"x"}', content_type="text/plain")
    assert form.status_code == 415  # a cross-site form cannot log anyone in (login CSRF)
    owner = register(client, roles=["facilitator"])
    (guest,) = many_people(app, 1)
    listing = new_session(client, owner)
    booked = client.post("/api/bookings", json={"session_id": listing["id"]}, headers=bearer(guest)).get_json()
    cancelled = client.post(f"/api/bookings/{booked['id']}/cancel", headers=bearer(guest))  # no body at all
    assert cancelled.status_code == 200


def test_out_of_range_numbers_and_dates_are_4xx(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    assert client.get("/api/sessions/99999999999999999999").status_code in (404, 422)
    huge = client.post("/api/bookings", json={"session_id": 99999999999999999999}, headers=bearer(owner))
    assert huge.status_code == 422 and "session_id" in huge.get_json()["errors"]
    far = client.post(
        "/api/sessions",
        headers=bearer(owner),
        json={
            "title": "Far",
            "starts_at": "9999-12-31T20:00:00-05:00",
            "ends_at": "9999-12-31T23:00:00-05:00",
            "capacity": 1,
        },
    )
    assert 400 <= far.status_code < 500
    assert app.test_client().get("/api/sessions?mine=true").status_code == 401


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


def test_mail_subjects_are_single_lines() -> None:
    from datetime import UTC, datetime

    from notification_service.mail import QueuedMail, compose

    message = compose(
        "a@b.c",
        "d@e.f",
        [QueuedMail("booking.created", "New booking: Jam\nNight\u2028x", "b")],
        "attempt1",
        "http://x",
        datetime.now(UTC),
    )
    assert message["Subject"] == "New booking: Jam Night x"


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
