"""qa_results.analytics: sentiment, rule categories, personal data and agitation (issue 21)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 05:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("qa_results") as batch:
        batch.add_column(
            sa.Column("analytics", sa.JSON(), nullable=False, server_default=sa.text("'{}'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("qa_results") as batch:
        batch.drop_column("analytics")
