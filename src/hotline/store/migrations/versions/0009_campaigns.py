"""campaigns: outbound campaigns, their contacts and attempts, and do-not-call lists

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 00:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def _when() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("caller_id", sa.String(length=64), nullable=True),
        sa.Column("trunk_group", sa.String(length=100), nullable=True),
        sa.Column("queue_id", sa.Integer(), nullable=True),
        sa.Column("flow", sa.String(length=100), nullable=True),
        sa.Column("abandon_target", sa.Float(), nullable=False),
        sa.Column("max_ratio", sa.Float(), nullable=False),
        sa.Column("calling_hours", sa.JSON(), nullable=False),
        sa.Column("default_region", sa.String(length=8), nullable=False),
        sa.Column("default_time_zone", sa.String(length=64), nullable=False),
        sa.Column("retry_rules", sa.JSON(), nullable=False),
        sa.Column("amd_enabled", sa.Boolean(), nullable=False),
        sa.Column("machine_action", sa.String(length=16), nullable=False),
        sa.Column("machine_message", sa.Text(), nullable=True),
        sa.Column("abandon_message", sa.Text(), nullable=True),
        sa.Column("recording_notice", sa.Text(), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("robot_lines", sa.Integer(), nullable=False, server_default="10"),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("updated_at", _when(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_campaigns_department_id_departments"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["queues.id"],
            name=op.f("fk_campaigns_queue_id_queues"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("name", name=op.f("uq_campaigns_name")),
    )
    for column in ("department_id", "queue_id", "status"):
        op.create_index(op.f(f"ix_campaigns_{column}"), "campaigns", [column], unique=False)

    op.create_table(
        "campaign_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phones", sa.JSON(), nullable=False),
        sa.Column("primary_phone", sa.String(length=32), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("external_id", sa.String(length=128), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _when(), nullable=True),
        sa.Column("last_outcome", sa.String(length=32), nullable=True),
        sa.Column("disposition", sa.String(length=64), nullable=True),
        sa.Column("source_line", sa.Integer(), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_contacts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_contacts")),
        sa.UniqueConstraint("campaign_id", "primary_phone", name="uq_campaign_contacts_phone"),
    )
    op.create_index(
        "ix_campaign_contacts_due",
        "campaign_contacts",
        ["campaign_id", "status", "next_attempt_at"],
        unique=False,
    )

    op.create_table(
        "campaign_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=128), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("started_at", _when(), nullable=False),
        sa.Column("answered_at", _when(), nullable=True),
        sa.Column("connected_at", _when(), nullable=True),
        sa.Column("ended_at", _when(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("amd_verdict", sa.String(length=32), nullable=True),
        sa.Column("sip_status", sa.Integer(), nullable=True),
        sa.Column("agent", sa.String(length=64), nullable=True),
        sa.Column("disposition", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_attempts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["campaign_contacts.id"],
            name=op.f("fk_campaign_attempts_contact_id_campaign_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_attempts")),
        sa.UniqueConstraint("call_id", name=op.f("uq_campaign_attempts_call_id")),
    )
    for column in ("campaign_id", "contact_id"):
        op.create_index(
            op.f(f"ix_campaign_attempts_{column}"), "campaign_attempts", [column], unique=False
        )

    op.create_table(
        "do_not_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("added_at", _when(), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_do_not_call_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_do_not_call")),
        sa.UniqueConstraint("number", "campaign_id", name="uq_do_not_call_number"),
    )
    op.create_index(
        op.f("ix_do_not_call_campaign_id"), "do_not_call", ["campaign_id"], unique=False
    )
    # NULLs are distinct in a unique constraint: the global list (campaign_id NULL) needs
    # its own partial index, or it could hold a number twice.
    op.create_index(
        "uq_do_not_call_global_number",
        "do_not_call",
        ["number"],
        unique=True,
        sqlite_where=sa.text("campaign_id IS NULL"),
        postgresql_where=sa.text("campaign_id IS NULL"),
    )

    # Agents of a department lent to a campaign for a period (blended agents).
    op.create_table(
        "campaign_lendings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", _when(), nullable=False),
        sa.Column("ends_at", _when(), nullable=False),
        sa.Column("member_priority", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", _when(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_lendings_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_campaign_lendings_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_lendings")),
    )
    op.create_index(
        op.f("ix_campaign_lendings_campaign_id"),
        "campaign_lendings",
        ["campaign_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_campaign_lendings_campaign_id"), table_name="campaign_lendings")
    op.drop_table("campaign_lendings")
    op.drop_index("uq_do_not_call_global_number", table_name="do_not_call")
    op.drop_index(op.f("ix_do_not_call_campaign_id"), table_name="do_not_call")
    op.drop_table("do_not_call")
    for column in ("contact_id", "campaign_id"):
        op.drop_index(op.f(f"ix_campaign_attempts_{column}"), table_name="campaign_attempts")
    op.drop_table("campaign_attempts")
    op.drop_index("ix_campaign_contacts_due", table_name="campaign_contacts")
    op.drop_table("campaign_contacts")
    for column in ("status", "queue_id", "department_id"):
        op.drop_index(op.f(f"ix_campaigns_{column}"), table_name="campaigns")
    op.drop_table("campaigns")
