"""musician search, ratings and profile extras (issue 8)

Placeholder revision: kept in the chain so parallel work can add to it; rename the file when it
gains content.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
