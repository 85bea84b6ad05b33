"""The engine, sessions and schema version of one database.

A node opens one :class:`Database` in its composition root and hands it down; nothing holds
an engine at module level. SQLite is tuned for durability (WAL with ``synchronous=FULL``:
a committed CDR survives a power cut) and has foreign keys switched on, which SQLite
leaves off by default.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
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
from sqlalchemy.orm import Session

from hotline.store.events import ConfigurationChanged

log = logging.getLogger(__name__)

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


_CHANGES = "hotline.changes"


def note_change(session: AsyncSession | Session, change: ConfigurationChanged) -> None:
    """Announce ``change`` once ``session`` commits (see :meth:`Database.on_commit`)."""
    session.info.setdefault(_CHANGES, []).append(change)


def _forget_changes(session: Session) -> None:
    session.info.pop(_CHANGES, None)


class Database:
    """One database: an async engine, a session factory and the schema's version."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url, echo=echo, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        # A session class of this database's own, so that its commit hooks never fire for
        # another database in the same process (tests run several nodes).
        self._session_class: type[Session] = type("NodeSession", (Session,), {})
        self.sessions = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=self._session_class
        )
        self._change_listeners: list[Callable[[ConfigurationChanged], None]] = []
        event.listen(self._session_class, "after_commit", self._committed)
        event.listen(self._session_class, "after_rollback", _forget_changes)

    def on_commit(self, listener: Callable[[ConfigurationChanged], None]) -> None:
        """Call ``listener`` with each change noted (:func:`note_change`) in a session of
        this database, once that session has committed; changes rolled back are dropped."""
        self._change_listeners.append(listener)

    def _committed(self, session: Session) -> None:
        changes: list[ConfigurationChanged] = session.info.pop(_CHANGES, [])
        for change in changes:
            for listener in self._change_listeners:
                try:
                    listener(change)
                except Exception:
                    log.exception("change listener failed", extra={"change": change.resource})

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
