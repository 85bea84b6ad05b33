"""Migrations: they build the schema the models describe, refuse stale databases, and keep
the audit log append-only at the database level."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from hotline.store.database import Database, DatabaseNotMigratedError, head_revision
from hotline.store.models import AuditEntry, Base, Cdr, Department, Queue, Role, User
from hotline.store.qa_search import is_search_index_table


async def test_migrations_match_models(database: Database) -> None:
    def diff(connection: Connection) -> list[object]:
        # The QA search index is derived data with a table per dialect, not a model.
        def include_name(name: str | None, type_: str, _parents: object) -> bool:
            return not (type_ == "table" and name is not None and is_search_index_table(name))

        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
        return list(compare_metadata(context, Base.metadata))

    async with database.engine.connect() as connection:
        assert await connection.run_sync(diff) == []
    assert await database.current_revision() == head_revision()
    await database.check_migrated()


async def test_unmigrated_database_is_refused_naming_the_command(tmp_path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    try:
        with pytest.raises(DatabaseNotMigratedError, match="run `hotline db upgrade`"):
            await database.check_migrated()
        await database.upgrade()
        await database.check_migrated()
        await database.downgrade("base")
        with pytest.raises(DatabaseNotMigratedError, match="no schema yet"):
            await database.check_migrated()
    finally:
        await database.close()


async def test_audit_log_is_append_only(database: Database) -> None:
    async with database.session() as session:
        session.add(AuditEntry(actor="alice", action="create", resource="queues"))
        await session.commit()
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        async with database.engine.connect() as connection:
            with pytest.raises(DBAPIError, match="append-only"):
                await connection.execute(text(statement))
            await connection.rollback()
    async with database.session() as session:
        actors = (await session.execute(select(AuditEntry.actor))).scalars().all()
    assert actors == ["alice"]


async def test_foreign_keys_and_uniques_are_enforced(database: Database) -> None:
    async with database.session() as session:
        session.add(Queue(name="sales", department_id=999))
        with pytest.raises(IntegrityError):
            await session.commit()
    async with database.session() as session:
        session.add(Department(name="support"))
        await session.commit()
        session.add(Department(name="support"))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_datetimes_come_back_aware_utc(database: Database) -> None:
    started = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    shanghai = started.astimezone(UTC).astimezone(tz=None)
    async with database.session() as session:
        session.add(
            Cdr(
                call_id="c1",
                direction="in",
                caller="+8613800000000",
                callee="400",
                started_at=shanghai,
                ended_at=started + timedelta(minutes=3),
                disposition="answered",
            )
        )
        session.add(User(username="u", password_hash="x", role=Role.AGENT))
        await session.commit()
    async with database.session() as session:
        cdr = (await session.execute(select(Cdr))).scalar_one()
        user = (await session.execute(select(User))).scalar_one()
    assert cdr.started_at == started
    assert cdr.started_at.tzinfo is not None
    assert cdr.ended_at - cdr.started_at == timedelta(minutes=3)
    assert user.role is Role.AGENT
    assert user.created_at.tzinfo is not None


async def test_downgrade_to_nothing_and_back(database: Database) -> None:
    """Every migration's downgrade works on this dialect, triggers included."""
    await database.downgrade("base")
    assert await database.current_revision() is None
    await database.upgrade()
    await database.check_migrated()
    async with database.session() as session:
        session.add(AuditEntry(actor="after", action="create", resource="queues"))
        await session.commit()
    async with database.engine.connect() as connection:
        with pytest.raises(DBAPIError, match="append-only"):
            await connection.execute(text("DELETE FROM audit_log"))
