"""The engine, sessions and schema version of one database.

A node opens one :class:`Database` in its composition root and hands it down; nothing holds
an engine at module level. SQLite is tuned for durability (WAL with ``synchronous=FULL``:
a committed CDR survives a power cut) and has foreign keys switched on, which SQLite
leaves off by default.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

UPGRADE_HINT = "hotline db upgrade"


class DatabaseNotMigratedError(Exception):
    """The schema is missing or older than this build; the message names the fix."""


def _migrations_dir() -> Path:
    return Path(str(files("hotline.store") / "migrations"))


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_migrations_dir()))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class Database:
    """One database: an async engine, a session factory and the schema's version."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url, echo=echo, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    async def current_revision(self) -> str | None:
        def read(connection: Connection) -> str | None:
            return MigrationContext.configure(connection).get_current_revision()

        async with self.engine.connect() as connection:
            return await connection.run_sync(read)

    async def upgrade(self, revision: str = "head") -> None:
        """Apply migrations up to ``revision`` in one connection (and transaction)."""

        def run(connection: Connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

        async with self.engine.begin() as connection:
            await connection.run_sync(run)

    async def downgrade(self, revision: str) -> None:
        def run(connection: Connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, revision)

        async with self.engine.begin() as connection:
            await connection.run_sync(run)

    async def check_migrated(self) -> None:
        """Raise unless the schema is exactly at this build's head revision."""
        head = head_revision()
        try:
            current = await self.current_revision()
        except Exception as error:
            raise DatabaseNotMigratedError(
                f"cannot read the schema version of {self.safe_url}: {error}"
            ) from None
        if current is None:
            raise DatabaseNotMigratedError(
                f"database {self.safe_url} has no schema yet; run `{UPGRADE_HINT}`"
            )
        if current != head:
            raise DatabaseNotMigratedError(
                f"database {self.safe_url} is at schema {current}, this build needs {head}; "
                f"run `{UPGRADE_HINT}`"
            )

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    @property
    def safe_url(self) -> str:
        """The URL without its password, fit for logs and error messages."""
        return self.engine.url.render_as_string(hide_password=True)

    async def close(self) -> None:
        await self.engine.dispose()
