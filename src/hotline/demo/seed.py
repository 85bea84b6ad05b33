"""The demo's directory in the database: departments, skills, people, queues, trunk, route
and IVR flow, written once on the first start.

The rows are written from :mod:`hotline.demo.config`; from then on the database is the demo's
configuration, as in production: the live node builds its queues, agents, routes and flows
from it (:mod:`hotline.services.directory`), so what an admin changes in the console or the
API is what callers get. Users get random passwords, printed at start.
"""

from __future__ import annotations

import secrets
from importlib.resources import files
from typing import Any

import yaml
from sqlalchemy import func, select

from hotline.acd import ExitKind, QueueConfig
from hotline.api.security import Passwords
from hotline.demo.config import SURVEY_FLOW, demo_agents, demo_queues, demo_routes
from hotline.services.phone_accounts import phone_account
from hotline.store.database import Database
from hotline.store.models import (
    Agent,
    AgentQueue,
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


_EXIT_COLUMN = {ExitKind.BUSY: "busy", ExitKind.HANG_UP: "hang_up", ExitKind.OVERFLOW: "overflow"}


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
        rows = {queue.name: _queue_row(queue, departments, names[0]) for queue in queues}
        session.add_all(rows.values())
        await session.flush()
        for queue in queues:
            if queue.on_max_wait.kind is ExitKind.OVERFLOW:
                rows[queue.name].overflow_queue_id = rows[queue.on_max_wait.target].id
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
            agent_row = Agent(
                user_id=user.id,
                department_id=departments[agent.department].id,
                extension=agent.agent_id,
                skills=[
                    AgentSkill(skill_id=skills[name].id, level=level)
                    for name, level in sorted(agent.skills.items())
                ],
                queues=[
                    AgentQueue(queue_id=rows[name].id, priority=priority)
                    for name, priority in sorted(agent.queues.items())
                ],
            )
            session.add(agent_row)
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
        trunk = Trunk(name="local", host="127.0.0.1", max_channels=50)
        session.add(trunk)
        flows: dict[str, IvrFlow] = {}
        for document in ("flow.yaml", "survey.yaml"):  # the menu, and the rating after calls
            source = files("hotline.demo").joinpath(document).read_text(encoding="utf-8")
            definition: dict[str, Any] = yaml.safe_load(source)
            flow = IvrFlow(
                name=definition["name"],
                department_id=departments["after-sales"].id,
                published_version=int(definition["version"]),
            )
            session.add(flow)
            await session.flush()
            session.add(
                IvrFlowVersion(
                    flow_id=flow.id,
                    version=int(definition["version"]),
                    definition=definition,
                    source=source,
                )
            )
            flows[flow.name] = flow
        agent_ids = {a.extension: a.id for a in await session.scalars(select(Agent))}
        targets = {
            "flow": ("ivr_flow", {name: row.id for name, row in flows.items()}),
            "queue": ("queue", {name: row.id for name, row in rows.items()}),
            "user": ("agent", agent_ids),
        }
        for route in demo_routes():
            target_type, ids = targets[route.destination.type]
            session.add(
                InboundRoute(
                    did=route.did,
                    trunk_id=trunk.id if route.trunk == trunk.name else None,
                    target_type=target_type,
                    target_id=ids[route.destination.target],
                    department_id=departments[route.department].id if route.department else None,
                )
            )
        await session.commit()
    return created


async def seed_demo_phone_accounts(
    database: Database, agent_passwords: dict[str, str], realm: str
) -> int:
    """Give the demo agents that have no phone account one from the demo's passwords file
    (which stays the source of the passwords the demo prints), as HA1s in ``realm``; an
    account set since (the admin console, the API) is kept. Returns how many were set."""
    changed = 0
    async with database.session() as session:
        for agent in await session.scalars(select(Agent).order_by(Agent.id)):
            password = agent_passwords.get(agent.extension)
            if password is None or agent.sip_ha1_md5:
                continue
            for column, value in phone_account(agent.extension, realm, password).items():
                setattr(agent, column, value)
            changed += 1
        await session.commit()
    return changed


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


def _queue_row(queue: QueueConfig, departments: dict[str, Department], fallback: str) -> Queue:
    """The row that :mod:`hotline.services.directory` turns back into ``queue``."""
    return Queue(
        name=queue.name,
        department_id=departments[queue.department or fallback].id,
        strategy=queue.strategy,
        service_level_seconds=int(queue.service_level_seconds),
        max_wait_seconds=None if queue.max_wait is None else int(queue.max_wait),
        required_skills=[
            {"skill": need.skill, "level": need.min_level} for need in queue.required_skills
        ],
        ring_timeout_seconds=int(queue.ring_timeout),
        wrap_up_seconds=int(queue.wrap_up_seconds),
        announce_every_seconds=None if queue.announce_every is None else int(queue.announce_every),
        max_length=queue.max_length,
        on_max_wait=_EXIT_COLUMN[queue.on_max_wait.kind],
        tiers=[
            {
                "after_seconds": int(tier.after_seconds),
                "max_member_priority": tier.max_member_priority,
                "relax_levels": tier.relax_levels,
                "include_pooled": tier.include_pooled,
            }
            for tier in queue.tiers
        ],
        pooled_department_ids=sorted(departments[d].id for d in queue.pooled_departments),
        recording="always",
        survey_flow=SURVEY_FLOW,
    )
