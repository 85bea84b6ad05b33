"""The call history writer against a real database: a demo call's CDR, queue log and
recording; duplicates, unknown names, a database that fails for a while."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.security import Passwords
from hotline.calls.events import CallEnded, CallStarted, RecordingSaved
from hotline.demo.config import demo_agents, demo_contact_center
from hotline.demo.seed import seed_demo_directory
from hotline.events import Event
from hotline.events.bus import EventBus
from hotline.services.call_history import CallHistoryWriter
from hotline.store.database import Database
from hotline.store.models import Agent, Cdr, Queue, QueueLogEntry, Recording

FAST = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


async def seeded(database: Database) -> None:
    passwords = {agent.agent_id: f"pw-{agent.agent_id}" for agent in demo_agents()}
    await seed_demo_directory(database, passwords, FAST)


def demo_call() -> list[Event]:
    """A demo call: 1002 logs in, a caller goes through the IVR into after-sales, talks for
    66 s, hangs up; 1002 wraps up."""
    cc = demo_contact_center()
    events: list[object] = []
    events += cc.agent_login(0, "1002")
    events += cc.agent_ready(1, "1002")
    events += cc.inbound_call(
        10, call_id="c1", leg_id="c1-in", caller="13800138000", callee="4000", trunk="local"
    )
    events += cc.ivr_started(10, "c1", "demo-hotline", 1)
    events += cc.ivr_enqueue(30, "c1", "after-sales")
    events += cc.leg_answered(34, "c1", "c1-a1")
    events += cc.leg_hung_up(100, "c1", "c1-in")
    events += cc.handle_timer(110)
    return [e for e in events if isinstance(e, Event)]


def recording_saved() -> RecordingSaved:
    return RecordingSaved(
        at=101,
        call_id="c1",
        recording_id="c1-r1",
        path="2026/11/24/c1-r1.wav",
        started_at=34,
        duration_seconds=66,
        size_bytes=1_056_044,
        sha256="0" * 64,
        department="after-sales",
    )


async def test_a_demo_call_becomes_a_cdr_queue_log_and_recording(database: Database) -> None:
    await seeded(database)
    writer = CallHistoryWriter(database, EventBus())
    for event in [*demo_call(), recording_saved()]:
        writer.accept(event)
    await writer.flush()
    assert writer.pending == 0
    async with database.session() as session:
        (cdr,) = await session.scalars(select(Cdr))
        agent = await session.scalar(select(Agent).where(Agent.extension == "1002"))
        queue = await session.scalar(select(Queue).where(Queue.name == "after-sales"))
        assert agent is not None
        assert queue is not None
        assert (cdr.call_id, cdr.disposition, cdr.agent_id, cdr.queue_id) == (
            "c1",
            "handled",
            agent.id,
            queue.id,
        )
        assert (cdr.wait_seconds, cdr.talk_seconds) == (4, 66)
        assert cdr.department_id == agent.department_id
        assert cdr.details is not None
        assert cdr.details["recording_ids"] == ["c1-r1"]
        assert cdr.details["ivr_flow"] == "demo-hotline"
        assert cdr.details["hangup_side"] == "customer"
        log = list(await session.scalars(select(QueueLogEntry).order_by(QueueLogEntry.id)))
        verbs = [(row.event, row.data.get("state")) for row in log]
        assert ("queued", None) in verbs
        assert ("offered", None) in verbs
        assert ("connected", None) in verbs
        assert ("completed", None) in verbs
        assert ("agent_state", "wrap_up") in verbs
        assert verbs[-1] == ("agent_state", "available")  # wrap-up over
        connected = next(row for row in log if row.event == "connected")
        assert (connected.call_id, connected.agent_id, connected.queue_id) == (
            "c1",
            agent.id,
            queue.id,
        )
        (recording,) = await session.scalars(select(Recording))
        assert (recording.call_id, recording.path) == ("c1", "2026/11/24/c1-r1.wav")
        assert recording.department_id == cdr.department_id


async def test_a_repeated_end_and_unknown_names_never_lose_or_double_a_cdr(
    database: Database,
) -> None:
    writer = CallHistoryWriter(database, EventBus())  # an empty directory: no names resolve
    for event in demo_call():
        writer.accept(event)
    await writer.flush()
    writer.accept(CallStarted(at=200, call_id="c1", direction="inbound", caller="1", callee="2"))
    writer.accept(CallEnded(at=201, call_id="c1", side="customer", cause="again"))
    writer.accept(CallEnded(at=300, call_id="orphan", side="system", cause="no start"))
    await writer.flush()
    async with database.session() as session:
        rows = {row.call_id: row for row in await session.scalars(select(Cdr))}
    assert sorted(rows) == ["c1", "orphan"]
    assert rows["c1"].agent_id is None  # 1002 is not in this directory: kept without it
    assert rows["c1"].disposition == "handled"  # the first record stands
    assert rows["orphan"].disposition == "unanswered"


class FlakyDatabase(Database):
    """Refuses the first ``failures`` sessions, as a database restarting would."""

    def __init__(self, url: str, failures: int) -> None:
        super().__init__(url)
        self.failures = failures

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        if self.failures > 0:
            self.failures -= 1
            raise OperationalError("connect", {}, ConnectionRefusedError("database restarting"))
        async with super().session() as session:
            yield session


async def test_a_database_outage_delays_the_history_but_loses_none(
    database: Database, database_url: str
) -> None:
    flaky = FlakyDatabase(database_url, failures=2)
    bus = EventBus()
    writer = CallHistoryWriter(flaky, bus)
    writer.start()
    try:
        for event in demo_call():
            bus.publish(event)
        for _ in range(100):
            await asyncio.sleep(0.1)
            if flaky.failures == 0 and writer.pending == 0:
                break
    finally:
        await writer.stop()
        await flaky.close()
    assert writer.pending == 0
    async with database.session() as session:
        assert [row.call_id for row in await session.scalars(select(Cdr))] == ["c1"]
        assert len(list(await session.scalars(select(QueueLogEntry)))) > 5
