"""qa scorecards: definitions, automatic scores, reviews and disputes (issue 21)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 05:40:00
"""

from __future__ import annotations

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    pass  # the scorecard tables are written with the scorecards


def downgrade() -> None:
    pass
