"""Databases for store and API tests: SQLite always, PostgreSQL when reachable.

PostgreSQL gets a throwaway database per test session (created from the server's ``test``
database, dropped at the end); each test starts from empty tables. Point
``HOTLINE_TEST_POSTGRES_URL`` elsewhere to use another server.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url, text

from hotline.store.database import Database

POSTGRES_URL = os.environ.get(
    "HOTLINE_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


async def _admin(statement: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    url = make_url(POSTGRES_URL)
    connection = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
        timeout=3,
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _run(coroutine: Coroutine[Any, Any, None]) -> None:
    # In a thread of its own: a session fixture may be set up while another library's
    # event loop is marked running in the main thread (Playwright's sync API does that).
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"hotline_test_{secrets.token_hex(4)}"
    try:
        _run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError) as error:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL} ({error}); SQLite only")
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    async def migrate() -> None:
        database = Database(url)
        try:
            await database.upgrade()
        finally:
            await database.close()

    try:
        _run(migrate())
        yield url
    finally:
        _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _empty_postgres(database: Database) -> None:
    async with database.engine.begin() as connection:
        tables = (
            await connection.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
        ).scalars()
        names = ", ".join(f'"{name}"' for name in tables)
        # TRUNCATE does not fire the audit log's row triggers, by design of PostgreSQL.
        await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database."""
    database = Database(database_url)
    if database.dialect == "sqlite":
        await database.upgrade()
    else:
        await _empty_postgres(database)
    try:
        yield database
    finally:
        await database.close()
