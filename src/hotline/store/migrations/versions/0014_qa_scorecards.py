"""qa scorecards: definitions, automatic scores, reviews and disputes (issue 21)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 05:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "qa_scorecards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("queue_ids", sa.JSON(), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_scorecards")),
        sa.UniqueConstraint("name", name=op.f("uq_qa_scorecards_name")),
    )
    op.create_table(
        "qa_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recording_id", sa.String(length=128), nullable=False),
        sa.Column("call_id", sa.String(length=128), nullable=True),
        sa.Column("scorecard_id", sa.Integer(), nullable=False),
        sa.Column("scorecard_name", sa.String(length=100), nullable=False),
        sa.Column("auto_score", sa.Float(), nullable=True),
        sa.Column("final_score", sa.Float(), nullable=True),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reviewer", sa.String(length=64), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("agent_username", sa.String(length=64), nullable=True),
        sa.Column("queue_id", sa.Integer(), nullable=True),
        sa.Column("queue", sa.String(length=100), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("started_at", _when(), nullable=False),
        sa.Column("scored_at", _when(), nullable=False),
        sa.Column("reviewed_at", _when(), nullable=True),
        sa.ForeignKeyConstraint(
            ["scorecard_id"],
            ["qa_scorecards.id"],
            name=op.f("fk_qa_scores_scorecard_id_qa_scorecards"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_scores")),
        sa.UniqueConstraint("recording_id", "scorecard_id", name="uq_qa_scores_recording_card"),
    )
    for column in (
        "recording_id",
        "call_id",
        "scorecard_id",
        "final_score",
        "status",
        "agent_id",
        "department_id",
        "started_at",
    ):
        op.create_index(op.f(f"ix_qa_scores_{column}"), "qa_scores", [column])
    op.create_table(
        "qa_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("score_id", sa.Integer(), nullable=False),
        sa.Column("at", _when(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("item_key", sa.String(length=64), nullable=True),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["score_id"],
            ["qa_scores.id"],
            name=op.f("fk_qa_reviews_score_id_qa_scores"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_reviews")),
    )
    op.create_index(op.f("ix_qa_reviews_score_id"), "qa_reviews", ["score_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_qa_reviews_score_id"), table_name="qa_reviews")
    op.drop_table("qa_reviews")
    for column in (
        "started_at",
        "department_id",
        "agent_id",
        "status",
        "final_score",
        "scorecard_id",
        "call_id",
        "recording_id",
    ):
        op.drop_index(op.f(f"ix_qa_scores_{column}"), table_name="qa_scores")
    op.drop_table("qa_scores")
    op.drop_table("qa_scorecards")
