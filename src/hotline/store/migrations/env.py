"""Alembic environment: migrations run on a connection handed in by :class:`Database`.

The node is async; Alembic is sync. ``Database.upgrade`` opens an async connection and
runs Alembic inside ``run_sync``, passing the sync connection through
``config.attributes`` so that one code path serves the CLI, the demo and the tests.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from hotline.store.models import Base

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `hotline db upgrade`, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
