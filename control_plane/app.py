"""The app factory: binds extensions, blueprints and error handlers; performs no I/O.

This module is the composition root of the control plane: the one place that knows every
area, so that no area has to know another's routes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import redis
from flask import Flask, Request, Response, jsonify
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter, ValidationError

from control_plane.accounts import api as accounts_api
from control_plane.accounts import pages as accounts_pages
from control_plane.accounts.auth import register_jwt_callbacks
from control_plane.calendars import api as calendars_api
from control_plane.calendars import pages as calendars_pages
from control_plane.catalog import api as catalog_api
from control_plane.catalog import pages as catalog_pages
from control_plane.files import api as files_api
from control_plane.files import pages as files_pages
from control_plane.kits.db.pool import ping_after_idle
from control_plane.kits.extensions import HUB_KEY, NOTIFICATIONS_KEY, REDIS_KEY, db, jwt, sock
from control_plane.kits.http import health, openapi
from control_plane.kits.http.pages import register_page_errors
from control_plane.kits.http.problems import register_problem_handlers
from control_plane.kits.http.request_gate import RequestGate, slot_released
from control_plane.kits.http.uploads import UploadingRequest
from control_plane.kits.http.validation import MAX_ROW_ID
from control_plane.kits.outbox.wakeup import WAKER, RelayWaker, install_commit_hook
from control_plane.kits.realtime.hub import RedisHub
from control_plane.kits.storage.factory import STORAGE_KEY, storage_from_settings
from control_plane.messages import api as messages_api
from control_plane.messages import pages as messages_pages
from control_plane.musicians import api as musicians_api
from control_plane.musicians import pages as musicians_pages
from control_plane.notifications import api as notifications_api
from control_plane.notifications import pages as notifications_pages
from control_plane.notifications.services import NotificationsClient
from control_plane.payments.services.factory import GATEWAY_KEY, gateway_from_settings
from control_plane.rooms import api as rooms_api
from control_plane.rooms import pages as rooms_pages
from control_plane.rooms.services.media import MEDIA_KEY, HttpMediaClient
from downbeat.settings import Settings, load_settings
from downbeat.sqlite import configure_sqlite

__all__ = ["create_app"]


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in every route: an id past what a database integer holds is no row, so the
    route does not match (404) instead of the query failing on a number it cannot bind."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> Any:
        # Not werkzeug's ValidationError ("this rule does not match"): routing would go on to
        # the same path's other methods and answer 405. No such row: 404.
        try:
            return super().to_python(value)
        except ValidationError:
            raise NotFound() from None


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """App factory: binds extensions, blueprints and error handlers; performs no I/O."""
    settings = settings or load_settings()
    app = Flask(__name__)
    app.request_class = UploadingRequest  # multipart files written once, where a route wants them
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
    app.extensions[HUB_KEY] = RedisHub(settings.redis.effective_url)
    app.extensions[NOTIFICATIONS_KEY] = NotificationsClient(settings.notifications_url, while_waiting=slot_released)
    app.extensions[REDIS_KEY] = redis.Redis.from_url(
        settings.redis.effective_url, socket_timeout=0.5, socket_connect_timeout=0.5
    )
    app.extensions[WAKER] = RelayWaker(app.extensions[REDIS_KEY])
    install_commit_hook(db.session.session_factory)
    app.extensions[GATEWAY_KEY] = gateway_from_settings(settings)
    app.extensions[MEDIA_KEY] = HttpMediaClient(settings.media_url, while_waiting=slot_released)
    app.extensions[STORAGE_KEY] = storage_from_settings(settings)

    db.init_app(app)
    with app.app_context():  # builds the engine only; the first connection comes later
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine)
        else:
            ping_after_idle(db.engine)
    jwt.init_app(app)
    sock.init_app(app)
    register_jwt_callbacks()
    accounts_api.init_app(app, settings)
    register_problem_handlers(app)
    for area in (
        accounts_api,
        catalog_api,
        calendars_api,
        musicians_api,
        rooms_api,
        notifications_api,
        files_api,
        messages_api,
    ):
        for blueprint in area.BLUEPRINTS:
            app.register_blueprint(blueprint)
    app.register_blueprint(health.bp)
    for pages in (
        accounts_pages,
        catalog_pages,
        calendars_pages,
        musicians_pages,
        rooms_pages,
        notifications_pages,
        files_pages,
        messages_pages,
    ):
        app.register_blueprint(pages.bp)
    register_page_errors(app)

    app.register_blueprint(openapi.docs_blueprint())
    app.wsgi_app = RequestGate(  # type: ignore[method-assign]
        app.wsgi_app, settings.control_plane.busy_requests, max_buffered_body=app.config["MAX_CONTENT_LENGTH"]
    )

    @app.get("/api/openapi.json", endpoint="openapi")
    def openapi_json() -> Response:
        return jsonify(openapi.openapi_document())

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
