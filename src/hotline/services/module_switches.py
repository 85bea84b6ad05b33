"""``ModuleSwitches``: starts and stops a node's optional modules as the admin console's
switches say (``module_switches`` in the store, ``/api/v1/modules``).

A module off in the node's settings is never handed in here: it was not built. One that is
runs unless the console switched it off; a switch changed on any node reaches every node
sharing the database as a configuration change, and each starts or stops its own worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Protocol

from hotline.events.bus import EventBus, Subscription
from hotline.store.database import Database
from hotline.store.events import ConfigurationChanged
from hotline.store.repositories import ModuleRepository

log = logging.getLogger(__name__)


class Module(Protocol):
    @property
    def running(self) -> bool: ...

    def start(self) -> None: ...

    async def stop(self) -> None: ...


class ModuleSwitches:
    def __init__(self, database: Database, bus: EventBus, modules: Mapping[str, Module]) -> None:
        self.database = database
        self.bus = bus
        self.modules = dict(modules)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the modules the console has not switched off, then follow the switches."""
        subscription = self.bus.subscribe(ConfigurationChanged, maxsize=64, name="modules")
        await self.apply()
        self._task = asyncio.create_task(self._follow(subscription), name="module-switches")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for module in self.modules.values():
            await module.stop()

    async def apply(self) -> None:
        async with self.database.session() as session:
            switches = await ModuleRepository(session).switches()
        for name, module in self.modules.items():
            switch = switches.get(name)
            wanted = switch is None or switch.enabled
            if wanted and not module.running:
                module.start()
                log.info("module started", extra={"module_name": name})
            elif not wanted and module.running:
                await module.stop()
                log.info(
                    "module switched off",
                    extra={"module_name": name, "by": switch.changed_by if switch else None},
                )

    async def _follow(self, subscription: Subscription[ConfigurationChanged]) -> None:
        try:
            while True:
                change = await subscription.get()
                if change.resource != "modules":
                    continue
                try:
                    await self.apply()
                except Exception:
                    log.exception("module switches not applied; modules stay as they are")
        finally:
            subscription.close()
