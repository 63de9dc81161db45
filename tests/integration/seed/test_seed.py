"""The demo data `make up` seeds: a fresh stack's producer can book its musician."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from control_plane.seed import DEMO_PASSWORD, seed_demo
from tests.conftest import make_settings
from tests.integration.api_helpers import bearer, register


def test_the_demo_musician_can_be_booked_on_a_fresh_stack(app: Flask, tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url)
    seed_demo(settings)
    seed_demo(settings)  # `make up` seeds on every start: nothing doubles
    client = app.test_client()
    musician = client.post(
        "/api/auth/login", json={"email": "musician@downbeat.local", "password": DEMO_PASSWORD}
    ).get_json()
    availability = client.get("/api/musicians/me/availability", headers=bearer(musician)).get_json()
    assert availability["timezone"] == "Europe/Berlin" and availability["is_set"]
    assert len(availability["weekly"]) == 7

    producer = register(client, roles=["producer"])
    project = client.post(
        "/api/projects",
        headers=bearer(producer),
        json={"title": "Demo tour", "starts_at": "2031-05-05T08:00:00+02:00", "ends_at": "2031-05-06T23:00:00+02:00"},
    ).get_json()
    sent = client.post(
        f"/api/projects/{project['id']}/requests",
        headers=bearer(producer),
        json={
            "musician_id": musician["user"]["id"],
            "instrument": "Drums",
            "starts_at": "2031-05-05T19:00:00+02:00",
            "ends_at": "2031-05-05T22:00:00+02:00",
            "offer": {"amount": 18000, "currency": "EUR"},
        },
    )
    assert sent.status_code == 201, sent.get_json()
