"""Abuse limits: Flask-Limiter on login, registration and refresh, and the failed-login lock-out.

Limits are read from settings on every request (``[limits]`` in configs/*.toml), so each app
carries its own; counters live in the app's Redis unless ``limits.storage_url`` names another
store (the test config uses ``memory://`` because its apps have no Redis). Exceeding a limit
answers 429 problem+json with ``Retry-After``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import cast

from flask import Flask, Response, current_app, request
from flask_limiter import RequestLimit
from limits.storage import Storage, storage_from_string

from control_plane.kits.extensions import current_settings, limiter
from control_plane.kits.http.problems import ApiProblem, problem_response
from control_plane.kits.http.throttle import LockoutPolicy, LoginThrottle
from downbeat.settings import LimitSettings, Settings

__all__ = [
    "client_address",
    "init_abuse_limits",
    "limit_login",
    "limit_refresh",
    "limit_register",
    "login_throttle",
    "too_many",
]

THROTTLE_KEY = "downbeat.login_throttle"


def _limits() -> LimitSettings:
    settings = current_settings()
    return settings.limits


def client_address() -> str:
    # remote_addr is the peer; behind a reverse proxy, wrap the app in werkzeug's ProxyFix.
    return request.remote_addr or "unknown"


def too_many(retry_after: int, detail: str, code: str = "rate-limited") -> Response:
    response = problem_response(ApiProblem(429, code, detail, title="Too many requests", retry_after=retry_after))
    response.headers["Retry-After"] = str(retry_after)
    return response


def _on_breach(limit: RequestLimit) -> Response:
    retry_after = max(1, math.ceil(limit.window[0] - time.time()))
    return too_many(retry_after, f"Too many requests ({limit.limit}); try again in {retry_after} s")


limit_login: Callable[[Callable[..., object]], Callable[..., object]] = limiter.limit(
    lambda: _limits().login, key_func=client_address, scope="auth-login"
)
limit_register: Callable[[Callable[..., object]], Callable[..., object]] = limiter.limit(
    lambda: _limits().register, key_func=client_address, scope="auth-register"
)
limit_refresh: Callable[[Callable[..., object]], Callable[..., object]] = limiter.limit(
    lambda: _limits().refresh, key_func=client_address, scope="auth-refresh"
)


def init_abuse_limits(app: Flask, settings: Settings) -> None:
    """Bind the rate limiter and the login throttle to ``app`` (no I/O: Redis connects lazily)."""
    storage_url = settings.limits.storage_url or settings.redis.effective_url
    redis_options: dict[str, float] = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
    options = redis_options if storage_url.startswith("redis") else {}
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_url)
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", options)
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "downbeat")
    app.config.setdefault("RATELIMIT_ON_BREACH_CALLBACK", _on_breach)
    # Redis down: serve without limits (and log) rather than refuse every login.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter.init_app(app)
    if not app.config.get("RATELIMIT_DEFAULT") and not app.config.get("RATELIMIT_APPLICATION"):
        # Every limit here is a decorator, checked inside its own view. With no default or
        # application-wide limits the limiter's before_request hook only resolves an empty
        # set on every request: about 5 % of a booking's interpreter time, measured.
        app.before_request_funcs[None].remove(limiter._check_request_limit)
    limits = settings.limits
    app.extensions[THROTTLE_KEY] = LoginThrottle(
        cast(Storage, storage_from_string(storage_url, **options)),  # a sync URI gives a sync store
        account=LockoutPolicy(
            limits.account_failures, limits.lockout_base_s, limits.lockout_max_s, limits.failure_window_s
        ),
        address=LockoutPolicy(
            limits.address_failures, limits.lockout_base_s, limits.lockout_max_s, limits.failure_window_s
        ),
    )


def login_throttle() -> LoginThrottle:
    throttle: LoginThrottle = current_app.extensions[THROTTLE_KEY]
    return throttle
