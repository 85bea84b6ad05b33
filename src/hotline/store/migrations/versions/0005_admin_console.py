"""admin console: trunk credentials and selection fields, trunk groups, IVR version source

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 07:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("trunks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("weight", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(
            sa.Column(
                "dial_format", sa.String(length=16), nullable=False, server_default="national"
            )
        )
        batch_op.add_column(sa.Column("caller_id", sa.String(length=64), nullable=True))
    # The defaults above only fill existing rows; the models set values for new ones.
    with op.batch_alter_table("trunks", schema=None) as batch_op:
        batch_op.alter_column("priority", server_default=None)
        batch_op.alter_column("weight", server_default=None)
        batch_op.alter_column("dial_format", server_default=None)
    op.create_table(
        "trunk_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("strategy", sa.String(length=32), nullable=False),
        sa.Column("failover_on", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trunk_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_trunk_groups_name")),
    )
    op.create_table(
        "trunk_group_members",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("trunk_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["trunk_groups.id"],
            name=op.f("fk_trunk_group_members_group_id_trunk_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trunk_id"],
            ["trunks.id"],
            name=op.f("fk_trunk_group_members_trunk_id_trunks"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("group_id", "trunk_id", name=op.f("pk_trunk_group_members")),
    )
    with op.batch_alter_table("ivr_flow_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ivr_flow_versions", schema=None) as batch_op:
        batch_op.drop_column("source")
    op.drop_table("trunk_group_members")
    op.drop_table("trunk_groups")
    with op.batch_alter_table("trunks", schema=None) as batch_op:
        batch_op.drop_column("caller_id")
        batch_op.drop_column("dial_format")
        batch_op.drop_column("weight")
        batch_op.drop_column("priority")
        batch_op.drop_column("password")
