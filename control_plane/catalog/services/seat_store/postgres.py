"""The PostgreSQL seat store: a free seat in two statements and two round trips.

The portable store costs about nine round trips and 10 ms of Python per booking. Here the
common case (a free seat in a free, published, future session) costs two statements on a
pooled connection in autocommit mode, so there is no ``BEGIN`` and no ``COMMIT`` round trip,
and no ORM at all:

1. ``READ`` (no locks, no transaction): the session, its owner's and the attendee's names,
   whether the attendee already holds a place, the next booking id from its sequence, whether
   the token's family is still live (the check ``jwt_required`` would have made, which the
   route skips so that it is made here) and any answer already stored under the
   Idempotency-Key. Python then replays a stored answer, or makes every refusal the portable
   path would (same checks, same order, same refusals), and builds the event with the contract
   codec and the answer with the models' JSON functions.
2. ``BOOK``: one statement, hence one transaction, committed by PostgreSQL as it ends: the
   capacity guard, the booking insert, the outbox insert and, under an Idempotency-Key, the key
   row *with* its answer (``statements.py``). The inserts read the guard's ``RETURNING`` rows,
   so without a seat nothing is written. The session row's lock lives for this statement and
   its WAL flush only: that is what a hot session's throughput is made of, since every booking
   of it queues on that row.

The guarantees do not move: the conditional update and the ``CHECK`` constraint stop
overbooking; the partial unique index stops a second live booking (a racing twin makes the
statement fail whole); the event row commits with the booking or not at all; a twin with the
same key waits on the key's unique index and fails once the first commits, and then gets the
first answer replayed. Paid sessions, unknown sessions and unknown users return None before
any write, and the caller asks the portable store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import psycopg
from psycopg.rows import namedtuple_row
from sqlalchemy.engine import Engine

from contracts import BookingCreated
from control_plane.catalog.models import booking_fields_json, listing_json
from control_plane.catalog.services.bookings import (
    BookSeat,
    ListingState,
    event_fields,
    refuse_already_booked,
    refuse_full,
    refuse_no_longer_open,
    refuse_unknown_user,
    refuse_unless_bookable,
)
from control_plane.catalog.services.seat_store.statements import (
    BOOK,
    READ,
    SESSION_COLUMNS,
    STORED_ANSWER,
    UNIQUE_KEY,
    UNIQUE_LIVE_BOOKING,
)
from control_plane.kits.db.raw_sql import autocommit_connection
from control_plane.kits.db.types import utcnow
from control_plane.kits.idempotency import (
    KEY_COLUMNS,
    Answer,
    KeyedRequest,
    StoredAnswer,
    check_replay,
    key_in_use,
    key_row,
)
from control_plane.kits.outbox.writer import outbox_row

__all__ = ["PostgresSeatStore", "TokenNotLive"]

_TIMES = {"starts_at", "ends_at", "cancelled_at", "created_at", "updated_at"}


class TokenNotLive(Exception):
    """The token's login was ended (logged out, or a refresh token reused)."""


class PostgresSeatStore:
    """Free seats on PostgreSQL; declines (None) anything else. ``token_family`` is the
    access token's family, checked in the first statement."""

    def __init__(self, engine: Engine, token_family: str, wake_relay: Callable[[], None]) -> None:
        # ``wake_relay`` announces the committed outbox row (the route passes the app's waker).
        self._engine, self._family, self._wake_relay = engine, token_family, wake_relay

    def book(self, user_id: int, command: BookSeat, keyed: KeyedRequest | None) -> Answer | None:
        if command.waitlist:
            return None  # joining the waitlist is the portable store's
        with autocommit_connection(self._engine) as raw:
            return self._book(raw, user_id, command, keyed)

    def _book(
        self, raw: psycopg.Connection[Any], user_id: int, command: BookSeat, keyed: KeyedRequest | None
    ) -> Answer | None:
        now = utcnow()
        with raw.cursor(row_factory=namedtuple_row) as cur:
            row: Any = cur.execute(
                READ,
                {
                    "session_id": command.session_id,
                    "user_id": user_id,
                    "token_family": self._family,
                    "key": keyed.key if keyed is not None else None,
                },
            ).fetchone()
        if not row.token_live:
            raise TokenNotLive
        if keyed is not None and row.key_hash is not None:
            return check_replay(keyed, StoredAnswer(row.key_hash, row.key_status, row.key_body))
        if row.id is None or row.attendee_name is None or row.price_amount > 0:
            return None  # 404, an unknown user or a payment to start: the portable store's
        refuse_unless_bookable(command.session_id, cast(ListingState, row), user_id, command.seats, now)
        if row.already_booked:
            raise refuse_already_booked()
        if row.seats_taken + command.seats > row.capacity:
            # Full in a consistent snapshot of a published session: a correct "no" without a
            # write (the portable store would learn the same only after locking the row).
            raise refuse_full(command.session_id, command.seats)

        # Plain records, not ORM instances: the same JSON functions the models use, without the
        # instrumentation (building three mapped objects cost about 0.3 ms a booking).
        listing = SimpleNamespace(
            **{c: _utc(getattr(row, c)) if c in _TIMES else getattr(row, c) for c in SESSION_COLUMNS}
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
            **event_fields(booking.id, listing, user_id, row.attendee_name), seats=command.seats, status="confirmed"
        )
        body: dict[str, Any] = {
            **booking_fields_json(booking),
            "session": listing_json(listing, row.owner_name),
            "payment": None,
        }
        params: dict[str, Any] = {
            "seats": command.seats,
            "session_id": row.id,
            "booking_id": booking.id,
            "user_id": user_id,
            "notes": command.notes,
            "currency": row.price_currency,
            "now": now,
            "answer": json.dumps(body) if keyed is not None else None,
        }
        params.update({f"event_{name}": value for name, value in vars(outbox_row(event, now)).items()})
        key = vars(key_row(user_id, keyed, status_code=201)) if keyed is not None else dict.fromkeys(KEY_COLUMNS)
        params.update({f"key_{name}": value for name, value in key.items()})
        try:
            with raw.cursor(row_factory=namedtuple_row) as cur:
                done: Any = cur.execute(BOOK, params).fetchone()
        except psycopg.errors.UniqueViolation as error:
            # A twin (same person, same session, maybe the same key) committed first; with a key
            # the first answer is the answer, without one this is a second booking.
            stored = _stored(raw, user_id, keyed)
            if stored is not None and keyed is not None:
                return check_replay(keyed, stored)
            if error.diag.constraint_name == UNIQUE_LIVE_BOOKING:
                raise refuse_already_booked() from None
            if error.diag.constraint_name == UNIQUE_KEY:  # pragma: no cover - the row cannot vanish
                raise key_in_use() from None
            raise
        except psycopg.errors.ForeignKeyViolation:  # the token outlived its account
            raise refuse_unknown_user() from None
        if done.seats_taken is None:
            if done.status_then != "published":
                raise refuse_no_longer_open(command.session_id)
            raise refuse_full(command.session_id, command.seats)
        assert done.events == 1 and done.answered == (1 if keyed is not None else 0)
        self._wake_relay()
        body["session"]["seats_taken"] = done.seats_taken
        body["session"]["seats_left"] = done.capacity - done.seats_taken
        return Answer(json.dumps(body), 201)


def _stored(raw: psycopg.Connection[Any], user_id: int, keyed: KeyedRequest | None) -> StoredAnswer | None:
    if keyed is None:
        return None
    found = raw.execute(STORED_ANSWER, {"user_id": user_id, "key": keyed.key}).fetchone()
    return None if found is None else StoredAnswer(found[0], found[1], found[2])


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)
