"""The PostgreSQL fast path's two statements.

``READ`` is a plain read. ``BOOK`` is composed in SQLAlchemy Core from the pieces the portable
path uses too, so each invariant is written once:

- the capacity guard is ``capacity.TAKE_SEATS``, as the first CTE;
- the outbox row has the columns of ``kits.outbox.writer.OutboxRow`` (``outbox_row`` fills them);
- the idempotency key row has the columns of ``kits.idempotency.KeyRow`` (``key_row``).

Each insert selects from the CTE before it, so without a seat nothing is written. BOOK is
compiled once, at import, and sent through the driver on every booking.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Text,
    bindparam,
    cast,
    func,
    insert,
    literal_column,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB

from control_plane.accounts.queries import FAMILY_IS_LIVE_SQL
from control_plane.catalog.models import Booking, CatalogSession
from control_plane.catalog.services.capacity import TAKE_SEATS
from control_plane.kits.db.compiled import psycopg_sql
from control_plane.kits.idempotency import KEY_COLUMNS, UNIQUE_KEY, IdempotencyRecord
from control_plane.kits.idempotency import STORED_ANSWER as STORED_ANSWER_SELECT
from control_plane.kits.outbox.models import OutboxMessage
from control_plane.kits.outbox.writer import OUTBOX_COLUMNS

__all__ = [
    "BOOK",
    "BOOKING_PARAMETERS",
    "READ",
    "SESSION_COLUMNS",
    "STORED_ANSWER",
    "UNIQUE_KEY",
    "UNIQUE_LIVE_BOOKING",
]

# The unique index that keeps one live booking per person and session (a twin's insert fails on it).
UNIQUE_LIVE_BOOKING = next(str(index.name) for index in Booking.__table__.indexes if index.unique)

# Every column of the model, so the answer is built by the same JSON function as the model's.
SESSION_COLUMNS = tuple(column.name for column in CatalogSession.__table__.columns)

# The only interpolation is the model's own column names and accounts' fixed check, never input.
READ = f"""
    SELECT {", ".join(f"s.{c}" for c in SESSION_COLUMNS)},
           o.name AS owner_name,
           a.name AS attendee_name,
           EXISTS (SELECT 1 FROM bookings b
                   WHERE b.session_id = s.id AND b.user_id = %(user_id)s AND b.status <> 'cancelled')
               AS already_booked,
           nextval(pg_get_serial_sequence('bookings', 'id')) AS booking_id,
           {FAMILY_IS_LIVE_SQL} AS token_live,
           k.request_hash AS key_hash, k.status_code AS key_status, k.response_body AS key_body
    FROM (SELECT 1) AS one
    LEFT JOIN sessions s ON s.id = %(session_id)s
    LEFT JOIN users o ON o.id = s.owner_id
    LEFT JOIN users a ON a.id = %(user_id)s
    LEFT JOIN idempotency_keys k ON k.user_id = %(user_id)s AND k.key = %(key)s
"""  # noqa: S608

STORED_ANSWER = psycopg_sql(STORED_ANSWER_SELECT)

# A free booking as the fast path writes it; the names are BOOK's parameters.
BOOKING_PARAMETERS = {
    "id": "booking_id",
    "session_id": "session_id",
    "user_id": "user_id",
    "seats": "seats",
    "status": None,  # always 'confirmed' here (a literal below)
    "notes": "notes",
    "amount": None,  # a free seat
    "currency": "currency",
    "created_at": "now",
    "updated_at": "now",
    "cancel_reason": None,
}
_BOOKING_LITERALS = {"status": "'confirmed'", "amount": "0", "cancel_reason": "''"}


def _compose() -> Any:
    seat = TAKE_SEATS.cte("seat")
    bookings = Booking.__table__
    booking = (
        insert(bookings)
        .from_select(
            list(BOOKING_PARAMETERS),
            select(
                *(
                    bindparam(name) if name else literal_column(_BOOKING_LITERALS[column])
                    for column, name in BOOKING_PARAMETERS.items()
                )
            ).select_from(seat),
        )
        .returning(bookings.c.id)
        .cte("booking")
    )
    outbox = OutboxMessage.__table__
    event = (
        insert(outbox)
        .from_select(
            list(OUTBOX_COLUMNS), select(*(bindparam(f"event_{c}") for c in OUTBOX_COLUMNS)).select_from(booking)
        )
        .returning(outbox.c.id)
        .cte("event")
    )
    # The answer stored under an Idempotency-Key must show the seats as this booking left them:
    # Python sends the answer, the statement patches in the two numbers only it knows.
    answer_json = func.jsonb_set(
        func.jsonb_set(
            cast(cast(bindparam("answer"), Text), JSONB),
            literal_column("'{session,seats_taken}'"),
            func.to_jsonb(seat.c.seats_taken),
        ),
        literal_column("'{session,seats_left}'"),
        func.to_jsonb(seat.c.capacity - seat.c.seats_taken),
    )
    keys = IdempotencyRecord.__table__
    answer = (
        insert(keys)
        .from_select(
            list(KEY_COLUMNS),
            select(*(cast(answer_json, Text) if c == "response_body" else bindparam(f"key_{c}") for c in KEY_COLUMNS))
            .select_from(seat, booking)
            .where(bindparam("key_key", type_=Text).is_not(None)),
        )
        .returning(keys.c.id)
        .cte("answer")
    )
    sessions = CatalogSession.__table__
    status_then = select(sessions.c.status).where(sessions.c.id == bindparam("session_id"))
    return select(
        select(seat.c.seats_taken).scalar_subquery().label("seats_taken"),
        select(seat.c.capacity).scalar_subquery().label("capacity"),
        select(func.count()).select_from(event).scalar_subquery().label("events"),
        select(func.count()).select_from(answer).scalar_subquery().label("answered"),
        status_then.scalar_subquery().label("status_then"),
    ).where(true())


BOOK = psycopg_sql(_compose())
