"""Musician profiles (portfolio links, photo, location), the public profile, and reviews that
add up to the rating: on SQLite and PostgreSQL, through the HTTP API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from control_plane.kits.extensions import db
from tests.integration.api_helpers import bearer, register

ALL_WEEK = [{"weekday": day, "start": "00:00", "end": "24:00"} for day in range(7)]
PROFILE = {
    "instruments": ["Drums", "Percussion"],
    "genres": ["Jazz", "Funk"],
    "bio": "Brushes, swing and second-line grooves.",
    "location": {"city": "Berlin", "lat": 52.52, "lon": 13.405},
    "rate": {"amount": 25000, "currency": "EUR", "per": "session"},
    "links": [
        "https://open.spotify.com/artist/4Z8W4fKeB5YxbusRsdQVPb",
        "https://soundcloud.com/mia-drums",
        "https://miadrums.bandcamp.com/album/live-at-b-flat",
    ],
    "photo_url": "https://images.example.net/mia.jpg",
}


def _musician(client: FlaskClient, name: str) -> dict[str, Any]:
    person = register(client, roles=["musician"], name=name)
    answer = client.put("/api/musicians/me/availability", json={"weekly": ALL_WEEK}, headers=bearer(person))
    assert answer.status_code == 200
    return person


def test_profile_round_trip_public_view_and_rename(app: Flask) -> None:
    client = app.test_client()
    mia = _musician(client, "Mia Drums")
    saved = client.put("/api/musicians/me", json=PROFILE, headers=bearer(mia))
    assert saved.status_code == 200, saved.get_json()
    body = saved.get_json()
    assert body["photo_url"] == PROFILE["photo_url"] and body["links"] == PROFILE["links"]
    assert [item["kind"] for item in body["portfolio"]] == ["spotify", "soundcloud", "bandcamp"]
    assert body["rate"] == {"amount": 25000, "currency": "EUR", "per": "session"}
    assert body["location"] == {"city": "Berlin", "lat": 52.52, "lon": 13.405}
    assert (body["rating_avg"], body["rating_count"]) == (None, 0)

    public = client.get(f"/api/musicians/{mia['user']['id']}")  # no token: profiles are public
    assert (
        public.status_code == 200
        and public.get_json() == client.get("/api/musicians/me", headers=bearer(mia)).get_json()
    )
    missing = client.get("/api/musicians/999999")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"

    # The pages: search and public profile are public; photos from https hosts may load.
    for path in ("/musicians", f"/musicians/{mia['user']['id']}", "/musicians?instrument=drums&near=52.5,13.4"):
        html = app.test_client().get(path)
        assert html.status_code == 200 and html.mimetype == "text/html", path
        policy = html.headers["Content-Security-Policy"]
        assert "img-src 'self' data: https:;" in policy and "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
    assert app.test_client().get("/musicians/999999").status_code == 404

    cleared = client.put("/api/musicians/me", json={"instruments": ["Drums"]}, headers=bearer(mia)).get_json()
    assert cleared["links"] == [] and cleared["photo_url"] is None and cleared["rate"] is None

    # Renamed by the accounts area: a database trigger keeps search in step.
    with app.app_context():
        db.session.execute(text("UPDATE users SET name = 'Zora Groove' WHERE id = :id"), {"id": mia["user"]["id"]})
        db.session.commit()
        db.session.remove()
    found = client.get("/api/musicians?q=zora").get_json()["items"]
    assert [item["name"] for item in found] == ["Zora Groove"]
    assert client.get("/api/musicians?q=mia").get_json()["items"] == []


def test_bad_profiles_name_each_field_and_change_nothing(app: Flask) -> None:
    client = app.test_client()
    mia = _musician(client, "Mia Drums")
    before = client.put("/api/musicians/me", json=PROFILE, headers=bearer(mia)).get_json()
    bad = client.put(
        "/api/musicians/me",
        json={
            **PROFILE,
            "location": {"city": "Nowhere", "lat": 91, "lon": 13.4},
            "rate": {"amount": 100, "currency": "eur", "per": "gig"},
            "links": [
                "http://open.spotify.com/artist/x",
                "https://example.com/mia",
                "https://open.spotify.com/",
                "https://user:pw@soundcloud.com/mia",
                "https://soundcloud.com:8443/mia",
                "https://evil.com/?u=soundcloud.com",
                "not a url",
            ],
            "photo_url": "ftp://images.example.net/mia.jpg",
        },
        headers=bearer(mia),
    )
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    errors = bad.get_json()["errors"]
    assert {"location.lat", "rate.currency", "rate.per", "photo_url"} <= set(errors)
    assert "https://" in errors["links.0"][0]
    assert "Spotify, SoundCloud or Bandcamp" in errors["links.1"][0] and "example.com" in errors["links.1"][0]
    assert "front page" in errors["links.2"][0]
    assert "password" in errors["links.3"][0] and "port" in errors["links.4"][0]
    assert "evil.com" in errors["links.5"][0] and "links.6" in errors
    one_coordinate = client.put("/api/musicians/me", json={"location": {"city": "X", "lat": 10.0}}, headers=bearer(mia))
    assert one_coordinate.status_code == 422 and "location" in one_coordinate.get_json()["errors"]
    assert client.get("/api/musicians/me", headers=bearer(mia)).get_json() == before


def _engagement(client: FlaskClient, producer: dict[str, Any], musician: dict[str, Any], day: int) -> int:
    starts = datetime(2031, 5, 5 + day, 18, tzinfo=UTC)
    project = client.post(
        "/api/projects",
        json={
            "title": f"Gig {day}",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=4)).isoformat(),
        },
        headers=bearer(producer),
    ).get_json()
    sent = client.post(
        f"/api/projects/{project['id']}/requests",
        json={
            "musician_id": musician["user"]["id"],
            "instrument": "Drums",
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=3)).isoformat(),
            "offer": {"amount": 20000, "currency": "EUR"},
        },
        headers=bearer(producer),
    )
    assert sent.status_code == 201, sent.get_json()
    return int(sent.get_json()["id"])


def _accept(client: FlaskClient, musician: dict[str, Any], request_id: int) -> None:
    answer = client.post(f"/api/requests/{request_id}/accept", headers=bearer(musician))
    assert answer.status_code == 200, answer.get_json()


def _let_it_end(app: Flask, request_id: int) -> None:
    """Time passes: the engagement moves into the past (the API refuses past requests)."""
    past = datetime(2020, 1, 1, 18, tzinfo=UTC) + timedelta(days=request_id)  # apart, as engagements are
    with app.app_context():
        db.session.execute(
            text("UPDATE booking_requests SET starts_at = :s, ends_at = :e WHERE id = :id"),
            {"s": past, "e": past + timedelta(hours=3), "id": request_id},
        )
        db.session.commit()
        db.session.remove()


def test_reviews_need_an_ended_accepted_engagement_and_feed_the_rating(app: Flask) -> None:
    client = app.test_client()
    mia = _musician(client, "Mia Drums")
    client.put("/api/musicians/me", json=PROFILE, headers=bearer(mia))
    producer = register(client, roles=["producer"], name="Pat Producer")
    first, second, pending = (_engagement(client, producer, mia, day) for day in (0, 1, 2))
    _accept(client, mia, first)
    _accept(client, mia, second)

    def review(person: dict[str, Any], request_id: int, body: Any) -> Any:
        return client.post(f"/api/requests/{request_id}/review", json=body, headers=bearer(person))

    early = review(producer, first, {"stars": 5})
    assert early.status_code == 409 and early.get_json()["code"] == "engagement-not-ended"
    _let_it_end(app, first)
    assert review(mia, first, {"stars": 5}).status_code == 403  # the musician does not rate themself
    assert review(register(client, roles=["producer"]), first, {"stars": 5}).status_code == 404
    assert review(producer, first, {"stars": 6}).status_code == 422
    assert review(producer, pending, {"stars": 4}).get_json()["code"] == "not-reviewable"
    created = review(producer, first, {"stars": 5, "text": "  Perfect time feel.  "})
    assert created.status_code == 201, created.get_json()
    assert (
        created.get_json()["text"] == "Perfect time feel." and created.get_json()["reviewer"]["name"] == "Pat Producer"
    )
    again = review(producer, first, {"stars": 1})
    assert again.status_code == 409 and again.get_json()["code"] == "already-reviewed"

    _let_it_end(app, second)
    assert review(producer, second, {"stars": 2}).status_code == 201
    profile = client.get(f"/api/musicians/{mia['user']['id']}").get_json()
    assert (profile["rating_avg"], profile["rating_count"]) == (3.5, 2)
    reviews = client.get(f"/api/musicians/{mia['user']['id']}/reviews?limit=1").get_json()
    assert [r["stars"] for r in reviews["items"]] == [2] and reviews["next_cursor"] is not None
    rest = client.get(f"/api/musicians/{mia['user']['id']}/reviews?cursor={reviews['next_cursor']}").get_json()
    assert [r["stars"] for r in rest["items"]] == [5] and rest["next_cursor"] is None

    # Reviews written before the musician had a profile count once it exists.
    ben = _musician(client, "Ben Bass")  # availability only, no profile yet
    request_id = _engagement(client, producer, ben, 0)
    _accept(client, ben, request_id)
    _let_it_end(app, request_id)
    assert (
        client.post(f"/api/requests/{request_id}/review", json={"stars": 4}, headers=bearer(producer)).status_code
        == 201
    )
    created = client.put("/api/musicians/me", json={"instruments": ["Bass"]}, headers=bearer(ben)).get_json()
    assert (created["rating_avg"], created["rating_count"]) == (4.0, 1)
