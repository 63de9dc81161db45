"""The capacity guard, written once: a conditional UPDATE (``seats_taken + n <= capacity``) so
the database decides under any concurrency, the way pretix guards its quotas; a CHECK
constraint on the table backs it up.

``TAKE_SEATS`` is executed as it is by the portable path (``take_seats``) and embedded as the
first CTE of the PostgreSQL fast path's one statement (``seat_store.statements``).
"""

from __future__ import annotations

from sqlalchemy import bindparam, literal_column, update

from control_plane.catalog.models import CatalogSession
from control_plane.kits.db.types import DB

__all__ = ["TAKE_SEATS", "release_seats", "take_seats"]

_SESSIONS = CatalogSession.__table__

# Parameters: ``session_id``, ``seats``. Returns the new ``seats_taken`` and the ``capacity``,
# or no row when the seats are not there (or the session is no longer published). The status
# is a literal, not a parameter, so the compiled text needs only the two parameters above.
TAKE_SEATS = (
    update(_SESSIONS)
    .where(
        _SESSIONS.c.id == bindparam("session_id"),
        _SESSIONS.c.status == literal_column("'published'"),
        _SESSIONS.c.seats_taken + bindparam("seats") <= _SESSIONS.c.capacity,
    )
    # ``updated_at`` stays: it dates the session's terms, which calendars version events by, and
    # a seat taken by someone else changes no attendee's event.
    .values(seats_taken=_SESSIONS.c.seats_taken + bindparam("seats"), updated_at=_SESSIONS.c.updated_at)
    .returning(_SESSIONS.c.seats_taken, _SESSIONS.c.capacity)
)


def take_seats(db: DB, session_id: int, seats: int) -> int | None:
    """The new ``seats_taken``, or None when the seats are not there.

    On PostgreSQL this takes the session row's lock until commit, so callers run it as
    their last statement but one: the lock is held for a commit, not for a whole request.
    """
    taken = db.execute(TAKE_SEATS, {"session_id": session_id, "seats": seats}).first()
    return None if taken is None else int(taken[0])


def release_seats(db: DB, session_id: int, seats: int) -> None:
    db.execute(
        update(_SESSIONS)
        .where(_SESSIONS.c.id == session_id)
        .values(seats_taken=_SESSIONS.c.seats_taken - seats, updated_at=_SESSIONS.c.updated_at)
    )
