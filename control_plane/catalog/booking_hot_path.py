"""The booking hot path on PostgreSQL: a free seat in a free session in two round trips.

The portable path (``booking.book_seat``, SQLAlchemy ORM) costs about nine round trips and
10 ms of Python per booking. The common case here costs two of its own (besides the token
family check and the Idempotency-Key claim every request makes), on the request's own
connection and transaction (psycopg directly, no ORM):

1. ``READ`` (no locks): the session, its owner's name, the attendee's name, whether the
   attendee already holds a place, and the next booking id from its sequence. Python then
   makes every refusal the portable path would (same checks, same order, same problems)
   and builds the event with the contract codec and the answer with the models' ``to_json``.
2. ``BOOK`` and ``COMMIT`` sent together (psycopg pipeline mode). ``BOOK`` is one statement:
   the capacity guard (the same conditional ``UPDATE ... WHERE seats_taken + n <= capacity``),
   the booking insert, the outbox insert and, under an Idempotency-Key, the answer into the
   claimed key row. The inserts read the update's ``RETURNING`` rows, so without a seat
   nothing is written (and the claim is dropped, as any refusal drops it). Sending the commit
   with the statement means the session row's lock lives for the statement and the WAL flush
   only, never across a wait for the GIL in a busy worker: that is what a hot session's
   throughput is made of, since every booking of it queues on that one row.

The guarantees do not move: the conditional update and the ``CHECK`` constraint still stop
overbooking, the partial unique index still stops a second live booking (a racing twin makes
the statement fail whole), and the event row commits with the booking or not at all.
Paid sessions, waitlist requests, unknown sessions and unknown users return None before any
write, and the caller runs the portable path in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy.orm import Session, scoped_session

from contracts import BookingCreated, encode, topic_for
from control_plane.accounts.models import User
from control_plane.catalog.booking import (
    BookingRefused,
    BookSeat,
    ListingState,
    refuse_already_booked,
    refuse_full,
    refuse_unless_bookable,
)
from control_plane.catalog.models import Booking, CatalogSession
from control_plane.db_types import utcnow
from control_plane.idempotency import IdempotencyClaim, mark_stored
from control_plane.outbox.wakeup import mark_outbox_dirty

__all__ = ["HotBooking", "book_free_seat_postgres"]

DB = Session | scoped_session[Any]
UNIQUE_LIVE_BOOKING = "uq_bookings_active_session_user"

# Every column of the model, so the answer is built by the model's own to_json.
_SESSION_COLUMNS = tuple(column.name for column in CatalogSession.__table__.columns)
_TIMES = {"starts_at", "ends_at", "cancelled_at", "created_at", "updated_at"}

# The only interpolation is the model's own column names, never input.
READ = f"""
    SELECT {", ".join(f"s.{c}" for c in _SESSION_COLUMNS)},
           o.name AS owner_name,
           a.name AS attendee_name,
           EXISTS (SELECT 1 FROM bookings b
                   WHERE b.session_id = s.id AND b.user_id = %(user_id)s AND b.status <> 'cancelled')
               AS already_booked,
           nextval(pg_get_serial_sequence('bookings', 'id')) AS booking_id
    FROM sessions s
    JOIN users o ON o.id = s.owner_id
    LEFT JOIN users a ON a.id = %(user_id)s
    WHERE s.id = %(session_id)s
"""  # noqa: S608

# The answer stored under an Idempotency-Key must show the seats as this booking left them:
# Python sends the answer, the statement patches in the two numbers only it knows.
BOOK = """
    WITH seat AS (
        UPDATE sessions SET seats_taken = seats_taken + %(seats)s
        WHERE id = %(session_id)s AND status = 'published' AND seats_taken + %(seats)s <= capacity
        RETURNING seats_taken, capacity
    ), booking AS (
        INSERT INTO bookings (id, session_id, user_id, seats, status, notes, amount, currency,
                              created_at, updated_at, cancel_reason)
        SELECT %(booking_id)s, %(session_id)s, %(user_id)s, %(seats)s, 'confirmed', %(notes)s, 0,
               %(currency)s, %(now)s, %(now)s, ''
        FROM seat
        RETURNING id
    ), event AS (
        INSERT INTO outbox (event_id, event_type, topic, key, payload, created_at, attempts)
        SELECT %(event_id)s, %(event_type)s, %(topic)s, %(key)s, %(payload)s, %(now)s, 0 FROM booking
        RETURNING id
    ), answer AS (
        UPDATE idempotency_keys
        SET status_code = 201,
            response_body = CAST(
                jsonb_set(
                    jsonb_set(CAST(CAST(%(answer)s AS text) AS jsonb), '{session,seats_taken}',
                              to_jsonb(seat.seats_taken)),
                    '{session,seats_left}', to_jsonb(seat.capacity - seat.seats_taken)
                ) AS text)
        FROM seat, booking
        WHERE idempotency_keys.id = CAST(%(claim_id)s AS integer)
        RETURNING idempotency_keys.id
    ), unclaim AS (
        DELETE FROM idempotency_keys
        WHERE id = CAST(%(claim_id)s AS integer) AND NOT EXISTS (SELECT 1 FROM seat)
    )
    SELECT (SELECT seats_taken FROM seat) AS seats_taken,
           (SELECT capacity FROM seat) AS capacity,
           (SELECT count(*) FROM event) AS events,
           (SELECT count(*) FROM answer) AS answered,
           (SELECT status FROM sessions WHERE id = %(session_id)s) AS status_then
"""


@dataclass(frozen=True)
class HotBooking:
    """A confirmed booking made (and committed) on the hot path: its id and the API answer."""

    booking_id: int
    body: dict[str, Any]


def book_free_seat_postgres(
    db: DB, user_id: int, command: BookSeat, claim: IdempotencyClaim | None
) -> HotBooking | None:
    """Book and commit one free seat, refuse, or return None: then the portable path decides."""
    raw = cast(psycopg.Connection[Any], db.connection().connection.driver_connection)
    now = utcnow()
    with raw.cursor(row_factory=namedtuple_row) as cur:
        row: Any = cur.execute(READ, {"session_id": command.session_id, "user_id": user_id}).fetchone()
    if row is None or row.attendee_name is None or command.waitlist or row.price_amount > 0:
        return None  # 404, unknown user, the waitlist or a payment to start: portable path
    listing_row = {c: _utc(getattr(row, c)) if c in _TIMES else getattr(row, c) for c in _SESSION_COLUMNS}
    refuse_unless_bookable(command.session_id, cast(ListingState, row), user_id, command.seats, now)
    if row.already_booked:
        raise refuse_already_booked()
    if row.seats_taken + command.seats > row.capacity:
        # Full in a consistent snapshot of a published session: a correct "no" without a
        # write (the portable path would learn the same only after locking the row).
        raise refuse_full(command.session_id, command.seats)

    listing = CatalogSession(**listing_row)
    listing.owner = User(id=row.owner_id, name=row.owner_name)
    booking = Booking(
        id=int(row.booking_id),
        session_id=row.id,
        user_id=user_id,
        seats=command.seats,
        status="confirmed",
        notes=command.notes,
        amount=0,
        currency=row.price_currency,
        created_at=now,
        cancelled_at=None,
    )
    event = BookingCreated(
        booking_id=booking.id,
        session_id=row.id,
        session_title=row.title,
        owner_id=row.owner_id,
        attendee_id=user_id,
        attendee_name=row.attendee_name,
        starts_at=listing.starts_at,
        seats=command.seats,
        status="confirmed",
    )
    topic, key = topic_for(event)
    body: dict[str, Any] = {**booking.to_json(), "session": listing.to_json(), "payment": None}
    params = {
        "seats": command.seats,
        "session_id": row.id,
        "booking_id": booking.id,
        "user_id": user_id,
        "notes": command.notes,
        "currency": row.price_currency,
        "now": now,
        "event_id": str(event.event_id),
        "event_type": event.type,
        "topic": topic,
        "key": key,
        "payload": encode(event),
        "answer": json.dumps(body) if claim is not None else None,
        "claim_id": claim.record_id if claim is not None else None,
    }
    done = _book_and_commit(db, raw, params)
    if done.seats_taken is None:
        if done.status_then != "published":
            raise BookingRefused(
                409, "session-not-bookable", f"Session {command.session_id} is no longer open for booking"
            )
        raise refuse_full(command.session_id, command.seats)
    assert done.events == 1
    mark_outbox_dirty(db)  # the caller's (now empty) commit wakes the relay
    if claim is not None and done.answered == 1:
        mark_stored(claim)
    body["session"]["seats_taken"] = done.seats_taken
    body["session"]["seats_left"] = done.capacity - done.seats_taken
    return HotBooking(booking.id, body)


def _book_and_commit(db: DB, raw: psycopg.Connection[Any], params: dict[str, Any]) -> Any:
    """``BOOK`` and ``COMMIT`` in one round trip; a twin booking of the same person refuses."""
    try:
        with raw.pipeline(), raw.cursor(row_factory=namedtuple_row) as cur:
            cur.execute(BOOK, params)
            raw.commit()
            return cur.fetchone()
    except psycopg.errors.UniqueViolation as error:
        db.rollback()
        if error.diag.constraint_name != UNIQUE_LIVE_BOOKING:
            raise
        raise refuse_already_booked() from None


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)
