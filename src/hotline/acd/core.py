"""The ACD: which waiting contact goes to which agent, and when.

Sans-IO like aioquic's connection: every input is a method call carrying ``now`` and returns
the events it caused (decisions for the call layer, state changes for everyone else);
``next_timer()`` says when to call ``handle_timer(now)`` for the time-driven rules (ring
no-answer, end of wrap-up, end of a reject delay, max wait, announcements, tier widening).
Nothing here reads a clock, sleeps or does I/O, so a test or a simulation drives it with an
explicit clock, and a cluster can run it as the single ACD leader.

Routing is event-driven rather than polled: a waiting contact can only find an agent when an
agent becomes routable (tried from that agent's side), when the contact joins or returns to
a queue, or when one of its tiers widens (tried from the contact's side). Indexes of routable
agents per queue and per department keep each decision proportional to the agents and
contacts that could match, not to everything in the centre.

Ordering of waiting contacts: a strict priority class first, then the FreeSWITCH-style score
``base_score + seconds waited``. Because every contact ages at the same rate, ordering by
``arrived_at - base_score`` is the same ordering at every instant, so each queue keeps a list
sorted once at insertion and never re-sorts.
"""

from __future__ import annotations

import enum
import heapq
import random
from bisect import bisect_right, insort
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from hotline.acd.config import (
    DEFAULT_BREAK_REASONS,
    NO_ANSWER_BREAK,
    ON_DEMAND_BREAK,
    POOLED_PRIORITY,
    AgentProfile,
    ExitAction,
    ExitKind,
    QueueConfig,
    Tier,
)
from hotline.acd.errors import AcdError
from hotline.acd.events import (
    AgentBusyChanged,
    AgentStateChanged,
    CallbackAccepted,
    CallbackOffered,
    ContactAbandoned,
    ContactConnected,
    ContactEnded,
    ContactExited,
    ContactOffered,
    ContactQueued,
    InputIgnored,
    OfferWithdrawn,
    PositionAnnounced,
)
from hotline.acd.skills import SkillRequirement, meets, merge_requirements
from hotline.acd.states import STAFFED_STATES, AgentInput, AgentState, next_state
from hotline.acd.statistics import (
    AgentStatistics,
    AgentTimes,
    QueueCounters,
    QueueStatistics,
    agent_statistics,
    queue_statistics,
)
from hotline.acd.strategies import RoutingRequest, Strategy, create
from hotline.events import Event

#: Seconds within which two moments count as the same (float rounding of ``now - t``).
TIME_TOLERANCE = 1e-6

#: Sort key of a waiting contact: (-priority class, arrived_at - base_score, arrival number).
ContactKey = tuple[int, float, int]


class ContactState(enum.Enum):
    __hash__ = object.__hash__  # see AgentState

    WAITING = "waiting"
    RINGING = "ringing"
    CONNECTED = "connected"


class _Timer(enum.Enum):
    __hash__ = object.__hash__  # see AgentState

    RING = "ring"
    REST_END = "rest_end"
    WRAP_UP_END = "wrap_up_end"
    MAX_WAIT = "max_wait"
    ANNOUNCE = "announce"
    TIER = "tier"


_AGENT_TIMERS = frozenset({_Timer.RING, _Timer.REST_END, _Timer.WRAP_UP_END})


@dataclass(slots=True, eq=False)
class _Agent:
    """An agent's live record; strategies read it through ``strategies.Candidate``."""

    profile: AgentProfile
    times: AgentTimes
    #: Registration order: where a pooled agent hunts among other pooled agents.
    order: int
    state: AgentState = AgentState.LOGGED_OUT
    reason: str = ""
    idle_since: float = 0.0
    #: Not offered anything before this moment (reject and no-answer delays).
    ready_at: float = 0.0
    talk_seconds: float = 0.0
    answered: int = 0
    answered_by_queue: dict[str, int] = field(default_factory=dict)
    no_answer_streak: int = 0
    pending_logout: bool = False
    pending_break: str = ""
    #: The contact ringing on, connected to, or being wrapped up by this agent.
    contact_id: str = ""
    queue: str = ""
    connected_at: float = 0.0
    wrap_up_started: float = 0.0
    wrap_up_talk: float = 0.0
    #: Bumped on every state change, so timers armed in an earlier state are ignored.
    token: int = 0
    #: The phone is busy on a call the ACD did not place (``agent_direct_call``): the agent
    #: keeps its state but is not routable. A flag, not a state, so that a ready agent
    #: stays ready and wrap-up, breaks and delays run as usual meanwhile.
    busy: bool = False
    busy_since: float = 0.0

    @property
    def agent_id(self) -> str:
        return self.profile.agent_id

    @property
    def skill_levels(self) -> Mapping[str, int]:
        return self.profile.skills

    def calls_answered_in(self, queue: str) -> int:
        return self.answered_by_queue.get(queue, 0)


@dataclass(slots=True, eq=False)
class _Contact:
    contact_id: str
    queue: str
    priority: int
    base_score: float
    needs: tuple[SkillRequirement, ...]
    requirements: tuple[SkillRequirement, ...]
    arrived_at: float
    joined_at: float
    key: ContactKey
    state: ContactState = ContactState.WAITING
    ringing: dict[str, None] = field(default_factory=dict)
    agent_id: str = ""
    callback: bool = False
    callback_offered: bool = False
    #: Bumped when the contact changes queue, so the old queue's timers are ignored.
    token: int = 0


@dataclass(slots=True, eq=False)
class _Queue:
    config: QueueConfig
    strategy: Strategy
    counters: QueueCounters
    tier_starts: list[float]
    #: Member agent id -> member priority.
    members: dict[str, int] = field(default_factory=dict)
    #: Member agent id -> position in member-list order (linear, round robin).
    positions: dict[str, int] = field(default_factory=dict)
    next_position: int = 0
    routable: dict[str, None] = field(default_factory=dict)
    waiting: list[tuple[ContactKey, str]] = field(default_factory=list)
    ringing: dict[str, None] = field(default_factory=dict)
    logged_in: int = 0
    staffed: int = 0

    def tier_at(self, waited: float) -> Tier:
        # A tier timer fires at joined_at + start, and now - joined_at can land a rounding
        # error below start: without the tolerance the widening would be missed.
        index = bisect_right(self.tier_starts, waited + TIME_TOLERANCE) - 1
        return self.config.effective_tiers[index]

    @property
    def worst_member_priority(self) -> int:
        return max(tier.max_member_priority for tier in self.config.effective_tiers)

    @property
    def ever_pools(self) -> bool:
        return any(tier.include_pooled for tier in self.config.effective_tiers)


def _new_queue(config: QueueConfig) -> _Queue:
    return _Queue(
        config=config,
        strategy=create(config.strategy),
        counters=QueueCounters(service_level_seconds=config.service_level_seconds),
        tier_starts=[tier.after_seconds for tier in config.effective_tiers],
    )


class Acd:
    """Queues, agents and the routing between them, driven by calls that carry ``now``."""

    def __init__(
        self,
        *,
        seed: int | None = 0,
        break_reasons: Iterable[str] = DEFAULT_BREAK_REASONS,
    ) -> None:
        self._rng = random.Random(seed)
        self._break_reasons = frozenset(break_reasons)
        self._queues: dict[str, _Queue] = {}
        self._agents: dict[str, _Agent] = {}
        self._contacts: dict[str, _Contact] = {}
        self._routable_by_department: dict[str, dict[str, None]] = {}
        self._timers: list[tuple[float, int, _Timer, str, int]] = []
        self._pooling_cache: dict[str, list[str]] = {}
        self._sequence = 0

    # ------------------------------------------------------------------ configuration

    def configure_queue(self, config: QueueConfig, now: float = 0.0) -> list[Event]:
        """Add a queue, or replace the configuration of an existing one while it runs.

        Waiting contacts, counters and members stay; a new strategy starts with no memory.
        Waiting contacts get the new skill requirements and timers (max wait, tiers and
        announcements count from when they joined) and are routed again, since the change
        may have made agents eligible (pooling switched on for slack season, say)."""
        out: list[Event] = []
        self._pooling_cache.clear()
        existing = self._queues.get(config.name)
        if existing is None:
            queue = _new_queue(config)
            self._queues[config.name] = queue
            for agent in self._agents.values():
                if config.name in agent.profile.queues:
                    self._add_member(queue, agent)
            return out
        if existing.config.strategy != config.strategy:
            existing.strategy = create(config.strategy)
        existing.config = config
        existing.counters.service_level_seconds = config.service_level_seconds
        existing.tier_starts = [tier.after_seconds for tier in config.effective_tiers]
        for _, contact_id in list(existing.waiting):
            contact = self._contacts[contact_id]
            contact.requirements = merge_requirements(config.required_skills, contact.needs)
            contact.token += 1
            self._arm_contact_timers(now, contact, existing)
        for contact_id in list(existing.ringing):
            contact = self._contacts[contact_id]
            contact.requirements = merge_requirements(config.required_skills, contact.needs)
            contact.token += 1
            self._arm_contact_timers(now, contact, existing)
        for _, contact_id in list(existing.waiting):
            still_waiting = self._contacts.get(contact_id)
            if still_waiting is not None and still_waiting.state is ContactState.WAITING:
                self._route_contact(now, still_waiting, out)
        return out

    def add_agent(self, profile: AgentProfile, now: float = 0.0) -> None:
        """Register an agent (logged out). Queues it names that do not exist yet pick the
        agent up when they are configured."""
        if profile.agent_id in self._agents:
            raise AcdError(f"agent {profile.agent_id!r} already exists")
        agent = _Agent(
            profile=profile, times=AgentTimes(AgentState.LOGGED_OUT, now), order=len(self._agents)
        )
        self._agents[profile.agent_id] = agent
        for name in profile.queues:
            queue = self._queues.get(name)
            if queue is not None:
                self._add_member(queue, agent)

    def update_agent(self, now: float, profile: AgentProfile) -> list[Event]:
        """Change an agent's skills, department, memberships or rules while they work."""
        agent = self._agent(profile.agent_id)
        out: list[Event] = []
        was_routable = self._is_routable(agent, now)
        if was_routable:
            self._set_routable(agent, False)
        for name in agent.profile.queues:
            queue = self._queues.get(name)
            if queue is not None:
                self._remove_member(queue, agent)
        agent.profile = profile
        for name in profile.queues:
            queue = self._queues.get(name)
            if queue is not None:
                self._add_member(queue, agent)
        if was_routable:
            self._set_routable(agent, True)
            self._route_agent(now, agent, out)
        self._check_empty_queues(now, out)
        return out

    # ------------------------------------------------------------------ agent inputs

    def agent_login(self, now: float, agent_id: str) -> list[Event]:
        agent = self._agent(agent_id)
        out: list[Event] = []
        if agent.profile.on_demand:
            self._transition(now, agent, AgentInput.LOG_IN_ON_DEMAND, out, reason=ON_DEMAND_BREAK)
        else:
            self._transition(now, agent, AgentInput.LOG_IN, out)
            self._route_agent(now, agent, out)
        return out

    def agent_logout(self, now: float, agent_id: str) -> list[Event]:
        """Log out now, or after the call if the agent is on one. A ringing offer is
        withdrawn and the contact keeps its place in line."""
        agent = self._agent(agent_id)
        out: list[Event] = []
        if agent.state is AgentState.ON_CALL:
            agent.pending_logout = True
            return out
        if agent.state is AgentState.RESERVED:
            contact = self._contacts[agent.contact_id]
            self._withdraw(now, contact, agent, "agent_logged_out", out)
            self._transition(now, agent, AgentInput.LOG_OUT, out)
            self._after_offer_failed(now, contact, out)
        else:
            if agent.state is AgentState.WRAP_UP:
                self._record_handled(now, agent)
            self._transition(now, agent, AgentInput.LOG_OUT, out)
        self._check_empty_queues(now, out)
        return out

    def agent_break(self, now: float, agent_id: str, reason: str) -> list[Event]:
        """Go on break with a configured reason code; during a call or while ringing, the
        break starts as soon as the agent would otherwise become available."""
        if reason not in self._break_reasons:
            raise AcdError(
                f"unknown break reason {reason!r}; known: {', '.join(sorted(self._break_reasons))}"
            )
        agent = self._agent(agent_id)
        out: list[Event] = []
        if agent.state in (AgentState.ON_CALL, AgentState.RESERVED):
            agent.pending_break = reason
            return out
        if agent.state is AgentState.WRAP_UP:
            self._record_handled(now, agent)
        self._transition(now, agent, AgentInput.TAKE_BREAK, out, reason=reason)
        return out

    def agent_ready(self, now: float, agent_id: str) -> list[Event]:
        """Back from break, end of wrap-up before its timer, or an on-demand agent asking
        for the next contact."""
        agent = self._agent(agent_id)
        out: list[Event] = []
        agent.pending_break = ""
        if agent.state in (AgentState.RESERVED, AgentState.ON_CALL):
            return out  # a pending break, if any, is now cancelled
        # Saying "ready" ends a reject or no-answer delay: the agent is back at the desk.
        if agent.state is AgentState.AVAILABLE:
            if agent.ready_at > now:
                self._end_rest(now, agent, out)
            return out
        agent.ready_at = now
        if agent.state is AgentState.WRAP_UP:
            self._record_handled(now, agent)
        if agent.state is AgentState.BREAK and agent.reason == NO_ANSWER_BREAK:
            agent.no_answer_streak = 0
        self._transition(now, agent, AgentInput.READY, out)
        self._become_available(now, agent, out)  # a logout asked for during the call wins
        return out

    def agent_direct_call(self, now: float, agent_id: str, busy: bool) -> list[Event]:
        """The agent's phone is (``busy``) or is no longer busy on a call outside the ACD.

        The contact centre counts the agent's legs that the ACD did not offer and reports
        the edges (0 -> 1, 1 -> 0); the ACD only needs the flag. While busy the agent is
        offered nothing whatever its state; when the flag drops an available agent past its
        delays is offered the best waiting contact at once. Repeating the current value
        changes nothing."""
        agent = self._agent(agent_id)
        out: list[Event] = []
        if agent.busy == busy:
            return out
        agent.busy = busy
        agent.busy_since = now
        out.append(AgentBusyChanged(at=now, agent_id=agent_id, busy=busy, state=agent.state))
        if busy:
            self._set_routable(agent, False)
        elif agent.state is AgentState.AVAILABLE and agent.ready_at <= now:
            self._set_routable(agent, True)
            self._become_available(now, agent, out)
        return out

    # ------------------------------------------------------------------ contact inputs

    def contact_arrived(
        self,
        now: float,
        contact_id: str,
        queue: str,
        *,
        priority: int = 0,
        base_score: float = 0.0,
        needs: Iterable[SkillRequirement] = (),
    ) -> list[Event]:
        """A caller (or a callback request) wants an agent of ``queue``. ``priority`` is a
        strict class (VIP above all others); ``base_score`` adds seconds of seniority."""
        if contact_id in self._contacts:
            raise AcdError(f"contact {contact_id!r} is already in the ACD")
        target = self._queue(queue)
        self._sequence += 1
        needs = tuple(needs)
        contact = _Contact(
            contact_id=contact_id,
            queue=queue,
            priority=priority,
            base_score=base_score,
            needs=needs,
            requirements=merge_requirements(target.config.required_skills, needs),
            arrived_at=now,
            joined_at=now,
            key=(-priority, now - base_score, self._sequence),
        )
        out: list[Event] = []
        self._join(now, contact, target, out, visited=set())
        return out

    def contact_abandoned(self, now: float, contact_id: str) -> list[Event]:
        """The caller hung up before reaching an agent (waiting or ringing)."""
        contact = self._contacts.get(contact_id)
        out: list[Event] = []
        if contact is None or contact.state is ContactState.CONNECTED:
            why = "unknown contact" if contact is None else "already connected; end it instead"
            out.append(InputIgnored(at=now, input="abandon", contact_id=contact_id, reason=why))
            return out
        queue = self._queues[contact.queue]
        waited = now - contact.joined_at
        freed: list[_Agent] = []
        if contact.state is ContactState.RINGING:
            for agent_id in list(contact.ringing):
                agent = self._agents[agent_id]
                self._withdraw(now, contact, agent, "abandoned", out)
                self._transition(now, agent, AgentInput.WITHDRAW, out)
                freed.append(agent)
        self._leave_queue(contact)
        del self._contacts[contact_id]
        queue.counters.record_abandoned(waited)
        out.append(
            ContactAbandoned(at=now, contact_id=contact_id, queue=queue.config.name, waited=waited)
        )
        for agent in freed:
            self._become_available(now, agent, out)
        return out

    def offer_answered(self, now: float, contact_id: str, agent_id: str) -> list[Event]:
        contact = self._contacts.get(contact_id)
        agent = self._agent(agent_id)
        out: list[Event] = []
        if contact is None or agent_id not in contact.ringing:
            out.append(
                InputIgnored(
                    at=now,
                    input="answer",
                    contact_id=contact_id,
                    agent_id=agent_id,
                    reason="offer no longer stands",
                )
            )
            return out
        queue = self._queues[contact.queue]
        others = [self._agents[other] for other in contact.ringing if other != agent_id]
        for other in others:
            self._withdraw(now, contact, other, "answered_elsewhere", out)
            self._transition(now, other, AgentInput.WITHDRAW, out)
        contact.ringing.clear()
        queue.ringing.pop(contact_id, None)
        contact.state = ContactState.CONNECTED
        contact.agent_id = agent_id
        contact.token += 1  # a connected contact has no queue timers left
        waited = now - contact.joined_at
        queue.counters.record_answered(waited)
        agent.no_answer_streak = 0
        agent.answered += 1
        agent.answered_by_queue[queue.config.name] = agent.calls_answered_in(queue.config.name) + 1
        agent.connected_at = now
        self._transition(now, agent, AgentInput.ANSWER, out, queue=queue.config.name)
        out.append(
            ContactConnected(
                at=now,
                contact_id=contact_id,
                queue=queue.config.name,
                agent_id=agent_id,
                waited=waited,
            )
        )
        for other in others:
            self._become_available(now, other, out)
        return out

    def offer_rejected(self, now: float, contact_id: str, agent_id: str) -> list[Event]:
        """The agent declined (or the phone was busy/unreachable)."""
        return self._offer_failed(now, contact_id, agent_id, "rejected")

    def contact_ended(self, now: float, contact_id: str) -> list[Event]:
        """The connected call ended; the agent goes to the queue's wrap-up."""
        contact = self._contacts.get(contact_id)
        out: list[Event] = []
        if contact is None or contact.state is not ContactState.CONNECTED:
            out.append(
                InputIgnored(at=now, input="end", contact_id=contact_id, reason="not connected")
            )
            return out
        agent = self._agents[contact.agent_id]
        queue = self._queues[contact.queue]
        del self._contacts[contact_id]
        talk = now - agent.connected_at
        agent.talk_seconds += talk
        agent.wrap_up_talk = talk
        agent.wrap_up_started = now
        self._transition(now, agent, AgentInput.HANG_UP, out, queue=queue.config.name)
        out.append(
            ContactEnded(
                at=now,
                contact_id=contact_id,
                queue=queue.config.name,
                agent_id=agent.agent_id,
                talk_seconds=talk,
            )
        )
        wrap_up = queue.config.wrap_up_seconds
        if wrap_up > 0:
            self._arm(now + wrap_up, _Timer.WRAP_UP_END, agent.agent_id, agent.token)
        else:
            self._end_wrap_up(now, agent, out)
        return out

    def callback_accepted(self, now: float, contact_id: str) -> list[Event]:
        """The caller chose to hang up and be called back: the contact keeps its place and
        is offered to an agent (who dials out) when its turn comes."""
        contact = self._contacts.get(contact_id)
        out: list[Event] = []
        if contact is None or contact.state is ContactState.CONNECTED:
            out.append(
                InputIgnored(at=now, input="callback", contact_id=contact_id, reason="not waiting")
            )
            return out
        contact.callback = True
        queue = self._queues[contact.queue]
        out.append(
            CallbackAccepted(
                at=now,
                contact_id=contact_id,
                queue=contact.queue,
                position=self._position(queue, contact),
            )
        )
        return out

    # ------------------------------------------------------------------ timers

    def next_timer(self) -> float | None:
        """When ``handle_timer`` must next be called, or None if nothing is pending."""
        timers = self._timers
        while timers and not self._timer_live(timers[0]):
            heapq.heappop(timers)
        return timers[0][0] if timers else None

    def handle_timer(self, now: float) -> list[Event]:
        """Fire every timer due at ``now``."""
        out: list[Event] = []
        timers = self._timers
        while timers and timers[0][0] <= now:
            entry = heapq.heappop(timers)
            if self._timer_live(entry):
                self._fire(now, entry[2], entry[3], out)
        return out

    # ------------------------------------------------------------------ queries

    def agent_state(self, agent_id: str) -> AgentState:
        return self._agent(agent_id).state

    def agent_reason(self, agent_id: str) -> str:
        return self._agent(agent_id).reason

    def contact_state(self, contact_id: str) -> ContactState | None:
        contact = self._contacts.get(contact_id)
        return None if contact is None else contact.state

    def contact_queue(self, contact_id: str) -> str | None:
        contact = self._contacts.get(contact_id)
        return None if contact is None else contact.queue

    def contact_joined_at(self, contact_id: str) -> float | None:
        """When the contact joined its current queue (tiers and max wait count from it)."""
        contact = self._contacts.get(contact_id)
        return None if contact is None else contact.joined_at

    def ringing_agents(self, contact_id: str) -> list[str]:
        contact = self._contacts.get(contact_id)
        return [] if contact is None else list(contact.ringing)

    def waiting_contacts(self, queue: str) -> list[str]:
        """Contacts waiting (not ringing) in ``queue``, next in line first."""
        return [contact_id for _, contact_id in self._queue(queue).waiting]

    def contact_ids(self) -> list[str]:
        return list(self._contacts)

    def queue_names(self) -> list[str]:
        return list(self._queues)

    def queue_config(self, queue: str) -> QueueConfig:
        return self._queue(queue).config

    def agent_profile(self, agent_id: str) -> AgentProfile:
        return self._agent(agent_id).profile

    def agent_since(self, agent_id: str) -> float:
        """When the agent entered its current state (the wallboard's time in state)."""
        return self._agent(agent_id).times.since

    def agent_busy(self, agent_id: str) -> bool:
        """Whether the agent's phone is busy on a call outside the ACD (see
        ``agent_direct_call``)."""
        return self._agent(agent_id).busy

    def agent_busy_since(self, agent_id: str) -> float:
        """When the busy flag last changed."""
        return self._agent(agent_id).busy_since

    def agent_contact(self, agent_id: str) -> str:
        """The contact ringing on, talking to, or wrapped up by the agent ("" if none)."""
        return self._agent(agent_id).contact_id

    def agent_ids(self) -> list[str]:
        return list(self._agents)

    def is_routable(self, agent_id: str, now: float) -> bool:
        return self._is_routable(self._agent(agent_id), now)

    def estimated_wait(self, queue: str, position: int) -> float:
        """EWT for the ``position``-th in line: that many recent handle times shared among
        the staffed members (at least one, so a queue with nobody staffed still gets a
        finite, if optimistic, figure)."""
        target = self._queue(queue)
        aht = target.counters.recent_average_handle_time()
        if aht is None:
            aht = target.config.expected_handle_seconds
        return position * aht / max(1, target.staffed)

    def queue_statistics(self, queue: str, now: float) -> QueueStatistics:
        target = self._queue(queue)
        by_state = dict.fromkeys(AgentState, 0)
        for agent_id in target.members:
            by_state[self._agents[agent_id].state] += 1
        waiting_since = [self._contacts[cid].joined_at for _, cid in target.waiting]
        waiting_since += [self._contacts[cid].joined_at for cid in target.ringing]
        return queue_statistics(
            queue=queue,
            now=now,
            counters=target.counters,
            waiting_since=waiting_since,
            agents_by_state=by_state,
        )

    def agent_statistics(self, agent_id: str, now: float) -> AgentStatistics:
        agent = self._agent(agent_id)
        return agent_statistics(
            agent_id=agent_id,
            now=now,
            times=agent.times,
            reason=agent.reason,
            answered=agent.answered,
            talk_seconds=agent.talk_seconds,
        )

    # ------------------------------------------------------------------ internals: lookup

    def _agent(self, agent_id: str) -> _Agent:
        try:
            return self._agents[agent_id]
        except KeyError:
            raise AcdError(f"unknown agent {agent_id!r}") from None

    def _queue(self, name: str) -> _Queue:
        try:
            return self._queues[name]
        except KeyError:
            raise AcdError(f"unknown queue {name!r}") from None

    def _member_queues(self, agent: _Agent) -> Iterator[_Queue]:
        for name in agent.profile.queues:
            queue = self._queues.get(name)
            if queue is not None:
                yield queue

    # ------------------------------------------------------------------ internals: indexes

    def _add_member(self, queue: _Queue, agent: _Agent) -> None:
        agent_id = agent.agent_id
        queue.members[agent_id] = agent.profile.queues[queue.config.name]
        queue.positions[agent_id] = queue.next_position
        queue.next_position += 1
        if agent.state is not AgentState.LOGGED_OUT:
            queue.logged_in += 1
        if agent.state in STAFFED_STATES:
            queue.staffed += 1
        if agent_id in self._routable_by_department.get(agent.profile.department, {}):
            queue.routable[agent_id] = None

    def _remove_member(self, queue: _Queue, agent: _Agent) -> None:
        agent_id = agent.agent_id
        del queue.members[agent_id]
        del queue.positions[agent_id]
        queue.routable.pop(agent_id, None)
        if agent.state is not AgentState.LOGGED_OUT:
            queue.logged_in -= 1
        if agent.state in STAFFED_STATES:
            queue.staffed -= 1

    def _is_routable(self, agent: _Agent, now: float) -> bool:
        return agent.state is AgentState.AVAILABLE and agent.ready_at <= now and not agent.busy

    def _set_routable(self, agent: _Agent, routable: bool) -> None:
        agent_id = agent.agent_id
        department = self._routable_by_department.setdefault(agent.profile.department, {})
        if routable:
            department[agent_id] = None
            for queue in self._member_queues(agent):
                queue.routable[agent_id] = None
        else:
            department.pop(agent_id, None)
            for queue in self._member_queues(agent):
                queue.routable.pop(agent_id, None)

    # ------------------------------------------------------------------ internals: agents

    def _transition(
        self,
        now: float,
        agent: _Agent,
        agent_input: AgentInput,
        out: list[Event],
        *,
        reason: str = "",
        queue: str = "",
    ) -> None:
        """Apply one row of the transition table and keep every index in step with it."""
        previous = agent.state
        state = next_state(previous, agent_input)
        if previous is AgentState.AVAILABLE:
            self._set_routable(agent, False)
        agent.state = state
        agent.reason = reason if state is AgentState.BREAK else ""
        agent.token += 1
        agent.times.change(now, state)
        logged_in_change = (state is not AgentState.LOGGED_OUT) - (
            previous is not AgentState.LOGGED_OUT
        )
        staffed_change = (state in STAFFED_STATES) - (previous in STAFFED_STATES)
        if logged_in_change or staffed_change:
            for member_queue in self._member_queues(agent):
                member_queue.logged_in += logged_in_change
                member_queue.staffed += staffed_change
        if state is AgentState.LOGGED_OUT:
            agent.pending_logout = False
            agent.pending_break = ""
            agent.no_answer_streak = 0
            agent.ready_at = 0.0
        if state is AgentState.AVAILABLE:
            if previous is not AgentState.RESERVED:
                agent.idle_since = now
            if agent.ready_at > now:
                self._arm(agent.ready_at, _Timer.REST_END, agent.agent_id, agent.token)
            elif not agent.busy:
                self._set_routable(agent, True)
        if state not in (AgentState.RESERVED, AgentState.ON_CALL, AgentState.WRAP_UP):
            agent.contact_id = ""
            agent.queue = ""
        out.append(
            AgentStateChanged(
                at=now,
                agent_id=agent.agent_id,
                previous=previous,
                state=state,
                reason=agent.reason,
                queue=queue or agent.queue,
            )
        )

    def _become_available(self, now: float, agent: _Agent, out: list[Event]) -> None:
        """After an agent went back to AVAILABLE: apply a pending break or logout, or look
        for a contact for them."""
        if not self._apply_pending(now, agent, out):
            self._route_agent(now, agent, out)

    def _apply_pending(self, now: float, agent: _Agent, out: list[Event]) -> bool:
        """Carry out a logout or break asked for while the agent could not take it."""
        if agent.state is not AgentState.AVAILABLE:
            return False
        if agent.pending_logout:
            self._transition(now, agent, AgentInput.LOG_OUT, out)
            self._check_empty_queues(now, out)
            return True
        if agent.pending_break:
            reason, agent.pending_break = agent.pending_break, ""
            self._transition(now, agent, AgentInput.TAKE_BREAK, out, reason=reason)
            return True
        return False

    def _end_rest(self, now: float, agent: _Agent, out: list[Event]) -> None:
        """An available agent's reject or no-answer delay is over."""
        agent.ready_at = now
        agent.token += 1  # void the delay's timer if the agent ended it early
        if not agent.busy:  # else routable once the direct call ends
            self._set_routable(agent, True)
        self._become_available(now, agent, out)

    def _record_handled(self, now: float, agent: _Agent) -> None:
        queue = self._queues.get(agent.queue)
        if queue is not None:
            queue.counters.record_handled(agent.wrap_up_talk, now - agent.wrap_up_started)

    def _end_wrap_up(self, now: float, agent: _Agent, out: list[Event]) -> None:
        self._record_handled(now, agent)
        if agent.pending_logout:
            self._transition(now, agent, AgentInput.LOG_OUT, out)
            self._check_empty_queues(now, out)
        elif agent.pending_break:
            reason, agent.pending_break = agent.pending_break, ""
            self._transition(now, agent, AgentInput.TAKE_BREAK, out, reason=reason)
        elif agent.profile.on_demand:
            self._transition(
                now, agent, AgentInput.WRAP_UP_END_ON_DEMAND, out, reason=ON_DEMAND_BREAK
            )
        else:
            self._transition(now, agent, AgentInput.WRAP_UP_END, out)
            self._route_agent(now, agent, out)

    # ------------------------------------------------------------------ internals: contacts

    def _join(
        self, now: float, contact: _Contact, queue: _Queue, out: list[Event], visited: set[str]
    ) -> None:
        """Put ``contact`` in ``queue`` or send it to the queue's exit for a full or empty
        queue. ``visited`` stops overflow chains that loop back within one instant."""
        config = queue.config
        visited.add(config.name)
        contact.queue = config.name
        contact.joined_at = now
        contact.token += 1
        contact.state = ContactState.WAITING
        contact.requirements = merge_requirements(config.required_skills, contact.needs)
        contact.callback_offered = False
        self._contacts[contact.contact_id] = contact
        queue.counters.record_offered()
        if not config.join_empty and queue.logged_in == 0:
            self._exit(now, contact, queue, config.on_empty, "empty", out, visited)
            return
        in_queue = len(queue.waiting) + len(queue.ringing)
        if config.max_length is not None and in_queue >= config.max_length:
            self._exit(now, contact, queue, config.on_full, "full", out, visited)
            return
        insort(queue.waiting, (contact.key, contact.contact_id))
        position = self._position(queue, contact)
        out.append(
            ContactQueued(
                at=now,
                contact_id=contact.contact_id,
                queue=config.name,
                priority=contact.priority,
                position=position,
                estimated_wait=self.estimated_wait(config.name, position),
            )
        )
        self._arm_contact_timers(now, contact, queue)
        self._route_contact(now, contact, out)

    def _arm_contact_timers(self, now: float, contact: _Contact, queue: _Queue) -> None:
        """Max wait and tier widening count from joining; announcements from ``now``."""
        config = queue.config
        cid, token, joined = contact.contact_id, contact.token, contact.joined_at
        if config.max_wait is not None:
            self._arm(max(now, joined + config.max_wait), _Timer.MAX_WAIT, cid, token)
        if config.announce_every is not None:
            self._arm(now + config.announce_every, _Timer.ANNOUNCE, cid, token)
        for start in queue.tier_starts[1:]:
            if joined + start > now:
                self._arm(joined + start, _Timer.TIER, cid, token)

    def _leave_queue(self, contact: _Contact) -> None:
        queue = self._queues[contact.queue]
        if contact.state is ContactState.WAITING:
            self._remove_waiting(queue, contact)
        queue.ringing.pop(contact.contact_id, None)
        contact.ringing.clear()
        contact.token += 1

    @staticmethod
    def _remove_waiting(queue: _Queue, contact: _Contact) -> None:
        entry = (contact.key, contact.contact_id)
        index = bisect_right(queue.waiting, entry) - 1
        if index >= 0 and queue.waiting[index] == entry:
            del queue.waiting[index]

    @staticmethod
    def _position(queue: _Queue, contact: _Contact) -> int:
        return bisect_right(queue.waiting, (contact.key, contact.contact_id))

    def _exit(
        self,
        now: float,
        contact: _Contact,
        queue: _Queue,
        action: ExitAction,
        reason: str,
        out: list[Event],
        visited: set[str],
    ) -> None:
        if (
            action.kind is ExitKind.CALLBACK_OFFER
            and contact.contact_id in self._contacts
            and (contact.state is ContactState.WAITING and self._is_waiting_in(queue, contact))
        ):
            if not contact.callback_offered and not contact.callback:
                contact.callback_offered = True
                position = self._position(queue, contact)
                out.append(
                    CallbackOffered(
                        at=now,
                        contact_id=contact.contact_id,
                        queue=queue.config.name,
                        position=position,
                        estimated_wait=self.estimated_wait(queue.config.name, position),
                    )
                )
            return
        waited = now - contact.joined_at
        self._leave_queue(contact)
        queue.counters.record_exited()
        kind = ExitKind.BUSY if action.kind is ExitKind.CALLBACK_OFFER else action.kind
        target_queue = self._queues.get(action.target) if kind is ExitKind.OVERFLOW else None
        if kind is ExitKind.OVERFLOW and (target_queue is None or action.target in visited):
            kind = ExitKind.BUSY  # a missing or looping overflow target: refuse, never lose
        out.append(
            ContactExited(
                at=now,
                contact_id=contact.contact_id,
                queue=queue.config.name,
                kind=kind,
                target=action.target if kind is action.kind else "",
                reason=reason,
                waited=waited,
            )
        )
        if kind is ExitKind.OVERFLOW and target_queue is not None:
            self._join(now, contact, target_queue, out, visited)
        else:
            del self._contacts[contact.contact_id]

    def _is_waiting_in(self, queue: _Queue, contact: _Contact) -> bool:
        index = self._position(queue, contact) - 1
        return index >= 0 and queue.waiting[index][1] == contact.contact_id

    def _check_empty_queues(self, now: float, out: list[Event]) -> None:
        for queue in self._queues.values():
            if queue.config.leave_when_empty and queue.logged_in == 0 and queue.waiting:
                for _, contact_id in list(queue.waiting):
                    contact = self._contacts[contact_id]
                    if contact.callback:
                        continue  # a callback has no caller on the line to send anywhere
                    self._exit(
                        now,
                        contact,
                        queue,
                        queue.config.on_empty,
                        "left_empty",
                        out,
                        {queue.config.name},
                    )

    # ------------------------------------------------------------------ internals: routing

    def _eligible(self, agent: _Agent, member_priority: int, tier: Tier, contact: _Contact) -> bool:
        if member_priority == POOLED_PRIORITY:
            if not tier.include_pooled:
                return False
        elif member_priority > tier.max_member_priority:
            return False
        return meets(agent.profile.skills, contact.requirements, tier.relax_levels)

    def _route_contact(self, now: float, contact: _Contact, out: list[Event]) -> None:
        """Find agents for a contact that has just joined, returned or widened its tier."""
        queue = self._queues[contact.queue]
        tier = queue.tier_at(now - contact.joined_at)
        candidates: list[_Agent] = []
        for agent_id in queue.routable:
            agent = self._agents[agent_id]
            if self._eligible(agent, queue.members[agent_id], tier, contact):
                candidates.append(agent)
        if tier.include_pooled:
            for department in sorted(queue.config.pooled_departments):
                for agent_id in self._routable_by_department.get(department, {}):
                    if agent_id in queue.members:
                        continue
                    agent = self._agents[agent_id]
                    if self._eligible(agent, POOLED_PRIORITY, tier, contact):
                        candidates.append(agent)
        if not candidates:
            return
        if queue.strategy.rings_all:
            chosen = sorted(candidates, key=lambda agent: agent.agent_id)
        else:
            request = RoutingRequest(
                queue=queue.config.name,
                requirements=contact.requirements,
                positions=self._positions_for(queue, candidates),
            )
            picked = queue.strategy.choose(candidates, request, self._rng)
            chosen = [self._agents[picked.agent_id]]
        self._offer(now, contact, queue, chosen, out)

    def _positions_for(self, queue: _Queue, candidates: list[_Agent]) -> dict[str, int]:
        positions = queue.positions
        pooled_base = queue.next_position
        result: dict[str, int] = {}
        for agent in candidates:
            position = positions.get(agent.agent_id)
            if position is None:  # pooled agents hunt after every member
                position = pooled_base + agent.order
            result[agent.agent_id] = position
        return result

    def _route_agent(self, now: float, agent: _Agent, out: list[Event]) -> None:
        """Find the best waiting contact for an agent who has just become routable.

        Across the agent's queues the lower member priority wins, then the contact that is
        first in line by its queue's order (priority class, then score)."""
        if not self._is_routable(agent, now):
            return
        best: tuple[int, ContactKey, _Contact] | None = None
        for name, member_priority in self._queues_for(agent):
            queue = self._queues[name]
            if member_priority == POOLED_PRIORITY:
                if not queue.ever_pools:
                    continue
            elif member_priority > queue.worst_member_priority:
                continue
            if best is not None and member_priority > best[0]:
                continue
            for key, contact_id in queue.waiting:
                if best is not None and (member_priority, key) >= best[:2]:
                    break
                contact = self._contacts[contact_id]
                tier = queue.tier_at(now - contact.joined_at)
                if self._eligible(agent, member_priority, tier, contact):
                    best = (member_priority, key, contact)
                    break
        if best is not None:
            contact = best[2]
            self._offer(now, contact, self._queues[contact.queue], [agent], out)

    def _queues_for(self, agent: _Agent) -> list[tuple[str, int]]:
        """The agent's member queues, then the queues pooling the agent's department, with
        the member priority each would be served at."""
        result = [
            (name, priority)
            for name, priority in agent.profile.queues.items()
            if name in self._queues
        ]
        for name in self._pooling_queues(agent.profile.department):
            if name not in agent.profile.queues:
                result.append((name, POOLED_PRIORITY))
        result.sort(key=lambda item: item[1])
        return result

    def _pooling_queues(self, department: str) -> list[str]:
        """Queues that may draw on ``department``'s agents (cached: asked on every routing
        from the agent's side, changed only by ``configure_queue``)."""
        cached = self._pooling_cache.get(department)
        if cached is None:
            cached = [
                name
                for name, queue in self._queues.items()
                if department in queue.config.pooled_departments
            ]
            self._pooling_cache[department] = cached
        return cached

    def _offer(
        self, now: float, contact: _Contact, queue: _Queue, agents: list[_Agent], out: list[Event]
    ) -> None:
        self._remove_waiting(queue, contact)
        contact.state = ContactState.RINGING
        queue.ringing[contact.contact_id] = None
        ring_timeout = queue.config.ring_timeout
        for agent in agents:
            contact.ringing[agent.agent_id] = None
            out.append(
                ContactOffered(
                    at=now,
                    contact_id=contact.contact_id,
                    queue=queue.config.name,
                    agent_id=agent.agent_id,
                    ring_timeout=ring_timeout,
                    callback=contact.callback,
                )
            )
            agent.contact_id = contact.contact_id
            agent.queue = queue.config.name
            self._transition(now, agent, AgentInput.OFFER, out, queue=queue.config.name)
            self._arm(now + ring_timeout, _Timer.RING, agent.agent_id, agent.token)

    def _withdraw(
        self, now: float, contact: _Contact, agent: _Agent, reason: str, out: list[Event]
    ) -> None:
        contact.ringing.pop(agent.agent_id, None)
        out.append(
            OfferWithdrawn(
                at=now,
                contact_id=contact.contact_id,
                queue=contact.queue,
                agent_id=agent.agent_id,
                reason=reason,
            )
        )

    def _offer_failed(self, now: float, contact_id: str, agent_id: str, reason: str) -> list[Event]:
        contact = self._contacts.get(contact_id)
        agent = self._agent(agent_id)
        out: list[Event] = []
        if contact is None or agent_id not in contact.ringing:
            out.append(
                InputIgnored(
                    at=now,
                    input=reason,
                    contact_id=contact_id,
                    agent_id=agent_id,
                    reason="offer no longer stands",
                )
            )
            return out
        self._withdraw(now, contact, agent, reason, out)
        profile = agent.profile
        if reason == "no_answer":
            agent.no_answer_streak += 1
            if profile.max_no_answer and agent.no_answer_streak >= profile.max_no_answer:
                self._transition(
                    now, agent, AgentInput.NO_ANSWER_LIMIT, out, reason=NO_ANSWER_BREAK
                )
                self._after_offer_failed(now, contact, out)
                return out
            agent.ready_at = now + profile.no_answer_delay
            self._transition(now, agent, AgentInput.NO_ANSWER, out)
        else:
            agent.ready_at = now + profile.reject_delay
            self._transition(now, agent, AgentInput.REJECT, out)
        # A break or logout asked for while ringing wins over the contact coming back.
        self._apply_pending(now, agent, out)
        self._after_offer_failed(now, contact, out)
        if agent.state is AgentState.AVAILABLE:
            self._route_agent(now, agent, out)
        return out

    def _after_offer_failed(self, now: float, contact: _Contact, out: list[Event]) -> None:
        """Once nobody rings for it any more, the contact goes back to its place in line."""
        if contact.ringing:
            return
        queue = self._queues[contact.queue]
        queue.ringing.pop(contact.contact_id, None)
        contact.state = ContactState.WAITING
        insort(queue.waiting, (contact.key, contact.contact_id))
        max_wait = queue.config.max_wait
        if max_wait is not None and now - contact.joined_at + TIME_TOLERANCE >= max_wait:
            self._exit(now, contact, queue, queue.config.on_max_wait, "max_wait", out, set())
            if contact.contact_id not in self._contacts or contact.queue != queue.config.name:
                return
        self._route_contact(now, contact, out)

    # ------------------------------------------------------------------ internals: timers

    def _arm(self, when: float, kind: _Timer, subject: str, token: int) -> None:
        self._sequence += 1
        heapq.heappush(self._timers, (when, self._sequence, kind, subject, token))

    def _timer_live(self, entry: tuple[float, int, _Timer, str, int]) -> bool:
        _, _, kind, subject, token = entry
        if kind in _AGENT_TIMERS:
            agent = self._agents.get(subject)
            return agent is not None and agent.token == token
        contact = self._contacts.get(subject)
        return contact is not None and contact.token == token

    def _fire(self, now: float, kind: _Timer, subject: str, out: list[Event]) -> None:
        if kind is _Timer.RING:
            agent = self._agents[subject]
            out.extend(self._offer_failed(now, agent.contact_id, subject, "no_answer"))
        elif kind is _Timer.REST_END:
            self._end_rest(now, self._agents[subject], out)
        elif kind is _Timer.WRAP_UP_END:
            self._end_wrap_up(now, self._agents[subject], out)
        else:
            self._fire_contact_timer(now, kind, self._contacts[subject], out)

    def _fire_contact_timer(
        self, now: float, kind: _Timer, contact: _Contact, out: list[Event]
    ) -> None:
        queue = self._queues[contact.queue]
        if kind is _Timer.MAX_WAIT:
            if contact.state is ContactState.WAITING:
                self._exit(now, contact, queue, queue.config.on_max_wait, "max_wait", out, set())
            # While ringing the offer runs its course; a failed offer re-checks max wait.
        elif kind is _Timer.ANNOUNCE:
            every = queue.config.announce_every
            if every is not None:
                if contact.state is ContactState.WAITING and not contact.callback:
                    position = self._position(queue, contact)
                    out.append(
                        PositionAnnounced(
                            at=now,
                            contact_id=contact.contact_id,
                            queue=contact.queue,
                            position=position,
                            estimated_wait=self.estimated_wait(contact.queue, position),
                        )
                    )
                if contact.state is not ContactState.CONNECTED:
                    self._arm(now + every, _Timer.ANNOUNCE, contact.contact_id, contact.token)
        elif kind is _Timer.TIER and contact.state is ContactState.WAITING:
            self._route_contact(now, contact, out)
