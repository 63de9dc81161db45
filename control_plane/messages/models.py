"""Conversations, their members, messages, attachments, blocks and reports (docs/MESSAGES.md).

Membership is kept as rows even for project and session conversations, whose members follow
requests and bookings: a member who leaves keeps their row with ``visible_until``, the last
message they could read, so they keep what they saw and see nothing new. Message ids are
the order of a conversation: posting locks the conversation's row, so within one
conversation ids are committed in the order they are given (a reader fetching ``after`` an
id never skips one that commits later).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from control_plane.accounts.models import User
from control_plane.kits.db.types import UTCDateTime, utcnow
from control_plane.kits.extensions import db

__all__ = ["Conversation", "ConversationMember", "Message", "MessageAttachment", "MessageReport", "UserBlock"]


class Conversation(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "conversations"
    __table_args__ = (
        CheckConstraint("kind IN ('direct', 'project', 'session', 'group')", name="kind_known"),
        Index("ix_conversations_activity", "last_activity_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # A group's name; the others are named after the project, the session or the other person.
    title: Mapped[str | None] = mapped_column(String(120), nullable=True)
    # At most one conversation per pair ("<smaller id>:<larger id>"), per project, per session:
    # a race of two creators ends on the unique index, and the loser reads the winner's row.
    direct_key: Mapped[str | None] = mapped_column(String(41), unique=True, nullable=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), unique=True, nullable=True
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), unique=True, nullable=True
    )
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_id: Mapped[int] = mapped_column(Integer, default=0)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationMember(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "conversation_members"
    __table_args__ = (Index("ix_conversation_members_user", "user_id", "left_at"),)

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when they leave (a request declined, a booking cancelled, a group left); then
    # ``visible_until`` is the last message id they may still read.
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    visible_until: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_read_id: Mapped[int] = mapped_column(Integer, default=0)
    muted: Mapped[bool] = mapped_column(Boolean, default=False)

    user: Mapped[User] = relationship()


class Message(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "messages"
    __table_args__ = (
        # A retry of one send (same sender, same client_id) finds the first message.
        UniqueConstraint("conversation_id", "sender_id", "client_id", name="uq_messages_client_id"),
        Index("ix_messages_conversation_id", "conversation_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text, default="")
    # The body through the safe Markdown subset, rendered once when written: a read shapes
    # 50 messages, and hostile Markdown can cost tens of milliseconds to render.
    html: Mapped[str] = mapped_column(Text, default="")
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), nullable=True)
    # Member ids named with @name when it was posted (or last edited).
    mentions: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A deleted message stays, emptied, as a tombstone: replies keep their place.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    sender: Mapped[User] = relationship()


class MessageAttachment(db.Model):  # type: ignore[name-defined,misc]
    """A project file version shown with a message (project conversations only).

    The file's name, kind and version number are copied here: a file deleted from the
    project is purged later (its rows go), and the message keeps showing what was attached,
    marked deleted, instead of an empty bubble.
    """

    __tablename__ = "message_attachments"

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("file_versions.id", ondelete="SET NULL"), nullable=True, index=True
    )
    file_id: Mapped[int] = mapped_column(Integer)  # no key: the file's row may be purged
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[int] = mapped_column(Integer)


class UserBlock(db.Model):  # type: ignore[name-defined,misc]
    """``blocker`` will not hear from ``blocked`` in a direct conversation."""

    __tablename__ = "user_blocks"

    blocker_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    blocked_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageReport(db.Model):  # type: ignore[name-defined,misc]
    """A message someone reported, for the admins: the text as it was when reported."""

    __tablename__ = "message_reports"
    __table_args__ = (
        UniqueConstraint("message_id", "reporter_id", name="uq_message_reports_once"),
        CheckConstraint("status IN ('open', 'kept', 'hidden')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    body_snapshot: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
