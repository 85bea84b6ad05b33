"""qa search: the full-text index over transcripts (issue 21)

One row per transcript segment of an analysed recording (its redacted text and the tokens
it is found by: ``hotline.qa.search_text``). On SQLite an FTS5 virtual table; on PostgreSQL
a plain table with a ``tsvector`` column under a GIN index. The index is derived data
(``hotline.store.qa_search``), so it is not an ORM model: the migration test leaves it out
of the comparison with the models. Results stored before this revision are indexed when
they are analysed again (``hotline qa reanalyze --since``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 05:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None

TABLE = "qa_search_segments"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Only ``tokens`` is indexed; the rest rides along for the results. unicode61 splits
        # on the spaces between tokens and keeps Han characters together.
        op.execute(
            f"CREATE VIRTUAL TABLE {TABLE} USING fts5("
            "tokens, recording_id UNINDEXED, segment UNINDEXED, speaker UNINDEXED, "
            "start UNINDEXED, stop UNINDEXED, text UNINDEXED, "
            "tokenize = 'unicode61 remove_diacritics 0')"
        )
        return
    op.create_table(
        TABLE,
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("recording_id", sa.String(length=128), nullable=False),
        sa.Column("segment", sa.Integer(), nullable=False),
        sa.Column("speaker", sa.String(length=32), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("stop", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tokens", postgresql.TSVECTOR(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
    )
    op.create_index(f"ix_{TABLE}_recording_id", TABLE, ["recording_id", "segment"])
    op.create_index(f"ix_{TABLE}_tokens", TABLE, ["tokens"], postgresql_using="gin")


def downgrade() -> None:
    # On SQLite, dropping the virtual table drops its shadow tables too.
    op.drop_table(TABLE)
