"""What the admin console's selects offer (departments, skills, queues, targets, fixed
lists of values), each read through the API's own services, so that a select lists only
what the user may see.

A section's input names its list by key (``Input(..., choices="departments")``); this
module maps every key to the function that builds it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import BaseModel

from hotline.api.schemas.agents import AgentRead
from hotline.api.schemas.business_hours import BusinessHoursRead
from hotline.api.schemas.departments import DepartmentRead
from hotline.api.schemas.queues import QueueRead, Strategy
from hotline.api.schemas.skills import SkillRead
from hotline.api.schemas.trunk_groups import TrunkGroupRead
from hotline.api.schemas.trunks import TrunkRead
from hotline.api.schemas.users import UserRead
from hotline.api.services import resources as r
from hotline.api.services.config import ConfigService, Resource
from hotline.api.services.ivr import IvrService
from hotline.store.models import Role
from hotline.web.admin_forms import Choice
from hotline.web.pages import Page
from hotline.web.routes.admin import LIST_LIMIT


async def _listed(page: Page, resource: Resource[Any], read: type[BaseModel]) -> list[Any]:
    service = ConfigService(
        page.session, page.user, resource, page.context.passwords, page.context.bus
    )
    return [read.model_validate(row) for row in await service.list(limit=LIST_LIMIT, offset=0)]


async def _departments(page: Page) -> list[Choice]:
    scope = page.user.departments
    rows = await _listed(page, r.DEPARTMENTS, DepartmentRead)
    return [Choice(str(d.id), d.name) for d in rows if scope is None or d.id in scope]


async def _skills(page: Page) -> list[Choice]:
    return [Choice(str(x.id), x.name) for x in await _listed(page, r.SKILLS, SkillRead)]


async def _skill_names(page: Page) -> list[Choice]:
    return [Choice(x.name, x.name) for x in await _listed(page, r.SKILLS, SkillRead)]


async def _queues(page: Page) -> list[Choice]:
    return [Choice(str(q.id), q.name) for q in await _listed(page, r.QUEUES, QueueRead)]


async def _flow_names(page: Page) -> list[Choice]:
    flows = await IvrService(page.session, page.user).list(limit=LIST_LIMIT, offset=0)
    return [Choice(f.name, f.name) for f, _ in flows]


async def _users(page: Page) -> list[Choice]:
    rows = await _listed(page, r.USERS, UserRead)
    return [Choice(str(u.id), u.username) for u in rows]


async def _trunks(page: Page) -> list[Choice]:
    return [Choice(str(x.id), x.name) for x in await _listed(page, r.TRUNKS, TrunkRead)]


async def _trunk_group_names(page: Page) -> list[Choice]:
    rows = await _listed(page, r.TRUNK_GROUPS, TrunkGroupRead)
    return [Choice(x.name, x.name) for x in rows]


async def _business_hours(page: Page) -> list[Choice]:
    rows = await _listed(page, r.BUSINESS_HOURS, BusinessHoursRead)
    return [Choice(str(x.id), x.name) for x in rows]


async def _targets(page: Page) -> list[Choice]:
    queues = await _listed(page, r.QUEUES, QueueRead)
    agents = await _listed(page, r.AGENTS, AgentRead)
    flows = await IvrService(page.session, page.user).list(limit=LIST_LIMIT, offset=0)
    queue_word, flow_word, agent_word = (
        page.t("admin.target.queue"),
        page.t("admin.target.ivr_flow"),
        page.t("admin.target.agent"),
    )
    return (
        [Choice(f"queue:{q.id}", f"{queue_word} · {q.name}") for q in queues]
        + [Choice(f"ivr_flow:{f.id}", f"{flow_word} · {f.name}") for f, _ in flows]
        + [Choice(f"agent:{a.id}", f"{agent_word} · {a.extension}") for a in agents]
    )


def _fixed(prefix: str, values: list[str]) -> Callable[[Page], Awaitable[list[Choice]]]:
    async def choices(page: Page) -> list[Choice]:
        return [Choice(v, page.t(f"{prefix}.{v}")) for v in values]

    return choices


CHOICES: Mapping[str, Callable[[Page], Awaitable[list[Choice]]]] = {
    "departments": _departments,
    "skills": _skills,
    "skill_names": _skill_names,
    "users": _users,
    "trunks": _trunks,
    "trunk_group_names": _trunk_group_names,
    "business_hours": _business_hours,
    "targets": _targets,
    "queues": _queues,
    "flow_names": _flow_names,
    "max_wait_actions": _fixed("admin.on_max_wait", ["busy", "hang_up", "overflow"]),
    "recording_modes": _fixed("admin.recording", ["always", "on_demand", "never"]),
    "qa_languages": _fixed("admin.qa_language", ["zh", "en"]),
    "queue_strategies": _fixed("admin.strategy", [x.value for x in Strategy]),
    "trunk_strategies": _fixed(
        "admin.trunk_strategy", ["priority", "weighted_round_robin", "least_used"]
    ),
    "transports": _fixed("admin.transport", ["udp", "tcp", "tls"]),
    "dial_formats": _fixed("admin.dial_format", ["national", "e164", "international"]),
    "roles": _fixed("role", [role.value for role in Role]),
    "campaign_modes": _fixed("campaign.mode", ["preview", "progressive", "predictive", "robot"]),
    "machine_actions": _fixed("campaign.machine_action", ["hangup", "message"]),
}
