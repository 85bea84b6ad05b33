"""Call history: CDRs, the queue log and recordings' metadata, written from the event bus.

Nothing on a call's path waits for the database: call control publishes events and this
writer, a bus subscriber with a queue of its own, turns them into rows in batches. A call's
events are kept until its ``CallEnded``, then folded into one CDR (``calls.cdr.build_cdr``);
ACD events become queue-log rows at once; ``RecordingSaved`` becomes a recordings row (it
may come after the CDR: a file is closed and hashed after the call ends).

Names become ids here (department and queue by name, agent by extension); a name without a
row (an agent configured in code but not in the directory) is stored as NULL and logged,
never a reason to lose the record. Durability: a failed write is logged and retried with
backoff (1 s doubling to 30 s) while new events keep queueing; the CDR table's unique
``call_id`` makes a retry after an ambiguous failure harmless. Memory is bounded: at most
``max_pending`` rows wait for the database; beyond that the oldest queue-log rows are
dropped first (counted and logged), then CDRs, so an outage of hours loses the least
valuable history first. A call whose ``CallEnded`` never comes (a node crash, a bug) is
folded as far as it goes after ``stale_after`` seconds without events.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from hotline.acd import events as acd
from hotline.calls.cdr import Cdr, CdrError, build_cdr
from hotline.calls.events import (
    AgentLegFailed,
    AgentLegRinging,
    CallAgentLeft,
    CallAnswered,
    CallConnected,
    CallEnded,
    CallEvent,
    CallHeld,
    CallIvrStarted,
    CallPartyJoined,
    CallPartyLeft,
    CallPartyModeChanged,
    CallQueued,
    CallQueueExited,
    CallResumed,
    CallStarted,
    CallTransferred,
    LegMediaStats,
    RecordingPaused,
    RecordingResumed,
    RecordingSaved,
    RecordingStarted,
    RecordingStopped,
    SurveyAnswered,
    TrunkAttemptEnded,
)
from hotline.events import Event
from hotline.events.bus import EventBus, Subscription, SubscriptionClosedError
from hotline.store import models
from hotline.store.database import Database

log = logging.getLogger(__name__)

CALL_EVENTS: tuple[type[Event], ...] = (
    CallStarted,
    CallAnswered,
    CallIvrStarted,
    CallQueued,
    CallQueueExited,
    AgentLegRinging,
    AgentLegFailed,
    CallConnected,
    CallAgentLeft,
    CallHeld,
    CallResumed,
    CallTransferred,
    CallPartyJoined,
    CallPartyModeChanged,
    CallPartyLeft,
    RecordingStarted,
    RecordingPaused,
    RecordingResumed,
    RecordingStopped,
    SurveyAnswered,
    TrunkAttemptEnded,
    CallEnded,
)

#: ACD events and the queue-log verb each is stored as (Asterisk's queue_log, our words).
QUEUE_LOG_VERBS: dict[type[Event], str] = {
    acd.ContactQueued: "queued",
    acd.ContactOffered: "offered",
    acd.OfferWithdrawn: "offer_withdrawn",
    acd.ContactConnected: "connected",
    acd.ContactEnded: "completed",
    acd.ContactAbandoned: "abandoned",
    acd.ContactExited: "exited",
    acd.CallbackOffered: "callback_offered",
    acd.CallbackAccepted: "callback_accepted",
    acd.AgentStateChanged: "agent_state",
    LegMediaStats: "leg_quality",  # packets, loss and jitter of each leg, at its end
}

BATCH = 200


@dataclasses.dataclass(slots=True)
class _Buffer:
    events: list[CallEvent]
    last: float


_Row = tuple[str, Any]  # ("cdr", Cdr) | ("queue_log", Event) | ("recording", RecordingSaved)


class CallHistoryWriter:
    def __init__(
        self,
        database: Database,
        bus: EventBus,
        *,
        max_pending: int = 100_000,
        stale_after: float = 12 * 3600,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.database = database
        self.bus = bus
        self.max_pending = max_pending
        self.stale_after = stale_after
        self.clock = clock
        self.written = 0
        self.dropped = 0
        self._calls: dict[str, _Buffer] = {}
        self._pending: deque[_Row] = deque()
        self._subscription: Subscription[Event] | None = None
        self._task: asyncio.Task[None] | None = None
        self._seen = 0

    def start(self) -> None:
        types = (*CALL_EVENTS, *QUEUE_LOG_VERBS, RecordingSaved)
        self._subscription = self.bus.subscribe(*types, maxsize=50_000, name="call-history")
        self._task = asyncio.create_task(self._run(self._subscription), name="call-history")

    async def stop(self) -> None:
        """Take what is queued, write it (one attempt), and stop."""
        subscription, self._subscription = self._subscription, None
        if subscription is None:
            return
        while (event := subscription.get_nowait()) is not None:
            self.accept(event)
        subscription.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self._write()
        except Exception:
            log.exception("call history not written at shutdown: %d rows", len(self._pending))

    async def _run(self, subscription: Subscription[Event]) -> None:
        delay = 1.0
        while True:
            try:
                event = await subscription.get()
            except SubscriptionClosedError:
                return
            self.accept(event)
            while (more := subscription.get_nowait()) is not None:
                self.accept(more)
                if len(self._pending) >= BATCH:
                    break
            while self._pending:
                try:
                    await self._write()
                    delay = 1.0
                except Exception:
                    log.exception(
                        "call history write failed; retrying in %.0f s (%d rows waiting)",
                        delay,
                        len(self._pending),
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30.0)
                    while (more := subscription.get_nowait()) is not None:
                        self.accept(more)

    # ---- events in -------------------------------------------------------------------------

    def accept(self, event: Event) -> None:
        """Take one event (synchronous: tests and ``stop`` use it directly)."""
        if isinstance(event, RecordingSaved):
            self._queue(("recording", event))
        elif type(event) in QUEUE_LOG_VERBS:
            self._queue(("queue_log", event))
        elif isinstance(event, CALL_EVENTS):
            call_id: str = event.call_id  # type: ignore[attr-defined]
            buffer = self._calls.setdefault(call_id, _Buffer([], event.at))
            buffer.events.append(event)  # type: ignore[arg-type]
            buffer.last = event.at
            if isinstance(event, CallTransferred):
                self._queue(("queue_log", event))
            if isinstance(event, CallEnded):
                del self._calls[call_id]
                self._queue(("cdr", self._fold(call_id, buffer.events)))
        self._seen += 1
        if self._seen % 1000 == 0:
            self._expire(self.clock())

    def _fold(self, call_id: str, events: list[CallEvent]) -> Cdr:
        try:
            return build_cdr(events)
        except CdrError as error:
            log.warning("incomplete call history: %s", error, extra={"call_id": call_id})
            return _partial_cdr(call_id, events)

    def _expire(self, now: float) -> None:
        for call_id, buffer in list(self._calls.items()):
            if now - buffer.last > self.stale_after:
                log.warning(
                    "call without an end for hours; stored as is", extra={"call_id": call_id}
                )
                del self._calls[call_id]
                self._queue(("cdr", _partial_cdr(call_id, buffer.events)))

    def _queue(self, row: _Row) -> None:
        self._pending.append(row)
        if len(self._pending) <= self.max_pending:
            return
        # Over the bound (the database has been away for long): queue-log rows go first.
        victim = next((r for r in self._pending if r[0] == "queue_log"), self._pending[0])
        self._pending.remove(victim)
        self.dropped += 1
        if self.dropped in (1, 10, 100) or self.dropped % 1000 == 0:
            log.error("call history backlog full: %d rows dropped so far", self.dropped)

    # ---- rows out --------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> None:
        """Write what is pending now (tests, shutdown); raises if the database fails."""
        await self._write()

    async def _write(self) -> None:
        """Write every pending row in one transaction; on failure nothing is taken off."""
        if not self._pending:
            return
        rows = list(self._pending)
        async with self.database.session() as session:
            departments = await _ids(session, models.Department.name, models.Department.id)
            queues = await _ids(session, models.Queue.name, models.Queue.id)
            agents = await _ids(session, models.Agent.extension, models.Agent.id)
            cdr_ids = [row[1].call_id for row in rows if row[0] == "cdr"]
            existing = (
                set(
                    await session.scalars(
                        select(models.Cdr.call_id).where(models.Cdr.call_id.in_(cdr_ids))
                    )
                )
                if cdr_ids
                else set()
            )
            resolve = _Resolver(departments, queues, agents)
            for kind, item in rows:
                if kind == "cdr":
                    if item.call_id in existing:
                        continue  # written by an attempt that looked failed
                    existing.add(item.call_id)
                    session.add(_cdr_row(item, resolve))
                elif kind == "recording":
                    session.add(_recording_row(item, resolve))
                else:
                    session.add(_queue_log_row(item, resolve))
            await session.commit()
        for _ in rows:
            self._pending.popleft()
        self.written += len(rows)


@dataclasses.dataclass
class _Resolver:
    departments: dict[str, int]
    queues: dict[str, int]
    agents: dict[str, int]

    def department(self, name: str | None, call_id: str | None) -> int | None:
        return self._get(self.departments, "department", name, call_id)

    def queue(self, name: str | None, call_id: str | None) -> int | None:
        return self._get(self.queues, "queue", name, call_id)

    def agent(self, name: str | None, call_id: str | None) -> int | None:
        return self._get(self.agents, "agent", name, call_id)

    @staticmethod
    def _get(table: dict[str, int], what: str, name: str | None, call_id: str | None) -> int | None:
        if not name:
            return None
        found = table.get(name)
        if found is None:
            log.warning(
                "no %s %r in the directory; stored without it",
                what,
                name,
                extra={"call_id": call_id},
            )
        return found


async def _ids(
    session: AsyncSession, name: InstrumentedAttribute[str], key: InstrumentedAttribute[int]
) -> dict[str, int]:
    """A small directory table as name -> id (departments, queues, agents: tens of rows)."""
    return {row[0]: row[1] for row in await session.execute(select(name, key))}


def _time(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _cdr_row(cdr: Cdr, resolve: _Resolver) -> models.Cdr:
    details = dataclasses.asdict(cdr)
    return models.Cdr(
        call_id=cdr.call_id,
        direction=cdr.direction,
        caller=cdr.caller[:64],
        callee=cdr.callee[:64],
        department_id=resolve.department(cdr.department, cdr.call_id),
        queue_id=resolve.queue(cdr.queues[-1] if cdr.queues else None, cdr.call_id),
        agent_id=resolve.agent(cdr.agent, cdr.call_id),
        started_at=_time(cdr.started_at),
        answered_at=_time(cdr.answered_at) if cdr.answered_at is not None else None,
        ended_at=_time(cdr.ended_at),
        wait_seconds=cdr.wait_s,
        talk_seconds=cdr.talk_s,
        hold_seconds=cdr.hold_s,
        disposition=cdr.outcome,
        details=details,
    )


def _recording_row(event: RecordingSaved, resolve: _Resolver) -> models.Recording:
    return models.Recording(
        call_id=event.call_id,
        department_id=resolve.department(event.department, event.call_id),
        path=event.path,
        started_at=_time(event.started_at),
        duration_seconds=event.duration_seconds,
        size_bytes=event.size_bytes,
        sha256=event.sha256,
        kind=event.kind,
        mailbox=event.mailbox,
    )


def _queue_log_row(event: Event, resolve: _Resolver) -> models.QueueLogEntry:
    fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event) if f.name != "at"}
    call_id = fields.pop("contact_id", None) or fields.pop("call_id", None)
    queue = fields.pop("queue", None)
    agent = fields.pop("agent_id", None) or fields.get("from_agent")
    data = {key: _plain(value) for key, value in fields.items()}
    verb = QUEUE_LOG_VERBS.get(type(event), "transferred")
    return models.QueueLogEntry(
        at=_time(event.at),
        call_id=call_id,
        queue_id=resolve.queue(queue, call_id),
        agent_id=resolve.agent(agent, call_id),
        event=verb,
        data={**data, **({"agent": agent} if agent else {}), **({"queue": queue} if queue else {})},
    )


def _plain(value: object) -> object:
    """JSON-ready: enums by value."""
    return getattr(value, "value", value)


def _partial_cdr(call_id: str, events: list[CallEvent]) -> Cdr:
    """What can be said of a call whose history is incomplete: its first and last moments,
    who called whom if known, and the disposition "unanswered" or "handled" as it went."""
    started = next((e for e in events if isinstance(e, CallStarted)), None)
    first = events[0].at if events else time.time()
    last = events[-1].at if events else first
    connected = next((e for e in events if isinstance(e, CallConnected)), None)
    ended = next((e for e in events if isinstance(e, CallEnded)), None)
    return Cdr(
        call_id=call_id,
        direction=started.direction if started else "inbound",
        caller=started.caller if started else "",
        callee=started.callee if started else "",
        trunk=started.trunk if started else None,
        route=started.route if started else None,
        department=started.department if started else None,
        started_at=started.at if started else first,
        answered_at=None,
        ended_at=last,
        ivr_flow=None,
        ivr_version=None,
        queues=tuple(e.queue for e in events if isinstance(e, CallQueued)),
        queued_at=None,
        connected_at=connected.at if connected else None,
        agent=connected.agent if connected else None,
        segments=(),
        outcome="handled" if connected else "unanswered",
        hangup_side=ended.side if ended else "system",
        hangup_cause=ended.cause if ended else "history incomplete",
        sip_status=ended.sip_status if ended else None,
        duration_s=max(0.0, last - first),
        ring_s=0.0,
        wait_s=0.0,
        talk_s=max(0.0, last - connected.at) if connected else 0.0,
        hold_s=0.0,
        transfers=sum(isinstance(e, CallTransferred) for e in events),
        recording_ids=tuple(e.recording_id for e in events if isinstance(e, RecordingStarted)),
    )
