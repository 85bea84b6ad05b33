"""qa: a queue's analysis language, and the queue of each analysis job (issue 21)

``queues.qa_language`` forces the language a queue's recorded calls are transcribed in
(null: the QA module's setting); ``qa_jobs.queue`` is the queue a recording's call was in,
by name, so that the language is the queue's at the time of each analysis. Jobs queued
before this revision have no queue and keep the module's setting.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 00:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("queues", sa.Column("qa_language", sa.String(length=8), nullable=True))
    op.add_column("qa_jobs", sa.Column("queue", sa.String(length=100), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE DROP COLUMN (SQLite 3.35+): a batch copy of ``queues`` would trip
    # over the foreign keys that point at it.
    op.drop_column("qa_jobs", "queue")
    op.drop_column("queues", "qa_language")
