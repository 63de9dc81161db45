"""The HTTP kit's input rules as every area meets them, on SQLite and PostgreSQL: JSON too deep
to parse or sent as a form, ids past a database integer, dates outside 2000-2199."""

from __future__ import annotations

from flask import Flask

from tests.integration.api_helpers import PROJECT, bearer, new_session, problem, register
from tests.integration.people import many_people


def test_json_nested_past_the_parsers_depth_is_a_400_not_a_500(app: Flask) -> None:
    client = app.test_client()
    owner = register(client, roles=["facilitator"])
    deep = "[" * 5000 + "]" * 5000
    for path, headers in (("/api/auth/login", {}), ("/api/bookings", bearer(owner)), ("/api/sessions", bearer(owner))):
        answer = client.post(path, data=deep, content_type="application/json", headers=headers)
        assert answer.status_code == 400, (path, answer.get_json())
        assert answer.mimetype == "application/problem+json" and answer.get_json()["code"] == "invalid-json"


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
        problem(client.open(path, method=method, json={}, headers=bearer(owner)), 404)
    assert problem(client.get(f"/api/notifications?since={huge}", headers=bearer(owner)), 422)["errors"].keys() == {
        "since"
    }
    booking = client.post("/api/bookings", json={"session_id": 2**63}, headers=bearer(owner))
    assert "session_id" in problem(booking, 422)["errors"]


def test_dates_outside_2000_to_2199_are_refused_at_the_field(app: Flask) -> None:
    client = app.test_client()
    producer = register(client, roles=["producer"])
    musician = register(client, roles=["musician"])
    late = "9999-12-31T20:00:00-14:00"
    early = "2001-01-01T00:00:00+00:00"
    message = ["must be between the years 2000 and 2199"]
    assert problem(client.get(f"/api/sessions?from={late}"), 422)["errors"] == {"from": message}
    for body in ({**PROJECT, "starts_at": late}, {**PROJECT, "starts_at": "1999-12-31T00:00:00+00:00"}):
        assert problem(client.post("/api/projects", json=body, headers=bearer(producer)), 422)["errors"] == {
            "starts_at": message
        }
    over = client.post(
        "/api/projects",
        json={**PROJECT, "starts_at": early, "ends_at": "2001-01-02T00:00:00+00:00"},
        headers=bearer(producer),
    )
    assert problem(over, 422)["errors"] == {"ends_at": ["must be in the future: this project would already be over"]}
    assert client.post("/api/projects", json=PROJECT, headers=bearer(producer)).status_code == 201
    availability = client.put(
        "/api/musicians/me/availability",
        json={"exceptions": [{"date": "9999-12-31", "available": True}]},
        headers=bearer(musician),
    )
    assert problem(availability, 422)["errors"] == {"exceptions.0.date": message}
    week = client.get("/api/calendar/week?start=0001-01-01T00:00:00Z", headers=bearer(musician))
    assert problem(week, 422)["errors"] == {"start": message}
