"""The Flask control plane: records, the public API, the web UI and the WebSocket gateway."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import redis
from flask import Flask, Request, Response, jsonify
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.routing import IntegerConverter

from control_plane.validation import MAX_ROW_ID
from downbeat.settings import Settings, load_settings

__all__ = ["create_app"]


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in every route: an id past what a database integer holds is no row, so the
    route does not match (404) instead of the query failing on a number it cannot bind."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, *args, **kwargs)


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """App factory: binds extensions, blueprints and error handlers; performs no I/O."""
    from control_plane import api_spec, health, notifications_api
    from control_plane.accounts import api as accounts_api
    from control_plane.accounts.setup import init_accounts
    from control_plane.accounts.tokens import register_jwt_callbacks
    from control_plane.calendars import api as calendar_api
    from control_plane.catalog import bookings_api, sessions_api
    from control_plane.db_pool import ping_after_idle
    from control_plane.extensions import db, jwt, sock
    from control_plane.gateway import sockets
    from control_plane.gateway.hub import RedisHub
    from control_plane.musicians import api as musicians_api
    from control_plane.musicians import pages as musician_pages
    from control_plane.notifications_client import NotificationsClient
    from control_plane.outbox.wakeup import WAKER, RelayWaker, install_commit_hook
    from control_plane.payments import api as payments_api
    from control_plane.payments.factory import gateway_from_settings
    from control_plane.problems import register_problem_handlers
    from control_plane.request_gate import RequestGate
    from control_plane.rooms import api as rooms_api
    from control_plane.rooms import tracks_api
    from control_plane.web import inbox_pages, pages

    settings = settings or load_settings()
    app = Flask(__name__)
    app.url_map.converters["int"] = RowIdConverter
    app.session_interface = _LazyCookieSessions()
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
        JWT_SECRET_KEY=settings.secret_key,
        JWT_TOKEN_LOCATION=["headers", "cookies"],
        JWT_ACCESS_TOKEN_EXPIRES=timedelta(minutes=settings.auth.access_token_minutes),
        JWT_REFRESH_TOKEN_EXPIRES=timedelta(days=settings.auth.refresh_token_days),
        JWT_COOKIE_CSRF_PROTECT=True,
        JWT_COOKIE_SAMESITE="Lax",
        JWT_COOKIE_SECURE=settings.env == "prod",
        JWT_SESSION_COOKIE=False,
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=1024 * 1024,
        SOCK_SERVER_OPTIONS={"ping_interval": 20, "max_message_size": 4096},
    )
    app.config.update(overrides)
    app.extensions["downbeat.settings"] = settings
    app.extensions["downbeat.hub"] = RedisHub(settings.redis.effective_url)
    app.extensions["downbeat.notifications"] = NotificationsClient(settings.notifications_url)
    app.extensions["downbeat.redis"] = redis.Redis.from_url(
        settings.redis.effective_url, socket_timeout=0.5, socket_connect_timeout=0.5
    )
    app.extensions[WAKER] = RelayWaker(app.extensions["downbeat.redis"])
    install_commit_hook()
    app.extensions["downbeat.payment_gateway"] = gateway_from_settings(settings)

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            ping_after_idle(db.engine)
    jwt.init_app(app)
    sock.init_app(app)
    register_jwt_callbacks()
    init_accounts(app, settings)
    register_problem_handlers(app)
    for blueprint in (
        accounts_api.bp,
        sessions_api.bp,
        bookings_api.bp,
        payments_api.bp,
        calendar_api.bp,
        calendar_api.feed_bp,
        musicians_api.bp,
        rooms_api.bp,
        tracks_api.bp,
        tracks_api.internal_bp,
        notifications_api.bp,
        sockets.bp,
        health.bp,
        pages.bp,
        musician_pages.bp,
        inbox_pages.bp,
    ):
        app.register_blueprint(blueprint)

    app.register_blueprint(api_spec.docs_blueprint())
    app.wsgi_app = RequestGate(  # type: ignore[method-assign]
        app.wsgi_app, settings.control_plane.busy_requests, max_buffered_body=app.config["MAX_CONTENT_LENGTH"]
    )

    @app.get("/api/openapi.json")
    def openapi() -> Response:
        return jsonify(api_spec.openapi_document())

    return app


class _LazyCookieSessions(SecureCookieSessionInterface):
    """Flask's cookie sessions, minus building a signing serializer for requests that carry
    no session cookie (every API call: auth is a JWT). Measured at about 70 µs a request."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    # No pool_pre_ping: ``ping_after_idle`` checks only connections that sat unused a while.
    return {"pool_size": 10, "max_overflow": 40}


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL for concurrent readers; BEGIN IMMEDIATE so a write transaction takes the lock at
    its start instead of failing to upgrade from a read lock under contention."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin_immediate(conn: Any) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
