"""Abuse limits against the real Redis, on SQLite and PostgreSQL: Flask-Limiter on login,
registration and refresh (429 problem+json with Retry-After), and the failed-login lock-out
per account and per address. Each test sends from its own client address, so the counters
of one test never meet another's in the shared Redis."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from control_plane.kits.http.throttle import LockoutPolicy
from tests.conftest import make_settings

PASSWORD = "correct horse battery"
_HASH = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)  # the test profile
AppFactory = Callable[..., Flask]


@pytest.fixture
def limited_app(tmp_path: Path, database_url: str, redis_url: str) -> Iterator[AppFactory]:
    """Apps with low limits whose counters live in the real Redis (storage_url empty)."""
    from control_plane.app import create_app
    from control_plane.kits.db.migrations import upgrade
    from control_plane.kits.extensions import db

    upgrade(database_url)
    made: list[Flask] = []

    def build(**limits: Any) -> Flask:
        settings = make_settings(tmp_path, database_url, redis_url)
        defaults = {"storage_url": "", "login": "1000/minute", "register": "1000/minute", "refresh": "1000/minute"}
        settings = replace(settings, limits=replace(settings.limits, **{**defaults, **limits}))
        app = create_app(settings, TESTING=True)
        made.append(app)
        return app

    yield build
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _client(app: Flask, address: str | None = None) -> FlaskClient:
    address = address or f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    client = app.test_client(use_cookies=False)
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _register(client: FlaskClient, email: str | None = None) -> TestResponse:
    email = email or f"rl-{uuid.uuid4().hex[:10]}@example.com"
    return client.post("/api/auth/register", json={"email": email, "password": PASSWORD, "name": "R"})


def _accounts(app: Flask, count: int) -> list[str]:
    """Accounts straight in the database with one precomputed hash: argon2 per registration
    would dominate these tests' time and is not what they are about."""
    from control_plane.accounts.models import User
    from control_plane.kits.extensions import db

    emails = [f"rl-{uuid.uuid4().hex[:10]}@example.com" for _ in range(count)]
    with app.app_context():
        db.session.add_all(User(email=e, name="R", roles=["user"], password_hash=_HASH) for e in emails)
        db.session.commit()
        db.session.remove()
    return emails


def _login(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    return client.post("/api/auth/login", json={"email": email, "password": password})


def _assert_429(response: TestResponse, code: str, most: int) -> int:
    assert response.status_code == 429, response.get_json()
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    retry_after = int(response.headers["Retry-After"])
    assert body["code"] == code and body["status"] == 429 and body["retry_after"] == retry_after
    assert 1 <= retry_after <= most
    return retry_after


def test_login_limit_per_address_answers_429_with_retry_after(limited_app: AppFactory, redis_url: str) -> None:
    app = limited_app(login="3/minute")
    (email,) = _accounts(app, 1)
    client = _client(app)
    answers = [_login(client, email).status_code for _ in range(3)]
    assert answers == [200, 200, 200]
    _assert_429(_login(client, email), "rate-limited", 60)
    # Another address is not affected; the counters are in Redis, not in the process.
    assert _login(_client(app), email).status_code == 200
    keys = redis.Redis.from_url(redis_url).keys("*auth-login*")
    assert keys, "rate-limit counters should live in Redis"


def test_register_and_refresh_limits(limited_app: AppFactory) -> None:
    app = limited_app(register="2/minute", refresh="2/minute")
    client = _client(app)
    first, second = _register(client), _register(client)
    assert (first.status_code, second.status_code) == (201, 201)
    _assert_429(_register(client), "rate-limited", 60)
    token = first.get_json()["refresh_token"]
    for _ in range(2):
        answer = client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
        token = answer.get_json()["refresh_token"]
    _assert_429(client.post("/api/auth/refresh", headers={"Authorization": f"Bearer {token}"}), "rate-limited", 60)


def test_failed_logins_lock_the_account_across_addresses(limited_app: AppFactory) -> None:
    app = limited_app(account_failures=3, address_failures=100, lockout_base_s=30, lockout_max_s=600)
    (email,) = _accounts(app, 1)
    for _ in range(3):  # a guesser spreading attempts over addresses
        assert _login(_client(app), email, "wrong password").status_code == 401
    # Locked: even the right password waits, from any address, and the answer says how long.
    _assert_429(_login(_client(app), email), "login-locked", 30)
    # Other accounts are not affected.
    (other,) = _accounts(app, 1)
    assert _login(_client(app), other).status_code == 200


def test_failed_logins_lock_the_address_across_accounts(limited_app: AppFactory) -> None:
    app = limited_app(account_failures=100, address_failures=4, lockout_base_s=30)
    guesser = _client(app)
    emails = _accounts(app, 5)
    for email in emails[:4]:  # one address trying one password on many accounts
        assert _login(guesser, email, "wrong password").status_code == 401
    _assert_429(_login(guesser, emails[4]), "login-locked", 30)
    assert _login(_client(app), emails[4]).status_code == 200  # the owner elsewhere still gets in


def test_a_success_resets_the_account_counter(limited_app: AppFactory) -> None:
    app = limited_app(account_failures=3, address_failures=100, lockout_base_s=30)
    (email,) = _accounts(app, 1)
    client = _client(app)
    for _ in range(2):
        assert _login(client, email, "typo in it").status_code == 401
    assert _login(client, email).status_code == 200
    for _ in range(2):
        assert _login(client, email, "typo in it").status_code == 401
    assert _login(client, email).status_code == 200


def test_lockout_grows_exponentially_and_is_capped() -> None:
    policy = LockoutPolicy(threshold=5, base_s=1, max_s=900, window_s=3600)
    assert [policy.lock_seconds(n) for n in range(1, 12)] == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64]
    assert policy.lock_seconds(40) == 900 and policy.lock_seconds(10_000) == 900
