"""Flask extensions, created unbound and bound in the app factory (no I/O at import)."""

from __future__ import annotations

from flask import current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_sock import Sock
from flask_sqlalchemy import SQLAlchemy

from control_plane.accounts.token_verifier import FastJWTManager
from control_plane.db_types import Base
from downbeat.settings import Settings

__all__ = ["current_settings", "db", "jwt", "limiter", "sock"]

db = SQLAlchemy(model_class=Base)
jwt = FastJWTManager()
sock = Sock()
# Limits are declared per view (control_plane.accounts.limits); storage is set per app.
limiter = Limiter(key_func=get_remote_address)


def current_settings() -> Settings:
    """The settings of the app serving this request (set by the app factory)."""
    settings: Settings = current_app.extensions["downbeat.settings"]
    return settings
