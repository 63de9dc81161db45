from __future__ import annotations

from flask import Flask

from tests.integration.api_helpers import bearer, register


def test_register_login_me_and_duplicate_email(app: Flask) -> None:
    client = app.test_client()
    person = register(client, roles=["facilitator", "user"])
    assert person["user"]["roles"] == ["user", "facilitator"]
    me = client.get("/api/me", headers=bearer(person))
    assert me.status_code == 200 and me.get_json()["email"] == person["email"]
    again = client.post(
        "/api/auth/register", json={"email": person["email"].upper(), "password": "x" * 10, "name": "Dup"}
    )
    assert again.status_code == 409
    assert again.mimetype == "application/problem+json" and again.get_json()["errors"] == {"email": ["taken"]}
    login = client.post("/api/auth/login", json={"email": person["email"], "password": "correct horse battery"})
    assert login.status_code == 200 and login.get_json()["user"]["id"] == person["user"]["id"]
    wrong = client.post("/api/auth/login", json={"email": person["email"], "password": "nope"})
    assert wrong.status_code == 401 and wrong.get_json()["code"] == "invalid-credentials"


def test_bad_registration_names_each_field_and_creates_nothing(app: Flask) -> None:
    client = app.test_client()
    response = client.post(
        "/api/auth/register", json={"email": "not-an-email", "password": "short", "name": "", "roles": ["wizard"]}
    )
    assert response.status_code == 422
    body = response.get_json()
    assert set(body["errors"]) == {"email", "password", "name", "roles"}
    assert body["type"].endswith("validation-error") and body["status"] == 422
    assert client.post("/api/auth/login", json={"email": "not-an-email", "password": "short"}).status_code == 401
    assert client.post("/api/auth/register", data="{not json", content_type="application/json").status_code == 400
    assert client.post("/api/auth/register", json=[1, 2]).status_code == 400


def test_refresh_rotates_and_reuse_revokes_the_family(app: Flask) -> None:
    client = app.test_client(use_cookies=False)
    person = register(client)
    first = client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {person['refresh_token']}"})
    assert first.status_code == 200
    rotated = first.get_json()
    reused = client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {person['refresh_token']}"})
    assert reused.status_code == 401 and reused.get_json()["code"] == "refresh-token-reused"
    # Reuse means theft: every token of the family stops working, including the new ones.
    assert client.get("/api/me", headers={"Authorization": f"Bearer {rotated['access_token']}"}).status_code == 401


def test_logout_stops_the_tokens_at_once(app: Flask) -> None:
    client = app.test_client(use_cookies=False)
    person = register(client)
    assert client.post("/api/auth/logout", headers=bearer(person)).status_code == 204
    assert client.get("/api/me", headers=bearer(person)).get_json()["code"] == "token-revoked"
    refresh = client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {person['refresh_token']}"})
    assert refresh.status_code == 401


def test_unknown_api_paths_and_missing_auth_are_problem_json(app: Flask) -> None:
    client = app.test_client()
    missing = client.get("/api/nowhere")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    unauth = client.get("/api/me")
    assert unauth.status_code == 401 and unauth.mimetype == "application/problem+json"


def test_openapi_describes_every_api_route(app: Flask) -> None:
    document = app.test_client().get("/api/openapi.json").get_json()
    described = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and rule.rule != "/api/openapi.json":
            path = rule.rule
            for arg in rule.arguments:
                path = path.replace(f"<int:{arg}>", f"{{{arg}}}").replace(f"<{arg}>", f"{{{arg}}}")
            routed |= {(path, m) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
    assert routed == described
