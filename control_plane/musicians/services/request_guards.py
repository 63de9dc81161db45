"""The no-double-booking guard: a musician never holds two overlapping ``accepted`` requests,
and is asked only for times their availability offers.

Every path that makes a time range accepted (accept, accepting a reschedule of an accepted
request) checks for an overlapping engagement first, inside the same transaction.

- SQLite: every transaction starts with ``BEGIN IMMEDIATE``, so check-then-write is
  serialised across processes and the check alone is enough.
- PostgreSQL (READ COMMITTED) cannot serialise the check, so the database enforces the rule
  with an exclusion constraint (``EXCLUDE USING gist (musician_id WITH =,
  tstzrange(starts_at, ends_at) WITH &&) WHERE (status = 'accepted')``). A violation
  (SQLSTATE 23P01) becomes the same 409 ``musician-unavailable`` (``flush``). Two transactions
  inserting conflicting index entries at once may wait on each other; PostgreSQL then aborts
  one with a deadlock (40P01), which surfaces as ``RetryConflict`` so the caller can run it
  again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, scoped_session

from control_plane.accounts.models import User
from control_plane.musicians.models import BookingRequest
from control_plane.musicians.services.availability import why_unavailable
from control_plane.musicians.services.refusals import RequestRefused
from control_plane.musicians.services.saved_availability import musician_availability

__all__ = ["RetryConflict", "ensure_bookable", "ensure_free", "flush"]

DbSession = Session | scoped_session[Any]

EXCLUSION_VIOLATION = "23P01"
DEADLOCK = "40P01"
SERIALIZATION_FAILURE = "40001"


class RetryConflict(Exception):
    """The database aborted the transaction to break a lock cycle; running again is safe."""


def ensure_bookable(
    db: DbSession, musician: User, starts_at: datetime, ends_at: datetime, exclude_id: int | None
) -> None:
    """The musician's availability offers ``[starts_at, ends_at)`` and no engagement overlaps
    it, else ``RequestRefused`` (409 musician-unavailable, with the ``reason``)."""
    refusal = why_unavailable(musician_availability(db, musician), starts_at, ends_at)
    if refusal is not None:
        raise RequestRefused(409, "musician-unavailable", f"{musician.name} {refusal.detail}", reason=refusal.reason)
    ensure_free(db, musician, starts_at, ends_at, exclude_id)


def ensure_free(db: DbSession, musician: User, starts_at: datetime, ends_at: datetime, exclude_id: int | None) -> None:
    """No accepted engagement of this musician overlaps ``[starts_at, ends_at)``."""
    stmt = select(BookingRequest.id).where(
        BookingRequest.musician_id == musician.id,
        BookingRequest.status == "accepted",
        BookingRequest.starts_at < ends_at,
        BookingRequest.ends_at > starts_at,
    )
    if exclude_id is not None:
        stmt = stmt.where(BookingRequest.id != exclude_id)
    if db.scalar(stmt.limit(1)) is not None:
        raise _booked(musician.name)


def _booked(name: str) -> RequestRefused:
    return RequestRefused(
        409, "musician-unavailable", f"{name} is already booked at that time", reason="overlapping-engagement"
    )


def flush(db: DbSession, musician_name: str = "The musician") -> None:
    """Flush, translating the database's own guards into refusals."""
    try:
        db.flush()
    except IntegrityError as exc:
        if _sqlstate(exc) != EXCLUSION_VIOLATION:
            raise
        db.rollback()
        raise _booked(musician_name) from None
    except DBAPIError as exc:
        if _sqlstate(exc) not in (DEADLOCK, SERIALIZATION_FAILURE):
            raise
        db.rollback()
        raise RetryConflict(str(exc.orig)) from None


def _sqlstate(exc: DBAPIError) -> str | None:
    return getattr(exc.orig, "sqlstate", None)
