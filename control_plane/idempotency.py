"""Idempotency-Key handling for unsafe POSTs that create bookings or money.

A repeat with the same key and body returns the first answer and does nothing again; the same
key with a different body is a 422. The record is written in the same transaction as the
effect, so a crash can never leave one without the other.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Response, request
from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from control_plane.db_types import UTCDateTime, utcnow
from control_plane.extensions import db
from control_plane.problems import ApiProblem

__all__ = ["IdempotencyRecord", "idempotent"]

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


def _request_hash() -> str:
    body = request.get_json(silent=True, force=True)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def idempotent(user_id: int, create: Callable[[], tuple[dict[str, Any], int]]) -> Response:
    """Run ``create`` (which stages its writes without committing) under the request's key."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        body, status = create()
        db.session.commit()
        return Response(json.dumps(body), status=status, mimetype="application/json")
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ApiProblem(400, "invalid-idempotency-key", f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
    digest = _request_hash()
    if db.session.get_bind().dialect.name == "postgresql":
        # Two requests with one key at once: the second waits here for the first to commit,
        # then replays its answer instead of racing it (SQLite serialises writers anyway).
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"{user_id}:{key}"})
    previous = _replay(user_id, key, digest)
    if previous is not None:
        return previous
    body, status = create()
    db.session.add(
        IdempotencyRecord(
            user_id=user_id,
            key=key,
            endpoint=request.path,
            request_hash=digest,
            status_code=status,
            response_body=json.dumps(body),
        )
    )
    try:
        db.session.commit()
    except IntegrityError:
        # A concurrent request with the same key won; ours is rolled back whole.
        db.session.rollback()
        replay = _replay(user_id, key, digest)
        if replay is None:
            raise
        return replay
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _replay(user_id: int, key: str, digest: str) -> Response | None:
    record = db.session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id, IdempotencyRecord.key == key)
    )
    if record is None:
        return None
    if record.request_hash != digest:
        raise ApiProblem(
            422,
            "idempotency-key-reused",
            "This Idempotency-Key was already used with a different request body",
        )
    response = Response(record.response_body, status=record.status_code, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response
