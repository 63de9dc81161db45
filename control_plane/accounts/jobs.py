"""Housekeeping for accounts: forget rotated refresh tokens once they have expired.

A rotated token past its own expiry is refused by its signature check anyway, so its row in
``revoked_tokens`` no longer protects anything. Run by the relay's housekeeping loop
(``control_plane.schedule``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from control_plane.accounts.models import RevokedToken
from control_plane.kits.jobs import Job
from downbeat.settings import Settings

__all__ = ["JOBS", "purge_expired_rotations"]

BATCH = 1000


def purge_expired_rotations(session: Session, now: datetime, _settings: Settings) -> int:
    """Delete up to BATCH expired rows per run (short transactions; the next run goes on)."""
    expired = list(session.scalars(select(RevokedToken.jti).where(RevokedToken.expires_at < now).limit(BATCH)))
    if expired:
        session.execute(delete(RevokedToken).where(RevokedToken.jti.in_(expired)))
    session.commit()
    return len(expired)


JOBS: dict[str, Job] = {
    "accounts.purge_expired_rotations": purge_expired_rotations,
}
