"""Binding the accounts area to an app: password hashing cost and abuse limits from settings."""

from __future__ import annotations

from flask import Flask

from control_plane.accounts.limits import init_abuse_limits
from control_plane.accounts.passwords import HASHING_KEY, PasswordHashing
from downbeat.settings import Settings

__all__ = ["init_accounts"]


def init_accounts(app: Flask, settings: Settings) -> None:
    auth = settings.auth
    app.extensions[HASHING_KEY] = PasswordHashing(
        auth.argon2_time_cost, auth.argon2_memory_kib, auth.argon2_parallelism
    )
    init_abuse_limits(app, settings)
