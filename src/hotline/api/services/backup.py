"""Configuration as one YAML document: export for backup, import with a dry-run diff.

Rows refer to each other by name (department, trunk, a group's trunks, queue, flow), never
by database id, so a backup restores into another node or another database. Import creates
and updates; it never deletes (a file missing a queue must not silently drop it). A dry run
is the same import rolled back instead of committed, so the diff it reports is exactly what
a real import would do. Users and agents are not part of the document: they are people and
credentials, managed through their own endpoints.
"""

from __future__ import annotations

from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hotline import untrusted_yaml
from hotline.api import schemas as s
from hotline.api.rbac import Permission, Principal
from hotline.api.services.audit import AuditService
from hotline.api.services.errors import ConflictError, InvalidError
from hotline.ivr.problems import MAX_DEPTH as MAX_FLOW_DEPTH
from hotline.ivr.problems import check_flow
from hotline.store.models import (
    Agent,
    Base,
    BusinessHours,
    Department,
    InboundRoute,
    IvrFlow,
    IvrFlowPilot,
    IvrFlowVersion,
    Queue,
    Skill,
    Trunk,
    TrunkGroup,
    TrunkGroupMember,
    WrapUpCode,
)
from hotline.store.repositories import (
    IvrFlowPilotRepository,
    IvrFlowVersionRepository,
    Repository,
)

FORMAT_VERSION = 1
ALL = 1_000_000


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


#: Queue columns that a document carries as they are (references go by name, below).
_QUEUE_COLUMNS = (
    "name",
    "strategy",
    "service_level_seconds",
    "max_wait_seconds",
    "required_skills",
    "ring_timeout_seconds",
    "wrap_up_seconds",
    "announce_every_seconds",
    "max_length",
    "on_max_wait",
    "tiers",
    "recording",
    "survey_flow",
)


class QueueDoc(s.QueueSettings):
    """A queue with its department, overflow queue and pooled departments by name."""

    name: s.Name
    department: s.Name
    overflow_queue: s.Name | None = None
    pooled_departments: list[s.Name] = Field(default_factory=list)

    @model_validator(mode="after")
    def _overflow_target(self) -> QueueDoc:
        if (self.on_max_wait == "overflow") != (self.overflow_queue is not None):
            raise ValueError("overflow_queue goes with on_max_wait overflow")
        return self


class WrapUpDoc(_Doc):
    department: s.Name
    code: s.Text64
    label: s.Text200


class PilotDoc(_Doc):
    """A department running another definition of the flow than the published one."""

    department: s.Name
    definition: s.IvrDefinition


class FlowDoc(_Doc):
    name: s.FlowName
    department: s.Name
    definition: s.IvrDefinition
    pilots: list[PilotDoc] = Field(default_factory=list)


class TrunkGroupDoc(_Doc):
    """A trunk group with its trunks by name, in the order calls try them."""

    name: s.Name
    strategy: Literal["priority", "weighted_round_robin", "least_used"] = "priority"
    trunks: list[s.Name] = Field(min_length=1, max_length=100)
    failover_on: list[s.SipStatusRule] = Field(
        default_factory=lambda: ["408", "5xx", "604", "606"], max_length=50
    )

    @field_validator("trunks")
    @classmethod
    def _unique_trunks(cls, trunks: list[str]) -> list[str]:
        if len(set(trunks)) != len(trunks):
            raise ValueError("each trunk at most once")
        return trunks


class RouteDoc(_Doc):
    did: s.Text64
    trunk: s.Name | None = None
    target_type: str = Field(pattern="^(queue|ivr_flow|agent)$")
    target: s.Name = Field(description="queue name, flow name or agent extension")
    business_hours: s.Name | None = None
    closed_target_type: str | None = Field(default=None, pattern="^(queue|ivr_flow|agent|hangup)$")
    closed_target: s.Name | None = None
    department: s.Name | None = None


class ConfigDocument(_Doc):
    version: int = FORMAT_VERSION
    departments: list[s.DepartmentCreate] = Field(default_factory=list)
    skills: list[s.SkillCreate] = Field(default_factory=list)
    trunks: list[s.TrunkCreate] = Field(default_factory=list)
    trunk_groups: list[TrunkGroupDoc] = Field(default_factory=list)
    business_hours: list[s.BusinessHoursCreate] = Field(default_factory=list)
    queues: list[QueueDoc] = Field(default_factory=list)
    wrapup_codes: list[WrapUpDoc] = Field(default_factory=list)
    ivr_flows: list[FlowDoc] = Field(default_factory=list)
    inbound_routes: list[RouteDoc] = Field(default_factory=list)


class ImportResult(BaseModel):
    dry_run: bool
    created: list[str]
    updated: list[str]
    unchanged: int


def parse_document(text: str) -> ConfigDocument:
    try:
        # A flow's own depth, plus the sections and list items around it.
        data = untrusted_yaml.load(text, MAX_FLOW_DEPTH + 8)
    except untrusted_yaml.UntrustedYamlError as error:
        raise InvalidError(str(error)) from None
    if not isinstance(data, dict):
        raise InvalidError("the document must be a mapping of sections")
    try:
        document = ConfigDocument.model_validate(data)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise InvalidError(f"{where}: {first['msg']}") from None
    if document.version != FORMAT_VERSION:
        raise InvalidError(f"version {document.version} is not supported (expected 1)")
    return document


class BackupService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self.audit = AuditService(session, principal)

    def require_permission(self) -> None:
        # The whole configuration, every department: admins only.
        self.principal.require(Permission.CONFIG_WRITE)
        self.principal.require(Permission.DEPARTMENT_WRITE)

    async def _all(self, model: type[Any]) -> list[Any]:
        return list(await Repository(self.session, model).list(limit=ALL))

    async def export(self) -> str:
        self.require_permission()
        departments = {d.id: d.name for d in await self._all(Department)}
        trunks = {t.id: t.name for t in await self._all(Trunk)}
        hours = {h.id: h.name for h in await self._all(BusinessHours)}
        queues = {q.id: q for q in await self._all(Queue)}
        flows = {f.id: f for f in await self._all(IvrFlow)}
        agents = {a.id: a.extension for a in await self._all(Agent)}
        versions = IvrFlowVersionRepository(self.session)
        pilots = IvrFlowPilotRepository(self.session)
        flow_docs = []
        for flow in flows.values():
            history = {v.version: v for v in await versions.versions(flow.id)}
            chosen = history.get(flow.published_version or 0) or history[max(history)]
            flow_docs.append(
                {
                    "name": flow.name,
                    "department": departments[flow.department_id],
                    "definition": chosen.definition,
                    "pilots": [
                        {
                            "department": departments[pilot.department_id],
                            "definition": history[pilot.version].definition,
                        }
                        for pilot in await pilots.of_flow(flow.id)
                        if pilot.version in history and pilot.version != flow.published_version
                    ],
                }
            )
        targets = {
            "queue": {i: q.name for i, q in queues.items()},
            "ivr_flow": {i: f.name for i, f in flows.items()},
            "agent": agents,
        }
        document = {
            "version": FORMAT_VERSION,
            "departments": [{"name": name} for name in departments.values()],
            "skills": [{"name": skill.name} for skill in await self._all(Skill)],
            "trunks": [
                _columns(
                    t,
                    "name",
                    "host",
                    "port",
                    "transport",
                    "username",
                    "max_channels",
                    "enabled",
                    "priority",
                    "weight",
                    "dial_format",
                    "caller_id",
                )
                for t in await self._all(Trunk)
            ],
            "trunk_groups": [
                {
                    "name": g.name,
                    "strategy": g.strategy,
                    "trunks": [trunks[i] for i in g.trunk_ids if i in trunks],
                    "failover_on": list(g.failover_on),
                }
                for g in await self._all(TrunkGroup)
            ],
            "business_hours": [
                _columns(h, "name", "timezone", "weekly", "holidays")
                for h in await self._all(BusinessHours)
            ],
            "queues": [
                {
                    **_columns(q, *_QUEUE_COLUMNS),
                    "department": departments[q.department_id],
                    "overflow_queue": queues[q.overflow_queue_id].name
                    if q.overflow_queue_id in queues
                    else None,
                    "pooled_departments": [
                        departments[i] for i in q.pooled_department_ids if i in departments
                    ],
                }
                for q in queues.values()
            ],
            "wrapup_codes": [
                {"department": departments[c.department_id], "code": c.code, "label": c.label}
                for c in await self._all(WrapUpCode)
            ],
            "ivr_flows": flow_docs,
            "inbound_routes": [
                {
                    "did": r.did,
                    "trunk": trunks.get(r.trunk_id) if r.trunk_id else None,
                    "target_type": r.target_type,
                    "target": targets[r.target_type].get(r.target_id, str(r.target_id)),
                    "business_hours": hours.get(r.business_hours_id)
                    if r.business_hours_id
                    else None,
                    "closed_target_type": r.closed_target_type,
                    "closed_target": None
                    if r.closed_target_type in (None, "hangup") or r.closed_target_id is None
                    else targets[r.closed_target_type].get(
                        r.closed_target_id, str(r.closed_target_id)
                    ),
                    "department": departments.get(r.department_id) if r.department_id else None,
                }
                for r in await self._all(InboundRoute)
            ],
        }
        await self.audit.sensitive_read("config", {"export": "yaml"})
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)

    async def import_(self, document: ConfigDocument, *, dry_run: bool) -> ImportResult:
        self.require_permission()
        plan = _Plan(self.session)
        try:
            departments = {}
            for d in document.departments:
                departments[d.name] = await plan.upsert(
                    Department, "departments", {"name": d.name}, {}
                )
            for d in await self._all(Department):
                departments.setdefault(d.name, d)
            for sk in document.skills:
                await plan.upsert(Skill, "skills", {"name": sk.name}, {})
            trunks = {t.name: t for t in await self._all(Trunk)}
            for t in document.trunks:
                values = t.model_dump(mode="json")
                if values.get("password") is None:
                    values.pop("password", None)  # not in exports: keep the stored one
                trunks[t.name] = await plan.upsert(
                    Trunk, "trunks", {"name": values.pop("name")}, values
                )
            for g in document.trunk_groups:
                await plan.trunk_group(g, trunks)
            hours = {h.name: h for h in await self._all(BusinessHours)}
            for h in document.business_hours:
                values = h.model_dump(mode="json")
                hours[h.name] = await plan.upsert(
                    BusinessHours, "business_hours", {"name": values.pop("name")}, values
                )

            def department(name: str, where: str) -> int:
                if name not in departments:
                    raise InvalidError(f"{where}: unknown department {name!r}")
                return int(departments[name].id)

            queues = {q.name: q for q in await self._all(Queue)}
            for q in document.queues:
                where = f"queues/{q.name}"
                values = q.model_dump(
                    mode="json",
                    exclude={"name", "department", "overflow_queue", "pooled_departments"},
                )
                values["department_id"] = department(q.department, where)
                values["pooled_department_ids"] = [
                    department(name, where) for name in q.pooled_departments
                ]
                queues[q.name] = await plan.upsert(Queue, "queues", {"name": q.name}, values)
            for q in document.queues:  # overflow targets may come later in the document
                target = None
                if q.overflow_queue is not None:
                    if q.overflow_queue not in queues or q.overflow_queue == q.name:
                        raise InvalidError(
                            f"queues/{q.name}: unknown overflow queue {q.overflow_queue!r}"
                        )
                    target = queues[q.overflow_queue].id
                await plan.upsert(Queue, "queues", {"name": q.name}, {"overflow_queue_id": target})
            for c in document.wrapup_codes:
                dept = department(c.department, f"wrapup_codes/{c.code}")
                await plan.upsert(
                    WrapUpCode,
                    "wrapup_codes",
                    {"department_id": dept, "code": c.code},
                    {"label": c.label},
                    label=f"wrapup_codes/{c.department}/{c.code}",
                )
            flows = {f.name: f for f in await self._all(IvrFlow)}
            for f in document.ivr_flows:
                dept = department(f.department, f"ivr_flows/{f.name}")
                problems = check_flow(f.definition.model_dump(mode="json"))
                if problems:
                    raise InvalidError(
                        f"ivr_flows/{f.name}: "
                        + "; ".join(f"{p.location}: {p.message}" for p in problems)
                    )
                flows[f.name] = await plan.flow(
                    f.name, dept, f.definition.model_dump(mode="json"), self.principal.user_id
                )
                for pilot in f.pilots:
                    where = f"ivr_flows/{f.name}/pilots/{pilot.department}"
                    definition = pilot.definition.model_dump(mode="json")
                    problems = check_flow(definition)
                    if problems:
                        raise InvalidError(
                            f"{where}: " + "; ".join(f"{p.location}: {p.message}" for p in problems)
                        )
                    await plan.pilot(
                        flows[f.name],
                        department(pilot.department, where),
                        definition,
                        self.principal.user_id,
                        where,
                    )
            agents = {a.extension: a for a in await self._all(Agent)}
            targets: dict[str, dict[str, Any]] = {
                "queue": queues,
                "ivr_flow": flows,
                "agent": agents,
            }
            for r in document.inbound_routes:
                where = f"inbound_routes/{r.did}"
                target = targets[r.target_type].get(r.target)
                if target is None:
                    raise InvalidError(f"{where}: unknown {r.target_type} {r.target!r}")
                if r.trunk is not None and r.trunk not in trunks:
                    raise InvalidError(f"{where}: unknown trunk {r.trunk!r}")
                if r.business_hours is not None and r.business_hours not in hours:
                    raise InvalidError(f"{where}: unknown business hours {r.business_hours!r}")
                closed_id = None
                if r.closed_target_type not in (None, "hangup"):
                    closed = targets[r.closed_target_type].get(r.closed_target or "")
                    if closed is None:
                        raise InvalidError(
                            f"{where}: unknown {r.closed_target_type} {r.closed_target!r}"
                        )
                    closed_id = closed.id
                values = {
                    "trunk_id": trunks[r.trunk].id if r.trunk else None,
                    "target_type": r.target_type,
                    "target_id": target.id,
                    "business_hours_id": hours[r.business_hours].id if r.business_hours else None,
                    "closed_target_type": r.closed_target_type,
                    "closed_target_id": closed_id,
                    "department_id": department(r.department, where) if r.department else None,
                }
                await plan.upsert(InboundRoute, "inbound_routes", {"did": r.did}, values)
        except IntegrityError as error:
            await self.session.rollback()
            raise ConflictError(f"import conflicts with existing data: {error.orig}") from None
        except Exception:
            await self.session.rollback()
            raise
        result = ImportResult(
            dry_run=dry_run, created=plan.created, updated=plan.updated, unchanged=plan.unchanged
        )
        if dry_run:
            await self.session.rollback()
        else:
            await self.audit.record(
                "import", "config", detail={"created": plan.created, "updated": plan.updated}
            )
            await self.session.commit()
        return result


def _columns(row: Base, *names: str) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


class _Plan:
    """Upserts by natural key, recording what changed for the diff."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.created: list[str] = []
        self.updated: list[str] = []
        self.unchanged = 0

    async def upsert(
        self,
        model: type[Any],
        section: str,
        key: dict[str, Any],
        values: dict[str, Any],
        label: str | None = None,
    ) -> Any:
        label = label or f"{section}/{'/'.join(str(v) for v in key.values())}"
        found = await Repository(self.session, model).list(limit=1, **key)
        if not found:
            row = model(**key, **values)
            await Repository(self.session, model).add(row)
            self.created.append(label)
            return row
        row = found[0]
        changes = [
            f"{name}: {getattr(row, name)!r} -> {value!r}"
            for name, value in values.items()
            if _normal(getattr(row, name)) != _normal(value)
        ]
        if changes:
            for name, value in values.items():
                setattr(row, name, value)
            await self.session.flush()
            self.updated.append(f"{label} ({'; '.join(changes)})")
        else:
            self.unchanged += 1
        return row

    async def trunk_group(self, doc: TrunkGroupDoc, trunks: dict[str, Trunk]) -> None:
        """A group's columns like any row; its members (trunks by name, ordered) replace the
        stored ones when they differ, reported as one change."""
        where = f"trunk_groups/{doc.name}"
        unknown = [name for name in doc.trunks if name not in trunks]
        if unknown:
            raise InvalidError(f"{where}: unknown trunk {unknown[0]!r}")
        wanted = [trunks[name].id for name in doc.trunks]
        values = {"strategy": doc.strategy, "failover_on": list(doc.failover_on)}
        found = await Repository(self.session, TrunkGroup).list(limit=1, name=doc.name)
        if not found:
            members = [TrunkGroupMember(trunk_id=i, position=n) for n, i in enumerate(wanted)]
            group = TrunkGroup(name=doc.name, **values, members=members)
            await Repository(self.session, TrunkGroup).add(group)
            self.created.append(where)
            return
        group = found[0]
        before = self.updated[:]
        await self.upsert(TrunkGroup, "trunk_groups", {"name": doc.name}, values)
        if group.trunk_ids != wanted:
            names = {t.id: name for name, t in trunks.items()}
            change = f"trunks: {[names.get(i, i) for i in group.trunk_ids]!r} -> {doc.trunks!r}"
            group.members = [TrunkGroupMember(trunk_id=i, position=n) for n, i in enumerate(wanted)]
            await self.session.flush()
            if self.updated != before:  # the columns changed too: one line for the group
                self.updated[-1] = self.updated[-1][:-1] + f"; {change})"
            else:
                self.unchanged -= 1
                self.updated.append(f"{where} ({change})")

    async def pilot(
        self,
        flow: IvrFlow,
        department_id: int,
        definition: dict[str, Any],
        user_id: int,
        label: str,
    ) -> None:
        """A department's pilot of ``flow``: the version with this definition (a new,
        unpublished one when no version has it), never the published version."""
        versions = IvrFlowVersionRepository(self.session)
        history = await versions.versions(flow.id)
        same = [v for v in history if v.definition == definition]
        if any(v.version == flow.published_version for v in same):
            # The published definition: the department runs it anyway. A backup taken just
            # as a pilot was promoted must still restore, so this is no error.
            self.unchanged += 1
            return
        if same:
            number = same[-1].version
        else:
            number = (history[-1].version if history else 0) + 1
            await versions.add(
                IvrFlowVersion(
                    flow_id=flow.id, version=number, definition=definition, created_by=user_id
                )
            )
        pilots = IvrFlowPilotRepository(self.session)
        pilot = await pilots.find(flow.id, department_id)
        if pilot is None:
            await pilots.add(
                IvrFlowPilot(
                    flow_id=flow.id, department_id=department_id, version=number, started_by=user_id
                )
            )
            self.created.append(label)
        elif pilot.version != number:
            self.updated.append(f"{label} (version {pilot.version} -> {number})")
            pilot.version = number
            await self.session.flush()
        else:
            self.unchanged += 1

    async def flow(
        self, name: str, department_id: int, definition: dict[str, Any], user_id: int
    ) -> IvrFlow:
        flows = Repository(self.session, IvrFlow)
        versions = IvrFlowVersionRepository(self.session)
        found = await flows.list(limit=1, name=name)
        if not found:
            flow = await flows.add(IvrFlow(name=name, department_id=department_id))
            number = 0
            self.created.append(f"ivr_flows/{name}")
        else:
            flow = found[0]
            history = await versions.versions(flow.id)
            number = history[-1].version if history else 0
            current = next(
                (v for v in history if v.version == flow.published_version),
                history[-1] if history else None,
            )
            if current is not None and current.definition == definition:
                self.unchanged += 1
                return flow
            self.updated.append(f"ivr_flows/{name} (new version {number + 1})")
        await versions.add(
            IvrFlowVersion(
                flow_id=flow.id, version=number + 1, definition=definition, created_by=user_id
            )
        )
        flow.published_version = number + 1
        await self.session.flush()
        return flow


def _normal(value: Any) -> Any:
    # Enums and strings compare by value; lists and dicts by content.
    return getattr(value, "value", value)
