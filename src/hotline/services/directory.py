"""The live node's directory: queues, agents, inbound routes, calendars and IVR flows, read
from the store and applied to the running contact centre.

The database is the one source of configuration: the admin console and the API write it,
and a node builds its ACD, router and flow catalog from it at start and again whenever the
configuration changes (``ConfigurationChanged`` on the bus), without dropping calls.
Agents' phone accounts and carrier trunks follow the same reloads (the registrar's
credentials and the trunk service), on top of what settings bootstrap (:class:`Bootstrap`):
on a name clash the settings' account, trunk or group wins and the clash is a problem.

Loading never stops a node: a row that cannot be used (a flow version that no longer
validates, a strategy this build does not know, a route to a deleted queue) is left out and
reported in :attr:`Directory.problems`, which the node logs; everything else is applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from hotline.acd import AcdError, AgentProfile, ExitAction, ExitKind, QueueConfig, Tier
from hotline.acd.skills import SkillRequirement
from hotline.acd.strategies import create as create_strategy
from hotline.calls.control import RecordingMode
from hotline.calls.hours import WEEKDAYS, Calendar
from hotline.calls.numbers import NumberingPlan
from hotline.calls.routing import Destination, InboundRoute, InboundRouter, RoutingError
from hotline.calls.trunks import TrunkConfig, TrunkGroupConfig
from hotline.events.bus import EventBus, Subscription
from hotline.ivr.catalog import CatalogError, FlowCatalog
from hotline.ivr.flow import Flow, FlowError, parse_flow
from hotline.services.contact_center import ContactCenter, Output
from hotline.services.phone_accounts import stored_ha1s
from hotline.store import models as m
from hotline.store.database import Database
from hotline.store.events import ConfigurationChanged

log = logging.getLogger(__name__)

_EXITS = {"busy": ExitKind.BUSY, "hang_up": ExitKind.HANG_UP, "overflow": ExitKind.OVERFLOW}
_RECORDING: dict[str, RecordingMode] = {
    "always": "always",
    "on_demand": "on_demand",
    "never": "never",
}


#: Per route target type: the router's destination type, row id -> name, names loaded.
_Targets = tuple[str, Mapping[int, str], set[str]]


@dataclass(frozen=True)
class Directory:
    """Everything a node routes calls with, as the values its cores take."""

    queues: tuple[QueueConfig, ...] = ()
    agents: tuple[AgentProfile, ...] = ()
    routes: tuple[InboundRoute, ...] = ()
    calendars: Mapping[str, Calendar] = field(default_factory=dict)
    #: Published version of each flow.
    flows: tuple[Flow, ...] = ()
    recording: Mapping[str, RecordingMode] = field(default_factory=dict)
    #: Queue -> the flow that surveys its callers after the agent hangs up.
    survey_flows: Mapping[str, str] = field(default_factory=dict)
    #: Rows left out, each with the reason, for the operator's log.
    problems: tuple[str, ...] = ()
    #: Phone accounts the registrar accepts: username -> {algorithm: HA1}, settings' first.
    accounts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: Carrier trunks (enabled ones) and trunk groups, settings' first.
    trunks: tuple[TrunkConfig, ...] = ()
    trunk_groups: tuple[TrunkGroupConfig, ...] = ()
    #: Departments piloting another version of a flow than the published one.
    pilots: tuple[FlowPilot, ...] = ()


@dataclass(frozen=True)
class FlowPilot:
    """Calls on routes owned by ``department`` run this version of the flow (a gray
    release); everyone else runs the published one."""

    department: str
    flow: Flow


@dataclass(frozen=True)
class Bootstrap:
    """What a node has from its settings besides the database: its SIP realm, settings'
    phone accounts (``sip.users``) and trunks. They always apply and win a name clash."""

    realm: str = "hotline"
    accounts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    trunks: tuple[TrunkConfig, ...] = ()
    trunk_groups: tuple[TrunkGroupConfig, ...] = ()


async def load_directory(database: Database, bootstrap: Bootstrap | None = None) -> Directory:
    """Read the directory in one transaction, so that it is consistent with itself."""
    bootstrap = bootstrap or Bootstrap()
    async with database.session() as session:

        async def rows(model: type[Any]) -> Sequence[Any]:
            return (await session.execute(select(model).order_by(model.id))).scalars().all()

        departments = {d.id: d.name for d in await rows(m.Department)}
        skills = {s.id: s.name for s in await rows(m.Skill)}
        users = {u.id: u for u in await rows(m.User)}
        queue_rows = await rows(m.Queue)
        agent_rows = await rows(m.Agent)
        trunk_rows = await rows(m.Trunk)
        trunks = {t.id: t.name for t in trunk_rows}
        group_rows = await rows(m.TrunkGroup)
        hours_rows = await rows(m.BusinessHours)
        flow_rows = await rows(m.IvrFlow)
        versions: dict[tuple[int, int], dict[str, Any]] = {}
        published = [(f.id, f.published_version) for f in flow_rows if f.published_version]
        pilot_rows = await rows(m.IvrFlowPilot)
        wanted = set(published) | {(p.flow_id, p.version) for p in pilot_rows}
        for flow_id, version in sorted(wanted):
            row = await session.scalar(
                select(m.IvrFlowVersion).where(
                    m.IvrFlowVersion.flow_id == flow_id, m.IvrFlowVersion.version == version
                )
            )
            if row is not None:
                versions[(flow_id, version)] = row.definition
        route_rows = await rows(m.InboundRoute)
    builder = _Builder(departments, skills)
    queues = builder.queues(queue_rows)
    queue_names = {row.id: row.name for row in queue_rows}
    agents = builder.agents(agent_rows, users, queue_names)
    calendars = builder.calendars(hours_rows)
    flows = builder.flows(flow_rows, versions)
    loaded_flows = {flow.name for flow in flows}
    pilots = builder.pilots(pilot_rows, {row.id: row for row in flow_rows}, versions)
    flow_names = {row.id: row.name for row in flow_rows}
    extensions = {row.id: row.extension for row in agent_rows}
    targets: dict[str, _Targets] = {
        "queue": ("queue", queue_names, {q.name for q in queues}),
        "ivr_flow": ("flow", flow_names, loaded_flows),
        "flow": ("flow", flow_names, loaded_flows),  # the name the first demo seed wrote
        "agent": ("user", extensions, {a.agent_id for a in agents}),
    }
    routes = builder.routes(route_rows, targets, trunks, {h.id: h.name for h in hours_rows})
    recording = {
        row.name: _RECORDING.get(row.recording, "always")
        for row in queue_rows
        if row.name in {q.name for q in queues}
    }
    survey_flows = {
        row.name: row.survey_flow for row in queue_rows if row.survey_flow and row.name in recording
    }
    for queue, flow in survey_flows.items():
        if flow not in loaded_flows:
            builder.problems.append(f"queue {queue!r}: survey flow {flow!r} is not published")
    carriers = builder.trunks(trunk_rows, bootstrap)
    return Directory(
        accounts=builder.accounts(agent_rows, users, bootstrap),
        trunks=tuple(carriers.values()),
        trunk_groups=tuple(builder.trunk_groups(group_rows, carriers, trunk_rows, bootstrap)),
        queues=tuple(queues),
        agents=tuple(agents),
        routes=tuple(routes),
        calendars=calendars,
        flows=tuple(flows),
        recording=recording,
        survey_flows={q: f for q, f in survey_flows.items() if f in loaded_flows},
        problems=tuple(builder.problems),
        pilots=tuple(pilots),
    )


class _Builder:
    """Rows to core values, collecting what cannot be used instead of raising."""

    def __init__(self, departments: Mapping[int, str], skills: Mapping[int, str]) -> None:
        self.departments = departments
        self.skills = skills
        self.problems: list[str] = []
        self._stored_trunks: dict[int, str] = {}  # id -> name of the stored trunks loaded

    def queues(self, rows: Iterable[m.Queue]) -> list[QueueConfig]:
        names = {row.id: row.name for row in rows}
        out: list[QueueConfig] = []
        for row in rows:
            try:
                create_strategy(row.strategy)
                on_max_wait = ExitAction(
                    _EXITS.get(row.on_max_wait, ExitKind.BUSY),
                    names.get(row.overflow_queue_id or 0, ""),
                )
                out.append(
                    QueueConfig(
                        name=row.name,
                        strategy=row.strategy,
                        department=self.departments.get(row.department_id, ""),
                        required_skills=tuple(
                            SkillRequirement(str(need["skill"]), int(need.get("level", 1)))
                            for need in (_need(n) for n in row.required_skills or [])
                        ),
                        tiers=tuple(
                            Tier(
                                float(tier["after_seconds"]),
                                int(tier.get("max_member_priority", 0)),
                                int(tier.get("relax_levels", 0)),
                                bool(tier.get("include_pooled", False)),
                            )
                            for tier in row.tiers or []
                        ),
                        pooled_departments=frozenset(
                            self.departments[i]
                            for i in row.pooled_department_ids or []
                            if i in self.departments
                        ),
                        ring_timeout=float(row.ring_timeout_seconds),
                        wrap_up_seconds=float(row.wrap_up_seconds),
                        max_wait=float(row.max_wait_seconds) if row.max_wait_seconds else None,
                        on_max_wait=on_max_wait,
                        max_length=row.max_length,
                        announce_every=(
                            float(row.announce_every_seconds)
                            if row.announce_every_seconds
                            else None
                        ),
                        service_level_seconds=float(row.service_level_seconds),
                    )
                )
            except (AcdError, KeyError, TypeError, ValueError) as error:
                self.problems.append(f"queue {row.name!r} left out: {error}")
        return out

    def agents(
        self,
        rows: Iterable[m.Agent],
        users: Mapping[int, m.User],
        queue_names: Mapping[int, str],
    ) -> list[AgentProfile]:
        out: list[AgentProfile] = []
        for row in rows:
            user = users.get(row.user_id)
            if user is not None and not user.active:
                continue  # a disabled account takes no calls
            try:
                out.append(
                    AgentProfile(
                        agent_id=row.extension,
                        department=self.departments.get(row.department_id, ""),
                        skills={
                            self.skills[s.skill_id]: s.level
                            for s in row.skills
                            if s.skill_id in self.skills
                        },
                        queues={
                            queue_names[q.queue_id]: q.priority
                            for q in row.queues
                            if q.queue_id in queue_names
                        },
                    )
                )
            except AcdError as error:
                self.problems.append(f"agent {row.extension!r} left out: {error}")
        return out

    def accounts(
        self, rows: Iterable[m.Agent], users: Mapping[int, m.User], bootstrap: Bootstrap
    ) -> dict[str, dict[str, str]]:
        """Settings' accounts, then every agent's whose HA1s fit this node's realm."""
        out = {name: dict(ha1s) for name, ha1s in bootstrap.accounts.items()}
        for row in rows:
            ha1s = stored_ha1s(row.sip_ha1_md5, row.sip_ha1_sha256)
            user = users.get(row.user_id)
            if not ha1s or (user is not None and not user.active):
                continue  # no phone password set, or a disabled account: cannot register
            name = row.extension
            if row.sip_realm != bootstrap.realm:
                self.problems.append(
                    f"agent {name!r}: phone password was set for realm {row.sip_realm!r}, "
                    f"this node's realm is {bootstrap.realm!r}: set it again to register"
                )
            elif name in bootstrap.accounts:
                self.problems.append(
                    f"agent {name!r}: phone account not used, settings' sip.users has "
                    f"{name!r} (settings win)"
                )
            else:
                out[name] = ha1s
        return out

    def trunks(self, rows: Iterable[m.Trunk], bootstrap: Bootstrap) -> dict[str, TrunkConfig]:
        """Settings' trunks, then the enabled stored ones, by name."""
        out = {trunk.name: trunk for trunk in bootstrap.trunks}
        for row in rows:
            if not row.enabled:
                continue  # takes no new calls; calls in progress on it go on
            configured = out.get(row.name)
            if configured is not None:
                address = (configured.host, configured.port, configured.transport)
                if address == (row.host, row.port, row.transport):
                    # The same carrier twice (the demo's "local"): no clash, and the
                    # stored groups that name it use the settings' one.
                    self._stored_trunks[row.id] = row.name
                else:
                    self.problems.append(
                        f"trunk {row.name!r} left out: settings have a trunk of that name "
                        f"(settings win)"
                    )
                continue
            try:
                out[row.name] = TrunkConfig(
                    name=row.name,
                    host=row.host,
                    port=row.port,
                    transport=row.transport,
                    username=row.username,
                    password=row.password,
                    max_channels=row.max_channels,
                    priority=row.priority,
                    weight=row.weight,
                    dial_format=row.dial_format,
                    caller_id=row.caller_id,
                )
                self._stored_trunks[row.id] = row.name
            except ValidationError as error:
                self.problems.append(f"trunk {row.name!r} left out: {_first(error)}")
        return out

    def trunk_groups(
        self,
        rows: Iterable[m.TrunkGroup],
        trunks: Mapping[str, TrunkConfig],
        trunk_rows: Iterable[m.Trunk],
        bootstrap: Bootstrap,
    ) -> list[TrunkGroupConfig]:
        """Settings' groups, then the stored ones over the stored trunks loaded above (a
        stored group never borrows a settings' trunk that happens to share a name)."""
        out = list(bootstrap.trunk_groups)
        configured = {group.name for group in out}
        names = {row.id: row.name for row in trunk_rows}
        for row in rows:
            if row.name in configured:
                self.problems.append(
                    f"trunk group {row.name!r} left out: settings have a group of that name "
                    f"(settings win)"
                )
                continue
            members = [
                self._stored_trunks[member.trunk_id]
                for member in row.members
                if member.trunk_id in self._stored_trunks
            ]
            if not members:
                left = ", ".join(names.get(member.trunk_id, "?") for member in row.members)
                self.problems.append(
                    f"trunk group {row.name!r} left out: none of its trunks ({left}) is "
                    f"enabled and usable"
                )
                continue
            try:
                out.append(
                    TrunkGroupConfig(
                        name=row.name,
                        strategy=row.strategy,
                        trunks=tuple(members),
                        failover_on=tuple(row.failover_on or ()),
                    )
                )
            except ValidationError as error:
                self.problems.append(f"trunk group {row.name!r} left out: {_first(error)}")
        return out

    def calendars(self, rows: Iterable[m.BusinessHours]) -> dict[str, Calendar]:
        out: dict[str, Calendar] = {}
        for row in rows:
            weekly: dict[str, list[str]] = {}
            try:
                for interval in row.weekly or []:
                    day = WEEKDAYS[int(interval["day"])]
                    weekly.setdefault(day, []).append(f"{interval['start']}-{interval['end']}")
                out[row.name] = Calendar(
                    timezone=row.timezone,
                    weekly=weekly,  # parsed by its validator
                    holidays=frozenset(row.holidays or []),
                )
            except (KeyError, IndexError, TypeError, ValueError, ValidationError) as error:
                self.problems.append(f"business hours {row.name!r} left out: {error}")
        return out

    def flows(
        self, rows: Iterable[m.IvrFlow], versions: Mapping[tuple[int, int], dict[str, Any]]
    ) -> list[Flow]:
        out: list[Flow] = []
        for row in rows:
            if not row.published_version:
                continue
            label = f"flow {row.name!r}"
            flow = self._flow_version(row, row.published_version, versions, label, "published ")
            if flow is not None:
                out.append(flow)
        return out

    def _flow_version(
        self,
        flow: m.IvrFlow,
        version: int,
        versions: Mapping[tuple[int, int], dict[str, Any]],
        label: str,
        which: str = "",
    ) -> Flow | None:
        """One stored version of ``flow`` as the interpreter runs it, or None with the
        problem (``label``: what is left out) noted."""
        definition = versions.get((flow.id, version))
        if definition is None:
            self.problems.append(f"{label}: {which}version {version} is missing")
            return None
        document = {**definition, "name": flow.name, "version": version}
        try:
            return parse_flow(document, f"flow {flow.name} v{version}")
        except FlowError as error:
            self.problems.append(f"{label} left out: {error}")
            return None

    def pilots(
        self,
        rows: Iterable[m.IvrFlowPilot],
        flows: Mapping[int, m.IvrFlow],
        versions: Mapping[tuple[int, int], dict[str, Any]],
    ) -> list[FlowPilot]:
        out: list[FlowPilot] = []
        for row in rows:
            flow = flows.get(row.flow_id)
            department = self.departments.get(row.department_id)
            if flow is None or department is None:
                continue  # deleted meanwhile: the foreign keys remove or refuse it
            label = f"pilot of flow {flow.name!r} in {department!r}"
            # Left out, its department's calls run the published version meanwhile.
            parsed = self._flow_version(flow, row.version, versions, label)
            if parsed is not None:
                out.append(FlowPilot(department, parsed))
        return out

    def routes(
        self,
        rows: Iterable[m.InboundRoute],
        targets: Mapping[str, _Targets],
        trunks: Mapping[int, str],
        calendars: Mapping[int, str],
    ) -> list[InboundRoute]:
        out: list[InboundRoute] = []
        for row in rows:
            name = f"route-{row.id}"
            try:
                destination = self._destination(row.target_type, row.target_id, targets)
                closed = None
                if row.closed_target_type == "hangup":
                    closed = Destination(type="hangup")
                elif row.closed_target_type is not None and row.closed_target_id is not None:
                    closed = self._destination(
                        row.closed_target_type, row.closed_target_id, targets
                    )
                out.append(
                    InboundRoute(
                        name=name,
                        did=row.did,
                        trunk=trunks.get(row.trunk_id) if row.trunk_id else None,
                        department=self.departments.get(row.department_id or 0),
                        calendar=calendars.get(row.business_hours_id)
                        if row.business_hours_id
                        else None,
                        destination=destination,
                        closed=closed,
                    )
                )
            except (LookupError, ValueError, ValidationError) as error:
                self.problems.append(f"route {row.did!r} left out: {error}")
        return out

    @staticmethod
    def _destination(
        kind: str,
        target_id: int,
        targets: Mapping[str, _Targets],
    ) -> Destination:
        if kind not in targets:
            raise LookupError(f"unknown target type {kind!r}")
        destination_type, names, usable = targets[kind]
        name = names.get(target_id)
        if name is None or name not in usable:
            raise LookupError(f"its {kind} {target_id} does not exist or was left out")
        return Destination(type=destination_type, target=name)


def _first(error: ValidationError) -> str:
    detail = error.errors()[0]
    where = ".".join(str(part) for part in detail["loc"])
    return f"{where}: {detail['msg']}" if where else str(detail["msg"])


def _need(value: object) -> dict[str, Any]:
    return {"skill": value, "level": 1} if isinstance(value, str) else dict(value)  # type: ignore[call-overload]


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
                await subscription.get()
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
