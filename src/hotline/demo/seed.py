"""The demo's directory in the database: departments, skills, people, queues, trunk, route
and IVR flow, written once on the first start.

The live ACD and router of a demo node are built from :mod:`hotline.demo.config`; these rows
mirror them so that everything keyed by database ids works as in production: CDRs and the
queue log name their department, queue and agent, agents log in to the API as themselves,
and a supervisor sees only their departments. Users get random passwords, printed at start.
"""

from __future__ import annotations

import secrets
from importlib.resources import files
from typing import Any

import yaml
from sqlalchemy import func, select

from hotline.api.security import Passwords
from hotline.demo.config import HOTLINE_NUMBER, demo_agents, demo_queues
from hotline.store.database import Database
from hotline.store.models import (
    Agent,
    AgentSkill,
    Customer,
    Department,
    InboundRoute,
    IvrFlow,
    IvrFlowVersion,
    Queue,
    Role,
    Skill,
    Trunk,
    User,
    WrapUpCode,
)

#: Web users besides the agents (the admin is created by the API's own demo bootstrap).
DEMO_STAFF = (
    ("supervisor", Role.SUPERVISOR, "after-sales"),
    ("qa", Role.QA, None),
)


#: The API's queue strategies are coarser than the ACD's (issue 7 will align them); the live
#: demo ACD keeps its own, richer configuration from ``demo.config``.
_API_STRATEGY = {
    "longest-idle": "longest_idle",
    "skills-best-match": "skills_based",
    "ring-all": "ring_all",
    "linear": "round_robin",
}


async def seed_demo_directory(
    database: Database, agent_passwords: dict[str, str], passwords: Passwords | None = None
) -> dict[str, str]:
    """Write the demo directory into an empty database; returns the staff users created
    with their passwords (agents log in as their extension with their phone password).
    Does nothing on a database that already has departments."""
    passwords = passwords or Passwords()
    created: dict[str, str] = {}
    async with database.session() as session:
        if await session.scalar(select(func.count()).select_from(Department)):
            return created
        queues = demo_queues()
        agents = demo_agents()
        names = sorted(
            {q.department for q in queues if q.department} | {a.department for a in agents}
        )
        departments = {name: Department(name=name) for name in names}
        session.add_all(departments.values())
        skill_names = sorted({skill for agent in agents for skill in agent.skills})
        skills = {name: Skill(name=name) for name in skill_names}
        session.add_all(skills.values())
        await session.flush()
        for agent in agents:
            user = User(
                username=agent.agent_id,
                display_name=f"Agent {agent.agent_id}",
                password_hash=passwords.hash(agent_passwords[agent.agent_id]),
                role=Role.AGENT,
                department_id=departments[agent.department].id,
            )
            session.add(user)
            await session.flush()
            session.add(
                Agent(
                    user_id=user.id,
                    department_id=departments[agent.department].id,
                    extension=agent.agent_id,
                    skills=[
                        AgentSkill(skill_id=skills[name].id, level=level)
                        for name, level in sorted(agent.skills.items())
                    ],
                )
            )
        for username, role, department in DEMO_STAFF:
            password = secrets.token_urlsafe(9)
            session.add(
                User(
                    username=username,
                    display_name=username.capitalize(),
                    password_hash=passwords.hash(password),
                    role=role,
                    department_id=departments[department].id if department else None,
                )
            )
            created[username] = password
        for queue in queues:
            session.add(
                Queue(
                    name=queue.name,
                    department_id=departments[queue.department or names[0]].id,
                    strategy=_API_STRATEGY.get(queue.strategy, "longest_idle"),
                    service_level_seconds=int(queue.service_level_seconds),
                    max_wait_seconds=int(queue.max_wait or 600),
                    required_skills=[need.skill for need in queue.required_skills],
                )
            )
        trunk = Trunk(name="local", host="127.0.0.1", max_channels=50)
        definition: dict[str, Any] = yaml.safe_load(
            files("hotline.demo").joinpath("flow.yaml").read_text(encoding="utf-8")
        )
        flow = IvrFlow(
            name=definition["name"],
            department_id=departments["after-sales"].id,
            published_version=int(definition["version"]),
        )
        session.add_all([trunk, flow])
        await session.flush()
        session.add(
            IvrFlowVersion(
                flow_id=flow.id, version=int(definition["version"]), definition=definition
            )
        )
        session.add(
            InboundRoute(
                did=HOTLINE_NUMBER, trunk_id=trunk.id, target_type="ivr_flow", target_id=flow.id
            )
        )
        await session.commit()
    return created


#: Wrap-up codes of every demo department: (code, label). Labels are data, shown as they
#: are in both languages of the consoles, hence both words.
DEMO_WRAPUP_CODES = (
    ("resolved", "已解决 · Resolved"),
    ("follow-up", "需回访 · Follow-up needed"),
    ("order", "订单咨询 · Order enquiry"),
    ("complaint", "投诉 · Complaint"),
)

#: A customer in the CRM cache, so that a call from SIPp's or the README's test number
#: shows a screen pop with a profile.
DEMO_CUSTOMERS = (
    {
        "phone": "+8613800138000",
        "name": "张伟 (Zhang Wei)",
        "email": "zhang.wei@example.com",
        "external_id": "C-100042",
        "data": {"tier": "gold", "city": "上海"},
    },
)


async def seed_demo_desk(database: Database) -> None:
    """Wrap-up codes and a customer for the agent desktop, once (also into a demo database
    made before they existed)."""
    async with database.session() as session:
        if await session.scalar(select(func.count()).select_from(WrapUpCode)):
            return
        departments = (await session.scalars(select(Department))).all()
        for department in departments:
            for code, label in DEMO_WRAPUP_CODES:
                session.add(WrapUpCode(department_id=department.id, code=code, label=label))
        for customer in DEMO_CUSTOMERS:
            exists = await session.scalar(
                select(func.count())
                .select_from(Customer)
                .where(Customer.phone == customer["phone"])
            )
            if not exists:
                session.add(Customer(**customer))
        await session.commit()
