"""Calendars through the HTTP API on SQLite and PostgreSQL: the booking's .ics, the private
feed and its link, the week view; cancelled and tentative events, hosts' own sessions, and text
written before the input rules that must still export as valid iCalendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
from flask import Flask
from icalendar import Calendar
from sqlalchemy import update

from control_plane.accounts.models import User
from control_plane.catalog.models import Booking, CatalogSession
from control_plane.kits.db.types import utcnow
from control_plane.kits.extensions import db
from tests.integration.api_helpers import SESSION, bearer, new_session, register
from tests.integration.people import many_people


def _book(client: Any, person: dict[str, Any], session_id: int, **extra: Any) -> Any:
    return client.post("/api/bookings", json={"session_id": session_id, **extra}, headers=bearer(person))


def test_calendar_feed_and_booking_ics_are_valid_icalendar(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    (guest,) = many_people(app, 1)
    listing = new_session(
        client,
        owner,
        title="Tabla basics",
        timezone="Asia/Kolkata",
        starts_at="2031-03-01T18:00:00+05:30",
        ends_at="2031-03-01T20:00:00+05:30",
    )
    booked = _book(client, guest, listing["id"]).get_json()
    assert client.get("/api/calendar", headers=bearer(guest)).get_json() == {"feed_url": None}
    url = client.post("/api/calendar/rotate", headers=bearer(guest)).get_json()["feed_url"]
    path = "/" + url.split("/", 3)[3]
    feed = client.get(path)
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    calendar = icalendar.Calendar.from_ical(feed.data)
    events = [c for c in calendar.walk("VEVENT")]
    assert [str(e["summary"]) for e in events] == ["Tabla basics"]
    assert events[0].decoded("dtstart").tzinfo is not None
    assert str(events[0]["dtstart"].params["TZID"]) == "Asia/Kolkata"
    assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Kolkata"]
    assert events[0].decoded("dtstart").astimezone(UTC) == datetime(2031, 3, 1, 12, 30, tzinfo=UTC)
    single = client.get(f"/api/bookings/{booked['id']}.ics", headers=bearer(guest))
    assert single.status_code == 200 and b"BEGIN:VTIMEZONE" in single.data
    new_url = client.post("/api/calendar/rotate", headers=bearer(guest)).get_json()["feed_url"]
    assert new_url != url and client.get(path).status_code == 404  # the old link is revoked
    assert client.delete("/api/calendar", headers=bearer(guest)).status_code == 204
    assert client.get("/" + new_url.split("/", 3)[3]).status_code == 404
    week = client.get("/api/calendar/week?start=2031-02-27T00:00:00%2B00:00", headers=bearer(guest)).get_json()
    assert [i["title"] for i in week["items"]] == ["Tabla basics"]


def test_a_cancelled_booking_exports_as_a_cancelled_event_stamped_now(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    (guest,) = many_people(app, 1)
    listing = new_session(client, owner)
    booking = client.post("/api/bookings", json={"session_id": listing["id"]}, headers=bearer(guest)).get_json()
    before = Calendar.from_ical(client.get(f"/api/bookings/{booking['id']}.ics", headers=bearer(guest)).data)
    client.post(f"/api/bookings/{booking['id']}/cancel", json={}, headers=bearer(guest))
    after = Calendar.from_ical(client.get(f"/api/bookings/{booking['id']}.ics", headers=bearer(guest)).data)
    (was,) = before.walk("VEVENT")
    (now,) = after.walk("VEVENT")
    assert str(now["status"]) == "CANCELLED" and str(was["status"]) == "CONFIRMED"
    assert now["sequence"] > was["sequence"]
    assert abs(now.decoded("dtstamp") - utcnow()) < timedelta(minutes=5)


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


def test_titles_and_names_are_single_lines_and_calendars_survive_old_ones(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    bad = client.post("/api/sessions", headers=bearer(owner), json={**SESSION, "title": "new\nline"})
    assert bad.status_code == 422 and bad.get_json()["errors"]["title"] == ["must be a single line of text"]
    renamed = client.patch("/api/me", json={"name": "Evil\nX-INJECT:1"}, headers=bearer(owner))
    assert renamed.status_code == 422 and "name" in renamed.get_json()["errors"]

    # Rows written before the rule (or by another tool) still export as valid calendars.
    (guest,) = many_people(app, 1)
    listing = new_session(client, owner)
    booking = client.post("/api/bookings", json={"session_id": listing["id"]}, headers=bearer(guest)).get_json()
    with app.app_context():
        db.session.execute(update(CatalogSession).where(CatalogSession.id == listing["id"]).values(title="a\nb"))
        db.session.execute(update(User).where(User.id == guest["user"]["id"]).values(name="Evil\nX-INJECT:1"))
        db.session.commit()
    ics = client.get(f"/api/bookings/{booking['id']}.ics", headers=bearer(guest))
    assert ics.status_code == 200 and Calendar.from_ical(ics.data).get("x-wr-calname") == "a b"
    feed_url = client.post("/api/calendar/rotate", headers=bearer(guest)).get_json()["feed_url"]
    feed = client.get(feed_url[feed_url.index("/calendar/") :])
    assert feed.status_code == 200
    parsed = Calendar.from_ical(feed.data)
    assert "X-INJECT" not in parsed and str(parsed.get("x-wr-calname")) == "Downbeat: Evil X-INJECT:1"


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
