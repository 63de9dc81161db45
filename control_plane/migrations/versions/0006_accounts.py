"""accounts: avatar URL per user; when each refresh token was rotated (issue 8)

``revoked_tokens.used_at`` tells a client racing itself (the same refresh token presented twice
within the grace window) from a replay of a stolen token (later: the login is revoked).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import control_plane.kits.db.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("avatar_url", sa.String(length=2048), nullable=True))
    with op.batch_alter_table("revoked_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("used_at", control_plane.kits.db.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("revoked_tokens", schema=None) as batch_op:
        batch_op.drop_column("used_at")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("avatar_url")
