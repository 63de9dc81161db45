"""Sessions through the HTTP API on SQLite and PostgreSQL: who publishes, field rules (dates,
time zones, money), the terms that change only while nobody has booked, capacity, drafts,
the public list's filters, search and pages."""

from __future__ import annotations

from flask import Flask

from tests.integration.api_helpers import SESSION, bearer, new_session, problem, register
from tests.integration.people import many_people


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


def test_dates_must_be_representable_everywhere_they_go(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    far_away = {"starts_at": "9999-12-31T23:00:00+00:00", "ends_at": "9999-12-31T23:30:00+00:00"}
    far = client.post("/api/sessions", headers=bearer(owner), json={**SESSION, **far_away})
    assert far.status_code == 422 and set(far.get_json()["errors"]) == {"starts_at", "ends_at"}


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


def test_time_zones_are_places(app: Flask) -> None:
    client = app.test_client()
    host = register(client, roles=["facilitator"])
    for zone in ("localtime", "Factory", "Mars/Olympus"):
        answer = client.post("/api/sessions", json={**SESSION, "timezone": zone}, headers=bearer(host))
        assert problem(answer, 422)["errors"] == {"timezone": ["must be an IANA time zone such as Europe/Berlin"]}
    assert (
        client.post("/api/sessions", json={**SESSION, "timezone": "Asia/Kolkata"}, headers=bearer(host)).status_code
        == 201
    )


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


def test_drafts_can_be_deleted_published_sessions_cannot(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["creator"])
    draft = new_session(client, owner, status="draft")
    published = new_session(client, owner)
    assert client.delete(f"/api/sessions/{published['id']}", headers=bearer(owner)).status_code == 409
    assert client.delete(f"/api/sessions/{draft['id']}", headers=bearer(owner)).status_code == 204
    assert client.get(f"/api/sessions/{draft['id']}", headers=bearer(owner)).status_code == 404


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
    # Who booked a published session is its owner's alone: anyone else gets the same 404.
    assert client.get(f"/api/sessions/{live['id']}/bookings", headers=bearer(stranger)).status_code == 404


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
