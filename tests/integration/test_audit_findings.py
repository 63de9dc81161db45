"""Defects an outside tester found speaking the API contract: each was a 500, a leak or a wrong answer."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from icalendar import Calendar
from sqlalchemy import update

from control_plane.accounts.models import User
from control_plane.catalog.models import Booking, CatalogSession
from control_plane.kits.db.types import utcnow
from control_plane.kits.extensions import db
from tests.integration.api_helpers import bearer, new_session, register
from tests.integration.people import many_people

SESSION = {
    "title": "Jam",
    "starts_at": "2031-05-01T18:00:00+00:00",
    "ends_at": "2031-05-01T20:00:00+00:00",
    "capacity": 2,
}


def test_json_nested_past_the_parsers_depth_is_a_400_not_a_500(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    deep = "[" * 5000 + "]" * 5000
    for path, headers in (("/api/auth/login", {}), ("/api/bookings", bearer(owner)), ("/api/sessions", bearer(owner))):
        answer = client.post(path, data=deep, content_type="application/json", headers=headers)
        assert answer.status_code == 400, (path, answer.get_json())
        assert answer.mimetype == "application/problem+json" and answer.get_json()["code"] == "invalid-json"


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


def test_dates_must_be_representable_everywhere_they_go(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    far_away = {"starts_at": "9999-12-31T23:00:00+00:00", "ends_at": "9999-12-31T23:30:00+00:00"}
    far = client.post("/api/sessions", headers=bearer(owner), json={**SESSION, **far_away})
    assert far.status_code == 422 and set(far.get_json()["errors"]) == {"starts_at", "ends_at"}


def test_a_session_is_published_only_before_it_starts(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    past = {"starts_at": "2020-01-01T10:00:00+00:00", "ends_at": "2020-01-01T12:00:00+00:00"}
    refused = client.post(
        "/api/sessions", headers=bearer(owner), json={"title": "Old", "capacity": 2, "status": "published", **past}
    )
    assert refused.status_code == 422 and refused.get_json()["errors"] == {
        "starts_at": ["must be in the future to publish"]
    }
    draft = client.post("/api/sessions", headers=bearer(owner), json={"title": "Old", "capacity": 2, **past}).get_json()
    publish = client.patch(f"/api/sessions/{draft['id']}", json={"status": "published"}, headers=bearer(owner))
    assert publish.status_code == 422 and "starts_at" in publish.get_json()["errors"]


def test_the_terms_change_while_nobody_has_booked_and_never_after(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    (guest,) = many_people(app, 1)
    listing = new_session(client, owner, capacity=2)
    moved = client.patch(
        f"/api/sessions/{listing['id']}",
        headers=bearer(owner),
        json={
            "starts_at": "2031-06-01T18:00:00+02:00",
            "ends_at": "2031-06-01T21:00:00+02:00",
            "price": {"amount": 1500, "currency": "EUR"},
            "refund_policy": {"full_until_hours": 72, "partial_until_hours": 24, "partial_percent": 25},
            "kind": "retreat",
        },
    )
    assert moved.status_code == 200, moved.get_json()
    body = moved.get_json()
    assert body["starts_at"].startswith("2031-06-01") and body["price"] == {"amount": 1500, "currency": "EUR"}
    assert body["kind"] == "retreat"
    backwards = client.patch(
        f"/api/sessions/{listing['id']}", json={"ends_at": "2031-06-01T10:00:00+02:00"}, headers=bearer(owner)
    )
    assert backwards.status_code == 422 and "ends_at" in backwards.get_json()["errors"]

    client.post("/api/bookings", json={"session_id": listing["id"]}, headers=bearer(guest))
    locked = client.patch(
        f"/api/sessions/{listing['id']}", json={"price": {"amount": 1, "currency": "EUR"}}, headers=bearer(owner)
    )
    assert locked.status_code == 409 and locked.get_json()["code"] == "session-has-bookings"
    assert locked.get_json()["errors"] == {"price": ["cannot change once people have booked"]}
    same = {k: body[k] for k in ("kind", "starts_at", "ends_at", "timezone", "price")}  # as they are
    assert client.patch(f"/api/sessions/{listing['id']}", json=same, headers=bearer(owner)).status_code == 200
    after = client.get(f"/api/sessions/{listing['id']}").get_json()
    assert after["price"] == {"amount": 1500, "currency": "EUR"}
    assert (
        client.patch(f"/api/sessions/{listing['id']}", json={"title": "Renamed"}, headers=bearer(owner)).status_code
        == 200
    )


def test_status_filter_applies_to_the_public_list_and_drafts_stay_hidden(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    stranger = register(client)
    gone = new_session(client, owner, title="Gone")
    client.post(f"/api/sessions/{gone['id']}/cancel", json={}, headers=bearer(owner))
    live = new_session(client, owner, title="Live")
    cancelled = client.get("/api/sessions?status=cancelled&limit=200").get_json()["items"]
    assert gone["id"] in [s["id"] for s in cancelled] and live["id"] not in [s["id"] for s in cancelled]
    assert client.get("/api/sessions?status=draft").status_code == 422

    draft = new_session(client, owner, status="draft")
    for answer in (
        client.get(f"/api/sessions/{draft['id']}/bookings", headers=bearer(stranger)),
        client.patch(f"/api/sessions/{draft['id']}", json={"title": "x"}, headers=bearer(stranger)),
        client.delete(f"/api/sessions/{draft['id']}", headers=bearer(stranger)),
    ):
        assert answer.status_code == 404  # not 403, which would confirm the draft exists


def test_search_words_are_matched_as_typed(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    new_session(client, owner, title="Plain title")
    percent = new_session(client, owner, title="100% vinyl")
    found = client.get("/api/sessions?q=%25&limit=200").get_json()["items"]
    assert [s["id"] for s in found] == [percent["id"]]
    assert client.get("/api/sessions?q=_&limit=200").get_json()["items"] == []


def test_pages_neither_repeat_nor_skip_when_the_list_changes_between_them(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    tag = "Paged" + str(id(client))
    made = [
        new_session(
            client,
            owner,
            title=f"{tag} {day}",
            starts_at=f"2031-05-{day:02d}T18:00:00+00:00",
            ends_at=f"2031-05-{day:02d}T20:00:00+00:00",
        )
        for day in (10, 11, 12, 13)
    ]
    first = client.get(f"/api/sessions?q={tag}&limit=2").get_json()
    new_session(
        client, owner, title=f"{tag} 9", starts_at="2031-05-09T18:00:00+00:00", ends_at="2031-05-09T20:00:00+00:00"
    )
    second = client.get(f"/api/sessions?q={tag}&limit=2&cursor={first['next_cursor']}").get_json()
    ids = [s["id"] for s in first["items"] + second["items"]]
    assert ids == [s["id"] for s in made] and second["next_cursor"] is None
    assert client.get("/api/sessions?cursor=not-a-cursor").get_json()["errors"] == {
        "cursor": ["is not a cursor this list handed out"]
    }

    people = many_people(app, 3)
    for person in people:
        client.post("/api/bookings", json={"session_id": made[0]["id"]}, headers=bearer(person))
    page = client.get(f"/api/sessions/{made[0]['id']}/bookings?limit=2", headers=bearer(owner)).get_json()
    rest = client.get(
        f"/api/sessions/{made[0]['id']}/bookings?limit=2&cursor={page['next_cursor']}", headers=bearer(owner)
    ).get_json()
    assert len(page["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert client.get(f"/api/sessions/{made[0]['id']}/bookings?limit=abc", headers=bearer(owner)).status_code == 422


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


def test_money_is_in_a_real_currency(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    made_up = client.post(
        "/api/sessions", headers=bearer(owner), json={**SESSION, "price": {"amount": 100, "currency": "ZZZ"}}
    )
    assert made_up.status_code == 422
    assert made_up.get_json()["errors"] == {"price.currency": ["must be an ISO 4217 currency code such as EUR"]}
    francs = client.post(
        "/api/sessions", headers=bearer(owner), json={**SESSION, "price": {"amount": 100, "currency": "CHF"}}
    )
    assert francs.status_code == 201
    assert client.get("/api/musicians?currency=ZZZ").status_code == 422
