"""The in-process bus: typed fan-out, and a slow subscriber that cannot hold anyone up."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import ClassVar

import pytest

from hotline.events import Event
from hotline.events.bus import EventBus, SubscriptionClosedError


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactQueued(Event):
    type_name: ClassVar[str] = "test.contact_queued"
    queue: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStateChanged(Event):
    type_name: ClassVar[str] = "test.agent_state"
    agent: str
    state: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentLoggedIn(AgentStateChanged):
    type_name: ClassVar[str] = "test.agent_login"


async def test_subscribers_get_only_their_types_in_order() -> None:
    bus = EventBus()
    queues = bus.subscribe(ContactQueued)
    agents = bus.subscribe(AgentStateChanged)
    everything = bus.subscribe(Event)
    events: list[Event] = [
        ContactQueued(at=1, queue="sales"),
        AgentStateChanged(at=2, agent="a", state="available"),
        AgentLoggedIn(at=3, agent="b", state="available"),
        ContactQueued(at=4, queue="support"),
    ]
    for event in events:
        bus.publish(event)
    assert [await queues.get(), await queues.get()] == [events[0], events[3]]
    assert [await agents.get(), await agents.get()] == [events[1], events[2]]
    assert [await everything.get() for _ in events] == events
    assert queues.get_nowait() is None


async def test_slow_subscriber_drops_oldest_and_counts_without_blocking_others() -> None:
    bus = EventBus()
    slow = bus.subscribe(ContactQueued, maxsize=3, name="slow websocket")
    fast = bus.subscribe(ContactQueued, maxsize=100)
    for n in range(10):
        bus.publish(ContactQueued(at=n, queue=f"q{n}"))  # returns at once: nobody awaits
    assert slow.dropped == 7
    assert [(await slow.get()).queue for _ in range(3)] == ["q7", "q8", "q9"]
    assert fast.dropped == 0
    assert fast.pending() == 10
    assert bus.published == 10


async def test_close_wakes_a_waiting_consumer_and_unsubscribes() -> None:
    bus = EventBus()
    subscription = bus.subscribe(ContactQueued, maxsize=1)
    received: list[str] = []

    async def consume() -> None:
        async for event in subscription:
            received.append(event.queue)

    task = asyncio.create_task(consume())
    bus.publish(ContactQueued(at=1, queue="a"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    subscription.close()
    await asyncio.wait_for(task, timeout=5)
    assert received == ["a"]
    assert bus.subscriptions == ()
    bus.publish(ContactQueued(at=2, queue="b"))
    with pytest.raises(SubscriptionClosedError):
        await subscription.get()


def test_queue_must_hold_an_event() -> None:
    with pytest.raises(ValueError, match="at least one"):
        EventBus().subscribe(ContactQueued, maxsize=0)
