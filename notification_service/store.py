"""The inbox store: the notification service's own database (tables in ``schema.py``).

Every notification is committed here before it is pushed anywhere, with an increasing id.
``UNIQUE(event_id, user_id)`` makes consumption idempotent: an event delivered twice (relay
retry, rebalance, restart) yields one row per recipient. Mail for a notification is queued
in the same transaction, so a notification and its mail are both kept or both not.

A draft with a ``coalesce_key`` (new messages of one conversation) gets no row of its own
while the user still has an unread row under the same key created within the coalescing
window: a burst is one notification in the inbox. Its mail is queued all the same, and the
mail queue's per-recipient window digests the burst into one message.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, and_, create_engine, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from contracts.sockets import NotificationMessage
from downbeat.sqlite import configure_sqlite
from notification_service.kinds import DEFAULT_CHANNEL, NOTIFICATION_KINDS, NotificationKind, wants_email, wants_in_app
from notification_service.schema import (
    coalescing,
    metadata,
    notifications,
    outgoing_mail,
    preferences,
    recipients,
    store_meta,
)

__all__ = ["COALESCE_WINDOW_S", "Draft", "InboxStore", "Notification", "Recorded"]

# How long the first unread row of a burst tells the rest: the app passes the mail digest
# window (``smtp.digest_window_s``, the same 60 s by default) so that inbox and mail fold a
# burst alike; a second setting would only let the two disagree.
COALESCE_WINDOW_S = 60.0


@dataclass(frozen=True)
class Draft:
    """A notification decided on but not yet stored.

    ``always_in_app``: stored in the inbox even when the user turned the kind's in-app channel
    off (a mention: someone asked for this person by name). Email still follows the channel.

    ``coalesce_key``: drafts of one user sharing it are one inbox row while that row is unread
    and younger than the store's coalescing window (``message.received:<conversation id>``).
    """

    user_id: int
    kind: NotificationKind
    title: str
    body: str
    data: dict[str, Any]
    always_in_app: bool = False
    coalesce_key: str | None = None

    def __post_init__(self) -> None:
        # Titles embed user text (a 200-character session title plus a prefix): fit the column.
        if len(self.title) > TITLE_MAX:
            object.__setattr__(self, "title", self.title[: TITLE_MAX - 1] + "…")


TITLE_MAX = 200


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
    epoch: str = ""

    def to_message(self, *, redelivered: bool = False) -> NotificationMessage:
        """The ``notification`` message of ../shared/API.md (``redelivered``: pushed again)."""
        return NotificationMessage(
            id=self.id,
            epoch=self.epoch,
            kind=self.kind,
            title=self.title,
            body=self.body,
            data=self.data,
            created_at=self.created_at.isoformat(),
            read=self.read,
            redelivered=True if redelivered else None,
        )


@dataclass(frozen=True)
class Recorded:
    """What one draft became: the inbox row (None if the user turned in-app off, or if the
    draft was folded into an unread row), whether that row is new (False: a redelivered
    event), whether mail was newly queued, and whether the draft was newly ``folded`` into
    an unread row under its coalesce key (so it has no row of its own)."""

    notification: Notification | None
    new: bool
    mail_queued: bool
    folded: bool = False


class InboxStore:
    def __init__(self, engine: Engine, *, coalesce_window_s: float = COALESCE_WINDOW_S) -> None:
        self._engine = engine
        self._epoch = ""
        self._coalesce_window = timedelta(seconds=coalesce_window_s)

    @classmethod
    def from_url(cls, url: str, *, coalesce_window_s: float = COALESCE_WINDOW_S) -> InboxStore:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = configure_sqlite(create_engine(url, pool_pre_ping=True))
        store = cls(engine, coalesce_window_s=coalesce_window_s)
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
        self._epoch = self.epoch()

    def epoch(self) -> str:
        """Changes only when the store is recreated; clients seeing a new epoch refetch all."""
        with self._engine.connect() as conn:
            return str(conn.execute(select(store_meta.c.value).where(store_meta.c.key == "epoch")).scalar_one())

    # --- recording -------------------------------------------------------------------------

    def record(
        self, event_id: str, drafts: list[Draft], also: Callable[[Connection], None] | None = None
    ) -> list[Recorded]:
        """One transaction per event: for each draft the inbox row and/or queued mail, per the
        user's preference for that kind (and the draft's ``always_in_app``), plus ``also``
        (the reminder schedule). Idempotent on ``(event_id, user_id)``, folded drafts included;
        one commit per event keeps a backlog moving."""
        results: list[Recorded] = []
        with self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Across replicas too: one writer at a time, so ids commit in the order they are taken.
                conn.execute(text("SELECT pg_advisory_xact_lock(727001)"))
            if also is not None:
                also(conn)
            for draft in drafts:
                channel = _channel(conn, draft.user_id, draft.kind)
                inbox = Recorded(None, False, False)
                if wants_in_app(channel) or draft.always_in_app:
                    inbox = self._store_in_inbox(conn, event_id, draft)
                mail = wants_email(channel) and _queue_mail(conn, event_id, draft)
                results.append(Recorded(inbox.notification, inbox.new, mail, inbox.folded))
        return results

    def _store_in_inbox(self, conn: Connection, event_id: str, draft: Draft) -> Recorded:
        """The draft's own row (found again for a redelivered event, else inserted), or, under
        a coalesce key, nothing of its own while an unread row of the burst is recent enough."""
        existing = conn.execute(
            select(notifications).where(
                and_(notifications.c.event_id == event_id, notifications.c.user_id == draft.user_id)
            )
        ).first()
        if existing is not None:
            return Recorded(self._row(existing), False, False)
        key = draft.coalesce_key
        if key is None:
            return Recorded(self._insert_notification(conn, event_id, draft), True, False)
        told = conn.execute(
            select(coalescing.c.notification_id).where(
                coalescing.c.event_id == event_id, coalescing.c.user_id == draft.user_id
            )
        ).first()
        if told is not None:
            return Recorded(None, False, False)  # redelivered, and folded the first time
        head = self._unread_head(conn, draft.user_id, key)
        if head is not None:
            _told_by(conn, event_id, draft.user_id, key, head)
            return Recorded(None, False, False, folded=True)
        note = self._insert_notification(conn, event_id, draft)
        _told_by(conn, event_id, draft.user_id, key, note.id)
        return Recorded(note, True, False)

    def _unread_head(self, conn: Connection, user_id: int, key: str) -> int | None:
        """The newest unread row under ``key`` created within the window: the one that tells
        the burst. Read or older rows tell nothing more, so the next message is news again."""
        cutoff = datetime.now(UTC) - self._coalesce_window
        head = conn.execute(
            select(notifications.c.id)
            .join(coalescing, coalescing.c.notification_id == notifications.c.id)
            .where(
                coalescing.c.user_id == user_id,
                coalescing.c.key == key,
                notifications.c.user_id == user_id,
                notifications.c.read_at.is_(None),
                notifications.c.created_at >= cutoff,
            )
            .order_by(notifications.c.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        return None if head is None else int(head)

    def _insert_notification(self, conn: Connection, event_id: str, draft: Draft) -> Notification:
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
        return self._row(conn.execute(select(notifications).where(notifications.c.id == new_id)).one())

    # --- reading ---------------------------------------------------------------------------

    def since(self, user_id: int, since: int, limit: int) -> tuple[list[Notification], bool]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(notifications)
                .where(notifications.c.user_id == user_id, notifications.c.id > since)
                .order_by(notifications.c.id)
                .limit(limit + 1)
            ).all()
        return [self._row(r) for r in rows[:limit]], len(rows) > limit

    def unread_count(self, user_id: int) -> int:
        with self._engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(notifications)
                    .where(notifications.c.user_id == user_id, notifications.c.read_at.is_(None))
                ).scalar_one()
            )

    def last_id(self, user_id: int) -> int:
        with self._engine.connect() as conn:
            value = conn.execute(select(func.max(notifications.c.id)).where(notifications.c.user_id == user_id))
            return int(value.scalar_one_or_none() or 0)

    def count_for_event(self, event_id: str) -> int:
        with self._engine.connect() as conn:
            return len(conn.execute(select(notifications.c.id).where(notifications.c.event_id == event_id)).all())

    def mark_read(self, user_id: int, notification_id: int) -> bool:
        with self._engine.begin() as conn:
            result = conn.execute(
                update(notifications)
                .where(notifications.c.id == notification_id, notifications.c.user_id == user_id)
                .values(read_at=func.coalesce(notifications.c.read_at, datetime.now(UTC)))
            )
        return bool(result.rowcount)

    def mark_all_read(self, user_id: int) -> int:
        with self._engine.begin() as conn:
            result = conn.execute(
                update(notifications)
                .where(notifications.c.user_id == user_id, notifications.c.read_at.is_(None))
                .values(read_at=datetime.now(UTC))
            )
        return int(result.rowcount)

    # --- preferences -----------------------------------------------------------------------

    def preferences(self, user_id: int) -> dict[str, str]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(preferences.c.kind, preferences.c.channel).where(preferences.c.user_id == user_id)
            ).all()
        chosen = {kind: channel for kind, channel in rows}
        return {kind: chosen.get(kind, DEFAULT_CHANNEL) for kind in NOTIFICATION_KINDS}

    def set_preferences(self, user_id: int, email: str | None, channels: dict[str, str]) -> dict[str, str]:
        with self._engine.begin() as conn:
            if email:
                conn.execute(delete(recipients).where(recipients.c.user_id == user_id))
                conn.execute(insert(recipients).values(user_id=user_id, email=email))
            for kind, channel in channels.items():
                conn.execute(delete(preferences).where(preferences.c.user_id == user_id, preferences.c.kind == kind))
                conn.execute(insert(preferences).values(user_id=user_id, kind=kind, channel=channel))
        return self.preferences(user_id)

    def _row(self, row: Any) -> Notification:
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
            epoch=self._epoch,
        )


def _channel(conn: Connection, user_id: int, kind: str) -> str:
    chosen = conn.execute(
        select(preferences.c.channel).where(preferences.c.user_id == user_id, preferences.c.kind == kind)
    ).scalar_one_or_none()
    return str(chosen) if chosen is not None else DEFAULT_CHANNEL


def _told_by(conn: Connection, event_id: str, user_id: int, key: str, notification_id: int) -> None:
    conn.execute(
        insert(coalescing).values(event_id=event_id, user_id=user_id, key=key, notification_id=notification_id)
    )


def _queue_mail(conn: Connection, event_id: str, draft: Draft) -> bool:
    address = conn.execute(select(recipients.c.email).where(recipients.c.user_id == draft.user_id)).scalar_one_or_none()
    if address is None:
        return False  # email chosen but no address known yet: nothing to send to
    exists = conn.execute(
        select(outgoing_mail.c.id).where(outgoing_mail.c.event_id == event_id, outgoing_mail.c.user_id == draft.user_id)
    ).first()
    if exists is not None:
        return False
    conn.execute(
        insert(outgoing_mail).values(
            event_id=event_id,
            user_id=draft.user_id,
            email=address,
            kind=draft.kind,
            title=draft.title,
            body=draft.body,
            created_at=datetime.now(UTC),
        )
    )
    return True
