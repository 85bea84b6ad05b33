"""live directory: queues as the ACD runs them, agents' queue memberships, routes' owner and
closed-hours destination

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 07:40:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

#: The API's first, coarse strategy names -> the ACD registry's names.
_STRATEGIES = {
    "longest_idle": "longest-idle",
    "round_robin": "round-robin",
    "ring_all": "ring-all",
    "skills_based": "skills-best-match",
    "least_calls": "fewest-calls",
}


def upgrade() -> None:
    with op.batch_alter_table("queues", schema=None) as batch_op:
        batch_op.alter_column("max_wait_seconds", existing_type=sa.Integer(), nullable=True)
        for name, default in (
            ("ring_timeout_seconds", "15"),
            ("wrap_up_seconds", "0"),
        ):
            batch_op.add_column(
                sa.Column(name, sa.Integer(), nullable=False, server_default=default)
            )
        batch_op.add_column(sa.Column("announce_every_seconds", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("max_length", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("on_max_wait", sa.String(length=16), nullable=False, server_default="busy")
        )
        batch_op.add_column(sa.Column("overflow_queue_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("tiers", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column("pooled_department_ids", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(
            sa.Column("recording", sa.String(length=16), nullable=False, server_default="always")
        )
        batch_op.add_column(sa.Column("survey_flow", sa.String(length=100), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_queues_overflow_queue_id_queues"),
            "queues",
            ["overflow_queue_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    # The server defaults only fill existing rows; the models set values for new ones.
    with op.batch_alter_table("queues", schema=None) as batch_op:
        for name in (
            "ring_timeout_seconds",
            "wrap_up_seconds",
            "on_max_wait",
            "tiers",
            "pooled_department_ids",
            "recording",
        ):
            batch_op.alter_column(name, server_default=None)
    _convert_queues()
    op.create_table(
        "agent_queues",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_queues_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["queues.id"],
            name=op.f("fk_agent_queues_queue_id_queues"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("agent_id", "queue_id", name=op.f("pk_agent_queues")),
    )
    with op.batch_alter_table("inbound_routes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_target_type", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("closed_target_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_inbound_routes_department_id_departments"),
            "departments",
            ["department_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    op.execute("UPDATE inbound_routes SET target_type = 'ivr_flow' WHERE target_type = 'flow'")


def _convert_queues() -> None:
    """Strategy names to the ACD's; required skills from bare names to name + level."""
    queues = sa.table(
        "queues",
        sa.column("id", sa.Integer()),
        sa.column("strategy", sa.String()),
        sa.column("required_skills", sa.JSON()),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(queues.c.id, queues.c.strategy, queues.c.required_skills))
    for queue_id, strategy, skills in rows.all():
        needs: list[Any] = [
            {"skill": need, "level": 1} if isinstance(need, str) else need for need in skills or []
        ]
        connection.execute(
            queues.update()
            .where(queues.c.id == queue_id)
            .values(strategy=_STRATEGIES.get(strategy, strategy), required_skills=needs)
        )


def downgrade() -> None:
    with op.batch_alter_table("inbound_routes", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_inbound_routes_department_id_departments"), type_="foreignkey"
        )
        batch_op.drop_column("department_id")
        batch_op.drop_column("closed_target_id")
        batch_op.drop_column("closed_target_type")
    op.drop_table("agent_queues")
    with op.batch_alter_table("queues", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_queues_overflow_queue_id_queues"), type_="foreignkey")
        for name in (
            "survey_flow",
            "recording",
            "pooled_department_ids",
            "tiers",
            "overflow_queue_id",
            "on_max_wait",
            "max_length",
            "announce_every_seconds",
            "wrap_up_seconds",
            "ring_timeout_seconds",
        ):
            batch_op.drop_column(name)
