"""Idempotency-Key handling for unsafe POSTs that create bookings or money.

A repeat with the same key and body returns the first answer and does nothing again; the same
key with a different body is a 422. The record is written in the same transaction as the
effect, so a crash can never leave one without the other.

The key is *claimed* first, with ``INSERT ... ON CONFLICT DO NOTHING``: one round trip that
both looks the key up and, when two requests carry the same key at once, makes the second
wait on the unique index until the first commits (then it replays) or rolls back (then it
runs). The claimed row gets the answer before commit.

A hot path that makes its whole effect in one statement (the PostgreSQL booking) needs no
claim: it reads any stored answer first (``keyed_request`` / ``replay``) and inserts the key
row *with* its answer in the same statement as the effect. A twin in flight then makes that
insert wait on the unique index and fail once the twin commits, which rolls the whole
statement back; the caller replays the twin's answer (``stored_answer``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from flask import Response, request
from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, select, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.kits.db.raw_sql import postgres_connection
from control_plane.kits.db.types import UTCDateTime, utcnow
from control_plane.kits.extensions import db
from control_plane.kits.http.problems import ApiProblem

__all__ = [
    "IdempotencyRecord",
    "KeyedRequest",
    "StoredAnswer",
    "idempotent",
    "keyed_request",
    "replay",
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
    """The request's Idempotency-Key with what identifies its request (path and body)."""

    key: str
    endpoint: str
    digest: str


@dataclass(frozen=True)
class StoredAnswer:
    request_hash: str
    status_code: int
    response_body: str


def keyed_request() -> KeyedRequest | None:
    """The request's key (None without the header); a 400 for a key of the wrong size."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ApiProblem(400, "invalid-idempotency-key", f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
    return KeyedRequest(key, request.path, _request_hash())


def replay(keyed: KeyedRequest, stored: StoredAnswer) -> Response:
    """The first answer again, or a 422 when the key came with a different request."""
    if stored.request_hash != keyed.digest:
        raise ApiProblem(
            422,
            "idempotency-key-reused",
            "This Idempotency-Key was already used for a different request (another path or body); "
            "use a new key for a new request",
        )
    response = Response(stored.response_body, status=stored.status_code, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def stored_answer(user_id: int, key: str) -> StoredAnswer | None:
    record = db.session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
    )
    if record is None:
        return None
    return StoredAnswer(record.request_hash, record.status_code, record.response_body)


def _request_hash() -> str:
    body = request.get_json(silent=True, force=True)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def idempotent(user_id: int, create: Callable[[], tuple[dict[str, Any], int]]) -> Response:
    """Run ``create`` (which stages its writes without committing) under the request's key."""
    keyed = keyed_request()
    if keyed is None:
        body, status = create()
        db.session.commit()
        return Response(json.dumps(body), status=status, mimetype="application/json")
    key, digest = keyed.key, keyed.digest
    record_id = _claim(user_id, key, digest)
    if record_id is None:
        replay = _replay(user_id, key, digest)
        if replay is not None:
            return replay
        raise ApiProblem(409, "idempotency-key-in-use", "A request with this Idempotency-Key is still running")
    body, status = create()
    _store(record_id, user_id, key, digest, body, status)
    try:
        db.session.commit()
    except IntegrityError:
        # A rollback inside ``create`` dropped our claim and a concurrent request with the same
        # key won meanwhile; ours is rolled back whole.
        db.session.rollback()
        replay = _replay(user_id, key, digest)
        if replay is None:
            raise
        return replay
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _claim(user_id: int, key: str, digest: str) -> int | None:
    """Insert the key row, or find it taken (waiting for an uncommitted twin to finish)."""
    values = {
        "user_id": user_id,
        "key": key,
        "endpoint": request.path,
        "request_hash": digest,
        "status_code": 0,  # claimed, answer not written yet (never committed in this state)
        "response_body": "",
        "created_at": utcnow(),
    }
    raw = postgres_connection(db.session)
    if raw is not None:
        # The driver directly, on the request's own connection and transaction: this runs on
        # every keyed booking, and SQLAlchemy's statement machinery cost as much as the rest
        # of the booking's hot path (measured with cProfile).
        try:
            found = raw.execute(_CLAIM_SQL, values).fetchone()
        except psycopg.errors.ForeignKeyViolation:
            db.session.rollback()  # the token outlived its account
            raise ApiProblem(401, "unknown-user", "The account behind this token no longer exists") from None
        return None if found is None else int(found[0])
    table = IdempotencyRecord.__table__
    stmt = sqlite.insert(table).values(**values).on_conflict_do_nothing(index_elements=["user_id", "key"])
    row = db.session.execute(stmt.returning(table.c.id)).first()
    return None if row is None else int(row[0])


_CLAIM_SQL = """
    INSERT INTO idempotency_keys (user_id, key, endpoint, request_hash, status_code, response_body, created_at)
    VALUES (%(user_id)s, %(key)s, %(endpoint)s, %(request_hash)s, %(status_code)s, %(response_body)s, %(created_at)s)
    ON CONFLICT (user_id, key) DO NOTHING
    RETURNING id
"""


def _store(record_id: int, user_id: int, key: str, digest: str, body: dict[str, Any], status: int) -> None:
    answer = {"status_code": status, "response_body": json.dumps(body)}
    stored = db.session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == record_id)
        .values(**answer)
        .execution_options(synchronize_session=False)
    )
    if stored.rowcount != 1:  # type: ignore[attr-defined]
        # ``create`` rolled back (a retried conflict) and took the claim with it: insert anew;
        # a concurrent twin that got in first makes the commit fail and ours replays its answer.
        db.session.add(
            IdempotencyRecord(user_id=user_id, key=key, endpoint=request.path, request_hash=digest, **answer)
        )


def _replay(user_id: int, key: str, digest: str) -> Response | None:
    stored = stored_answer(user_id, key)
    return None if stored is None else replay(KeyedRequest(key, request.path, digest), stored)
