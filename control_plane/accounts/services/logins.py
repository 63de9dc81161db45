"""Logins as token families: ending one (logout, a replayed refresh token) or every other one
(a changed password). Staged; the caller commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from control_plane.accounts.models import TokenFamily
from control_plane.kits.db.types import utcnow

__all__ = ["revoke_family", "revoke_other_families"]

DbSession = Session | scoped_session[Any]


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
