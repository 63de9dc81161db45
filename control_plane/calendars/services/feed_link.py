"""The private feed link: a secret in the URL is the only credential a calendar app can carry,
so the person can replace it (the old link stops working) or withdraw it."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.orm import Session, scoped_session

from control_plane.accounts.models import User

__all__ = ["revoke_feed_token", "rotate_feed_token"]

DbSession = Session | scoped_session[Any]
TOKEN_BYTES = 32  # 43 URL-safe characters: unguessable, and past the feed route's 32-character floor


def rotate_feed_token(db: DbSession, user: User) -> str:
    """A new secret for ``user``'s feed; the old link stops working once the caller commits."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    user.calendar_token = token
    db.add(user)
    return token


def revoke_feed_token(db: DbSession, user: User) -> None:
    """No feed link at all until the next rotation; the caller commits."""
    user.calendar_token = None
    db.add(user)
