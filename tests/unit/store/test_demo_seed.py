"""The demo's directory rows mirror its live configuration, once."""

from __future__ import annotations

from sqlalchemy import func, select

from hotline.api.security import Passwords
from hotline.demo.config import demo_agents, demo_queues
from hotline.demo.seed import seed_demo_directory, seed_demo_phone_accounts
from hotline.services.directory.loader import load_directory
from hotline.sip.auth import make_ha1s
from hotline.store.database import Database
from hotline.store.models import Agent, Department, InboundRoute, IvrFlow, Queue, Role, User


async def test_seed_writes_the_demo_directory_once(database: Database) -> None:
    passwords = Passwords()
    phone = {agent.agent_id: f"pw-{agent.agent_id}" for agent in demo_agents()}
    staff = await seed_demo_directory(database, phone, passwords)
    assert sorted(staff) == ["qa", "supervisor"]
    assert await seed_demo_directory(database, phone, passwords) == {}  # second start
    async with database.session() as session:
        names = set(await session.scalars(select(Department.name)))
        assert names == {"after-sales", "sales"}
        agent = await session.scalar(select(Agent).where(Agent.extension == "1002"))
        assert agent is not None
        user = await session.get(User, agent.user_id)
        assert user is not None
        assert user.username == "1002"
        assert user.role is Role.AGENT
        assert passwords.verify(user.password_hash, "pw-1002")
        department = await session.get(Department, agent.department_id)
        assert department is not None
        assert department.name == "after-sales"
        queues = set(await session.scalars(select(Queue.name)))
        assert queues == {q.name for q in demo_queues()}
        assert await session.scalar(select(func.count()).select_from(Agent)) == 6
        route = await session.scalar(select(InboundRoute).where(InboundRoute.did == "4000"))
        assert route is not None
        flow = await session.get(IvrFlow, route.target_id)
        assert flow is not None
        assert (flow.name, flow.published_version) == ("demo-hotline", 1)


async def test_the_demo_agents_phone_accounts_are_seeded_once_and_then_kept(
    database: Database,
) -> None:
    phone = {agent.agent_id: f"pw-{agent.agent_id}" for agent in demo_agents()}
    await seed_demo_directory(database, phone, Passwords())
    assert await seed_demo_phone_accounts(database, phone, "hotline") == 6
    async with database.session() as session:
        agent = await session.scalar(select(Agent).where(Agent.extension == "1002"))
        assert agent is not None
        ha1s = make_ha1s("1002", "hotline", "pw-1002")
        assert (agent.sip_realm, agent.sip_ha1_md5, agent.sip_ha1_sha256) == (
            "hotline",
            ha1s["MD5"],
            ha1s["SHA-256"],
        )
        agent.sip_ha1_md5 = make_ha1s("1002", "hotline", "set-by-the-admin")["MD5"]
        await session.commit()
    # The next start fills only what is missing: the admin's change stays.
    assert await seed_demo_phone_accounts(database, phone, "hotline") == 0
    directory = await load_directory(database)
    assert sorted(directory.accounts) == sorted(phone)
    assert (
        directory.accounts["1002"]["MD5"] == make_ha1s("1002", "hotline", "set-by-the-admin")["MD5"]
    )
