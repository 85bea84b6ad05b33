"""Import: a backup document applied to the store section by section, each name in it
resolved to the row it means, through an :class:`ImportPlan` that records the diff.

Sections go in the order their references need (departments before the queues in them,
trunks before their groups, queues and flows before the routes to them); a queue's overflow
target is set in a second pass, so it may come later in the document. A name that resolves
to nothing, or an IVR definition with problems, is an :class:`InvalidError` naming where in
the document it is. The transaction (commit, dry-run rollback) is the service's.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.services.backup_document import ConfigDocument
from hotline.api.services.backup_store import ImportPlan, all_rows
from hotline.api.services.errors import InvalidError
from hotline.ivr.problems import check_flow
from hotline.store.models import (
    Agent,
    BusinessHours,
    Department,
    InboundRoute,
    IvrFlow,
    Queue,
    Skill,
    Trunk,
    WrapUpCode,
)


async def import_document(
    session: AsyncSession, document: ConfigDocument, user_id: int
) -> ImportPlan:
    """Create and update what ``document`` says, as ``user_id``; nothing is committed."""
    plan = ImportPlan(session)
    departments = {}
    for d in document.departments:
        departments[d.name] = await plan.upsert(Department, "departments", {"name": d.name}, {})
    for d in await all_rows(session, Department):
        departments.setdefault(d.name, d)
    for sk in document.skills:
        await plan.upsert(Skill, "skills", {"name": sk.name}, {})
    trunks = {t.name: t for t in await all_rows(session, Trunk)}
    for t in document.trunks:
        values = t.model_dump(mode="json")
        if values.get("password") is None:
            values.pop("password", None)  # not in exports: keep the stored one
        trunks[t.name] = await plan.upsert(Trunk, "trunks", {"name": values.pop("name")}, values)
    for g in document.trunk_groups:
        await plan.trunk_group(g, trunks)
    hours = {h.name: h for h in await all_rows(session, BusinessHours)}
    for h in document.business_hours:
        values = h.model_dump(mode="json")
        hours[h.name] = await plan.upsert(
            BusinessHours, "business_hours", {"name": values.pop("name")}, values
        )

    def department(name: str, where: str) -> int:
        if name not in departments:
            raise InvalidError(f"{where}: unknown department {name!r}")
        return int(departments[name].id)

    queues = {q.name: q for q in await all_rows(session, Queue)}
    for q in document.queues:
        where = f"queues/{q.name}"
        values = q.model_dump(
            mode="json",
            exclude={"name", "department", "overflow_queue", "pooled_departments"},
        )
        values["department_id"] = department(q.department, where)
        values["pooled_department_ids"] = [department(name, where) for name in q.pooled_departments]
        queues[q.name] = await plan.upsert(Queue, "queues", {"name": q.name}, values)
    for q in document.queues:  # overflow targets may come later in the document
        target = None
        if q.overflow_queue is not None:
            if q.overflow_queue not in queues or q.overflow_queue == q.name:
                raise InvalidError(f"queues/{q.name}: unknown overflow queue {q.overflow_queue!r}")
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
    flows = {f.name: f for f in await all_rows(session, IvrFlow)}
    for f in document.ivr_flows:
        dept = department(f.department, f"ivr_flows/{f.name}")
        problems = check_flow(f.definition.model_dump(mode="json"))
        if problems:
            raise InvalidError(
                f"ivr_flows/{f.name}: " + "; ".join(f"{p.location}: {p.message}" for p in problems)
            )
        flows[f.name] = await plan.flow(f.name, dept, f.definition.model_dump(mode="json"), user_id)
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
                user_id,
                where,
            )
    agents = {a.extension: a for a in await all_rows(session, Agent)}
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
                raise InvalidError(f"{where}: unknown {r.closed_target_type} {r.closed_target!r}")
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
    return plan
