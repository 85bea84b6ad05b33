"""recordings.kind and recordings.mailbox: voicemail messages beside call recordings

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 07:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        # Every recording stored before this revision is a call recording.
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="call")
        )
        batch_op.add_column(sa.Column("mailbox", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_recordings_kind"), ["kind"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("recordings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recordings_kind"))
        batch_op.drop_column("mailbox")
        batch_op.drop_column("kind")
