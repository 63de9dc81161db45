"""Small helpers for talking to the app through Flask's test client."""

from __future__ import annotations

import itertools
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from control_plane.kits.extensions import db

_counter = itertools.count()

# Valid request bodies the input-rule tests vary one field of.
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


def register(client: FlaskClient, roles: list[str] | None = None, name: str = "Tester") -> dict[str, Any]:
    email = f"person{next(_counter)}-{id(client)}@example.com"
    response = client.post(
        "/api/auth/register",
        json={"email": email, "password": "correct horse battery", "name": name, "roles": roles or ["user"]},
    )
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    body["email"] = email
    return body


def bearer(person: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {person['access_token']}"}


def new_session(client: FlaskClient, owner: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {
        "title": "Drum circle",
        "starts_at": "2031-05-01T18:00:00+02:00",
        "ends_at": "2031-05-01T20:00:00+02:00",
        "timezone": "Europe/Berlin",
        "capacity": 3,
        "status": "published",
        **fields,
    }
    response = client.post("/api/sessions", json=body, headers=bearer(owner))
    assert response.status_code == 201, response.get_json()
    result: dict[str, Any] = response.get_json()
    return result


def problem(answer: Any, status: int) -> dict[str, Any]:
    """The problem+json body of an answer that must have this status."""
    assert answer.status_code == status, (answer.status_code, answer.get_data(as_text=True))
    assert answer.mimetype == "application/problem+json"
    body = answer.get_json()
    assert {"type", "title", "status", "detail"} <= body.keys()
    return dict(body)


def count_rows(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)
