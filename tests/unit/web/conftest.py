"""The web consoles over the API test world (a real migrated database, one user per role).

SQLite only: the store and API tests cover PostgreSQL; pages add no SQL of their own
dialect. The schema is migrated once per session and copied per test, which keeps these
tests fast (a migration takes seconds, a file copy nothing).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from hotline.store.database import Database
from hotline.web.app import mount_web
from hotline.web.routes import admin_acd, admin_telephony, admin_users
from hotline.web.routes.admin_sections import Section
from tests.unit.api.conftest import PASSWORD, World, clients, clock, world  # noqa: F401

#: Every section of the admin console, from the page modules that serve them.
ADMIN_SECTIONS: tuple[Section, ...] = (
    *admin_acd.SECTIONS,
    *admin_users.SECTIONS,
    *admin_telephony.SECTIONS,
)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("web-schema") / "hotline.db"

    async def migrate() -> None:
        database = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await database.upgrade()
        finally:
            await database.close()

    # In a thread: Playwright's sync API may hold the main thread's event loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, migrate()).result()
    return path


@pytest.fixture
async def database(migrated_sqlite: Path, tmp_path: Path) -> AsyncIterator[Database]:
    copy = tmp_path / "hotline.db"
    shutil.copyfile(migrated_sqlite, copy)
    database = Database(f"sqlite+aiosqlite:///{copy}")
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def web(world: World) -> World:  # noqa: F811
    mount_web(world.app)  # type: ignore[arg-type]
    return world


async def browser_login(web: World, username: str, language: str = "en") -> httpx.AsyncClient:
    """A client that logged in through the login form, as a browser does."""
    client = web.client()
    client.cookies.set("hotline_lang", language)
    response = await client.post(
        "/login", data={"username": username, "password": PASSWORD, "next": "/"}
    )
    assert response.status_code == 303, response.text
    web.clients[f"web-{username}-{language}"] = client
    return client
