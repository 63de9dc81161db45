"""Rooms joined by a 6-character code, who is in them, their tracks, queue and playback.

The room row holds the authoritative playback state (``position_ms`` at server instant
``anchor_ms``, ``playing``, ``rate``) and a ``version`` that rises with every change; writers
lock the row (PostgreSQL ``FOR UPDATE``; SQLite serialises writers with ``BEGIN IMMEDIATE``),
so two controllers' commands apply one after the other. Presence is not here: it lives in
Redis with an expiry (control_plane/rooms/services/presence.py), because it changes every few seconds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from control_plane.accounts.models import User
from control_plane.kits.db.types import UTCDateTime, utcnow
from control_plane.kits.extensions import db

__all__ = ["QueueEntry", "Room", "RoomMember", "SkipVote", "Track"]


class Room(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "rooms"
    __table_args__ = (Index("ix_rooms_ends_at_ms", "ends_at_ms"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    host_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    allow_member_streams: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Host permissions for everyone else in the room.
    allow_queue: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    allow_control: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # Authoritative playback: at server instant anchor_ms the playhead is at position_ms.
    current_entry_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    playing: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    position_ms: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    anchor_ms: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    rate: Mapped[float] = mapped_column(Float, default=1.0, server_default="1")
    version: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")
    # When the current track ends if it keeps playing (server ms), else NULL: the index lets
    # every gateway find rooms due to advance with one cheap query.
    ends_at_ms: Mapped[float | None] = mapped_column(Float, nullable=True)

    host: Mapped[User] = relationship()


class RoomMember(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "room_members"

    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    can_stream: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    user: Mapped[User] = relationship()


class Track(db.Model):  # type: ignore[name-defined,misc]
    """An uploaded audio file (stored under data_dir/tracks) or a direct URL."""

    __tablename__ = "tracks"
    __table_args__ = (
        CheckConstraint("source IN ('upload', 'url')", name="source_known"),
        CheckConstraint("analysis_status IN ('pending', 'running', 'done', 'failed')", name="analysis_status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    source: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    artist: Mapped[str] = mapped_column(String(200), default="")
    duration_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    storage_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    url: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    analysis_status: Mapped[str] = mapped_column(String(8), default="pending")
    analysis_progress: Mapped[float] = mapped_column(Float, default=0.0)
    analysis: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    analysis_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    analysis_attempts: Mapped[int] = mapped_column(Integer, default=1)
    analysis_updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QueueEntry(db.Model):  # type: ignore[name-defined,misc]
    """One place in a room's play order. Entries before the current one are its history."""

    __tablename__ = "room_queue_entries"
    __table_args__ = (Index("ix_room_queue_entries_room_position", "room_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"))
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id"), index=True)
    added_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    track: Mapped[Track] = relationship()


class SkipVote(db.Model):  # type: ignore[name-defined,misc]
    """A vote to skip one queue entry; the primary key counts each person once."""

    __tablename__ = "room_skip_votes"

    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("room_queue_entries.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
