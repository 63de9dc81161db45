"""listening rooms, tracks and queue (issue 6)

Placeholder revision: kept in the chain so parallel work can add to it; rename the file when it
gains content.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
