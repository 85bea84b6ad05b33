"""Routing strategies: which of the eligible, available agents gets the contact.

A registry (an ABC plus :func:`register`) rather than an if/elif chain, so a deployment can
add its own. Each queue gets its own strategy instance, so strategies that remember (round
robin) keep their memory per queue and nothing is global. Randomness comes from the ACD's
seeded generator, so runs are reproducible.

Every strategy breaks ties the same way (longest idle, then agent id) so results never
depend on dict or set order.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

from hotline.acd.errors import AcdError
from hotline.acd.skills import SkillRequirement, proficiency


class Candidate(Protocol):
    """What a strategy may read about an agent (the ACD's agent record provides it)."""

    @property
    def agent_id(self) -> str: ...
    @property
    def idle_since(self) -> float: ...
    @property
    def talk_seconds(self) -> float: ...
    @property
    def skill_levels(self) -> Mapping[str, int]: ...
    def calls_answered_in(self, queue: str) -> int: ...


@dataclass(frozen=True, slots=True)
class RoutingRequest:
    """The contact being routed, as strategies see it."""

    queue: str
    requirements: tuple[SkillRequirement, ...]
    #: Agent id -> position in the queue's member list (pooled agents come after members).
    positions: Mapping[str, int]


def _tie_key(agent: Candidate) -> tuple[float, str]:
    return (agent.idle_since, agent.agent_id)


class Strategy(ABC):
    """Chooses among candidates that are all available and eligible (never empty)."""

    name: ClassVar[str]
    #: The contact is offered to every candidate at once; the first to answer takes it.
    rings_all: ClassVar[bool] = False

    @abstractmethod
    def choose(
        self, candidates: Sequence[Candidate], request: RoutingRequest, rng: random.Random
    ) -> Candidate: ...


_REGISTRY: dict[str, Callable[[], Strategy]] = {}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator adding a strategy under its ``name``."""
    if cls.name in _REGISTRY:
        raise AcdError(f"strategy {cls.name!r} is already registered")
    _REGISTRY[cls.name] = cls
    return cls


def create(name: str) -> Strategy:
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise AcdError(
            f"unknown strategy {name!r}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None


def strategy_names() -> list[str]:
    return sorted(_REGISTRY)


@register
class LongestIdle(Strategy):
    """The agent who has waited longest since their last contact (fairest for agents)."""

    name = "longest-idle"

    def choose(
        self, candidates: Sequence[Candidate], request: RoutingRequest, rng: random.Random
    ) -> Candidate:
        return min(candidates, key=_tie_key)


@register
class RoundRobin(Strategy):
    """The next member after the one offered last, in member-list order, wrapping round."""

    name = "round-robin"

    def __init__(self) -> None:
        self._last_position = -1

    def choose(
        self, candidates: Sequence[Candidate], request: RoutingRequest, rng: random.Random
    ) -> Candidate:
        positions = request.positions
        after = [agent for agent in candidates if positions[agent.agent_id] > self._last_position]
        chosen = min(after or candidates, key=lambda agent: positions[agent.agent_id])
        self._last_position = positions[chosen.agent_id]
        return chosen


@register
class FewestCalls(Strategy):
    """The agent who has answered the fewest contacts from this queue."""

    name = "fewest-calls"

    def choose(
        self, candidates: Sequence[Candidate], request: RoutingRequest, rng: random.Random
    ) -> Candidate:
        return min(
            candidates, key=lambda agent: (agent.calls_answered_in(request.queue), _tie_key(agent))
        )


@register
class LeastTalkTime(Strategy):
    """The agent with the least talk time since logging in (evens out the workload)."""

    name = "least-talk-time"

    def choose(
        self, candidates: Sequence[Candidate], request: RoutingRequest, rng: random.Random
    ) -> Candidate:
        return min(candidates, key=lambda agent: (agent.talk_seconds, _tie_key(agent)))


@register
class RingAll(Strategy):
    """Every eligible available agent rings at once; the first to answer takes the contact."""

    name = "ring-all"
    rings_all = True

    def choose(
        self, candidates: Sequence[Candidate], request: RoutingRequest, rng: random.Random
    ) -> Candidate:
        return min(candidates, key=_tie_key)


@register
class Linear(Strategy):
    """Always the first available member in member-list order (top-down hunting)."""

    name = "linear"

    def choose(
        self, candidates: Sequence[Candidate], request: RoutingRequest, rng: random.Random
    ) -> Candidate:
        return min(candidates, key=lambda agent: request.positions[agent.agent_id])


@register
class Random(Strategy):
    """Uniformly at random."""

    name = "random"

    def choose(
        self, candidates: Sequence[Candidate], request: RoutingRequest, rng: random.Random
    ) -> Candidate:
        return rng.choice(sorted(candidates, key=lambda agent: agent.agent_id))


@register
class WeightedRandomBySkill(Strategy):
    """At random, weighted by combined level on the needed skills (uniform without needs)."""

    name = "weighted-random"

    def choose(
        self, candidates: Sequence[Candidate], request: RoutingRequest, rng: random.Random
    ) -> Candidate:
        ordered = sorted(candidates, key=lambda agent: agent.agent_id)
        weights = [max(1, proficiency(a.skill_levels, request.requirements)) for a in ordered]
        return rng.choices(ordered, weights=weights)[0]


@register
class SkillsBestMatch(Strategy):
    """The highest combined level on the needed skills; longest idle among equals."""

    name = "skills-best-match"

    def choose(
        self, candidates: Sequence[Candidate], request: RoutingRequest, rng: random.Random
    ) -> Candidate:
        return min(
            candidates,
            key=lambda agent: (
                -proficiency(agent.skill_levels, request.requirements),
                _tie_key(agent),
            ),
        )
