"""The notification service's own database: every table it owns, created at start.

- ``notifications``: the inbox; ``UNIQUE(event_id, user_id)`` makes consumption idempotent.
- ``store_meta``: the store's ``epoch``, new whenever the store is created from scratch.
- ``preferences`` and ``recipients``: per-kind channels and the address mail goes to.
- ``reminders``: one row per booking and reminder window, sent once by a timer.
- ``outgoing_mail``: mail queued in the same transaction as its notification, sent by a
  timer in per-recipient digests.
- ``coalescing``: which inbox row tells an event under a coalesce key (a burst of messages
  is told by one unread row); a table of its own so that stores created before it get it
  from ``create_all`` without altering ``notifications``.
- ``message_refs`` and ``deleted_messages``: which event told people about a message (its
  inbox rows and mail are that event's rows), and which of those messages were deleted, so
  that an edit or a deletion reaches what was stored about it. Tables of their own, for the
  same reason as ``coalescing``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "coalescing",
    "deleted_messages",
    "message_refs",
    "metadata",
    "notifications",
    "outgoing_mail",
    "preferences",
    "recipients",
    "reminders",
    "store_meta",
]

metadata = MetaData()

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", Integer, nullable=False, index=True),
    Column("event_id", String(64), nullable=False),
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

preferences = Table(
    "preferences",
    metadata,
    Column("user_id", Integer, primary_key=True),
    Column("kind", String(64), primary_key=True),
    Column("channel", String(16), nullable=False),
)

recipients = Table(
    "recipients",
    metadata,
    Column("user_id", Integer, primary_key=True),
    Column("email", String(320), nullable=False),
)

reminders = Table(
    "reminders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),  # reminder:<booking_id>:<minutes>m
    Column("booking_id", Integer, nullable=False, index=True),
    Column("session_id", Integer, nullable=False, index=True),
    Column("user_id", Integer, nullable=False),
    Column("session_title", String(200), nullable=False),
    Column("window_minutes", Integer, nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    Column("cancelled_at", DateTime(timezone=True), nullable=True),
    Index("ix_reminders_due", "sent_at", "cancelled_at", "due_at"),
)

outgoing_mail = Table(
    "outgoing_mail",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("email", String(320), nullable=False, index=True),
    Column("kind", String(64), nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Claimed for one send attempt; the attempt id is also the Message-ID, so a retry after
    # an ambiguous failure resends the identical message, which receivers collapse.
    Column("attempt_id", String(32), nullable=True, index=True),
    Column("attempted_at", DateTime(timezone=True), nullable=True),
    Column("sent_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("event_id", "user_id", name="uq_outgoing_mail_event_user"),
    sqlite_autoincrement=True,
)

coalescing = Table(
    "coalescing",
    metadata,
    # One row per (event, user) drafted with a coalesce key that reached the inbox: the row
    # that tells it is its own (the first of a burst) or an unread one it was folded into.
    # A redelivered event finds its row here and stays folded, never a second notification.
    Column("event_id", String(64), nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("key", String(128), nullable=False),
    Column("notification_id", Integer, nullable=False),
    UniqueConstraint("event_id", "user_id", name="uq_coalescing_event_user"),
    Index("ix_coalescing_user_key", "user_id", "key"),
)

message_refs = Table(
    "message_refs",
    metadata,
    # One row per message and the event that told people about it (``MessagePosted``), written
    # with that event's notifications: the message's inbox rows and mail are the rows of that
    # event (whichever users they belong to), found by its id when it is edited or deleted.
    Column("message_id", Integer, primary_key=True),
    Column("event_id", String(64), primary_key=True),
)

deleted_messages = Table(
    "deleted_messages",
    metadata,
    # A message deleted after it notified someone: an edit or its ``MessagePosted`` delivered
    # again later (a replay after a restart) must not bring its text back.
    Column("message_id", Integer, primary_key=True),
    Column("deleted_at", DateTime(timezone=True), nullable=False),
)
