"""Builders and event filters shared by the ACD tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

from hotline.acd import Acd, AgentProfile, AgentState, QueueConfig
from hotline.acd.events import AgentStateChanged, ContactOffered
from hotline.events import Event

E = TypeVar("E", bound=Event)


def of_type(events: Iterable[Event], kind: type[E]) -> list[E]:
    return [event for event in events if isinstance(event, kind)]


def offers(events: Iterable[Event]) -> list[tuple[str, str]]:
    """(contact, agent) of every offer, in order."""
    return [(e.contact_id, e.agent_id) for e in of_type(events, ContactOffered)]


def states(events: Iterable[Event], agent_id: str) -> list[AgentState]:
    return [e.state for e in of_type(events, AgentStateChanged) if e.agent_id == agent_id]


def build(
    queues: Sequence[QueueConfig],
    agents: Sequence[AgentProfile],
    *,
    login: bool = True,
    now: float = 0.0,
    seed: int = 0,
) -> Acd:
    """An ACD with ``queues`` and ``agents``, every agent logged in at ``now`` (in order)."""
    acd = Acd(seed=seed)
    for queue in queues:
        acd.configure_queue(queue)
    for agent in agents:
        acd.add_agent(agent, now)
        if login:
            acd.agent_login(now, agent.agent_id)
    return acd


def agent(
    agent_id: str,
    queues: Mapping[str, int] | None = None,
    *,
    skills: Mapping[str, int] | None = None,
    department: str = "",
    **rules: object,
) -> AgentProfile:
    return AgentProfile(
        agent_id=agent_id,
        queues=dict(queues if queues is not None else {"sales": 0}),
        skills=dict(skills or {}),
        department=department,
        **rules,  # type: ignore[arg-type]
    )


def busy(acd: Acd, now: float, agent_id: str, contact_id: str, queue: str = "sales") -> None:
    """Put an available agent on a call (the contact must route to them)."""
    events = acd.contact_arrived(now, contact_id, queue)
    assert (contact_id, agent_id) in offers(events), offers(events)
    acd.offer_answered(now, contact_id, agent_id)
