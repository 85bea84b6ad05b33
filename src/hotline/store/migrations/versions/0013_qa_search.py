"""qa search: the full-text index over transcripts (issue 21)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 05:40:00
"""

from __future__ import annotations

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    pass  # the search index's tables are written with the search (store/qa_search.py)


def downgrade() -> None:
    pass
