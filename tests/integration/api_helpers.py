"""Small helpers for talking to the app through Flask's test client."""

from __future__ import annotations

import itertools
from typing import Any

from flask.testing import FlaskClient

_counter = itertools.count()


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
