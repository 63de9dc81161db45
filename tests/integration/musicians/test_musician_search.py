"""GET /api/musicians: filters, full text in the database, distance, availability windows,
sorting and keyset pagination, and the availability questions; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from control_plane.kits.extensions import db
from control_plane.musicians.models import rating_rank
from control_plane.musicians.services import search
from control_plane.musicians.services.geo import haversine_km
from tests.integration.api_helpers import bearer, register
from tests.integration.people import many_people

BERLIN = (52.52, 13.405)
MONDAY_EVENINGS = [{"weekday": 0, "start": "18:00", "end": "23:00"}]
ALL_WEEK = [{"weekday": day, "start": "00:00", "end": "24:00"} for day in range(7)]

# name, instruments, genres, city, (lat, lon), rate, bio
CAST: list[tuple[str, list[str], list[str], str, tuple[float, float], dict[str, Any] | None, str]] = [
    (
        "Ada Brushes",
        ["Drums"],
        ["Jazz"],
        "Berlin",
        (52.52, 13.405),
        {"amount": 20000, "currency": "EUR", "per": "session"},
        "Swing and bebop drummer",
    ),
    (
        "Ben Lowend",
        ["Bass"],
        ["Funk", "Jazz"],
        "Potsdam",
        (52.39, 13.06),
        {"amount": 15000, "currency": "EUR", "per": "hour"},
        "Slap bass, Motown lines",
    ),
    (
        "Cleo Stix",
        ["Drums"],
        ["Rock"],
        "Hamburg",
        (53.55, 9.99),
        {"amount": 30000, "currency": "EUR", "per": "session"},
        "Loud and proud",
    ),
    (
        "Dev Ride",
        ["Drums", "Percussion"],
        ["Jazz"],
        "New York",
        (40.71, -74.0),
        {"amount": 25000, "currency": "USD", "per": "session"},
        "Big band and small combos",
    ),
    ("Eve Soul", ["Vocals"], ["Soul"], "Leipzig", (51.34, 12.37), None, "Gospel-trained voice"),
    ("Finn Island", ["Ukulele"], ["Folk"], "Suva", (-18.1, 179.9), None, "Strums by the sea"),
    ("Gia Date", ["Ukulele"], ["Folk"], "Taveuni", (-16.8, -179.95), None, "Across the date line"),
]


@pytest.fixture
def cast(app: Flask) -> dict[str, dict[str, Any]]:
    client = app.test_client()
    people = many_people(app, len(CAST), roles=["musician"])
    found: dict[str, dict[str, Any]] = {}
    with app.app_context():
        for person, (name, *_rest) in zip(people, CAST, strict=True):
            db.session.execute(
                text("UPDATE users SET name = :n WHERE id = :id"), {"n": name, "id": person["user"]["id"]}
            )
        db.session.commit()
        db.session.remove()
    for person, (name, instruments, genres, city, (lat, lon), rate, bio) in zip(people, CAST, strict=True):
        body = {
            "instruments": instruments,
            "genres": genres,
            "bio": bio,
            "location": {"city": city, "lat": lat, "lon": lon},
            "rate": rate,
        }
        answer = client.put("/api/musicians/me", json=body, headers=bearer(person))
        assert answer.status_code == 200, answer.get_json()
        found[name] = person
    return found


def _names(client: FlaskClient, query: str) -> list[str]:
    answer = client.get(f"/api/musicians?{query}")
    assert answer.status_code == 200, answer.get_json()
    return [item["name"] for item in answer.get_json()["items"]]


def test_filters_by_instrument_genre_rate_and_text(
    app: Flask, cast: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    assert sorted(_names(client, "instrument=DRUMS")) == ["Ada Brushes", "Cleo Stix", "Dev Ride"]
    assert sorted(_names(client, "genre=jazz")) == ["Ada Brushes", "Ben Lowend", "Dev Ride"]
    assert sorted(_names(client, "instrument=drums&genre=jazz")) == ["Ada Brushes", "Dev Ride"]
    assert sorted(_names(client, "max_rate=20000")) == ["Ada Brushes", "Ben Lowend"]
    assert _names(client, "max_rate=30000&currency=USD") == ["Dev Ride"]
    assert _names(client, "per=hour") == ["Ben Lowend"]
    # Full text, every word as a prefix, over name, instruments, genres, city and bio.
    assert _names(client, "q=bebop") == ["Ada Brushes"]
    assert _names(client, "q=swi") == ["Ada Brushes"]
    assert sorted(_names(client, "q=jazz+drum")) == ["Ada Brushes", "Dev Ride"]
    assert _names(client, "q=LEIPZIG") == ["Eve Soul"]
    assert _names(client, "q=lowend") == ["Ben Lowend"]
    assert _names(client, "q=gospel-trained") == ["Eve Soul"]
    assert _names(client, "q=motown+rock") == []
    assert _names(client, "q=%22%2A%29+OR+1") == []  # FTS / tsquery syntax is never passed through
    # Words that match many profiles take the other plan on SQLite (the sort index drives):
    # the same answers.
    monkeypatch.setattr(search, "COMMON_TERMS", 1)
    assert sorted(_names(client, "q=jazz")) == ["Ada Brushes", "Ben Lowend", "Dev Ride"]
    assert _names(client, "q=jazz&sort=rate&currency=EUR") == ["Ben Lowend", "Ada Brushes"]
    assert _names(client, "q=jazz&near=52.52,13.405&radius_km=100") == ["Ada Brushes", "Ben Lowend"]


def test_near_uses_the_exact_distance_and_shows_it(app: Flask, cast: dict[str, Any]) -> None:
    client = app.test_client()
    answer = client.get("/api/musicians?near=52.52,13.405&radius_km=300").get_json()
    items = answer["items"]
    assert answer["sort"] == "distance"  # the default with near
    assert [item["name"] for item in items] == ["Ada Brushes", "Ben Lowend", "Eve Soul", "Cleo Stix"]
    for item in items:
        expected = haversine_km(*BERLIN, item["location"]["lat"], item["location"]["lon"])
        assert item["distance_km"] == pytest.approx(expected, abs=0.01)
    assert 250 < items[-1]["distance_km"] < 260  # Berlin to Hamburg
    assert _names(client, "instrument=drums&near=52.52,13.405&radius_km=50") == ["Ada Brushes"]
    # Leipzig (150 km) is inside the bounding box of a 149 km circle only by its corner: excluded.
    assert "Eve Soul" not in _names(client, "near=52.52,13.405&radius_km=149")
    # Across the antimeridian the box wraps: Suva and Taveuni are 150 km apart.
    assert sorted(_names(client, "near=-17.5,179.99&radius_km=200")) == ["Finn Island", "Gia Date"]
    assert "distance_km" not in client.get("/api/musicians?instrument=drums").get_json()["items"][0]


def test_sorts_by_rate_and_rating(app: Flask, cast: dict[str, Any]) -> None:
    client = app.test_client()
    assert _names(client, "currency=EUR&sort=rate") == ["Ben Lowend", "Ada Brushes", "Cleo Stix"]
    by_rate = _names(client, "sort=rate")
    assert by_rate[:4] == ["Ben Lowend", "Ada Brushes", "Dev Ride", "Cleo Stix"]  # no rate: last
    with app.app_context():  # ratings as reviews leave them (the review flow is tested elsewhere)
        for name, stars_sum, count in (("Cleo Stix", 48, 10), ("Eve Soul", 5, 1), ("Ada Brushes", 2, 1)):
            db.session.execute(
                text(
                    "UPDATE musician_profiles SET rating_sum = :s, rating_count = :c, rating_rank = :r "
                    "WHERE user_id = :id"
                ),
                {"s": stars_sum, "c": count, "r": rating_rank(stars_sum, count), "id": cast[name]["user"]["id"]},
            )
        db.session.commit()
        db.session.remove()
    ranked = client.get("/api/musicians?sort=rating").get_json()["items"]
    assert [item["name"] for item in ranked[:2]] == ["Cleo Stix", "Eve Soul"]  # 4.8 x 10 beats 5.0 x 1
    assert ranked[-1]["name"] == "Ada Brushes" and ranked[-1]["rating_avg"] == 2.0
    assert ranked[0]["rating_avg"] == 4.8 and ranked[0]["rating_count"] == 10


def test_cursor_pages_neither_skip_nor_repeat(app: Flask, cast: dict[str, Any]) -> None:
    for sort in ("rating", "rate", "name", "distance"):
        _page_through(app.test_client(), sort)


def _page_through(client: FlaskClient, sort: str) -> None:
    near = "&near=50,10&radius_km=20000" if sort == "distance" else ""
    whole = _names(client, f"sort={sort}{near}&limit=100")
    assert len(whole) >= len(CAST)
    seen: list[str] = []
    cursor = None
    for page_number in range(10):
        query = f"sort={sort}{near}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/api/musicians?{query}").get_json()
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if page_number == 0:
            # Someone joins whose key sorts before the cursor (nearest, cheapest, first by name,
            # and newest among equal ratings): later pages neither shift nor repeat.
            late = register(client, roles=["musician"], name=f"Aaron Early {sort}")
            body = {
                "instruments": ["Drums"],
                # The earlier newcomers have no coordinates, so only this one sorts by distance.
                "location": {"city": "Kassel", "lat": 50.0, "lon": 10.0} if sort == "distance" else {},
                "rate": {"amount": 1, "currency": "EUR", "per": "hour"},
            }
            client.put("/api/musicians/me", json=body, headers=bearer(late))
        if cursor is None:
            break
    assert seen == whole  # the newcomer sorts before every cursor handed out, so never shows up


def test_bad_parameters_are_422_problems_naming_the_field(app: Flask, cast: dict[str, Any]) -> None:
    client = app.test_client()
    cursor = client.get("/api/musicians?sort=rate&limit=1").get_json()["next_cursor"]
    cases = {
        "sort=distance": "sort",
        "near=abc": "near",
        "near=91,10": "near",
        "near=52.5": "near",
        "radius_km=10": "radius_km",
        "near=52,13&radius_km=0": "radius_km",
        "available_from=2031-05-05T18:00:00Z": "available_to",
        "available_from=2031-05-05T18:00:00Z&available_to=2031-05-05T17:00:00Z": "available_to",
        "available_from=2031-05-05T18:00:00&available_to=2031-05-05T19:00:00": "available_from",
        "available_from=2031-05-01T00:00:00Z&available_to=2031-07-01T00:00:00Z": "available_to",
        "q=%21%21%21": "q",
        "max_rate=-1": "max_rate",
        "currency=eur": "currency",
        "sort=popularity": "sort",
        "limit=0": "limit",
        "cursor=%25%25%25": "cursor",
        f"sort=name&cursor={cursor}": "cursor",
        "colour=blue": "colour",
    }
    for query, field in cases.items():
        answer = client.get(f"/api/musicians?{query}")
        assert answer.status_code == 422, query
        assert answer.mimetype == "application/problem+json"
        assert field in answer.get_json()["errors"], (query, answer.get_json())


def _set_availability(client: FlaskClient, person: dict[str, Any], weekly: list[dict[str, Any]], zone: str) -> None:
    answer = client.put(
        "/api/musicians/me/availability", json={"timezone": zone, "weekly": weekly}, headers=bearer(person)
    )
    assert answer.status_code == 200, answer.get_json()


def test_available_window_keeps_only_musicians_free_then(app: Flask, cast: dict[str, Any]) -> None:
    client = app.test_client()
    _set_availability(client, cast["Ada Brushes"], MONDAY_EVENINGS, "Europe/Berlin")
    _set_availability(client, cast["Ben Lowend"], ALL_WEEK, "Europe/Berlin")
    _set_availability(client, cast["Dev Ride"], MONDAY_EVENINGS, "America/New_York")
    # Monday 2031-05-05 19:00-21:00 in Berlin (CEST) is 17:00-19:00 UTC: 13:00 in New York.
    window = "available_from=2031-05-05T19:00:00%2B02:00&available_to=2031-05-05T21:00:00%2B02:00"
    assert sorted(_names(client, window)) == ["Ada Brushes", "Ben Lowend"]
    assert _names(client, f"{window}&instrument=drums") == ["Ada Brushes"]
    # 22:30-00:30 UTC is Monday evening in New York only.
    late = "available_from=2031-05-05T22:30:00Z&available_to=2031-05-06T00:30:00Z"
    assert sorted(_names(client, late)) == ["Ben Lowend", "Dev Ride"]

    # Ada takes an engagement in the window: she drops out of the results.
    producer = register(client, roles=["producer"])
    project = client.post(
        "/api/projects",
        json={"title": "Gig", "starts_at": "2031-05-05T16:00:00Z", "ends_at": "2031-05-05T23:00:00Z"},
        headers=bearer(producer),
    ).get_json()
    sent = client.post(
        f"/api/projects/{project['id']}/requests",
        json={
            "musician_id": cast["Ada Brushes"]["user"]["id"],
            "instrument": "Drums",
            "starts_at": "2031-05-05T18:30:00Z",
            "ends_at": "2031-05-05T20:00:00Z",
            "offer": {"amount": 10000, "currency": "EUR"},
        },
        headers=bearer(producer),
    ).get_json()
    assert client.post(f"/api/requests/{sent['id']}/accept", headers=bearer(cast["Ada Brushes"])).status_code == 200
    assert _names(client, window) == ["Ben Lowend"]

    ada = cast["Ada Brushes"]["user"]["id"]
    check = client.get(
        f"/api/musicians/{ada}/availability/check?starts_at=2031-05-05T17:00:00Z&ends_at=2031-05-05T18:00:00Z"
    )
    assert check.get_json()["free"] is True and check.get_json()["timezone"] == "Europe/Berlin"
    busy = client.get(
        f"/api/musicians/{ada}/availability/check?starts_at=2031-05-05T18:00:00Z&ends_at=2031-05-05T19:00:00Z"
    ).get_json()
    assert (busy["free"], busy["reason"]) == (False, "overlapping-engagement")
    outside = client.get(
        f"/api/musicians/{ada}/availability/check?starts_at=2031-05-06T17:00:00Z&ends_at=2031-05-06T18:00:00Z"
    ).get_json()
    assert (outside["free"], outside["reason"]) == (False, "outside-availability")
    slots = client.get(
        f"/api/musicians/{ada}/availability/slots?from=2031-05-05T00:00:00Z&to=2031-05-13T00:00:00Z"
    ).get_json()
    assert [(s["starts_at"], s["ends_at"]) for s in slots["slots"]] == [
        ("2031-05-05T16:00:00+00:00", "2031-05-05T18:30:00+00:00"),
        ("2031-05-05T20:00:00+00:00", "2031-05-05T21:00:00+00:00"),
        ("2031-05-12T16:00:00+00:00", "2031-05-12T21:00:00+00:00"),
    ]
    long_enough = client.get(
        f"/api/musicians/{ada}/availability/slots?from=2031-05-05T00:00:00Z&to=2031-05-13T00:00:00Z&min_minutes=120"
    ).get_json()
    assert len(long_enough["slots"]) == 2
    assert (
        client.get(
            f"/api/musicians/{ada}/availability/slots?from=2031-05-05T00:00:00Z&to=2031-05-04T00:00:00Z"
        ).status_code
        == 422
    )
    assert (
        client.get(
            "/api/musicians/999999/availability/check?starts_at=2031-05-05T17:00:00Z&ends_at=2031-05-05T18:00:00Z"
        ).status_code
        == 404
    )


def test_a_spent_scan_budget_returns_a_short_page_that_continues(
    app: Flask, cast: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = app.test_client()
    for name in ("Ada Brushes", "Ben Lowend", "Cleo Stix", "Eve Soul"):
        _set_availability(client, cast[name], ALL_WEEK, "UTC")
    _set_availability(client, cast["Dev Ride"], MONDAY_EVENINGS, "UTC")  # not free in the window
    monkeypatch.setattr(search, "SCAN_BUDGET", 2)
    window = "available_from=2031-05-06T10:00:00Z&available_to=2031-05-06T12:00:00Z&sort=name&limit=10"
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = client.get(f"/api/musicians?{window}" + (f"&cursor={cursor}" if cursor else "")).get_json()
        assert len(page["items"]) <= 2
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Ada Brushes", "Ben Lowend", "Cleo Stix", "Eve Soul"]
    assert datetime(2031, 5, 6, tzinfo=UTC).weekday() == 1  # a Tuesday: Dev's Monday window is closed
