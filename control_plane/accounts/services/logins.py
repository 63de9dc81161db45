"""Logins as token families: rotating a refresh token (and catching one presented again),
ending one login (logout, a replayed refresh token) or every other one (a changed password).
Staged, and the caller commits, except the revocation of a replayed login (see
``rotate_refresh_token``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session

from control_plane.accounts.models import RevokedToken, TokenFamily
from control_plane.accounts.services.refusals import AccountsRefused
from control_plane.kits.db.types import utcnow

__all__ = ["revoke_family", "revoke_other_families", "rotate_refresh_token"]

DbSession = Session | scoped_session[Any]


def rotate_refresh_token(
    db: DbSession,
    *,
    jti: str,
    family_id: str,
    expires: datetime,
    grace: timedelta,
    now: Callable[[], datetime],
) -> str:
    """Mark the presented refresh token (``jti`` of login ``family_id``) used and return the
    family for the new pair.

    The primary key on ``revoked_tokens.jti`` lets exactly one rotation win even when two
    arrive at once. A token presented again within ``grace`` of its first use is the same
    client racing itself (two tabs, a retried request whose answer was lost): it gets a fresh
    pair in the same family. Later, it is a replay (theft): the whole family is revoked and
    committed at once, so the revocation stands although the request is refused, and
    ``AccountsRefused`` (401 refresh-token-reused) says so.

    ``now`` is read twice: when the first use is recorded, and again once the request knows of
    an earlier use.
    """
    used_at = _first_use(db, jti, family_id, expires, now())
    if used_at is None:
        return family_id
    # Timed from when this request learnt of the first use, not from when it started: a request
    # that began a moment before its twin, then lost the race, must not count as "earlier" than
    # the use it lost to (with no grace window, both tabs were then let through).
    if now() - used_at < grace:
        return family_id
    revoke_family(db, family_id)
    db.commit()
    raise AccountsRefused(401, "refresh-token-reused", "This refresh token was already used; please log in again")


def _first_use(db: DbSession, jti: str, family_id: str, expires: datetime, now: datetime) -> datetime | None:
    """None if this is the token's first use (now recorded), else when it was first used."""
    existing = db.get(RevokedToken, jti)
    if existing is None:
        try:
            with db.begin_nested():
                db.add(RevokedToken(jti=jti, family_id=family_id, expires_at=expires, used_at=now))
            return None
        except IntegrityError:
            # A concurrent rotation of the same token committed first (PostgreSQL blocks on
            # the key, then fails here); read what it recorded.
            existing = db.get(RevokedToken, jti, populate_existing=True)
        if existing is None:  # pragma: no cover - the row cannot vanish while its family lives
            raise AccountsRefused(401, "refresh-token-reused", "This refresh token was already used")
    # Rows from before migration 0006 carry no time: treat them as used long ago.
    return existing.used_at or datetime.min.replace(tzinfo=UTC)


def revoke_family(db: DbSession, family_id: str) -> None:
    """Every access and refresh token of this login stops working."""
    family = db.get(TokenFamily, family_id)
    if family is not None and family.revoked_at is None:
        family.revoked_at = utcnow()


def revoke_other_families(db: DbSession, user_id: int, keep: str) -> None:
    """End every login of the user but the family ``keep``."""
    others = select(TokenFamily).where(
        TokenFamily.user_id == user_id, TokenFamily.id != keep, TokenFamily.revoked_at.is_(None)
    )
    for family in db.scalars(others):
        family.revoked_at = utcnow()
