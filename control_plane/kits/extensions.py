"""Flask extensions, created unbound and bound in the app factory (no I/O at import)."""

from __future__ import annotations

from typing import TypeVar

from flask import current_app, has_app_context
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_sock import Sock
from flask_sqlalchemy import SQLAlchemy

from control_plane.kits.db.types import Base
from control_plane.kits.jwt_verifier import FastJWTManager
from downbeat.settings import Settings

__all__ = [
    "HUB_KEY",
    "NOTIFICATIONS_KEY",
    "REDIS_KEY",
    "app_extension",
    "current_settings",
    "db",
    "jwt",
    "limiter",
    "sock",
]

# What create_app binds in ``app.extensions`` and more than one module reads.
REDIS_KEY = "downbeat.redis"  # a redis.Redis client
HUB_KEY = "downbeat.hub"  # the realtime kit's RedisHub
NOTIFICATIONS_KEY = "downbeat.notifications"  # the notification service's client

T = TypeVar("T")

db = SQLAlchemy(model_class=Base)
jwt = FastJWTManager()
sock = Sock()
# Limits are declared per view (control_plane.accounts.limits); storage is set per app.
limiter = Limiter(key_func=get_remote_address)


def current_settings() -> Settings:
    """The settings of the app serving this request (set by the app factory)."""
    settings: Settings = current_app.extensions["downbeat.settings"]
    return settings


def app_extension(key: str, kind: type[T]) -> T | None:
    """What the app factory bound under ``key`` (None outside an app, or when absent).

    Routes reach the adapters the app factory bound (``payments.services.factory.current_gateway``
    is the one) and hand them to the use cases, which stay free of Flask.
    """
    if not has_app_context():
        return None
    found = current_app.extensions.get(key)
    return found if isinstance(found, kind) else None
