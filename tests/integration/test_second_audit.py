"""Defects a second outside tester found speaking the API contract (2026-12-05): text that broke
calendar files, ids and dates past what the database holds, lax types, odd time zones."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import func, select, update

from control_plane.catalog.models import Booking, CatalogSession
from control_plane.kits.extensions import db
from control_plane.musicians.models import Project
from tests.integration.api_helpers import bearer, new_session, register
from tests.integration.people import many_people

SESSION = {
    "title": "Jam",
    "starts_at": "2031-05-01T18:00:00+00:00",
    "ends_at": "2031-05-01T20:00:00+00:00",
    "capacity": 2,
}
PROJECT = {
    "title": "Tour",
    "starts_at": "2031-05-05T09:00:00+00:00",
    "ends_at": "2031-05-06T23:00:00+00:00",
    "location": "Hansa Studio",
}


def _problem(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, (answer.status_code, answer.get_data(as_text=True))
    assert answer.mimetype == "application/problem+json"
    body = answer.get_json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    return dict(body)


def _count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_project_and_request_text_is_one_line_and_free_text_has_no_control_characters(app: Flask) -> None:
    client = app.test_client()
    producer = register(client, roles=["producer"])
    host = register(client, roles=["facilitator"])
    for field, value in (
        ("title", "Tour\x00\x01"),
        ("title", "a\nb"),
        ("location", "Loc\x07"),
        ("location", "a\u2028b"),
    ):
        errors = _problem(client.post("/api/projects", json={**PROJECT, field: value}, headers=bearer(producer)), 422)
        assert errors["errors"] == {field: ["must be a single line of text"]}
    errors = _problem(
        client.post("/api/projects", json={**PROJECT, "description": "bad\x0bbyte"}, headers=bearer(producer)), 422
    )
    assert errors["errors"] == {"description": ["must not contain control characters"]}
    assert _count(app, Project) == 0

    project = client.post(
        "/api/projects", json={**PROJECT, "description": "Line one\nLine two\tok"}, headers=bearer(producer)
    )
    assert project.status_code == 201
    musician = register(client, roles=["musician"])
    request = client.post(
        f"/api/projects/{project.get_json()['id']}/requests",
        headers=bearer(producer),
        json={
            "musician_id": musician["user"]["id"],
            "instrument": "Bass\x00",
            "starts_at": "2031-05-05T18:00:00+00:00",
            "ends_at": "2031-05-05T21:00:00+00:00",
            "offer": {"amount": 100, "currency": "EUR"},
        },
    )
    assert _problem(request, 422)["errors"] == {"instrument": ["must be a single line of text"]}

    # A bidirectional override makes a title read differently from what it says.
    spoof = client.post("/api/sessions", json={**SESSION, "title": "Jam \u202egpj.exe"}, headers=bearer(host))
    assert _problem(spoof, 422)["errors"] == {"title": ["must be a single line of text"]}
    notes = client.post("/api/sessions", json={**SESSION, "description": "nul\x00"}, headers=bearer(host))
    assert _problem(notes, 422)["errors"] == {"description": ["must not contain control characters"]}


def test_calendars_carry_no_control_characters_and_say_what_is_only_tentative(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    holder, waiter = many_people(app, 2)
    listing = new_session(client, owner, capacity=1)
    held = client.post("/api/bookings", json={"session_id": listing["id"]}, headers=bearer(holder)).get_json()
    waiting = client.post(
        "/api/bookings", json={"session_id": listing["id"], "waitlist": True}, headers=bearer(waiter)
    ).get_json()
    assert waiting["status"] == "waitlisted"
    with app.app_context():  # written before the rule, or by another tool
        db.session.execute(
            update(CatalogSession).where(CatalogSession.id == listing["id"]).values(description="a\x0b\x01b\nc")
        )
        db.session.commit()
    ics = client.get(f"/api/bookings/{held['id']}.ics", headers=bearer(holder))
    assert ics.status_code == 200
    assert not any(byte < 0x20 and byte not in (0x0D, 0x0A, 0x09) for byte in ics.data)
    (event,) = Calendar.from_ical(ics.data).walk("VEVENT")
    assert str(event["status"]) == "CONFIRMED" and str(event["description"]) == "ab\nc"
    (place,) = Calendar.from_ical(client.get(f"/api/bookings/{waiting['id']}.ics", headers=bearer(waiter)).data).walk(
        "VEVENT"
    )
    assert str(place["status"]) == "TENTATIVE"


def test_cancelling_within_the_same_second_still_raises_the_sequence(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    (guest,) = many_people(app, 1)
    listing = new_session(client, owner)
    booking = client.post("/api/bookings", json={"session_id": listing["id"]}, headers=bearer(guest)).get_json()
    client.post(f"/api/bookings/{booking['id']}/cancel", json={}, headers=bearer(guest))
    with app.app_context():  # pin both changes to one second, as a fast client makes them
        stored = db.session.get(Booking, booking["id"])
        assert stored is not None
        moment = stored.updated_at.replace(microsecond=0)
        db.session.execute(update(Booking).where(Booking.id == booking["id"]).values(updated_at=moment))
        db.session.execute(update(CatalogSession).where(CatalogSession.id == listing["id"]).values(updated_at=moment))
        db.session.commit()
    (cancelled,) = Calendar.from_ical(
        client.get(f"/api/bookings/{booking['id']}.ics", headers=bearer(guest)).data
    ).walk("VEVENT")
    with app.app_context():
        db.session.execute(update(Booking).where(Booking.id == booking["id"]).values(status="confirmed"))
        db.session.commit()
    (confirmed,) = Calendar.from_ical(
        client.get(f"/api/bookings/{booking['id']}.ics", headers=bearer(guest)).data
    ).walk("VEVENT")
    assert str(cancelled["status"]) == "CANCELLED" and str(confirmed["status"]) == "CONFIRMED"
    assert cancelled["sequence"] > confirmed["sequence"]


def test_ids_past_a_database_integer_are_not_found(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    huge = 99999999999999999999999
    for method, path in (
        ("GET", f"/api/sessions/{huge}"),
        ("GET", f"/api/bookings/{huge}"),
        ("GET", f"/api/bookings/{huge}.ics"),
        ("POST", f"/api/sessions/{huge}/cancel"),
        ("POST", f"/api/requests/{huge}/accept"),
        ("POST", f"/api/notifications/{huge}/read"),
    ):
        _problem(client.open(path, method=method, json={}, headers=bearer(owner)), 404)
    assert _problem(client.get(f"/api/notifications?since={huge}", headers=bearer(owner)), 422)["errors"].keys() == {
        "since"
    }
    booking = client.post("/api/bookings", json={"session_id": 2**63}, headers=bearer(owner))
    assert "session_id" in _problem(booking, 422)["errors"]


def test_dates_outside_2000_to_2199_are_refused_at_the_field(app: Flask) -> None:
    client = app.test_client()
    producer = register(client, roles=["producer"])
    musician = register(client, roles=["musician"])
    late = "9999-12-31T20:00:00-14:00"
    early = "2001-01-01T00:00:00+00:00"
    message = ["must be between the years 2000 and 2199"]
    assert _problem(client.get(f"/api/sessions?from={late}"), 422)["errors"] == {"from": message}
    for body in ({**PROJECT, "starts_at": late}, {**PROJECT, "starts_at": "1999-12-31T00:00:00+00:00"}):
        assert _problem(client.post("/api/projects", json=body, headers=bearer(producer)), 422)["errors"] == {
            "starts_at": message
        }
    over = client.post(
        "/api/projects",
        json={**PROJECT, "starts_at": early, "ends_at": "2001-01-02T00:00:00+00:00"},
        headers=bearer(producer),
    )
    assert _problem(over, 422)["errors"] == {"ends_at": ["must be in the future: this project would already be over"]}
    assert client.post("/api/projects", json=PROJECT, headers=bearer(producer)).status_code == 201
    availability = client.put(
        "/api/musicians/me/availability",
        json={"exceptions": [{"date": "9999-12-31", "available": True}]},
        headers=bearer(musician),
    )
    assert _problem(availability, 422)["errors"] == {"exceptions.0.date": message}
    week = client.get("/api/calendar/week?start=0001-01-01T00:00:00Z", headers=bearer(musician))
    assert _problem(week, 422)["errors"] == {"start": message}


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
        assert field in _problem(client.post("/api/bookings", json=body, headers=bearer(guest)), 422)["errors"]
    assert _count(app, Booking) == 0
    priced = client.post(
        "/api/sessions", json={**SESSION, "price": {"amount": "100", "currency": "EUR"}}, headers=bearer(host)
    )
    assert _problem(priced, 422)["errors"] == {"price.amount": ["must be a whole number"]}
    unix = client.post("/api/sessions", json={**SESSION, "starts_at": 1_800_000_000}, headers=bearer(host))
    assert _problem(unix, 422)["errors"] == {"starts_at": ["must be a date and time like 2031-05-01T18:00:00+02:00"]}


def test_time_zones_are_places(app: Flask) -> None:
    client = app.test_client()
    host = register(client, roles=["facilitator"])
    for zone in ("localtime", "Factory", "Mars/Olympus"):
        answer = client.post("/api/sessions", json={**SESSION, "timezone": zone}, headers=bearer(host))
        assert _problem(answer, 422)["errors"] == {"timezone": ["must be an IANA time zone such as Europe/Berlin"]}
    assert (
        client.post("/api/sessions", json={**SESSION, "timezone": "Asia/Kolkata"}, headers=bearer(host)).status_code
        == 201
    )


def test_availability_times_take_ascii_digits_only(app: Flask) -> None:
    client: FlaskClient = app.test_client()
    musician = register(client, roles=["musician"])
    answer = client.put(
        "/api/musicians/me/availability",
        json={"weekly": [{"weekday": 1, "start": "\u0661\u0660:\u0660\u0660", "end": "12:00"}]},
        headers=bearer(musician),
    )
    assert "weekly.0.start" in _problem(answer, 422)["errors"]


def test_messages_say_what_happened_in_plain_words(app: Flask) -> None:
    client = app.test_client()
    host = register(client, roles=["facilitator"])
    a, b = many_people(app, 2)
    listing = new_session(client, host, capacity=1)
    assert client.post("/api/bookings", json={"session_id": listing["id"]}, headers=bearer(a)).status_code == 201
    full = _problem(client.post("/api/bookings", json={"session_id": listing["id"]}, headers=bearer(b)), 409)
    assert full["detail"] == f"Session {listing['id']} is full; join the waitlist to get the next free seat"
    forged = client.get("/api/bookings", headers={"Authorization": "Bearer \xb7\xb7.e30.x"})
    detail = _problem(forged, 401)["detail"]
    assert "codec" not in detail and "log in again" in detail


def test_a_host_finds_the_sessions_they_host_in_their_week_and_feed(app: Flask) -> None:
    client = app.test_client()
    host = register(client, roles=["facilitator"])
    hosted = new_session(client, host, title="Frame drums")
    dropped = new_session(client, host, title="Called off")
    new_session(client, host, title="Not yet", status="draft")  # a draft is nowhere yet
    assert client.post(f"/api/sessions/{dropped['id']}/cancel", json={}, headers=bearer(host)).status_code == 200
    week = client.get(f"/api/calendar/week?start={hosted['starts_at'][:10]}T00:00:00Z", headers=bearer(host))
    assert week.status_code == 200
    items = week.get_json()["items"]
    assert [(i["uid"], i["title"], i["kind"], i["url"]) for i in items] == [
        (f"hosting-{hosted['id']}@downbeat", "Hosting: Frame drums", "hosting", f"/sessions/{hosted['id']}")
    ]
    feed_url = client.post("/api/calendar/rotate", headers=bearer(host)).get_json()["feed_url"]
    events = Calendar.from_ical(client.get(feed_url[feed_url.index("/calendar/") :]).data).walk("VEVENT")
    assert [str(e["summary"]) for e in events] == ["Hosting: Frame drums"]


def test_the_same_request_twice_is_refused_but_alternative_slots_are_not(app: Flask) -> None:
    client = app.test_client()
    producer = register(client, roles=["producer"])
    musician = register(client, roles=["musician"], name="Mia Drums")
    every_day = [{"weekday": day, "start": "08:00", "end": "24:00"} for day in range(7)]
    assert (
        client.put("/api/musicians/me/availability", json={"weekly": every_day}, headers=bearer(musician)).status_code
        == 200
    )
    project = client.post("/api/projects", json=PROJECT, headers=bearer(producer)).get_json()
    body = {
        "musician_id": musician["user"]["id"],
        "instrument": "Drums",
        "starts_at": "2031-05-05T18:00:00+00:00",
        "ends_at": "2031-05-05T21:00:00+00:00",
        "offer": {"amount": 100, "currency": "EUR"},
    }
    path = f"/api/projects/{project['id']}/requests"
    first = client.post(path, json=body, headers=bearer(producer))
    assert first.status_code == 201
    again = _problem(client.post(path, json={**body, "instrument": "drums"}, headers=bearer(producer)), 409)
    assert again["code"] == "already-requested" and again["request_id"] == first.get_json()["id"]
    other_slot = client.post(path, json={**body, "starts_at": "2031-05-05T19:00:00+00:00"}, headers=bearer(producer))
    assert other_slot.status_code == 201  # an alternative the musician may take instead
