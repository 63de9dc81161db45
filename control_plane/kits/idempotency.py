"""Idempotency keys for unsafe POSTs that create bookings or money, apart from HTTP.

A repeat with the same key and request returns the first answer and does nothing again; the
same key with another request is refused (422). The key's row is written in the same
transaction as the effect, so a crash can never leave one without the other.

``key_row`` is the one definition of that row and ``claim_statement`` the one statement that
claims it:

- The portable path (``run_once``) *claims* the key first, with ``INSERT ... ON CONFLICT DO
  NOTHING``: one round trip that both looks the key up and, when two requests carry the same
  key at once, makes the second wait on the unique index until the first commits (then it
  replays) or rolls back (then it runs). The claimed row gets the answer before commit.
- A hot path that makes its whole effect in one statement (the PostgreSQL seat booking) needs
  no claim: it reads any stored answer first (``check_replay``) and inserts the same row *with*
  its answer in the same statement as the effect. A twin in flight then makes that insert wait
  on the unique index and fail once the twin commits, which rolls the whole statement back;
  the caller replays the twin's answer (``stored_answer``).

Refusals are ``IdempotencyRefused``; the HTTP kit turns them into problems.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.kits.db.compiled import psycopg_sql
from control_plane.kits.db.raw_sql import postgres_connection
from control_plane.kits.db.types import DB, UTCDateTime, utcnow
from control_plane.kits.extensions import db
from control_plane.kits.refusals import Refused

__all__ = [
    "KEY_COLUMNS",
    "MAX_KEY_LENGTH",
    "STORED_ANSWER",
    "UNIQUE_KEY",
    "Answer",
    "IdempotencyRecord",
    "IdempotencyRefused",
    "KeyRow",
    "KeyedRequest",
    "StoredAnswer",
    "check_replay",
    "claim_statement",
    "key_row",
    "run_once",
    "stored_answer",
]

MAX_KEY_LENGTH = 200


class IdempotencyRecord(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(MAX_KEY_LENGTH))
    endpoint: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@dataclass(frozen=True)
class KeyedRequest:
    """A request's Idempotency-Key with what identifies the request (path and body digest)."""

    key: str
    endpoint: str
    digest: str


@dataclass(frozen=True)
class StoredAnswer:
    request_hash: str
    status_code: int
    response_body: str


@dataclass(frozen=True)
class Answer:
    """What a keyed (or unkeyed) request answers: a JSON body, its status, and whether it is
    the first answer replayed."""

    body: str
    status: int
    replayed: bool = False


@dataclass(frozen=True)
class KeyRow:
    """The columns a key's row is written with. ``status_code`` 0 marks a claim whose answer
    is not written yet (never committed in that state)."""

    user_id: int
    key: str
    endpoint: str
    request_hash: str
    status_code: int
    response_body: str
    created_at: datetime


KEY_COLUMNS = tuple(field.name for field in fields(KeyRow))


class IdempotencyRefused(Refused):
    """A key reused for another request, or still in flight."""


def key_row(user_id: int, keyed: KeyedRequest, *, status_code: int = 0, response_body: str = "") -> KeyRow:
    return KeyRow(user_id, keyed.key, keyed.endpoint, keyed.digest, status_code, response_body, utcnow())


def claim_statement(dialect: str) -> Any:
    """``INSERT`` the key row unless the key is taken; ``RETURNING id`` only when it was not."""
    table = IdempotencyRecord.__table__
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .values({column: bindparam(column) for column in KEY_COLUMNS})
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(table.c.id)
    )


# The claim runs on every keyed booking: on PostgreSQL it goes through the driver directly, on
# the session's own connection and transaction (SQLAlchemy's statement machinery cost as much
# as the rest of the booking's hot path, measured with cProfile).
_CLAIM_POSTGRES = psycopg_sql(claim_statement("postgresql"))
_CLAIM_SQLITE = claim_statement("sqlite")


def check_replay(keyed: KeyedRequest, stored: StoredAnswer) -> Answer:
    """The first answer again, or a refusal when the key came with a different request."""
    if stored.request_hash != keyed.digest:
        raise IdempotencyRefused(
            422,
            "idempotency-key-reused",
            "This Idempotency-Key was already used for a different request (another path or body); "
            "use a new key for a new request",
        )
    return Answer(stored.response_body, stored.status_code, replayed=True)


def key_in_use() -> IdempotencyRefused:
    return IdempotencyRefused(409, "idempotency-key-in-use", "A request with this Idempotency-Key is still running")


def unknown_user() -> IdempotencyRefused:
    return IdempotencyRefused(401, "unknown-user", "The account behind this token no longer exists")


# Parameters ``user_id`` and ``key``; the one read of a stored answer (a hot path sends it
# compiled, see ``STORED_ANSWER`` in the seat store's statements).
STORED_ANSWER = select(
    IdempotencyRecord.request_hash, IdempotencyRecord.status_code, IdempotencyRecord.response_body
).where(IdempotencyRecord.user_id == bindparam("user_id"), IdempotencyRecord.key == bindparam("key"))
UNIQUE_KEY = next(c.name for c in IdempotencyRecord.__table__.constraints if isinstance(c, UniqueConstraint))


def stored_answer(session: DB, user_id: int, key: str) -> StoredAnswer | None:
    found = session.execute(STORED_ANSWER, {"user_id": user_id, "key": key}).first()
    return None if found is None else StoredAnswer(found[0], found[1], found[2])


def run_once(
    session: DB, user_id: int, keyed: KeyedRequest | None, create: Callable[[], tuple[dict[str, Any], int]]
) -> Answer:
    """Run ``create`` (which stages its writes without committing) under the request's key, and
    commit; a key already answered replays that answer instead."""
    if keyed is None:
        body, status = create()
        session.commit()
        return Answer(json.dumps(body), status)
    record_id = _claim(session, key_row(user_id, keyed))
    if record_id is None:
        replayed = _replay(session, user_id, keyed)
        if replayed is not None:
            return replayed
        raise key_in_use()
    body, status = create()
    text = json.dumps(body)
    _store(session, record_id, key_row(user_id, keyed, status_code=status, response_body=text))
    try:
        session.commit()
    except IntegrityError:
        # A rollback inside ``create`` dropped our claim and a concurrent request with the same
        # key won meanwhile; ours is rolled back whole.
        session.rollback()
        replayed = _replay(session, user_id, keyed)
        if replayed is None:
            raise
        return replayed
    return Answer(text, status)


def _claim(session: DB, row: KeyRow) -> int | None:
    """Insert the key row, or find it taken (waiting for an uncommitted twin to finish)."""
    raw = postgres_connection(session)
    if raw is not None:
        try:
            found = raw.execute(_CLAIM_POSTGRES, vars(row)).fetchone()
        except psycopg.errors.ForeignKeyViolation:
            session.rollback()  # the token outlived its account
            raise unknown_user() from None
        return None if found is None else int(found[0])
    claimed = session.execute(_CLAIM_SQLITE, vars(row)).first()
    return None if claimed is None else int(claimed[0])


def _store(session: DB, record_id: int, row: KeyRow) -> None:
    stored = session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record_id)
        .values(status_code=row.status_code, response_body=row.response_body)
        .execution_options(synchronize_session=False)
    )
    if stored.rowcount != 1:  # type: ignore[attr-defined]
        # ``create`` rolled back (a retried conflict) and took the claim with it: insert anew;
        # a concurrent twin that got in first makes the commit fail and ours replays its answer.
        session.add(IdempotencyRecord(**vars(row)))


def _replay(session: DB, user_id: int, keyed: KeyedRequest) -> Answer | None:
    stored = stored_answer(session, user_id, keyed.key)
    return None if stored is None else check_replay(keyed, stored)
