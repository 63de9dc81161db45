"""The booking hot path on PostgreSQL: a free seat in two statements and two round trips.

The portable path (``booking.book_seat``, SQLAlchemy ORM) costs about nine round trips and
10 ms of Python per booking. Here the common case (a free seat in a free, published, future
session) costs two statements on a pooled connection in autocommit mode, so there is no
``BEGIN`` and no ``COMMIT`` round trip, and no ORM at all:

1. ``READ`` (no locks, no transaction): the session, its owner's and the attendee's names,
   whether the attendee already holds a place, the next booking id from its sequence, whether
   the token's family is still live (the check ``jwt_required`` would have made, which this
   view skips to make it here) and any answer already stored under the Idempotency-Key.
   Python then replays a stored answer, or makes every refusal the portable path would (same
   checks, same order, same problems), and builds the event with the contract codec and the
   answer with the models' JSON functions.
2. ``BOOK``: one statement, hence one transaction, committed by PostgreSQL as it ends. The
   capacity guard (the same conditional ``UPDATE ... WHERE seats_taken + n <= capacity``), the
   booking insert, the outbox insert and, under an Idempotency-Key, the key row *with* its
   answer. The inserts read the update's ``RETURNING`` rows, so without a seat nothing is
   written. The session row's lock lives for this statement and its WAL flush only: that is
   what a hot session's throughput is made of, since every booking of it queues on that row.

The guarantees do not move: the conditional update and the ``CHECK`` constraint stop
overbooking; the partial unique index stops a second live booking (a racing twin makes the
statement fail whole); the event row commits with the booking or not at all; a twin with the
same key waits on the key's unique index and fails once the first commits, and then gets the
first answer replayed. Paid sessions, unknown sessions and unknown users return None before
any write, and the caller takes the portable path.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import psycopg
from flask import Response
from psycopg.rows import namedtuple_row
from sqlalchemy.engine import Engine

from contracts import BookingCreated, encode, topic_for
from control_plane.accounts.auth import FAMILY_IS_LIVE_SQL, revoked_token_problem
from control_plane.catalog.models import CatalogSession, booking_fields_json, listing_json
from control_plane.catalog.services.bookings import (
    BookingRefused,
    BookSeat,
    ListingState,
    refuse_already_booked,
    refuse_full,
    refuse_unless_bookable,
)
from control_plane.kits.db.raw_sql import autocommit_connection
from control_plane.kits.db.types import utcnow
from control_plane.kits.http.idempotency import KeyedRequest, StoredAnswer, replay
from control_plane.kits.http.problems import ApiProblem
from control_plane.kits.outbox.wakeup import wake_relay

__all__ = ["book_free_seat_postgres"]

UNIQUE_LIVE_BOOKING = "uq_bookings_active_session_user"
UNIQUE_KEY = "uq_idempotency_keys_user_key"

# Every column of the model, so the answer is built by the same JSON function as the model's.
_SESSION_COLUMNS = tuple(column.name for column in CatalogSession.__table__.columns)
_TIMES = {"starts_at", "ends_at", "cancelled_at", "created_at", "updated_at"}

# The only interpolation is the model's own column names and accounts' fixed check, never input.
READ = f"""
    SELECT {", ".join(f"s.{c}" for c in _SESSION_COLUMNS)},
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
        INSERT INTO idempotency_keys (user_id, key, endpoint, request_hash, status_code, response_body,
                                      created_at)
        SELECT %(user_id)s, CAST(%(idempotency_key)s AS text), %(endpoint)s, %(request_hash)s, 201,
               CAST(
                   jsonb_set(
                       jsonb_set(CAST(CAST(%(answer)s AS text) AS jsonb), '{session,seats_taken}',
                                 to_jsonb(seat.seats_taken)),
                       '{session,seats_left}', to_jsonb(seat.capacity - seat.seats_taken)
                   ) AS text),
               %(now)s
        FROM seat, booking
        WHERE CAST(%(idempotency_key)s AS text) IS NOT NULL
        RETURNING id
    )
    SELECT (SELECT seats_taken FROM seat) AS seats_taken,
           (SELECT capacity FROM seat) AS capacity,
           (SELECT count(*) FROM event) AS events,
           (SELECT count(*) FROM answer) AS answered,
           (SELECT status FROM sessions WHERE id = %(session_id)s) AS status_then
"""

_STORED = "SELECT request_hash, status_code, response_body FROM idempotency_keys WHERE user_id = %s AND key = %s"


def book_free_seat_postgres(
    engine: Engine, claims: dict[str, Any], command: BookSeat, keyed: KeyedRequest | None
) -> Response | None:
    """Book one free seat (committed), replay, refuse (``ApiProblem``), or return None: the
    portable path decides then, with its own token check."""
    with autocommit_connection(engine) as raw:
        return _book(raw, claims, command, keyed)


def _book(
    raw: psycopg.Connection[Any], claims: dict[str, Any], command: BookSeat, keyed: KeyedRequest | None
) -> Response | None:
    user_id = int(claims["sub"])
    now = utcnow()
    with raw.cursor(row_factory=namedtuple_row) as cur:
        row: Any = cur.execute(
            READ,
            {
                "session_id": command.session_id,
                "user_id": user_id,
                "token_family": str(claims.get("fam") or ""),
                "key": keyed.key if keyed is not None else None,
            },
        ).fetchone()
    if not row.token_live:
        raise revoked_token_problem()
    if keyed is not None and row.key_hash is not None:
        return replay(keyed, StoredAnswer(row.key_hash, row.key_status, row.key_body))
    if row.id is None or row.attendee_name is None or command.waitlist or row.price_amount > 0:
        return None  # 404, unknown user, the waitlist or a payment to start: portable path
    try:
        refuse_unless_bookable(command.session_id, cast(ListingState, row), user_id, command.seats, now)
        if row.already_booked:
            raise refuse_already_booked()
        if row.seats_taken + command.seats > row.capacity:
            # Full in a consistent snapshot of a published session: a correct "no" without a
            # write (the portable path would learn the same only after locking the row).
            raise refuse_full(command.session_id, command.seats)
    except BookingRefused as refused:
        raise _problem(refused) from None

    # Plain records, not ORM instances: the same JSON functions the models use, without the
    # instrumentation (building three mapped objects cost about 0.3 ms a booking).
    listing = SimpleNamespace(
        **{c: _utc(getattr(row, c)) if c in _TIMES else getattr(row, c) for c in _SESSION_COLUMNS}
    )
    booking = SimpleNamespace(
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
    body: dict[str, Any] = {
        **booking_fields_json(booking),
        "session": listing_json(listing, row.owner_name),
        "payment": None,
    }
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
        "idempotency_key": keyed.key if keyed is not None else None,
        "endpoint": keyed.endpoint if keyed is not None else "",
        "request_hash": keyed.digest if keyed is not None else "",
        "answer": json.dumps(body) if keyed is not None else None,
    }
    try:
        with raw.cursor(row_factory=namedtuple_row) as cur:
            done: Any = cur.execute(BOOK, params).fetchone()
    except psycopg.errors.UniqueViolation as error:
        # A twin (same person, same session, maybe the same key) committed first; with a key
        # the first answer is the answer, without one this is a second booking.
        stored = _stored(raw, user_id, keyed)
        if stored is not None and keyed is not None:
            return replay(keyed, stored)
        if error.diag.constraint_name == UNIQUE_LIVE_BOOKING:
            raise _problem(refuse_already_booked()) from None
        if error.diag.constraint_name == UNIQUE_KEY:  # pragma: no cover - the row cannot vanish
            raise ApiProblem(
                409, "idempotency-key-in-use", "A request with this Idempotency-Key is still running"
            ) from None
        raise
    except psycopg.errors.ForeignKeyViolation:
        raise ApiProblem(401, "unknown-user", "The account behind this token no longer exists") from None
    if done.seats_taken is None:
        if done.status_then != "published":
            raise ApiProblem(409, "session-not-bookable", f"Session {command.session_id} is no longer open for booking")
        raise _problem(refuse_full(command.session_id, command.seats))
    assert done.events == 1 and done.answered == (1 if keyed is not None else 0)
    wake_relay()
    body["session"]["seats_taken"] = done.seats_taken
    body["session"]["seats_left"] = done.capacity - done.seats_taken
    return Response(json.dumps(body), status=201, mimetype="application/json")


def _stored(raw: psycopg.Connection[Any], user_id: int, keyed: KeyedRequest | None) -> StoredAnswer | None:
    if keyed is None:
        return None
    found = raw.execute(_STORED, (user_id, keyed.key)).fetchone()
    return None if found is None else StoredAnswer(found[0], found[1], found[2])


def _problem(refused: BookingRefused) -> ApiProblem:
    return ApiProblem(refused.status, refused.code, refused.detail)


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)
