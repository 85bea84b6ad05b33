"""The directory of a running node: applying a loaded :class:`Directory` to the contact
centre, the flow catalog and (through ``on_telephony``) the registrar and trunk service, at
start and again after every configuration change announced on the bus.

Apart from loading because this is the asyncio side: it owns the reload task, the settle
time that folds a burst of changes into one read, and the rule that a failed reload keeps
the previous directory. ``apply`` runs between two inputs of the contact centre, so a change
is atomic for calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from hotline.calls.numbers import NumberingPlan
from hotline.calls.routing import InboundRouter, RoutingError
from hotline.events.bus import EventBus, Subscription
from hotline.ivr.catalog import CatalogError, FlowCatalog
from hotline.ivr.flow import Flow
from hotline.services.contact_center import ContactCenter, Output
from hotline.services.directory.loader import load_directory
from hotline.services.directory.model import Bootstrap, Directory, FlowPilot
from hotline.store.database import Database
from hotline.store.events import ConfigurationChanged

log = logging.getLogger(__name__)


class LiveDirectory:
    """Keeps a node's contact centre and flow catalog in step with the store.

    ``apply`` runs in the event loop's thread between two inputs of the contact centre (as
    every other input does), so a change is atomic for calls: a new call sees either the
    old directory or the new one, never half of each.
    """

    def __init__(
        self,
        database: Database,
        center: ContactCenter,
        catalog: FlowCatalog,
        execute: Callable[[Sequence[Output]], Any],
        plan: NumberingPlan,
        *,
        bus: EventBus | None = None,
        flow_filter: Callable[[Flow], Flow] | None = None,
        settle_seconds: float = 0.3,
        bootstrap: Bootstrap | None = None,
        on_telephony: Callable[[Directory], None] | None = None,
    ) -> None:
        """``on_telephony`` takes each loaded directory's phone accounts and trunks (the
        node's registrar and trunk service); with :attr:`routing` False only that applies
        (a node whose caller routes calls itself)."""
        self.database = database
        self.center = center
        self.catalog = catalog
        self.execute = execute
        self.plan = plan
        self.bus = bus
        self.flow_filter = flow_filter
        self.settle_seconds = settle_seconds
        self.bootstrap = bootstrap
        self.on_telephony = on_telephony
        self.routing = True
        self.loaded: Directory | None = None
        self._task: asyncio.Task[None] | None = None

    def qa_language(self, queue: str) -> str | None:
        """The language the queue's calls are analysed in, if the queue forces one."""
        return None if self.loaded is None else self.loaded.qa_languages.get(queue)

    async def reload(self) -> Directory:
        directory = await load_directory(self.database, self.bootstrap)
        for problem in directory.problems:
            log.warning("configuration: %s", problem)
        await self.apply(directory)
        return directory

    async def apply(self, directory: Directory) -> None:
        if self.on_telephony is not None:
            self.on_telephony(directory)
        if not self.routing:
            self.loaded = directory
            return
        flows = directory.flows
        if self.flow_filter is not None:
            flows = tuple(self.flow_filter(flow) for flow in flows)
        for flow in flows:
            try:
                self.catalog.add(flow)
                self.catalog.publish(flow.name, flow.version)
            except CatalogError as error:
                log.warning("configuration: flow %s left out: %s", flow.name, error)
        self._apply_pilots(directory.pilots)
        try:
            router = InboundRouter(directory.routes, directory.calendars, self.plan)
        except RoutingError as error:
            # Two routes for one number: keep routing as it was rather than guess.
            log.error("configuration: routes not applied: %s", error)
            router = None
        outputs = self.center.reconfigure(
            time.time(),
            queues=directory.queues,
            agents=directory.agents,
            router=router or self.center.router,
            recording=directory.recording,
            survey_flows=directory.survey_flows,
        )
        result = self.execute(outputs)
        if asyncio.iscoroutine(result):
            await result
        self.loaded = directory
        log.info(
            "directory applied",
            extra={
                "queues": len(directory.queues),
                "agents": len(directory.agents),
                "routes": len(directory.routes),
                "flows": len(directory.flows),
                "pilots": len(directory.pilots),
            },
        )

    def _apply_pilots(self, pilots: Iterable[FlowPilot]) -> None:
        """The catalog's pilots become exactly the store's (ended and promoted ones go).
        Calls in progress keep the ``Flow`` they started with: only new calls see this."""
        wanted: dict[tuple[str, str], int] = {}
        for pilot in pilots:
            flow = self.flow_filter(pilot.flow) if self.flow_filter is not None else pilot.flow
            try:
                self.catalog.add(flow)
            except CatalogError as error:
                log.warning("configuration: pilot of %s left out: %s", flow.name, error)
                continue
            wanted[(flow.name, pilot.department)] = flow.version
        self.catalog.replace_pilots(wanted)

    def start(self) -> None:
        """Follow configuration changes on the bus until :meth:`stop`. Subscribes at once,
        so a change committed right after the first load is not missed."""
        if self.bus is not None and self._task is None:
            subscription = self.bus.subscribe(ConfigurationChanged, maxsize=64, name="directory")
            self._task = asyncio.create_task(self._follow(subscription), name="directory")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _follow(self, subscription: Subscription[ConfigurationChanged]) -> None:
        try:
            while True:
                change = self.loaded.next_change if self.loaded is not None else None
                try:
                    # A lending of agents starting or ending changes the directory by
                    # itself: read it again then, as if the store had changed.
                    wait = None if change is None else max(0.0, change - time.time())
                    await asyncio.wait_for(subscription.get(), wait)
                except TimeoutError:
                    pass
                # An import or an admin's form changes several rows at once: wait until
                # they settle, then read the whole directory once.
                await asyncio.sleep(self.settle_seconds)
                while subscription.get_nowait() is not None:
                    pass
                try:
                    await self.reload()
                except Exception:
                    log.exception("configuration reload failed; the previous one stays")
        finally:
            subscription.close()
