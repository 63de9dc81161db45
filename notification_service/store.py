"""The inbox store: the notification service's own database.

Every notification is committed here before it is pushed anywhere, with an increasing id.
``UNIQUE(event_id, user_id)`` makes consumption idempotent: an event delivered twice (relay
retry, rebalance, restart) yields one row per recipient.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    create_engine,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

__all__ = ["Draft", "InboxStore", "Notification"]

metadata = MetaData()

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("event_id", String(36), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("event_id", "user_id", name="uq_notifications_event_user"),
    sqlite_autoincrement=True,  # ids are never reused, even after deletes
)

store_meta = Table(
    "store_meta",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("value", String(64), nullable=False),
)


@dataclass(frozen=True)
class Draft:
    """A notification decided on but not yet stored."""

    user_id: int
    kind: str
    title: str
    body: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Notification:
    id: int
    user_id: int
    kind: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    read: bool

    def to_message(self) -> dict[str, Any]:
        """The ``notification`` message of ../shared/API.md."""
        return {
            "type": "notification",
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "data": self.data,
            "created_at": self.created_at.isoformat(),
            "read": self.read,
        }


class InboxStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @classmethod
    def from_url(cls, url: str) -> InboxStore:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            import control_plane  # noqa: F401  (WAL and BEGIN IMMEDIATE for SQLite)
        engine = create_engine(url, pool_pre_ping=True)
        store = cls(engine)
        store.create_schema()
        return store

    @property
    def engine(self) -> Engine:
        return self._engine

    def create_schema(self) -> None:
        metadata.create_all(self._engine)
        with self._engine.begin() as conn:
            if conn.execute(select(store_meta.c.value).where(store_meta.c.key == "epoch")).first() is None:
                with contextlib.suppress(IntegrityError):
                    conn.execute(insert(store_meta).values(key="epoch", value=uuid.uuid4().hex))

    def epoch(self) -> str:
        """Changes only when the store is recreated; clients seeing a new epoch refetch all."""
        with self._engine.connect() as conn:
            return str(conn.execute(select(store_meta.c.value).where(store_meta.c.key == "epoch")).scalar_one())

    def record(self, event_id: str, drafts: list[Draft]) -> list[tuple[Notification, bool]]:
        """Store one row per draft; returns each row and whether it is new (False: duplicate)."""
        results: list[tuple[Notification, bool]] = []
        for draft in drafts:
            with self._engine.begin() as conn:
                existing = conn.execute(
                    select(notifications).where(
                        and_(notifications.c.event_id == event_id, notifications.c.user_id == draft.user_id)
                    )
                ).first()
                if existing is not None:
                    results.append((_row(existing), False))
                    continue
                new_id = conn.execute(
                    insert(notifications).values(
                        user_id=draft.user_id,
                        event_id=event_id,
                        kind=draft.kind,
                        title=draft.title,
                        body=draft.body,
                        data=draft.data,
                        created_at=datetime.now(UTC),
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
                row = conn.execute(select(notifications).where(notifications.c.id == new_id)).one()
                results.append((_row(row), True))
        return results

    def since(self, user_id: int, since: int, limit: int) -> tuple[list[Notification], bool]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(notifications)
                .where(notifications.c.user_id == user_id, notifications.c.id > since)
                .order_by(notifications.c.id)
                .limit(limit + 1)
            ).all()
        return [_row(r) for r in rows[:limit]], len(rows) > limit

    def count_for_event(self, event_id: str) -> int:
        with self._engine.connect() as conn:
            return len(conn.execute(select(notifications.c.id).where(notifications.c.event_id == event_id)).all())

    def mark_read(self, user_id: int, notification_id: int) -> bool:
        with self._engine.begin() as conn:
            result = conn.execute(
                update(notifications)
                .where(notifications.c.id == notification_id, notifications.c.user_id == user_id)
                .values(read_at=datetime.now(UTC))
            )
        return bool(result.rowcount)


def _row(row: Any) -> Notification:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return Notification(
        id=row.id,
        user_id=row.user_id,
        kind=row.kind,
        title=row.title,
        body=row.body,
        data=dict(row.data),
        created_at=created,
        read=row.read_at is not None,
    )
