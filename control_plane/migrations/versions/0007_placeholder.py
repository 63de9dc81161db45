"""booking hot path (issue 3)

Placeholder revision: kept in the chain so parallel work can add to it; rename the file when it
gains content.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
