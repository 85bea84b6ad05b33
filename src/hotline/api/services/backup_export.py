"""Export: the stored configuration as a backup document, each reference turned from a
database id into the name the document uses (``backup_document`` says which).

A flow is exported with its published definition (its last version when none is published)
and the definition of each department's pilot; a trunk's password stays out (an import
keeps the stored one). Reading only: the service audits the export and writes the YAML.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.services.backup_document import FORMAT_VERSION
from hotline.api.services.backup_store import all_rows
from hotline.store.models import (
    Agent,
    Base,
    BusinessHours,
    Department,
    InboundRoute,
    IvrFlow,
    Queue,
    Skill,
    Trunk,
    TrunkGroup,
    WrapUpCode,
)
from hotline.store.repositories import IvrFlowPilotRepository, IvrFlowVersionRepository

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
    "qa_language",
)


async def export_document(session: AsyncSession) -> dict[str, Any]:
    """The whole configuration as a document's plain data (names, not ids)."""
    departments = {d.id: d.name for d in await all_rows(session, Department)}
    trunks = {t.id: t.name for t in await all_rows(session, Trunk)}
    hours = {h.id: h.name for h in await all_rows(session, BusinessHours)}
    queues = {q.id: q for q in await all_rows(session, Queue)}
    flows = {f.id: f for f in await all_rows(session, IvrFlow)}
    agents = {a.id: a.extension for a in await all_rows(session, Agent)}
    versions = IvrFlowVersionRepository(session)
    pilots = IvrFlowPilotRepository(session)
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
        "skills": [{"name": skill.name} for skill in await all_rows(session, Skill)],
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
            for t in await all_rows(session, Trunk)
        ],
        "trunk_groups": [
            {
                "name": g.name,
                "strategy": g.strategy,
                "trunks": [trunks[i] for i in g.trunk_ids if i in trunks],
                "failover_on": list(g.failover_on),
            }
            for g in await all_rows(session, TrunkGroup)
        ],
        "business_hours": [
            _columns(h, "name", "timezone", "weekly", "holidays")
            for h in await all_rows(session, BusinessHours)
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
            for c in await all_rows(session, WrapUpCode)
        ],
        "ivr_flows": flow_docs,
        "inbound_routes": [
            {
                "did": r.did,
                "trunk": trunks.get(r.trunk_id) if r.trunk_id else None,
                "target_type": r.target_type,
                "target": targets[r.target_type].get(r.target_id, str(r.target_id)),
                "business_hours": hours.get(r.business_hours_id) if r.business_hours_id else None,
                "closed_target_type": r.closed_target_type,
                "closed_target": None
                if r.closed_target_type in (None, "hangup") or r.closed_target_id is None
                else targets[r.closed_target_type].get(r.closed_target_id, str(r.closed_target_id)),
                "department": departments.get(r.department_id) if r.department_id else None,
            }
            for r in await all_rows(session, InboundRoute)
        ],
    }
    return document


def _columns(row: Base, *names: str) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}
