"""The demo's directory rows mirror its live configuration, once."""

from __future__ import annotations

from sqlalchemy import func, select

from hotline.api.security import Passwords
from hotline.demo.config import demo_agents, demo_queues
from hotline.demo.seed import seed_demo_directory
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
