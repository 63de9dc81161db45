"""A musician renamed through the accounts area (PATCH /api/me) is found by the new name: the
profile's ``display_name`` follows ``users.name`` by a database trigger (docs/MUSICIANS.md)."""

from __future__ import annotations

from flask import Flask

from tests.integration.api_helpers import bearer, register


def test_a_renamed_account_is_found_by_its_new_name(app: Flask) -> None:
    client = app.test_client(use_cookies=False)
    mia = register(client, roles=["musician"], name="Mia Drums")
    saved = client.put("/api/musicians/me", json={"instruments": ["Drums"]}, headers=bearer(mia))
    assert saved.status_code == 200, saved.get_json()
    assert [item["name"] for item in client.get("/api/musicians?q=mia").get_json()["items"]] == ["Mia Drums"]

    renamed = client.patch("/api/me", json={"name": "Zora Groove"}, headers=bearer(mia))
    assert renamed.status_code == 200, renamed.get_json()

    found = client.get("/api/musicians?q=zora").get_json()["items"]
    assert [item["name"] for item in found] == ["Zora Groove"]
    assert client.get("/api/musicians?q=mia").get_json()["items"] == []
    by_name = client.get("/api/musicians?sort=name").get_json()["items"]
    assert [item["name"] for item in by_name] == ["Zora Groove"]
    assert client.get(f"/api/musicians/{mia['user']['id']}").get_json()["name"] == "Zora Groove"
