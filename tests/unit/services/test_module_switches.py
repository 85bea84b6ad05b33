"""The node's modules follow the admin console's switches: started unless switched off,
stopped and started again as the switch changes, on a configuration change."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hotline.events.bus import EventBus
from hotline.services.module_switches import ModuleSwitches
from hotline.store.database import Database
from hotline.store.events import ConfigurationChanged
from hotline.store.repositories import ModuleRepository


class Module:
    def __init__(self) -> None:
        self.running = False
        self.starts = 0

    def start(self) -> None:
        self.running, self.starts = True, self.starts + 1

    async def stop(self) -> None:
        self.running = False


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")
    await database.upgrade()
    yield database
    await database.close()


async def switch(database: Database, enabled: bool) -> None:
    async with database.session() as session:
        await ModuleRepository(session).set("dialer", enabled, "admin")
        await session.commit()


async def settled(module: Module, running: bool) -> None:
    for _ in range(100):
        if module.running is running:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"module running is not {running}")


async def test_modules_follow_the_switch(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the node logs at INFO: its records must build
    bus, dialer = EventBus(), Module()
    switches = ModuleSwitches(database, bus, {"dialer": dialer})
    await switches.start()
    assert dialer.running  # no switch stored: as the settings say
    await switch(database, False)
    bus.publish(ConfigurationChanged(at=0.0, resource="queues", action="update"))
    await asyncio.sleep(0.05)
    assert dialer.running  # another resource changed: nothing to do
    bus.publish(ConfigurationChanged(at=0.0, resource="modules", action="disable"))
    await settled(dialer, False)
    await switch(database, True)
    bus.publish(ConfigurationChanged(at=0.0, resource="modules", action="enable"))
    await settled(dialer, True)
    assert dialer.starts == 2
    await switches.stop()
    assert not dialer.running
    assert [r.getMessage() for r in caplog.records if r.name.endswith("module_switches")] == [
        "module started",
        "module switched off",
        "module started",
    ]


async def test_a_module_switched_off_before_the_start_does_not_start(database: Database) -> None:
    await switch(database, False)
    dialer = Module()
    switches = ModuleSwitches(database, EventBus(), {"dialer": dialer})
    await switches.start()
    assert not dialer.running
    await switches.stop()
