"""agents' SIP accounts: digest HA1s and the realm they were computed in

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sip_realm", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("sip_ha1_md5", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("sip_ha1_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents", schema=None) as batch_op:
        batch_op.drop_column("sip_ha1_sha256")
        batch_op.drop_column("sip_ha1_md5")
        batch_op.drop_column("sip_realm")
