"""Musician profiles, availability, projects and booking requests, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from contracts import (
    RequestAccepted,
    RequestCancelled,
    RequestDeclined,
    RequestExpired,
    RequestRescheduleAccepted,
    RequestRescheduleDeclined,
    RequestRescheduleProposed,
    RequestSent,
    decode,
)
from control_plane.calendars.queries.engagements import engagements_for
from control_plane.kits.extensions import db
from control_plane.kits.outbox.models import OutboxMessage
from control_plane.musicians.jobs import expire_requests
from control_plane.musicians.models import BookingRequest, Project
from control_plane.schedule import ALL_JOBS
from tests.integration.api_helpers import PROJECT, SESSION, bearer, count_rows, problem, register

ALL_WEEK = [{"weekday": day, "start": "08:00", "end": "24:00"} for day in range(7)]


def _at(day: int, hour: int, minutes: int = 0) -> str:
    """2031-05-05 is a Monday; ``_at(0, 18)`` is that day at 18:00 UTC."""
    return datetime(2031, 5, 5 + day, hour, minutes, tzinfo=UTC).isoformat()


def _musician(
    client: FlaskClient, name: str = "Mia Drums", weekly: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    person = register(client, roles=["musician"], name=name)
    if weekly is not None:
        answer = client.put("/api/musicians/me/availability", json={"weekly": weekly}, headers=bearer(person))
        assert answer.status_code == 200, answer.get_json()
    return person


def _project(client: FlaskClient, owner: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {
        "title": "Album tracking",
        "starts_at": _at(0, 9),
        "ends_at": _at(6, 23),
        "location": "Hansa Studio",
        "instruments_needed": ["drums", "Bass"],
        **fields,
    }
    answer = client.post("/api/projects", json=body, headers=bearer(owner))
    assert answer.status_code == 201, answer.get_json()
    return dict(answer.get_json())


def _send(
    client: FlaskClient,
    owner: dict[str, Any],
    project: dict[str, Any],
    musician: dict[str, Any],
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> Any:
    body = {
        "musician_id": musician["user"]["id"],
        "instrument": "Drums",
        "starts_at": _at(0, 18),
        "ends_at": _at(0, 21),
        "offer": {"amount": 25000, "currency": "EUR"},
        **fields,
    }
    return client.post(
        f"/api/projects/{project['id']}/requests", json=body, headers={**bearer(owner), **(headers or {})}
    )


def _act(client: FlaskClient, person: dict[str, Any], request_id: int, action: str, body: Any = None) -> Any:
    return client.post(f"/api/requests/{request_id}/{action}", json=body, headers=bearer(person))


def _events(app: Flask) -> list[Any]:
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        events = [decode(row.payload) for row in rows]
        assert all(row.topic == "booking.events" for row in rows)
        db.session.remove()
    return events


def _request_count(app: Flask) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(BookingRequest)) or 0
        db.session.remove()
    return count


# --- profiles and availability -----------------------------------------------------------


def test_profile_listing_filters_and_roles(app: Flask) -> None:
    client = app.test_client()
    mia = _musician(client, "Mia Drums")
    ben = _musician(client, "Ben Bass")
    producer = register(client, roles=["producer"], name="Pat Producer")
    profile = {
        "instruments": ["Drums", "drums", "Percussion"],
        "genres": ["jazz"],
        "bio": "Session drummer from Berlin",
        "location": {"city": "Berlin", "lat": 52.52, "lon": 13.4},
        "rate": {"amount": 30000, "currency": "EUR", "per": "session"},
        "links": ["https://mia.bandcamp.com/album/live"],
    }
    saved = client.put("/api/musicians/me", json=profile, headers=bearer(mia))
    assert saved.status_code == 200
    assert saved.get_json()["instruments"] == ["Drums", "Percussion"]  # case-insensitive duplicates go
    client.put("/api/musicians/me", json={"instruments": ["Bass"]}, headers=bearer(ben))

    def names(query: str) -> list[str]:
        answer = client.get(f"/api/musicians{query}", headers=bearer(producer))
        assert answer.status_code == 200
        return [item["name"] for item in answer.get_json()["items"]]

    assert names("") == ["Ben Bass", "Mia Drums"]
    assert names("?instrument=DRUMS") == ["Mia Drums"]
    assert names("?instrument=bass") == ["Ben Bass"]
    assert names("?q=berlin") == ["Mia Drums"]
    assert names("?q=perc") == ["Mia Drums"]
    assert client.get("/api/musicians/me", headers=bearer(mia)).get_json()["rate"]["per"] == "session"

    assert client.put("/api/musicians/me", json=profile, headers=bearer(producer)).status_code == 403
    bad = client.put(
        "/api/musicians/me",
        json={"instruments": [""], "rate": {"amount": -1, "currency": "eur", "per": "gig"}, "links": ["ftp://x"]},
        headers=bearer(mia),
    )
    assert bad.status_code == 422
    assert {"instruments.0", "rate.amount", "rate.currency", "rate.per", "links.0"} <= set(bad.get_json()["errors"])


def test_availability_round_trip_and_validation(app: Flask) -> None:
    client = app.test_client()
    mia = _musician(client)
    empty = client.get("/api/musicians/me/availability", headers=bearer(mia)).get_json()
    assert empty["is_set"] is False and empty["timezone"] == "UTC"
    body = {
        "timezone": "Europe/Berlin",
        "weekly": [{"weekday": 4, "start": "20:00", "end": "24:00"}, {"weekday": 0, "start": "18:00", "end": "23:00"}],
        "exceptions": [{"date": "2031-05-05", "available": False}, {"date": "2031-05-07", "available": True}],
    }
    saved = client.put("/api/musicians/me/availability", json=body, headers=bearer(mia)).get_json()
    assert saved["timezone"] == "Europe/Berlin" and saved["is_set"] is True
    assert [w["weekday"] for w in saved["weekly"]] == [0, 4]
    assert saved["exceptions"][0] == {"date": "2031-05-05", "available": False}
    assert client.get("/api/musicians/me/availability", headers=bearer(mia)).get_json() == saved

    bad = client.put(
        "/api/musicians/me/availability",
        json={
            "timezone": "Mars/Olympus",
            "weekly": [
                {"weekday": 7, "start": "10:00", "end": "11:00"},
                {"weekday": 1, "start": "25:00", "end": "26:00"},
                {"weekday": 1, "start": "12:00", "end": "11:00"},
            ],
            "exceptions": [
                {"date": "2031-02-30", "available": False},
                {"date": "2031-05-01", "available": False, "start": "10:00"},
            ],
        },
        headers=bearer(mia),
    )
    assert bad.status_code == 422
    errors = bad.get_json()["errors"]
    assert {
        "timezone",
        "weekly.0.weekday",
        "weekly.1.start",
        "weekly.1.end",
        "weekly.2",
        "exceptions.0.date",
        "exceptions.1",
    } <= set(errors)
    assert client.get("/api/musicians/me/availability", headers=bearer(mia)).get_json() == saved  # unchanged
    user = register(client)
    assert client.put("/api/musicians/me/availability", json=body, headers=bearer(user)).status_code == 403


def test_availability_times_take_ascii_digits_only(app: Flask) -> None:
    client: FlaskClient = app.test_client()
    musician = register(client, roles=["musician"])
    answer = client.put(
        "/api/musicians/me/availability",
        json={"weekly": [{"weekday": 1, "start": "\u0661\u0660:\u0660\u0660", "end": "12:00"}]},
        headers=bearer(musician),
    )
    assert "weekly.0.start" in problem(answer, 422)["errors"]


# --- projects and the request lifecycle --------------------------------------------------


def test_projects_are_for_producers_and_band_managers_and_private(app: Flask) -> None:
    client = app.test_client()
    producer = register(client, roles=["producer"])
    manager = register(client, roles=["band_manager"])
    mia = _musician(client)
    body = {"title": "Gig", "starts_at": _at(0, 18), "ends_at": _at(0, 23)}
    assert client.post("/api/projects", json=body, headers=bearer(mia)).status_code == 403
    assert client.post("/api/projects", json=body, headers=bearer(manager)).status_code == 201
    project = _project(client, producer, timezone="Europe/Berlin")
    assert project["timezone"] == "Europe/Berlin" and project["instruments_needed"] == ["drums", "Bass"]
    mine = client.get("/api/projects", headers=bearer(producer)).get_json()["items"]
    assert [p["id"] for p in mine] == [project["id"]]
    assert client.get(f"/api/projects/{project['id']}", headers=bearer(manager)).status_code == 403
    assert client.get("/api/projects/999999", headers=bearer(producer)).status_code == 404
    bad = client.post(
        "/api/projects",
        json={"title": "", "starts_at": "2031-05-05T18:00:00", "ends_at": _at(0, 1), "instruments_needed": "drums"},
        headers=bearer(producer),
    )
    assert bad.status_code == 422 and {"title", "starts_at", "instruments_needed"} <= set(bad.get_json()["errors"])


def test_full_lifecycle_with_reschedules_writes_one_event_per_change(app: Flask) -> None:
    client = app.test_client()
    producer = register(client, roles=["producer"], name="Pat Producer")
    mia = _musician(client, weekly=ALL_WEEK)
    stranger = register(client, roles=["musician", "producer"])
    project = _project(client, producer)

    sent = _send(client, producer, project, mia, message="Three songs, click track")
    assert sent.status_code == 201, sent.get_json()
    request = sent.get_json()
    rid = request["id"]
    assert request["status"] == "pending" and request["expires_at"] is not None
    assert request["musician"]["name"] == "Mia Drums" and request["project"]["title"] == "Album tracking"

    inbox = client.get("/api/requests?role=musician", headers=bearer(mia)).get_json()["items"]
    assert [r["id"] for r in inbox] == [rid]
    assert client.get("/api/requests?role=requester", headers=bearer(mia)).get_json()["items"] == []
    assert client.get(f"/api/requests/{rid}", headers=bearer(stranger)).status_code == 404
    assert _act(client, stranger, rid, "accept").status_code == 404
    assert _act(client, stranger, rid, "cancel").status_code == 404
    assert _act(client, producer, rid, "accept").status_code == 403  # only the musician accepts

    # The musician counter-proposes a later slot for more money; the producer declines it.
    counter = {"starts_at": _at(0, 19), "ends_at": _at(0, 22), "offer": {"amount": 30000, "currency": "EUR"}}
    proposed = _act(client, mia, rid, "reschedule", counter)
    assert proposed.status_code == 200 and proposed.get_json()["reschedule"]["proposed_by"] == mia["user"]["id"]
    assert _act(client, mia, rid, "reschedule/accept").status_code == 403  # the other side answers
    assert _act(client, mia, rid, "accept").get_json()["code"] == "invalid-transition"  # answer the proposal first
    declined = _act(client, producer, rid, "reschedule/decline").get_json()
    assert declined["reschedule"] is None and declined["starts_at"] == _at(0, 18)
    assert declined["offer"]["amount"] == 25000

    # Again; this time the producer takes it: both sides agree, so the engagement stands.
    _act(client, mia, rid, "reschedule", counter)
    taken = _act(client, producer, rid, "reschedule/accept").get_json()
    assert (taken["status"], taken["starts_at"], taken["offer"]["amount"]) == ("accepted", _at(0, 19), 30000)
    again_accepted = _act(client, mia, rid, "accept")
    assert again_accepted.status_code == 409 and again_accepted.get_json()["code"] == "invalid-transition"

    # The producer moves the accepted engagement; the musician agrees (re-checked, still free).
    moved = _act(client, producer, rid, "reschedule", {"starts_at": _at(1, 18), "ends_at": _at(1, 20)})
    assert moved.status_code == 200 and moved.get_json()["status"] == "accepted"
    agreed = _act(client, mia, rid, "reschedule/accept").get_json()
    assert (agreed["status"], agreed["starts_at"], agreed["offer"]["amount"]) == ("accepted", _at(1, 18), 30000)

    owner_view = client.get(f"/api/projects/{project['id']}", headers=bearer(producer)).get_json()
    assert [(r["id"], r["status"]) for r in owner_view["requests"]] == [(rid, "accepted")]

    cancelled = _act(client, producer, rid, "cancel", {"reason": "Budget cut"})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    again = _act(client, mia, rid, "accept")
    assert again.status_code == 409 and again.get_json()["code"] == "invalid-transition"
    assert again.get_json()["current_state"] == "cancelled" and "cancelled" in again.get_json()["detail"]

    events = _events(app)
    assert [type(e) for e in events] == [
        RequestSent,
        RequestRescheduleProposed,
        RequestRescheduleDeclined,
        RequestRescheduleProposed,
        RequestRescheduleAccepted,  # the pending request becomes accepted by this answer
        RequestRescheduleProposed,
        RequestRescheduleAccepted,
        RequestCancelled,
    ]
    assert {e.request_id for e in events} == {rid} and {e.musician_id for e in events} == {mia["user"]["id"]}
    assert all(e.requester_id == producer["user"]["id"] and e.requester_name == "Pat Producer" for e in events)
    first_proposal = events[1]
    assert isinstance(first_proposal, RequestRescheduleProposed)
    assert first_proposal.proposed_by == mia["user"]["id"] and first_proposal.proposed_offer.amount == 30000
    assert first_proposal.offer.amount == 25000  # the current terms travel beside the proposal
    assert isinstance(events[4], RequestRescheduleAccepted) and events[4].accepted_by == producer["user"]["id"]
    assert events[4].starts_at == datetime(2031, 5, 5, 19, tzinfo=UTC)
    last = events[-1]
    assert isinstance(last, RequestCancelled) and last.cancelled_by == producer["user"]["id"]
    assert last.reason == "Budget cut"


def test_decline_and_illegal_transitions_change_nothing(app: Flask) -> None:
    client = app.test_client()
    producer = register(client, roles=["band_manager"])
    mia = _musician(client, weekly=ALL_WEEK)
    project = _project(client, producer)
    rid = _send(client, producer, project, mia).get_json()["id"]
    no_proposal = _act(client, producer, rid, "reschedule/accept")
    assert no_proposal.status_code == 409 and no_proposal.get_json()["current_state"] == "pending"
    declined = _act(client, mia, rid, "decline", {"reason": "On tour"})
    assert declined.status_code == 200 and declined.get_json()["status"] == "declined"
    assert declined.get_json()["reason"] == "On tour"
    before = (_events(app), _request_count(app))
    for person, action, body in (
        (mia, "accept", None),
        (mia, "decline", None),
        (producer, "cancel", None),
        (mia, "cancel", None),
        (producer, "reschedule", {"starts_at": _at(2, 18), "ends_at": _at(2, 20)}),
        (mia, "reschedule/decline", None),
    ):
        answer = _act(client, person, rid, action, body)
        assert answer.status_code == 409, (action, answer.get_json())
        problem = answer.get_json()
        assert problem["code"] == "invalid-transition" and problem["current_state"] == "declined"
        assert answer.mimetype == "application/problem+json"
    assert _act(client, mia, rid, "decline", {"reason": "x" * 501}).status_code == 422
    assert _act(client, mia, rid, "accept", {"unexpected": True}).status_code == 422
    assert _act(client, mia, 999999, "accept").status_code == 404
    assert (_events(app), _request_count(app)) == before
    assert isinstance(before[0][-1], RequestDeclined) and before[0][-1].reason == "On tour"


def test_request_validation_names_fields_and_changes_nothing(app: Flask) -> None:
    client = app.test_client()
    producer = register(client, roles=["producer"])
    mia = _musician(client, weekly=ALL_WEEK)
    not_musician = register(client)
    project = _project(client, producer)
    cases: list[tuple[dict[str, Any], set[str]]] = [
        (
            {"starts_at": "2031-05-05T18:00:00", "offer": {"amount": -5, "currency": "euro"}},
            {"starts_at", "offer.amount", "offer.currency"},
        ),
        ({"starts_at": _at(0, 21), "ends_at": _at(0, 18)}, {"ends_at"}),
        ({"musician_id": not_musician["user"]["id"]}, {"musician_id"}),
        ({"musician_id": producer["user"]["id"]}, {"musician_id"}),
        ({"instrument": "Kazoo"}, {"instrument"}),
        ({"starts_at": "2001-01-01T10:00:00+00:00", "ends_at": "2001-01-01T12:00:00+00:00"}, {"starts_at"}),
    ]
    for fields, expected in cases:
        answer = _send(client, producer, project, mia, **fields)
        assert answer.status_code == 422, (fields, answer.get_json())
        assert expected <= set(answer.get_json()["errors"]), (fields, answer.get_json())
    stranger = register(client, roles=["producer"])
    assert _send(client, stranger, project, mia).status_code == 403
    assert client.post("/api/projects/999999/requests", json={}, headers=bearer(producer)).status_code == 422
    missing = _send(client, producer, {"id": 999999}, mia)
    assert missing.status_code == 404 and missing.get_json()["code"] == "project-not-found"
    assert _request_count(app) == 0 and _events(app) == []


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
        errors = problem(client.post("/api/projects", json={**PROJECT, field: value}, headers=bearer(producer)), 422)
        assert errors["errors"] == {field: ["must be a single line of text"]}
    errors = problem(
        client.post("/api/projects", json={**PROJECT, "description": "bad\x0bbyte"}, headers=bearer(producer)), 422
    )
    assert errors["errors"] == {"description": ["must not contain control characters"]}
    assert count_rows(app, Project) == 0

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
    assert problem(request, 422)["errors"] == {"instrument": ["must be a single line of text"]}

    # A bidirectional override makes a title read differently from what it says.
    spoof = client.post("/api/sessions", json={**SESSION, "title": "Jam \u202egpj.exe"}, headers=bearer(host))
    assert problem(spoof, 422)["errors"] == {"title": ["must be a single line of text"]}
    notes = client.post("/api/sessions", json={**SESSION, "description": "nul\x00"}, headers=bearer(host))
    assert problem(notes, 422)["errors"] == {"description": ["must not contain control characters"]}


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
    again = problem(client.post(path, json={**body, "instrument": "drums"}, headers=bearer(producer)), 409)
    assert again["code"] == "already-requested" and again["request_id"] == first.get_json()["id"]
    other_slot = client.post(path, json={**body, "starts_at": "2031-05-05T19:00:00+00:00"}, headers=bearer(producer))
    assert other_slot.status_code == 201  # an alternative the musician may take instead


# --- availability and overlap ------------------------------------------------------------


def test_requests_outside_availability_are_refused(app: Flask) -> None:
    client = app.test_client()
    producer = register(client, roles=["producer"])
    mia = _musician(client)
    project = _project(client, producer)
    nothing_set = _send(client, producer, project, mia)
    assert nothing_set.status_code == 409
    assert nothing_set.get_json()["code"] == "musician-unavailable"
    assert "not set any availability" in nothing_set.get_json()["detail"]

    availability = {
        "timezone": "Europe/Berlin",  # UTC+2 in May
        "weekly": [
            {"weekday": 0, "start": "18:00", "end": "23:00"},
            {"weekday": 4, "start": "20:00", "end": "24:00"},
            {"weekday": 5, "start": "00:00", "end": "03:00"},
        ],
        "exceptions": [{"date": "2031-05-12", "available": False, "start": "19:00", "end": "20:00"}],
    }
    client.put("/api/musicians/me/availability", json=availability, headers=bearer(mia))
    inside = _send(client, producer, project, mia, starts_at="2031-05-05T18:30:00+02:00", ends_at=_at(0, 21))
    assert inside.status_code == 201, inside.get_json()
    too_late = _send(client, producer, project, mia, starts_at=_at(0, 20), ends_at=_at(0, 22))  # 22:00-24:00 Berlin
    assert too_late.status_code == 409 and too_late.get_json()["reason"] == "outside-availability"
    assert "Europe/Berlin" in too_late.get_json()["detail"]
    wrong_day = _send(client, producer, project, mia, starts_at=_at(1, 17), ends_at=_at(1, 18))
    assert wrong_day.status_code == 409
    # Friday 20:00 to Saturday 03:00 Berlin: two touching windows make one.
    overnight = _send(client, producer, project, mia, starts_at="2031-05-09T21:00:00+02:00", ends_at=_at(5, 1))
    assert overnight.status_code == 201, overnight.get_json()
    blocked = _send(client, producer, project, mia, starts_at="2031-05-12T18:00:00+02:00", ends_at=_at(7, 18))
    assert blocked.status_code == 409 and blocked.get_json()["reason"] == "exception"
    assert _request_count(app) == 2 and len(_events(app)) == 2


def test_overlapping_an_accepted_engagement_is_refused(app: Flask) -> None:
    client = app.test_client()
    producer = register(client, roles=["producer"])
    mia = _musician(client, weekly=ALL_WEEK)
    project = _project(client, producer)
    first = _send(client, producer, project, mia).get_json()["id"]
    rival = _send(client, producer, project, mia, starts_at=_at(0, 20), ends_at=_at(0, 23)).get_json()["id"]
    assert _act(client, mia, first, "accept").status_code == 200  # 18:00-21:00

    overlapping = _send(client, producer, project, mia, starts_at=_at(0, 20), ends_at=_at(0, 22))
    assert overlapping.status_code == 409 and overlapping.get_json()["reason"] == "overlapping-engagement"
    assert "already booked" in overlapping.get_json()["detail"]
    refused = _act(client, mia, rival, "accept")  # it was sent while the slot was still free
    assert refused.status_code == 409 and refused.get_json()["code"] == "musician-unavailable"
    adjacent = _send(client, producer, project, mia, starts_at=_at(0, 21), ends_at=_at(0, 23))
    assert adjacent.status_code == 201  # [18, 21) and [21, 23) do not overlap
    assert _act(client, mia, adjacent.get_json()["id"], "accept").status_code == 200

    # Moving an accepted engagement onto another is refused when proposed.
    onto = _act(
        client, producer, adjacent.get_json()["id"], "reschedule", {"starts_at": _at(0, 19), "ends_at": _at(0, 22)}
    )
    assert onto.status_code == 409 and onto.get_json()["code"] == "musician-unavailable"
    # Cancelling frees the slot again.
    assert _act(client, mia, first, "cancel").status_code == 200
    assert _act(client, mia, rival, "accept").status_code == 409  # still overlaps [21, 23)
    assert _act(client, producer, adjacent.get_json()["id"], "cancel").status_code == 200
    assert _act(client, mia, rival, "accept").status_code == 200

    with app.app_context():
        items = engagements_for(db.session, producer["user"]["id"])
        assert [item.uid for item in items] == [f"request-{rival}@downbeat"]
        assert engagements_for(db.session, mia["user"]["id"])[0].kind == "engagement"
        assert items[0].location == "Hansa Studio" and "Mia Drums" in items[0].title
        db.session.remove()


def test_expiry_job_expires_unanswered_requests_once(app: Flask) -> None:
    client = app.test_client()
    producer = register(client, roles=["producer"])
    mia = _musician(client, weekly=ALL_WEEK)
    project = _project(client, producer)
    waiting = _send(client, producer, project, mia).get_json()
    answered = _send(client, producer, project, mia, starts_at=_at(2, 18), ends_at=_at(2, 20)).get_json()
    _act(client, mia, answered["id"], "accept")
    settings = app.extensions["downbeat.settings"]
    created = datetime.fromisoformat(waiting["created_at"])
    deadline = created + timedelta(hours=settings.requests.expire_after_hours)
    assert datetime.fromisoformat(waiting["expires_at"]) == deadline

    job = ALL_JOBS["expire_requests"]
    assert job is expire_requests
    with app.app_context(), Session(db.engine) as session:
        assert job(session, deadline - timedelta(seconds=1), settings) == 0
        assert job(session, deadline + timedelta(minutes=1), settings) == 1
        assert job(session, deadline + timedelta(minutes=2), settings) == 0  # idempotent

    assert client.get(f"/api/requests/{waiting['id']}", headers=bearer(mia)).get_json()["status"] == "expired"
    late = _act(client, mia, waiting["id"], "accept")
    assert late.status_code == 409 and late.get_json()["current_state"] == "expired"
    expired_list = client.get("/api/requests?status=expired", headers=bearer(producer)).get_json()["items"]
    assert [r["id"] for r in expired_list] == [waiting["id"]]
    events = _events(app)
    assert [type(e) for e in events] == [RequestSent, RequestSent, RequestAccepted, RequestExpired]
    assert events[-1].request_id == waiting["id"]


def test_idempotency_key_replays_the_first_answer(app: Flask) -> None:
    client = app.test_client()
    producer = register(client, roles=["producer"])
    mia = _musician(client, weekly=ALL_WEEK)
    project = _project(client, producer)
    key = {"Idempotency-Key": "request-42"}
    first = _send(client, producer, project, mia, headers=key)
    replay = _send(client, producer, project, mia, headers=key)
    assert first.status_code == replay.status_code == 201
    assert replay.get_json()["id"] == first.get_json()["id"] and replay.headers["Idempotent-Replayed"] == "true"
    other = _send(client, producer, project, mia, headers=key, instrument="Bass")
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency-key-reused"
    rid = first.get_json()["id"]
    accept_key = {**bearer(mia), "Idempotency-Key": "accept-1"}
    assert client.post(f"/api/requests/{rid}/accept", headers=accept_key).status_code == 200
    repeat = client.post(f"/api/requests/{rid}/accept", headers=accept_key)
    assert repeat.status_code == 200 and repeat.headers["Idempotent-Replayed"] == "true"
    assert _request_count(app) == 1
    assert [type(e) for e in _events(app)] == [RequestSent, RequestAccepted]


# --- concurrency (pretix style: show the race, then show the guard holds) ----------------


def _naive_accept(
    engine: Engine, table: str, request_id: int, barrier: threading.Barrier, one_transaction: bool
) -> bool:
    """Check-then-update with nothing but the check: what the guard exists to prevent.

    Every thread checks, waits at the barrier until all have checked, then writes. On
    PostgreSQL (READ COMMITTED) the check and the write share a transaction and still race; on
    SQLite a single transaction is serialised by BEGIN IMMEDIATE (that is its guard), so the
    unguarded version checks and writes in two transactions.
    """
    clash = text(
        f"SELECT count(*) FROM {table} AS other JOIN {table} AS me ON me.id = :id "  # noqa: S608
        "WHERE other.musician_id = me.musician_id AND other.status = 'accepted' AND other.id != me.id "
        "AND other.starts_at < me.ends_at AND other.ends_at > me.starts_at"
    )
    accept = text(f"UPDATE {table} SET status = 'accepted' WHERE id = :id")  # noqa: S608
    with engine.connect() as conn:
        if one_transaction:
            with conn.begin():
                taken = conn.execute(clash, {"id": request_id}).scalar()
                barrier.wait(timeout=30)
                if taken:
                    return False
                conn.execute(accept, {"id": request_id})
            return True
        with conn.begin():
            taken = conn.execute(clash, {"id": request_id}).scalar()
        barrier.wait(timeout=30)
        if taken:
            return False
        with conn.begin():
            conn.execute(accept, {"id": request_id})
        return True


def _overlapping_pending(app: Flask, count: int) -> tuple[dict[str, Any], list[int]]:
    client = app.test_client()
    producer = register(client, roles=["producer"])
    mia = _musician(client, weekly=ALL_WEEK)
    project = _project(client, producer)
    ids = []
    for i in range(count):
        answer = _send(client, producer, project, mia, starts_at=_at(0, 18, i % 60), ends_at=_at(0, 21))
        assert answer.status_code == 201, answer.get_json()
        ids.append(answer.get_json()["id"])
    return mia, ids


def test_without_the_guard_overlapping_accepts_race(app: Flask, database_url: str) -> None:
    _, ids = _overlapping_pending(app, 8)
    engine = create_engine(database_url, pool_size=len(ids))
    postgres = engine.dialect.name == "postgresql"
    try:
        with engine.begin() as conn:  # a copy of the table without any guard: no exclusion constraint
            conn.execute(text("CREATE TABLE race_demo_requests AS SELECT * FROM booking_requests"))

        def run(table: str, one_transaction: bool) -> int:
            barrier = threading.Barrier(len(ids))

            def attempt(request_id: int) -> bool:
                try:
                    return _naive_accept(engine, table, request_id, barrier, one_transaction)
                except DBAPIError:  # the exclusion constraint (or PostgreSQL's deadlock breaker) refused it
                    return False

            with ThreadPoolExecutor(max_workers=len(ids)) as pool:
                list(pool.map(attempt, ids))
            with engine.connect() as conn:
                return int(conn.execute(text(f"SELECT count(*) FROM {table} WHERE status = 'accepted'")).scalar() or 0)  # noqa: S608

        # The race exists: every thread saw no clash, so all of them booked the same evening.
        assert run("race_demo_requests", one_transaction=postgres) == len(ids)
        if postgres:
            # The same naive code against the real table: the exclusion constraint lets one through.
            assert run("booking_requests", one_transaction=True) == 1
    finally:
        engine.dispose()


def test_fifty_parallel_accepts_of_overlapping_requests_accept_exactly_one(app: Flask) -> None:
    mia, ids = _overlapping_pending(app, 50)

    def accept(request_id: int) -> int:
        return int(app.test_client().post(f"/api/requests/{request_id}/accept", headers=bearer(mia)).status_code)

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(accept, ids))
    assert sorted(statuses) == [200] + [409] * 49
    with app.app_context():
        accepted = db.session.scalars(select(BookingRequest).where(BookingRequest.status == "accepted")).all()
        assert len(accepted) == 1
        db.session.remove()
    events = _events(app)
    assert sum(isinstance(e, RequestAccepted) for e in events) == 1 and len(events) == 51
    assert [e.request_id for e in events if isinstance(e, RequestAccepted)] == [accepted[0].id]


def test_inbox_lists_every_status_and_filters(app: Flask) -> None:
    client = app.test_client()
    producer = register(client, roles=["producer"])
    mia = _musician(client, weekly=ALL_WEEK)
    project = _project(client, producer)
    ids = [
        _send(client, producer, project, mia, starts_at=_at(n, 18), ends_at=_at(n, 20)).get_json()["id"]
        for n in range(3)
    ]
    _act(client, mia, ids[0], "accept")
    _act(client, mia, ids[1], "decline")
    statuses = {
        r["id"]: r["status"] for r in client.get("/api/requests?role=musician", headers=bearer(mia)).get_json()["items"]
    }
    assert statuses == {ids[0]: "accepted", ids[1]: "declined", ids[2]: "pending"}
    pending = client.get("/api/requests?role=musician&status=pending", headers=bearer(mia)).get_json()["items"]
    assert [r["id"] for r in pending] == [ids[2]]
    assert client.get("/api/requests?role=boss", headers=bearer(mia)).status_code == 422


def test_pages_render_under_the_content_security_policy(app: Flask) -> None:
    producer_client, musician_client = app.test_client(), app.test_client()
    producer = register(producer_client, roles=["producer"])  # the answer sets the auth cookies
    register(musician_client, roles=["musician"])
    project = _project(producer_client, producer)
    for client, path, marker in (
        (producer_client, "/projects", 'id="project-form"'),
        (producer_client, f"/projects/{project['id']}", 'id="request-form"'),
        (musician_client, "/requests", 'id="inbox"'),
        (musician_client, "/musicians/me", 'id="availability-form"'),
        (musician_client, "/projects", 'id="not-requester"'),
        (producer_client, "/requests", 'id="not-musician"'),
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        html = page.get_data(as_text=True)
        assert marker in html, path
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert "<script>" not in html and '<script type="module">' not in html  # no inline scripts
    assert 'href="/projects"' in producer_client.get("/projects").get_data(as_text=True)
    assert 'href="/requests"' in musician_client.get("/requests").get_data(as_text=True)
    assert musician_client.get(f"/projects/{project['id']}").status_code == 404  # not the owner
