"""Reads of the accounts area shared by its routes and other areas' statements: whether a login
(a token family) is still live."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from control_plane.accounts.models import TokenFamily
from control_plane.kits.db.raw_sql import postgres_connection

__all__ = ["FAMILY_IS_LIVE_SQL", "families_revoked", "family_is_revoked"]

DbSession = Session | scoped_session[Any]

_FAMILY_STATE_SQL = "SELECT revoked_at FROM token_families WHERE id = %s"

# The same check as one boolean for a statement of a hot path (psycopg named parameter
# ``token_family``): true only for a known family that was never revoked.
FAMILY_IS_LIVE_SQL = "COALESCE((SELECT revoked_at IS NULL FROM token_families WHERE id = %(token_family)s), false)"


def family_is_revoked(db: DbSession, family_id: str | None) -> bool:
    """True unless ``family_id`` names a known login that was never ended: an unknown or
    revoked family both refuse.

    One query on every authenticated request, so on PostgreSQL it skips SQLAlchemy's
    statement machinery (see ``control_plane/kits/db/raw_sql.py``)."""
    if not family_id:
        return True
    raw = postgres_connection(db)
    if raw is not None:
        row = raw.execute(_FAMILY_STATE_SQL, (family_id,)).fetchone()
    else:
        row = db.execute(select(TokenFamily.revoked_at).where(TokenFamily.id == family_id)).first()
    return row is None or row[0] is not None


def families_revoked(db: DbSession, family_ids: list[str]) -> set[str]:
    """Of ``family_ids``, those revoked or unknown: the check of many open sockets in one query."""
    if not family_ids:
        return set()
    live = set(
        db.scalars(select(TokenFamily.id).where(TokenFamily.id.in_(family_ids), TokenFamily.revoked_at.is_(None)))
    )
    return {f for f in family_ids if f not in live}
