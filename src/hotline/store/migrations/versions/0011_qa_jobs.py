"""qa_jobs, qa_results: speech analysis of recordings, queued and their findings (issue 21)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 01:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "qa_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.String(length=128), nullable=False),
        sa.Column("call_id", sa.String(length=128), nullable=True),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", _when(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _when(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("started_at", _when(), nullable=True),
        sa.Column("finished_at", _when(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_jobs")),
        sa.UniqueConstraint("recording_id", name=op.f("uq_qa_jobs_recording_id")),
    )
    op.create_index("ix_qa_jobs_due", "qa_jobs", ["status", "next_attempt_at"])
    op.create_index(op.f("ix_qa_jobs_recorded_at"), "qa_jobs", ["recorded_at"])
    op.create_table(
        "qa_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.String(length=128), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=True),
        sa.Column("segments", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("engine", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("audio_seconds", sa.Float(), nullable=False),
        sa.Column("processing_seconds", sa.Float(), nullable=False),
        sa.Column("analysed_at", _when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_results")),
        sa.UniqueConstraint("recording_id", name=op.f("uq_qa_results_recording_id")),
    )


def downgrade() -> None:
    op.drop_table("qa_results")
    op.drop_index(op.f("ix_qa_jobs_recorded_at"), table_name="qa_jobs")
    op.drop_index("ix_qa_jobs_due", table_name="qa_jobs")
    op.drop_table("qa_jobs")
