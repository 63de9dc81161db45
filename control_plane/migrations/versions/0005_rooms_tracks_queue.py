"""listening rooms, tracks and queue (issue 6)

Rooms gain the authoritative playback state (position at a server instant, playing, rate,
a version that rises with every change, and when the current track ends, indexed for the
auto-advance query), the host's permissions for everyone else, and per-member streaming
rights. New tables: uploaded or linked tracks with their offline analysis, the play queue,
and skip votes (one per person and entry, by primary key).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import control_plane.kits.db.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allow_queue", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("allow_control", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("current_entry_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("playing", sa.Boolean(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("position_ms", sa.Float(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("anchor_ms", sa.Float(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("rate", sa.Float(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("version", sa.BigInteger(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("ends_at_ms", sa.Float(), nullable=True))
        batch_op.create_index("ix_rooms_ends_at_ms", ["ends_at_ms"], unique=False)

    with op.batch_alter_table("room_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("can_stream", sa.Boolean(), server_default="0", nullable=False))

    op.create_table(
        "tracks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("artist", sa.String(length=200), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=True),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("storage_key", sa.String(length=200), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("created_at", control_plane.kits.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("analysis_status", sa.String(length=8), nullable=False),
        sa.Column("analysis_progress", sa.Float(), nullable=False),
        sa.Column("analysis", sa.JSON(), nullable=True),
        sa.Column("analysis_error", sa.Text(), nullable=True),
        sa.Column("analysis_attempts", sa.Integer(), nullable=False),
        sa.Column("analysis_updated_at", control_plane.kits.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source IN ('upload', 'url')", name=op.f("ck_tracks_source_known")),
        sa.CheckConstraint(
            "analysis_status IN ('pending', 'running', 'done', 'failed')",
            name=op.f("ck_tracks_analysis_status_known"),
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_tracks_owner_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracks")),
    )
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tracks_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "room_queue_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", control_plane.kits.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by"], ["users.id"], name=op.f("fk_room_queue_entries_added_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_room_queue_entries_room_id_rooms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["track_id"], ["tracks.id"], name=op.f("fk_room_queue_entries_track_id_tracks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_queue_entries")),
    )
    with op.batch_alter_table("room_queue_entries", schema=None) as batch_op:
        batch_op.create_index("ix_room_queue_entries_room_position", ["room_id", "position"], unique=False)
        batch_op.create_index(batch_op.f("ix_room_queue_entries_track_id"), ["track_id"], unique=False)

    op.create_table(
        "room_skip_votes",
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", control_plane.kits.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["room_queue_entries.id"],
            name=op.f("fk_room_skip_votes_entry_id_room_queue_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_room_skip_votes_room_id_rooms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_room_skip_votes_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("room_id", "entry_id", "user_id", name=op.f("pk_room_skip_votes")),
    )


def downgrade() -> None:
    op.drop_table("room_skip_votes")
    with op.batch_alter_table("room_queue_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_room_queue_entries_track_id"))
        batch_op.drop_index("ix_room_queue_entries_room_position")
    op.drop_table("room_queue_entries")
    with op.batch_alter_table("tracks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tracks_owner_id"))
    op.drop_table("tracks")
    with op.batch_alter_table("room_members", schema=None) as batch_op:
        batch_op.drop_column("can_stream")
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.drop_index("ix_rooms_ends_at_ms")
        for column in (
            "ends_at_ms",
            "version",
            "rate",
            "anchor_ms",
            "position_ms",
            "playing",
            "current_entry_id",
            "allow_control",
            "allow_queue",
        ):
            batch_op.drop_column(column)
