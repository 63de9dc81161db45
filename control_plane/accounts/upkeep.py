"""Housekeeping for accounts: forget rotated refresh tokens once they have expired.

A rotated token past its own expiry is refused by its signature check anyway, so its row in
``revoked_tokens`` no longer protects anything. Registered with the relay's housekeeping
loop once ``control_plane.accounts.upkeep`` is listed in ``housekeeping.JOB_MODULES``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from control_plane.accounts.models import RevokedToken
from control_plane.housekeeping import housekeeping_job
from downbeat.settings import Settings

__all__ = ["purge_expired_rotations"]

BATCH = 1000


@housekeeping_job("accounts.purge_expired_rotations")
def purge_expired_rotations(session: Session, now: datetime, _settings: Settings) -> int:
    """Delete up to BATCH expired rows per run (short transactions; the next run goes on)."""
    expired = list(session.scalars(select(RevokedToken.jti).where(RevokedToken.expires_at < now).limit(BATCH)))
    if expired:
        session.execute(delete(RevokedToken).where(RevokedToken.jti.in_(expired)))
    session.commit()
    return len(expired)
