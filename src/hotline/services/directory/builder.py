"""Stored rows to the values a node's cores take: the rules of what in the database can be
used, and why a row is left out.

Pure code over rows already read (``loader`` reads them in one transaction): every rule of
a load lives here, testable without a database. Nothing raises for a bad row: it is left
out and the reason goes to ``Directory.problems``, because one broken queue or flow must
not keep a node from taking the rest of its calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from hotline.acd import AcdError, AgentProfile, ExitAction, ExitKind, QueueConfig, Tier
from hotline.acd.skills import SkillRequirement
from hotline.acd.strategies import create as create_strategy
from hotline.calls.hours import WEEKDAYS, Calendar
from hotline.calls.recording import RecordingMode
from hotline.calls.routing import Destination, InboundRoute
from hotline.calls.trunks import TrunkConfig, TrunkGroupConfig
from hotline.ivr.flow import Flow, FlowError, parse_flow
from hotline.services.directory.model import Bootstrap, Directory, FlowPilot
from hotline.services.phone_accounts import stored_ha1s
from hotline.store import models as m

_EXITS = {"busy": ExitKind.BUSY, "hang_up": ExitKind.HANG_UP, "overflow": ExitKind.OVERFLOW}
_RECORDING: dict[str, RecordingMode] = {
    "always": "always",
    "on_demand": "on_demand",
    "never": "never",
}


#: Per route target type: the router's destination type, row id -> name, names loaded.
_Targets = tuple[str, Mapping[int, str], set[str]]


@dataclass(frozen=True)
class StoredRows:
    """The rows a directory is built from, as one transaction read them (ordered by id)."""

    departments: Mapping[int, str]  # id -> name
    skills: Mapping[int, str]  # id -> name
    users: Mapping[int, m.User]
    queues: Sequence[m.Queue]
    agents: Sequence[m.Agent]
    trunks: Sequence[m.Trunk]
    trunk_groups: Sequence[m.TrunkGroup]
    business_hours: Sequence[m.BusinessHours]
    flows: Sequence[m.IvrFlow]
    #: (flow id, version) -> definition, for every published or piloted version found.
    flow_versions: Mapping[tuple[int, int], dict[str, Any]]
    pilots: Sequence[m.IvrFlowPilot]
    routes: Sequence[m.InboundRoute]
    #: Lendings of agents to campaigns not over yet, and each lending campaign's queue id.
    lendings: Sequence[m.CampaignLending] = ()
    campaign_queues: Mapping[int, int] = field(default_factory=dict)
    #: When the rows were read: which lendings hold now.
    read_at: datetime | None = None


def build_directory(stored: StoredRows, bootstrap: Bootstrap) -> Directory:
    """The directory ``stored`` describes, on top of ``bootstrap``; what cannot be used is
    left out and named in :attr:`Directory.problems`."""
    builder = _Builder(stored.departments, stored.skills)
    queues = builder.queues(stored.queues)
    queue_names = {row.id: row.name for row in stored.queues}
    lent, next_change = _lent_queues(stored, queue_names)
    agents = builder.agents(stored.agents, stored.users, queue_names, lent)
    calendars = builder.calendars(stored.business_hours)
    flows = builder.flows(stored.flows, stored.flow_versions)
    loaded_flows = {flow.name for flow in flows}
    flows_by_id = {row.id: row for row in stored.flows}
    pilots = builder.pilots(stored.pilots, flows_by_id, stored.flow_versions)
    flow_names = {row.id: row.name for row in stored.flows}
    extensions = {row.id: row.extension for row in stored.agents}
    targets: dict[str, _Targets] = {
        "queue": ("queue", queue_names, {q.name for q in queues}),
        "ivr_flow": ("flow", flow_names, loaded_flows),
        "flow": ("flow", flow_names, loaded_flows),  # the name the first demo seed wrote
        "agent": ("user", extensions, {a.agent_id for a in agents}),
    }
    trunk_names = {row.id: row.name for row in stored.trunks}
    hours_names = {row.id: row.name for row in stored.business_hours}
    routes = builder.routes(stored.routes, targets, trunk_names, hours_names)
    recording = {
        row.name: _RECORDING.get(row.recording, "always")
        for row in stored.queues
        if row.name in {q.name for q in queues}
    }
    survey_flows = {
        row.name: row.survey_flow
        for row in stored.queues
        if row.survey_flow and row.name in recording
    }
    for queue, flow in survey_flows.items():
        if flow not in loaded_flows:
            builder.problems.append(f"queue {queue!r}: survey flow {flow!r} is not published")
    # In this order, as the problems are listed: trunks, accounts, then the trunk groups.
    carriers = builder.trunks(stored.trunks, bootstrap)
    accounts = builder.accounts(stored.agents, stored.users, bootstrap)
    groups = builder.trunk_groups(stored.trunk_groups, carriers, stored.trunks, bootstrap)
    return Directory(
        accounts=accounts,
        trunks=tuple(carriers.values()),
        trunk_groups=tuple(groups),
        queues=tuple(queues),
        agents=tuple(agents),
        routes=tuple(routes),
        calendars=calendars,
        flows=tuple(flows),
        recording=recording,
        survey_flows={q: f for q, f in survey_flows.items() if f in loaded_flows},
        qa_languages={row.name: row.qa_language for row in stored.queues if row.qa_language},
        problems=tuple(builder.problems),
        pilots=tuple(pilots),
        next_change=next_change,
    )


def _lent_queues(
    stored: StoredRows, queue_names: Mapping[int, str]
) -> tuple[dict[int, dict[str, int]], float | None]:
    """Department id -> {campaign queue: member priority} for the lendings holding when the
    rows were read, and when the next one starts or ends."""
    lent: dict[int, dict[str, int]] = {}
    boundaries: list[datetime] = []
    now = stored.read_at
    if now is None:
        return lent, None
    for lending in stored.lendings:
        if lending.ends_at <= now:
            continue
        if lending.starts_at > now:
            boundaries.append(lending.starts_at)
            continue
        boundaries.append(lending.ends_at)
        queue = queue_names.get(stored.campaign_queues.get(lending.campaign_id, -1))
        if queue is not None:
            queues = lent.setdefault(lending.department_id, {})
            queues[queue] = min(queues.get(queue, lending.member_priority), lending.member_priority)
    return lent, min(boundaries).timestamp() if boundaries else None


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
        lent: Mapping[int, Mapping[str, int]],
    ) -> list[AgentProfile]:
        """Agents as the ACD takes them; an agent of a department lent to a campaign is
        also a member of the campaign's queue, after its own queues (unless it is one)."""
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
                            **lent.get(row.department_id, {}),
                            **{
                                queue_names[q.queue_id]: q.priority
                                for q in row.queues
                                if q.queue_id in queue_names
                            },
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
