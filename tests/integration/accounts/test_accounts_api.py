"""Accounts through the HTTP layer on SQLite and PostgreSQL: registration rules, tokens in
headers and cookies, refresh rotation and reuse, logout, roles in one place."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, jsonify
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import make_settings
from tests.integration.api_helpers import bearer, register

PASSWORD = "correct horse battery"


def _email() -> str:
    return f"acct-{uuid.uuid4().hex[:10]}@example.com"


def _refresh(client: FlaskClient, token: str) -> TestResponse:
    return client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {token}"})


def _me_status(client: FlaskClient, access_token: str) -> int:
    return client.get("/api/me", headers={"Authorization": f"Bearer {access_token}"}).status_code


def test_register_login_me_and_duplicate_email(app: Flask) -> None:
    client = app.test_client()
    person = register(client, roles=["facilitator", "user"])
    assert person["user"]["roles"] == ["user", "facilitator"]
    me = client.get("/api/me", headers=bearer(person))
    assert me.status_code == 200 and me.get_json()["email"] == person["email"]
    again = client.post(
        "/api/auth/register", json={"email": person["email"].upper(), "password": "a different passphrase", "name": "D"}
    )
    assert again.status_code == 409
    assert again.mimetype == "application/problem+json" and again.get_json()["errors"] == {
        "email": ["is already registered: log in instead"]
    }
    login = client.post("/api/auth/login", json={"email": person["email"], "password": PASSWORD})
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
    assert "unknown roles ['wizard']" in body["errors"]["roles"][0]
    assert body["type"].endswith("validation-error") and body["status"] == 422
    assert client.post("/api/auth/login", json={"email": "not-an-email", "password": "short"}).status_code == 401
    assert client.post("/api/auth/register", data="{not json", content_type="application/json").status_code == 400
    assert client.post("/api/auth/register", json=[1, 2]).status_code == 400


def test_email_is_normalised_for_register_login_and_duplicates(app: Flask) -> None:
    client = app.test_client(use_cookies=False)
    local = f"Ana.{uuid.uuid4().hex[:6]}"
    created = client.post(
        "/api/auth/register", json={"email": f"  {local}@Example.COM ", "password": PASSWORD, "name": "Ana"}
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["user"]["email"] == f"{local.lower()}@example.com"
    login = client.post("/api/auth/login", json={"email": f"{local.upper()}@EXAMPLE.com", "password": PASSWORD})
    assert login.status_code == 200
    dup = client.post(
        "/api/auth/register", json={"email": f"{local.lower()}@example.com", "password": PASSWORD, "name": "Twin"}
    )
    assert dup.status_code == 409


def test_password_policy_gives_clear_field_errors_and_creates_nothing(app: Flask) -> None:
    client = app.test_client(use_cookies=False)
    email = _email()
    cases = {
        "short pw": "at least 10 characters",
        email.upper(): "must not be your email",
        "Password123": "too common",
        "zzzzzzzzzzzz": "too common",
    }
    for password, message in cases.items():
        response = client.post("/api/auth/register", json={"email": email, "password": password, "name": "P"})
        assert response.status_code == 422, password
        body = response.get_json()
        assert response.mimetype == "application/problem+json"
        assert list(body["errors"]) == ["password"] and message in body["errors"]["password"][0], body
    assert client.post("/api/auth/login", json={"email": email, "password": "short pw"}).status_code == 401
    ok = client.post("/api/auth/register", json={"email": email, "password": "tuba in the rain 7", "name": "P"})
    assert ok.status_code == 201


def test_time_zone_and_avatar_url_are_validated(app: Flask) -> None:
    client = app.test_client(use_cookies=False)
    created = client.post(
        "/api/auth/register",
        json={
            "email": _email(),
            "password": PASSWORD,
            "name": "Zed",
            "roles": ["musician", "producer", "musician"],
            "timezone": "America/New_York",
            "avatar_url": "https://cdn.example.com/a.png",
        },
    )
    assert created.status_code == 201, created.get_json()
    user = created.get_json()["user"]
    assert user["timezone"] == "America/New_York" and user["avatar_url"] == "https://cdn.example.com/a.png"
    assert user["roles"] == ["musician", "producer"]
    auth = {"Authorization": f"Bearer {created.get_json()['access_token']}"}
    refused: dict[str, Any] = {
        "timezone": "Mars/Olympus",
        "avatar_url": "javascript:alert(1)",
        "name": None,
        "roles": [],
    }
    for field, value in refused.items():
        response = client.patch("/api/me", json={field: value}, headers=auth)
        assert response.status_code == 422 and field in response.get_json()["errors"], (field, response.get_json())
    for bad_url in ("ftp://example.com/a.png", "https://user:pw@example.com/a.png", "https://exa mple.com/", "/a.png"):
        assert client.patch("/api/me", json={"avatar_url": bad_url}, headers=auth).status_code == 422, bad_url
    assert client.get("/api/me", headers=auth).get_json() == user  # nothing changed partially
    changed = client.patch(
        "/api/me",
        json={"timezone": "Asia/Kolkata", "avatar_url": None, "name": " Zed Z ", "roles": ["band_manager"]},
        headers=auth,
    )
    assert changed.status_code == 200
    body = changed.get_json()
    assert (body["timezone"], body["avatar_url"], body["name"], body["roles"]) == (
        "Asia/Kolkata",
        None,
        "Zed Z",
        ["band_manager"],
    )


def test_role_checks_live_in_one_decorator(app: Flask) -> None:
    from control_plane.accounts.auth import require_roles

    area = Blueprint("role_probe", __name__)

    @area.post("/api/probe/hosting")
    @require_roles("creator", "facilitator", action="host sessions")
    def hosting() -> Any:
        return jsonify({"ok": True})

    app.register_blueprint(area)
    client = app.test_client(use_cookies=False)
    listener = register(client, roles=["user"])
    host = register(client, roles=["user", "facilitator"])
    assert client.post("/api/probe/hosting").status_code == 401
    refused = client.post("/api/probe/hosting", headers=bearer(listener))
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["detail"] == "Only creators or facilitators may host sessions"
    assert refused.get_json()["required_roles"] == ["creator", "facilitator"]
    assert client.post("/api/probe/hosting", headers=bearer(host)).get_json() == {"ok": True}


def test_refresh_rotates_and_reuse_after_the_grace_window_revokes_the_family(app: Flask) -> None:
    from control_plane.accounts.models import RevokedToken
    from control_plane.kits.extensions import db

    client = app.test_client(use_cookies=False)
    person = register(client)
    first = _refresh(client, person["refresh_token"])
    assert first.status_code == 200
    rotated = first.get_json()
    assert set(rotated) == {"access_token", "refresh_token"}
    # Presented again at once: the same client racing itself; it gets a pair, nothing is revoked.
    racing = _refresh(client, person["refresh_token"])
    assert racing.status_code == 200
    assert _me_status(client, rotated["access_token"]) == 200
    # The grace window (refresh_reuse_grace_s) has passed for this token: it is a replay now.
    with app.app_context():
        row = db.session.query(RevokedToken).filter_by(family_id=_family(person["refresh_token"])).one()
        assert row.used_at is not None
        row.used_at = row.used_at - timedelta(seconds=60)
        db.session.commit()
    reused = _refresh(client, person["refresh_token"])
    assert reused.status_code == 401 and reused.get_json()["code"] == "refresh-token-reused"
    # Reuse means theft: every token of the family stops working, including the new ones.
    for pair in (rotated, racing.get_json()):
        assert _me_status(client, pair["access_token"]) == 401
        assert _refresh(client, pair["refresh_token"]).status_code == 401
    # Other logins of the same person are untouched.
    again = client.post("/api/auth/login", json={"email": person["email"], "password": PASSWORD})
    assert _me_status(client, again.get_json()["access_token"]) == 200


def _family(token: str) -> str:
    import jwt as pyjwt

    return str(pyjwt.decode(token, options={"verify_signature": False})["fam"])


def _parallel_refreshes(app: Flask, token: str, parallel: int) -> list[tuple[int, Any]]:
    barrier = threading.Barrier(parallel)
    answers: list[tuple[int, Any]] = []

    def refresh_once() -> None:
        client = app.test_client(use_cookies=False)
        barrier.wait()
        response = _refresh(client, token)
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=refresh_once) for _ in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def test_without_a_grace_window_a_double_refresh_logs_the_honest_client_out(tmp_path: Path, database_url: str) -> None:
    """The problem the grace window solves: two tabs refreshing at once look like theft."""
    from control_plane.app import create_app
    from control_plane.kits.db.migrations import upgrade
    from control_plane.kits.extensions import db

    upgrade(database_url)
    settings = make_settings(tmp_path, database_url)
    strict = create_app(replace(settings, auth=replace(settings.auth, refresh_reuse_grace_s=0)), TESTING=True)
    try:
        person = register(strict.test_client())
        answers = _parallel_refreshes(strict, person["refresh_token"], 2)
        assert sorted(status for status, _ in answers) == [200, 401], answers
        (rotated,) = [pair for status, pair in answers if status == 200]
        assert _me_status(strict.test_client(use_cookies=False), rotated["access_token"]) == 401
    finally:
        with strict.app_context():
            db.session.remove()
            db.engine.dispose()


def test_concurrent_double_refresh_does_not_revoke_an_honest_client(app: Flask) -> None:
    person = register(app.test_client())
    parallel = 4
    answers = _parallel_refreshes(app, person["refresh_token"], parallel)
    assert sorted(status for status, _ in answers) == [200] * parallel, answers
    client = app.test_client(use_cookies=False)
    for _, pair in answers:
        assert _me_status(client, pair["access_token"]) == 200
    # Exactly one rotation was recorded for the token; the family lives on.
    assert _refresh(client, answers[0][1]["refresh_token"]).status_code == 200


def test_logout_stops_access_and_refresh_tokens_at_once(app: Flask) -> None:
    client = app.test_client(use_cookies=False)
    person = register(client)
    assert client.post("/api/auth/logout", headers=bearer(person)).status_code == 204
    assert client.get("/api/me", headers=bearer(person)).get_json()["code"] == "token-revoked"
    refresh = _refresh(client, person["refresh_token"])
    assert refresh.status_code == 401
    # Logging out with the refresh token (the access token may have expired) works too.
    other = client.post("/api/auth/login", json={"email": person["email"], "password": PASSWORD}).get_json()
    out = client.post("/api/auth/logout", headers={"Authorization": f"Bearer {other['refresh_token']}"})
    assert out.status_code == 204 and _me_status(client, other["access_token"]) == 401


def _cookies(response: TestResponse) -> dict[str, SimpleCookie]:
    jar = {}
    for header in response.headers.getlist("Set-Cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        jar[next(iter(cookie))] = cookie
    return jar


def test_cookie_tokens_are_httponly_and_unsafe_requests_need_the_csrf_header(app: Flask) -> None:
    client = app.test_client()
    email = _email()
    created = client.post("/api/auth/register", json={"email": email, "password": PASSWORD, "name": "Web"})
    set_cookies = _cookies(created)
    assert set_cookies["access_token_cookie"]["access_token_cookie"]["httponly"]
    assert set_cookies["refresh_token_cookie"]["refresh_token_cookie"]["httponly"]
    assert not set_cookies["csrf_access_token"]["csrf_access_token"]["httponly"]  # the page must read it
    csrf = client.get_cookie("csrf_access_token")
    csrf_refresh = client.get_cookie("csrf_refresh_token")
    assert csrf is not None and csrf_refresh is not None
    assert client.get("/api/me").status_code == 200  # safe method: the cookie alone is enough
    forged = client.patch("/api/me", json={"name": "Forged"})
    assert forged.status_code == 401 and forged.mimetype == "application/problem+json"
    wrong = client.patch("/api/me", json={"name": "Forged"}, headers={"X-CSRF-TOKEN": "guess"})
    assert wrong.status_code == 401
    assert client.get("/api/me").get_json()["name"] == "Web"
    ok = client.patch("/api/me", json={"name": "Real"}, headers={"X-CSRF-TOKEN": csrf.value})
    assert ok.status_code == 200 and ok.get_json()["name"] == "Real"
    # Refresh through the cookie needs the refresh CSRF value too.
    assert client.post("/api/auth/refresh").status_code == 401
    rotated = client.post("/api/auth/refresh", headers={"X-CSRF-TOKEN": csrf_refresh.value})
    assert rotated.status_code == 200
    access = rotated.get_json()["access_token"]
    new_csrf = client.get_cookie("csrf_access_token")
    assert new_csrf is not None
    assert client.post("/api/auth/logout").status_code == 401  # no CSRF header: refused
    out = client.post("/api/auth/logout", headers={"X-CSRF-TOKEN": new_csrf.value})
    assert out.status_code == 204 and client.get_cookie("access_token_cookie") is None
    assert _me_status(app.test_client(use_cookies=False), access) == 401


def test_change_password_ends_other_logins(app: Flask) -> None:
    client = app.test_client(use_cookies=False)
    person = register(client)
    elsewhere = client.post("/api/auth/login", json={"email": person["email"], "password": PASSWORD}).get_json()
    wrong = client.post(
        "/api/me/password",
        json={"current_password": "not it", "new_password": "new tune every day"},
        headers=bearer(person),
    )
    assert wrong.status_code == 403
    weak = client.post(
        "/api/me/password", json={"current_password": PASSWORD, "new_password": "password123"}, headers=bearer(person)
    )
    assert weak.status_code == 422 and "too common" in weak.get_json()["errors"]["new_password"][0]
    done = client.post(
        "/api/me/password",
        json={"current_password": PASSWORD, "new_password": "new tune every day"},
        headers=bearer(person),
    )
    assert done.status_code == 204
    assert _me_status(client, person["access_token"]) == 200  # this login stays
    assert _me_status(client, elsewhere["access_token"]) == 401  # the other one ended
    assert client.post("/api/auth/login", json={"email": person["email"], "password": PASSWORD}).status_code == 401
    new_login = client.post("/api/auth/login", json={"email": person["email"], "password": "new tune every day"})
    assert new_login.status_code == 200


def test_unknown_api_paths_and_missing_auth_are_problem_json(app: Flask) -> None:
    client = app.test_client()
    missing = client.get("/api/nowhere")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    unauth = client.get("/api/me")
    assert unauth.status_code == 401 and unauth.mimetype == "application/problem+json"


def test_openapi_describes_every_api_route(app: Flask) -> None:
    document = app.test_client().get("/api/openapi.json").get_json()
    # Flask answers HEAD for every GET rule by itself, so HEAD is compared only where an
    # operation declares it (the resumable upload's offset) and is routed.
    described = {
        (path, method.upper()) for path, ops in document["paths"].items() for method in ops if method != "head"
    }
    for path, ops in document["paths"].items():
        if "head" in ops:
            probe = path.replace("{upload_id}", "0" * 32)
            assert app.url_map.bind("localhost").match(probe, method="HEAD"), path
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and rule.rule not in ("/api/openapi.json", "/api/docs"):
            path = rule.rule
            for arg in rule.arguments:
                path = path.replace(f"<int:{arg}>", f"{{{arg}}}").replace(f"<{arg}>", f"{{{arg}}}")
            routed |= {(path, m) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
    assert routed == described
    register_op = document["paths"]["/api/auth/register"]["post"]
    assert register_op["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/AuthAnswer")
    assert "Retry-After" in register_op["responses"]["429"]["headers"]
    for ops in document["paths"].values():
        for op in ops.values():
            assert op["responses"]["default"]["content"]["application/problem+json"]


def test_api_docs_page_renders_the_document_without_outside_resources(app: Flask) -> None:
    client = app.test_client()
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert 'src="/static/js/api_docs.js"' in html and 'data-spec="/api/openapi.json"' in html
    assert "https://" not in html and "http://" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    with client.get("/static/js/api_docs.js") as static:
        script = static.get_data(as_text=True)
    assert "fetch(" in script and "https://" not in script


def test_expired_rotations_are_purged_by_housekeeping(app: Flask) -> None:
    from datetime import UTC, datetime

    from sqlalchemy.orm import Session

    from control_plane.accounts.jobs import purge_expired_rotations
    from control_plane.accounts.models import RevokedToken
    from control_plane.kits.extensions import db

    client = app.test_client(use_cookies=False)
    person = register(client)
    assert _refresh(client, person["refresh_token"]).status_code == 200
    settings = app.extensions["downbeat.settings"]
    with app.app_context(), Session(db.engine) as session:
        assert purge_expired_rotations(session, datetime.now(UTC), settings) == 0
        later = datetime.now(UTC) + timedelta(days=settings.auth.refresh_token_days + 1)
        assert purge_expired_rotations(session, later, settings) == 1
        assert session.query(RevokedToken).count() == 0


def test_a_refresh_that_started_before_its_twin_but_lost_the_race_is_a_reuse(
    tmp_path: Path, database_url: str, monkeypatch: Any
) -> None:
    """The order the race above can take under load, made deterministic: request B reads the
    clock (t0), request A records the token's first use (t1 > t0), B then finds it. Without a
    grace window B is a reuse; timing B from its start (t0 - t1 < 0) once let it through."""
    from datetime import UTC, datetime

    from control_plane.accounts import auth
    from control_plane.accounts.models import RevokedToken
    from control_plane.app import create_app
    from control_plane.kits.db.migrations import upgrade
    from control_plane.kits.extensions import db

    upgrade(database_url)
    settings = make_settings(tmp_path, database_url)
    strict = create_app(replace(settings, auth=replace(settings.auth, refresh_reuse_grace_s=0)), TESTING=True)
    try:
        person = register(strict.test_client())
        first_use = datetime.now(UTC)
        with strict.app_context():
            db.session.add(
                RevokedToken(
                    jti=_claims(person["refresh_token"])["jti"],
                    family_id=_family(person["refresh_token"]),
                    expires_at=first_use + timedelta(days=1),
                    used_at=first_use,
                )
            )
            db.session.commit()
        clock = iter([first_use - timedelta(milliseconds=5)])  # B's first reading: before A's use
        monkeypatch.setattr(auth, "utcnow", lambda: next(clock, first_use + timedelta(milliseconds=5)))
        answer = _refresh(strict.test_client(use_cookies=False), person["refresh_token"])
        assert answer.status_code == 401 and answer.get_json()["code"] == "refresh-token-reused"
    finally:
        with strict.app_context():
            db.session.remove()
            db.engine.dispose()


def _claims(token: str) -> dict[str, Any]:
    import jwt as pyjwt

    claims: dict[str, Any] = pyjwt.decode(token, options={"verify_signature": False})
    return claims
