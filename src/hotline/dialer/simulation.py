"""A seeded discrete-event simulation of an outbound campaign, for any pacing policy.

A contact list, a team of agents and a policy: every tick the policy says how many calls to
place; each dialled contact answers with the scenario's answer probability after a random
ring time (otherwise it rings out at the no-answer timeout, or is busy); an answered call
takes the agent who has waited longest, or waits; a call still waiting ``connect_deadline``
seconds after the customer answered is abandoned (the customer hears the short message and
it counts against the cap). Agents talk, wrap up, and are ready again.

Each contact's fate (answers or not, ring, talk and wrap-up times) is drawn from the seed
and the contact's position in the list, not from the order of events, so two policies run
on the same seed call the same people with the same outcomes: their differences are the
pacing's, not the luck of the draw. The policy sees only a :class:`CampaignState` fed with
what a real dialler would report, never the contacts' fates.

Measures (``DialerResult``): abandon rate = abandoned / answered; occupancy = talk time /
logged-in time; contacts = answered calls connected to an agent, per agent-hour.

It lives in the package (not under ``bench/``) because ``hotline dialer simulate`` runs it.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from hotline.dialer.estimates import EstimatePriors
from hotline.dialer.pacing import CampaignState, PacingConfig, PacingPolicy, create_policy


@dataclass(frozen=True, slots=True)
class DialerScenario:
    """The campaign being simulated. Durations are means in seconds, lognormal with ``*_cv``."""

    agents: int = 20
    answer_rate: float = 0.3
    minutes: float = 120.0
    talk_seconds: float = 120.0
    talk_cv: float = 0.8
    wrap_seconds: float = 15.0
    wrap_cv: float = 0.5
    #: Ring time of the calls that answer (truncated at the no-answer timeout).
    ring_seconds: float = 12.0
    ring_cv: float = 0.5
    no_answer_timeout: float = 25.0
    #: Share of the calls that do not answer that are busy, ending after ``busy_seconds``.
    busy_rate: float = 0.0
    busy_seconds: float = 4.0
    #: Share of call attempts a carrier refuses (503); the contact is tried again.
    carrier_congestion: float = 0.0
    connect_deadline: float = 2.0
    abandon_target: float = 0.03
    #: How often the policy is asked (the dialler's tick), seconds.
    decision_interval: float = 1.0
    #: Size of the contact list; None for more than the run can dial.
    contacts: int | None = None
    seed: int = 1

    def __post_init__(self) -> None:
        if self.agents < 1:
            raise ValueError("a campaign needs at least one agent")
        if not 0.0 < self.answer_rate <= 1.0:
            raise ValueError("answer_rate is a probability")
        if self.minutes <= 0 or self.decision_interval <= 0:
            raise ValueError("minutes and decision_interval must be positive")
        for name in ("talk_seconds", "wrap_seconds", "ring_seconds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.ring_seconds >= self.no_answer_timeout:
            raise ValueError("ring_seconds must be below the no-answer timeout")


@dataclass(frozen=True, slots=True)
class DialerResult:
    mode: str
    scenario: DialerScenario
    dialled: int
    answered: int
    abandoned: int
    connected: int
    not_answered: int
    carrier_rejected: int
    #: Calls still ringing when the run ended (neither answered nor rung out).
    still_ringing: int
    talk_seconds: float
    logged_in_seconds: float
    #: Mean calls ringing or waiting per agent, sampled at each tick.
    lines_per_agent: float

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.answered if self.answered else 0.0

    @property
    def occupancy(self) -> float:
        return self.talk_seconds / self.logged_in_seconds

    @property
    def contacts_per_agent_hour(self) -> float:
        return self.connected / (self.logged_in_seconds / 3600.0)

    def as_dict(self) -> dict[str, Any]:
        """Flat figures for ``--json`` (fractions, not percentages)."""
        scenario = asdict(self.scenario)
        return {
            "mode": self.mode,
            "abandon_rate": self.abandon_rate,
            "occupancy": self.occupancy,
            "contacts_per_agent_hour": self.contacts_per_agent_hour,
            "dialled": self.dialled,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "connected": self.connected,
            "not_answered": self.not_answered,
            "carrier_rejected": self.carrier_rejected,
            "still_ringing": self.still_ringing,
            "talk_seconds": self.talk_seconds,
            "logged_in_seconds": self.logged_in_seconds,
            "lines_per_agent": self.lines_per_agent,
            "scenario": scenario,
        }


def _lognormal(rng: np.random.Generator, mean: float, cv: float, size: int) -> np.ndarray:
    sigma = math.sqrt(math.log1p(cv * cv))
    return rng.lognormal(math.log(mean) - sigma * sigma / 2.0, sigma, size)


@dataclass(slots=True)
class Contact:
    """One simulated person on the list: whether and when they answer, how long they talk."""

    answers: bool
    busy: bool
    ring: float
    talk: float
    wrap: float


@dataclass(slots=True)
class ContactList:
    """The list, drawn lazily in seeded chunks so contact ``i`` is the same in every run."""

    scenario: DialerScenario
    chunk: int = 4096
    _cache: dict[int, list[Contact]] = field(default_factory=dict)
    _next: int = 0
    _retry: deque[Contact] = field(default_factory=deque)

    def _draw(self, index: int) -> list[Contact]:
        s = self.scenario
        rng = np.random.default_rng([s.seed, index])
        size = self.chunk
        answers = rng.random(size) < s.answer_rate
        busy = rng.random(size) < s.busy_rate
        ring = _lognormal(rng, s.ring_seconds, s.ring_cv, size)
        # Answered calls answer before the timeout: redraw the few that would not.
        limit = s.no_answer_timeout * 0.999
        for _ in range(50):
            late = ring >= limit
            if not late.any():
                break
            ring[late] = _lognormal(rng, s.ring_seconds, s.ring_cv, int(late.sum()))
        ring = np.minimum(ring, limit)
        talk = _lognormal(rng, s.talk_seconds, s.talk_cv, size)
        wrap = _lognormal(rng, s.wrap_seconds, s.wrap_cv, size)
        return [
            Contact(bool(a), bool(b), float(r), float(t), float(w))
            for a, b, r, t, w in zip(answers, busy, ring, talk, wrap, strict=True)
        ]

    def next(self) -> Contact | None:
        if self._retry:
            return self._retry.popleft()
        limit = self.scenario.contacts
        if limit is not None and self._next >= limit:
            return None
        block, offset = divmod(self._next, self.chunk)
        if block not in self._cache:
            self._cache.clear()
            self._cache[block] = self._draw(block)
        self._next += 1
        return self._cache[block][offset]

    def retry(self, contact: Contact) -> None:
        self._retry.append(contact)


# Event kinds, in the order they are handled at one instant.
_TALK_END, _WRAP_END, _ANSWER, _NO_ANSWER, _DEADLINE, _TICK = range(6)


def simulate(
    scenario: DialerScenario,
    mode: str = "predictive",
    *,
    config: PacingConfig | None = None,
    priors: EstimatePriors | None = None,
    policy_options: dict[str, Any] | None = None,
    policy: PacingPolicy | None = None,
) -> DialerResult:
    """Run one campaign through the policy registered as ``mode`` (or through ``policy``)."""
    end = scenario.minutes * 60.0
    config = config or PacingConfig(
        abandon_target=scenario.abandon_target,
        connect_deadline=scenario.connect_deadline,
        no_answer_timeout=scenario.no_answer_timeout,
        shift_end=end,
    )
    state = CampaignState(config, priors)
    if policy is None:
        policy = create_policy(mode, **(policy_options or {}))
    mode = policy.name
    contacts = ContactList(scenario)
    congestion = np.random.default_rng([scenario.seed, 1 << 30])

    events: list[tuple[float, int, int, Any]] = []
    order = 0

    def push(time: float, kind: int, item: Any) -> None:
        nonlocal order
        order += 1
        heapq.heappush(events, (time, kind, order, item))

    agent_names = [f"agent-{i}" for i in range(scenario.agents)]
    ready: deque[str] = deque(agent_names)
    for agent in agent_names:
        state.agent_ready(agent, 0.0)
    #: Answered calls waiting for an agent, first come first served, and their contacts.
    queue: deque[str] = deque()
    waiting: dict[str, Contact] = {}
    talk_total = 0.0
    lines = 0.0
    ticks = 0
    call_number = 0

    def connect(agent: str, call: str, contact: Contact, now: float) -> None:
        nonlocal talk_total
        state.call_connected(call, now)
        state.agent_talking(agent, now)
        talk_total += max(0.0, min(contact.talk, end - now))
        push(now + contact.talk, _TALK_END, (agent, contact))

    push(0.0, _TICK, None)
    # After the end no call is placed; answered calls still get their agent or their
    # message, so every answer is counted once as connected or abandoned.
    stop = end + scenario.connect_deadline
    while events:
        now, kind, _, item = heapq.heappop(events)
        if now > stop:
            break
        if kind == _TICK:
            if now >= end:
                continue
            wanted = policy.calls_to_place(state, now)
            for _ in range(wanted):
                contact = contacts.next()
                if contact is None:
                    break
                call_number += 1
                call = f"call-{call_number}"
                state.call_dialled(call, now)
                if (
                    scenario.carrier_congestion
                    and congestion.random() < scenario.carrier_congestion
                ):
                    state.carrier_rejected(call, now)
                    contacts.retry(contact)
                elif contact.answers:
                    push(now + contact.ring, _ANSWER, (call, contact))
                elif contact.busy:
                    push(now + scenario.busy_seconds, _NO_ANSWER, call)
                else:
                    push(now + scenario.no_answer_timeout, _NO_ANSWER, call)
            lines += state.ringing + state.waiting
            ticks += 1
            push(now + scenario.decision_interval, _TICK, None)
        elif kind == _ANSWER:
            call, contact = item
            if now > end:
                # The campaign has stopped: the dialler hangs up calls still ringing.
                state.call_not_answered(call, now)
                continue
            state.call_answered(call, now)
            if ready:
                connect(ready.popleft(), call, contact, now)
            else:
                queue.append(call)
                waiting[call] = contact
                push(now + scenario.connect_deadline, _DEADLINE, call)
        elif kind == _NO_ANSWER:
            state.call_not_answered(item, now)
        elif kind == _DEADLINE:
            if waiting.pop(item, None) is not None:
                state.call_abandoned(item, now)
        elif kind == _TALK_END:
            agent, contact = item
            state.agent_wrapping(agent, now)
            push(now + contact.wrap, _WRAP_END, agent)
        elif kind == _WRAP_END:
            state.agent_ready(item, now)
            while queue and queue[0] not in waiting:
                queue.popleft()
            if queue:
                call = queue.popleft()
                connect(item, call, waiting.pop(call), now)
            else:
                ready.append(item)

    return DialerResult(
        mode=mode,
        scenario=scenario,
        dialled=state.dialled,
        answered=state.answered,
        abandoned=state.abandoned,
        connected=state.connected,
        not_answered=state.unanswered,
        carrier_rejected=state.carrier_rejected_calls,
        still_ringing=state.ringing,
        talk_seconds=talk_total,
        logged_in_seconds=scenario.agents * end,
        lines_per_agent=lines / max(ticks, 1) / scenario.agents,
    )
