"""An API over a real, migrated database (SQLite, and PostgreSQL when reachable), driven
through httpx, with one logged-in client per role and two departments of data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher

from hotline.api.app import create_api
from hotline.api.context import ApiContext
from hotline.api.security import Passwords
from hotline.events.bus import EventBus
from hotline.store.database import Database
from hotline.store.models import (
    Agent,
    Cdr,
    Department,
    Queue,
    Recording,
    Role,
    Skill,
    Trunk,
    User,
    WrapUpCode,
)
from tests.unit.store.conftest import database, database_url, postgres_url  # noqa: F401

PASSWORD = "correct horse battery"
# argon2 at its cheapest: the tests check behaviour, not the cost of a hash.
AUDIO = b"RIFF" + bytes(range(256)) * 4  # stands in for a WAV file
FAST_PASSWORDS = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
SECRET = "test-secret-key-for-sessions-0123456789"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    """Two departments, A and B, with a user of every role (supervisor and agent in A,
    a second supervisor and agent in B), queues, agents, codes and CDRs in each."""

    context: ApiContext
    app: object
    ids: dict[str, int] = field(default_factory=dict)
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),  # type: ignore[arg-type]
            base_url="http://testserver",
        )

    async def login(self, username: str) -> httpx.AsyncClient:
        client = self.client()
        response = await client.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200, response.text
        return client


USERS = {
    "admin": (Role.ADMIN, None),
    "supervisor": (Role.SUPERVISOR, "A"),
    "agent": (Role.AGENT, "A"),
    "qa": (Role.QA, None),
    "auditor": (Role.AUDITOR, None),
    "supervisor_b": (Role.SUPERVISOR, "B"),
    "agent_b": (Role.AGENT, "B"),
}


async def seed(db: Database, passwords: Passwords) -> dict[str, int]:
    ids: dict[str, int] = {}
    password_hash = passwords.hash(PASSWORD)
    start = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
    async with db.session() as session:
        for name in ("A", "B"):
            department = Department(name=f"department {name}")
            session.add(department)
            await session.flush()
            ids[f"dept_{name}"] = department.id
        for username, (role, dept) in USERS.items():
            user = User(
                username=username,
                display_name=username,
                password_hash=password_hash,
                role=role,
                department_id=ids[f"dept_{dept}"] if dept else None,
            )
            session.add(user)
            await session.flush()
            ids[f"user_{username}"] = user.id
        skill = Skill(name="mandarin")
        trunk = Trunk(name="carrier", host="192.0.2.1")
        session.add_all([skill, trunk])
        await session.flush()
        ids["skill"] = skill.id
        ids["trunk"] = trunk.id
        for name, username in (("A", "agent"), ("B", "agent_b")):
            dept_id = ids[f"dept_{name}"]
            queue = Queue(name=f"queue {name}", department_id=dept_id)
            agent = Agent(
                user_id=ids[f"user_{username}"],
                department_id=dept_id,
                extension=f"10{name == 'B':d}",
            )
            code = WrapUpCode(department_id=dept_id, code="sale", label="Sale")
            session.add_all([queue, agent, code])
            await session.flush()
            ids[f"queue_{name}"] = queue.id
            ids[f"agent_{name}"] = agent.id
            ids[f"code_{name}"] = code.id
            recording = Recording(
                call_id=f"call-{name}-0",
                department_id=dept_id,
                path=f"{name}/call-{name}-0.wav",
                started_at=start,
                duration_seconds=165,
                size_bytes=len(AUDIO),
            )
            session.add(recording)
            await session.flush()
            ids[f"recording_{name}"] = recording.id
            for n in range(3):
                session.add(
                    Cdr(
                        call_id=f"call-{name}-{n}",
                        direction="in",
                        caller=f"+86138000000{n}",
                        callee="400800",
                        department_id=dept_id,
                        queue_id=queue.id,
                        agent_id=agent.id if n < 2 else None,
                        started_at=start + timedelta(minutes=10 * n),
                        answered_at=start + timedelta(minutes=10 * n, seconds=15),
                        ended_at=start + timedelta(minutes=10 * n + 3),
                        wait_seconds=15,
                        talk_seconds=165,
                        disposition="answered" if n < 2 else "abandoned",
                    )
                )
        await session.commit()
    return ids


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def world(
    database: Database,  # noqa: F811
    clock: FakeClock,
    tmp_path: Path,
) -> AsyncIterator[World]:
    recordings = tmp_path / "recordings"
    for name in ("A", "B"):
        (recordings / name).mkdir(parents=True)
        (recordings / name / f"call-{name}-0.wav").write_bytes(AUDIO)
    context = ApiContext(
        node_name="test-node",
        database=database,
        bus=EventBus(),
        secret_key=SECRET,
        login_attempts_per_minute=3,
        clock=clock,
        passwords=FAST_PASSWORDS,
        recordings_dir=recordings,
    )
    world = World(context=context, app=create_api(context))
    world.ids = await seed(database, FAST_PASSWORDS)
    try:
        yield world
    finally:
        for client in world.clients.values():
            await client.aclose()


@pytest.fixture
async def clients(world: World) -> dict[str, httpx.AsyncClient]:
    for username in USERS:
        world.clients[username] = await world.login(username)
    anonymous = world.client()
    world.clients["anonymous"] = anonymous
    return world.clients
