"""The inbox store: the notification service's own database (tables in ``schema.py``).

Every notification is committed here before it is pushed anywhere, with an increasing id.
``UNIQUE(event_id, user_id)`` makes consumption idempotent: an event delivered twice (relay
retry, rebalance, restart) yields one row per recipient. Mail for a notification is queued
in the same transaction, so a notification and its mail are both kept or both not.

A draft with a ``coalesce_key`` (new messages of one conversation) gets no row of its own
while the user still has an unread row under the same key created within the coalescing
window: a burst is one notification in the inbox. Its mail is queued all the same, and the
mail queue's per-recipient window digests the burst into one message.

A message's notifications follow the message (``revise_message``): the event that told
people about it is noted with them (``message_refs``), so an edit puts the new excerpt on
its inbox rows and on its mail not yet claimed, and a deletion replaces their text and drops
that mail. Nothing is pushed for either: the durable live copy of the message tells the
sockets.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, and_, create_engine, delete, func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from contracts.sockets import NotificationMessage
from downbeat.sqlite import configure_sqlite
from notification_service.kinds import DEFAULT_CHANNEL, NOTIFICATION_KINDS, NotificationKind, wants_email, wants_in_app
from notification_service.schema import (
    coalescing,
    deleted_messages,
    message_refs,
    metadata,
    notifications,
    outgoing_mail,
    preferences,
    recipients,
    store_meta,
)

__all__ = ["COALESCE_WINDOW_S", "MESSAGE_KINDS", "Draft", "InboxStore", "Notification", "Recorded", "Revised"]

# How long the first unread row of a burst tells the rest: the app passes the mail digest
# window (``smtp.digest_window_s``, the same 60 s by default) so that inbox and mail fold a
# burst alike; a second setting would only let the two disagree.
COALESCE_WINDOW_S = 60.0

# The kinds that tell of one message (``data.message_id``): an edit or a deletion revises them.
MESSAGE_KINDS: Final = ("message.received", "message.mentioned")
# Rows stored before this store had ``message_refs`` are found by the changed message's
# members and their ``data.message_id`` instead: only for a message posted before the table
# came (``store_meta.message_refs_since``), with a day's margin for replicas still running
# the older code meanwhile; ``_CLOCK_SKEW`` between the control plane's clock and ours.
_REFS_SINCE = "message_refs_since"
_LEGACY_MARGIN = timedelta(days=1)
_CLOCK_SKEW = timedelta(hours=1)
_MEMBERS_PER_QUERY = 500


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


@dataclass(frozen=True)
class Revised:
    """What an edit or a deletion changed: inbox rows whose body it replaced, queued mail
    whose body it replaced (an edit), queued mail it dropped (a deletion). All 0 when the
    same event comes again."""

    notifications: int = 0
    mail_changed: int = 0
    mail_dropped: int = 0


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
        with self._engine.begin() as conn:
            # From now on every message's notifications are noted in ``message_refs``.
            if conn.execute(select(store_meta.c.value).where(store_meta.c.key == _REFS_SINCE)).first() is None:
                with contextlib.suppress(IntegrityError):
                    conn.execute(insert(store_meta).values(key=_REFS_SINCE, value=datetime.now(UTC).isoformat()))
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
        one commit per event keeps a backlog moving. Drafts about a message already deleted
        (its event delivered again after the deletion) store and queue nothing new."""
        results: list[Recorded] = []
        with self._engine.begin() as conn:
            _one_writer(conn)
            if also is not None:
                also(conn)
            gone = _refer_messages(conn, event_id, drafts)
            for draft in drafts:
                if _message_of(draft) in gone:
                    results.append(Recorded(self._existing(conn, event_id, draft.user_id), False, False))
                    continue
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
        existing = self._existing(conn, event_id, draft.user_id)
        if existing is not None:
            return Recorded(existing, False, False)
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

    def _existing(self, conn: Connection, event_id: str, user_id: int) -> Notification | None:
        row = conn.execute(
            select(notifications).where(and_(notifications.c.event_id == event_id, notifications.c.user_id == user_id))
        ).first()
        return None if row is None else self._row(row)

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

    # --- edited and deleted messages ------------------------------------------------------

    def revise_message(
        self,
        message_id: int,
        body: str,
        *,
        deleted: bool,
        members: Iterable[int] = (),
        posted_at: datetime | None = None,
    ) -> Revised:
        """An edited message (``body``: its new excerpt) or a deleted one (``body``: what its
        notifications say instead) reaches what was stored about it, in one transaction: the
        body of its ``message.received``/``message.mentioned`` rows, and its mail nobody has
        claimed yet, replaced (an edit) or dropped (a deletion). Mail a digest attempt already
        claimed is left as it is: a retry must resend the identical message (``mail.py``).

        Idempotent: the same event again changes nothing, and once a message is deleted an
        edit (or its ``MessagePosted``) delivered again brings nothing of its text back.
        ``members`` and ``posted_at`` find rows stored before ``message_refs`` existed."""
        with self._engine.begin() as conn:
            _one_writer(conn)
            already = conn.execute(
                select(deleted_messages.c.message_id).where(deleted_messages.c.message_id == message_id)
            ).first()
            if already is not None and not deleted:
                return Revised()  # an edit delivered again after the deletion: the tombstone stays
            events = set(
                conn.execute(select(message_refs.c.event_id).where(message_refs.c.message_id == message_id)).scalars()
            )
            if not events and _maybe_unreferred(conn, posted_at):
                events = _unreferred_events(conn, message_id, members, posted_at)
                for event_id in events:
                    conn.execute(insert(message_refs).values(message_id=message_id, event_id=event_id))
            if not events:
                return Revised()  # the message told nobody
            if deleted and already is None:
                conn.execute(insert(deleted_messages).values(message_id=message_id, deleted_at=datetime.now(UTC)))
            rows = conn.execute(
                update(notifications)
                .where(
                    notifications.c.event_id.in_(sorted(events)),
                    notifications.c.kind.in_(MESSAGE_KINDS),
                    notifications.c.body != body,
                )
                .values(body=body)
            ).rowcount
            unclaimed = (
                outgoing_mail.c.event_id.in_(sorted(events)),
                outgoing_mail.c.kind.in_(MESSAGE_KINDS),
                outgoing_mail.c.attempt_id.is_(None),
            )
            if deleted:
                dropped = conn.execute(delete(outgoing_mail).where(*unclaimed)).rowcount
                return Revised(notifications=int(rows), mail_dropped=int(dropped))
            changed = conn.execute(
                update(outgoing_mail).where(*unclaimed, outgoing_mail.c.body != body).values(body=body)
            ).rowcount
            return Revised(notifications=int(rows), mail_changed=int(changed))

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


def _one_writer(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        # Across replicas too: one writer at a time, so ids commit in the order they are taken.
        conn.execute(text("SELECT pg_advisory_xact_lock(727001)"))


def _message_of(draft: Draft) -> int | None:
    """The message a draft tells of (``data.message_id`` of the message kinds), if any."""
    if draft.kind not in MESSAGE_KINDS:
        return None
    value = draft.data.get("message_id")
    return value if isinstance(value, int) else None


def _refer_messages(conn: Connection, event_id: str, drafts: list[Draft]) -> set[int]:
    """Notes ``event_id`` as the one telling of the drafts' messages; returns those of them
    already deleted."""
    told = {message_id for draft in drafts if (message_id := _message_of(draft)) is not None}
    if not told:
        return set()
    for message_id in sorted(told):
        noted = conn.execute(
            select(message_refs.c.event_id).where(
                message_refs.c.message_id == message_id, message_refs.c.event_id == event_id
            )
        ).first()
        if noted is None:
            conn.execute(insert(message_refs).values(message_id=message_id, event_id=event_id))
    gone = conn.execute(select(deleted_messages.c.message_id).where(deleted_messages.c.message_id.in_(sorted(told))))
    return {int(message_id) for message_id in gone.scalars()}


def _maybe_unreferred(conn: Connection, posted_at: datetime | None) -> bool:
    """Whether a message posted at ``posted_at`` may have rows stored before ``message_refs``
    noted every message's (unknown: assume it may)."""
    since = conn.execute(select(store_meta.c.value).where(store_meta.c.key == _REFS_SINCE)).scalar_one_or_none()
    if since is None or posted_at is None:
        return True
    return posted_at < datetime.fromisoformat(since) + _LEGACY_MARGIN


def _unreferred_events(
    conn: Connection, message_id: int, members: Iterable[int], posted_at: datetime | None
) -> set[str]:
    """The events whose rows tell of the message, found by its members' rows of the message
    kinds with that ``data.message_id`` (a JSON path both SQLite and PostgreSQL evaluate)."""
    users = sorted(set(members))
    found: set[str] = set()
    for start in range(0, len(users), _MEMBERS_PER_QUERY):
        query = (
            select(notifications.c.event_id)
            .where(
                notifications.c.user_id.in_(users[start : start + _MEMBERS_PER_QUERY]),
                notifications.c.kind.in_(MESSAGE_KINDS),
                notifications.c.data["message_id"].as_integer() == message_id,
            )
            .distinct()
        )
        if posted_at is not None:
            query = query.where(notifications.c.created_at >= posted_at - _CLOCK_SKEW)
        found.update(str(event_id) for event_id in conn.execute(query).scalars())
    return found


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
