"""Live queue and agent statistics, with the standard metric definitions in one place.

The definitions are those of ``docs/architecture.md`` ("Standard metric definitions");
dashboards, reports and the wallboard must read them from here rather than recompute, so
that every screen agrees. A ratio whose denominator is zero is ``None`` ("no data yet"),
never 0 or 100 %, because both would be a claim.

What the ACD can see limits two of them: hold time happens inside the call layer, so talk
time here runs from answer to hang-up and includes hold; ringing time is neither handling
nor idle, so it counts in neither part of occupancy.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from hotline.acd.states import HANDLING_STATES, AgentState

#: Abandons sooner than this are "short abandons", listed separately (architecture.md).
SHORT_ABANDON_SECONDS = 5.0
#: How many recent handle times feed the estimated wait time.
RECENT_HANDLE_TIMES = 20


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def average_speed_of_answer(total_wait_of_answered: float, answered: int) -> float | None:
    """ASA = total wait of answered calls / answered calls."""
    return _ratio(total_wait_of_answered, answered)


def average_handle_time(talk: float, hold: float, wrap_up: float, handled: int) -> float | None:
    """AHT = (talk + hold + wrap-up) / handled."""
    return _ratio(talk + hold + wrap_up, handled)


def service_level(
    answered_within_threshold: int, answered: int, abandoned_after_threshold: int
) -> float | None:
    """Service level (T s) = answered within T / (answered + abandoned after T)."""
    return _ratio(answered_within_threshold, answered + abandoned_after_threshold)


def abandon_rate(abandoned: int, offered: int) -> float | None:
    """Abandon rate = abandoned / offered to queue."""
    return _ratio(abandoned, offered)


def occupancy(handling: float, available_idle: float) -> float | None:
    """Occupancy = handling time / (handling + available idle time)."""
    return _ratio(handling, handling + available_idle)


def utilization(handling: float, logged_in: float) -> float | None:
    """Utilization = handling time / logged-in time."""
    return _ratio(handling, logged_in)


@dataclass(slots=True)
class QueueCounters:
    """Running totals of one queue since the ACD started (or counters were reset)."""

    service_level_seconds: float
    offered: int = 0
    answered: int = 0
    answered_within_threshold: int = 0
    abandoned: int = 0
    abandoned_short: int = 0
    abandoned_after_threshold: int = 0
    exited: int = 0
    total_wait_of_answered: float = 0.0
    handled: int = 0
    total_talk: float = 0.0
    total_wrap_up: float = 0.0
    recent_handle_times: deque[float] = field(
        default_factory=lambda: deque(maxlen=RECENT_HANDLE_TIMES)
    )

    def record_offered(self) -> None:
        self.offered += 1

    def record_answered(self, waited: float) -> None:
        self.answered += 1
        self.total_wait_of_answered += waited
        if waited <= self.service_level_seconds:
            self.answered_within_threshold += 1

    def record_abandoned(self, waited: float) -> None:
        self.abandoned += 1
        if waited < SHORT_ABANDON_SECONDS:
            self.abandoned_short += 1
        if waited > self.service_level_seconds:
            self.abandoned_after_threshold += 1

    def record_exited(self) -> None:
        """Left without an agent by a rule (overflow, voicemail, busy): neither answered
        nor abandoned, so it counts in no service-level term."""
        self.exited += 1

    def record_handled(self, talk: float, wrap_up: float) -> None:
        self.handled += 1
        self.total_talk += talk
        self.total_wrap_up += wrap_up
        self.recent_handle_times.append(talk + wrap_up)

    def recent_average_handle_time(self) -> float | None:
        times = self.recent_handle_times
        return sum(times) / len(times) if times else None


@dataclass(slots=True)
class AgentTimes:
    """Time an agent has spent in each state, kept up to date on every state change."""

    state: AgentState
    since: float
    seconds_in: dict[AgentState, float] = field(default_factory=dict)

    def change(self, now: float, state: AgentState) -> None:
        self.seconds_in[self.state] = self.seconds_in.get(self.state, 0.0) + (now - self.since)
        self.state = state
        self.since = now

    def as_of(self, now: float) -> dict[AgentState, float]:
        totals = dict(self.seconds_in)
        totals[self.state] = totals.get(self.state, 0.0) + (now - self.since)
        return totals


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueStatistics:
    """One queue at one moment, for the wallboard and the queue API."""

    queue: str
    at: float
    waiting: int
    longest_wait: float
    #: Mean wait so far of the contacts waiting now.
    average_wait: float | None
    offered: int
    answered: int
    abandoned: int
    abandoned_short: int
    exited: int
    average_speed_of_answer: float | None
    average_handle_time: float | None
    service_level_seconds: float
    service_level: float | None
    abandon_rate: float | None
    #: Member agents by state (logged-out members included).
    agents_by_state: Mapping[AgentState, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStatistics:
    agent_id: str
    at: float
    state: AgentState
    reason: str
    seconds_in: Mapping[AgentState, float]
    answered: int
    talk_seconds: float
    occupancy: float | None
    utilization: float | None


def queue_statistics(
    *,
    queue: str,
    now: float,
    counters: QueueCounters,
    waiting_since: list[float],
    agents_by_state: Mapping[AgentState, int],
) -> QueueStatistics:
    waits = [now - joined for joined in waiting_since]
    return QueueStatistics(
        queue=queue,
        at=now,
        waiting=len(waits),
        longest_wait=max(waits, default=0.0),
        average_wait=_ratio(sum(waits), len(waits)),
        offered=counters.offered,
        answered=counters.answered,
        abandoned=counters.abandoned,
        abandoned_short=counters.abandoned_short,
        exited=counters.exited,
        average_speed_of_answer=average_speed_of_answer(
            counters.total_wait_of_answered, counters.answered
        ),
        average_handle_time=average_handle_time(
            counters.total_talk, 0.0, counters.total_wrap_up, counters.handled
        ),
        service_level_seconds=counters.service_level_seconds,
        service_level=service_level(
            counters.answered_within_threshold,
            counters.answered,
            counters.abandoned_after_threshold,
        ),
        abandon_rate=abandon_rate(counters.abandoned, counters.offered),
        agents_by_state=agents_by_state,
    )


def agent_statistics(
    *,
    agent_id: str,
    now: float,
    times: AgentTimes,
    reason: str,
    answered: int,
    talk_seconds: float,
) -> AgentStatistics:
    seconds_in = times.as_of(now)
    handling = sum(seconds_in.get(state, 0.0) for state in HANDLING_STATES)
    logged_in = sum(t for state, t in seconds_in.items() if state is not AgentState.LOGGED_OUT)
    return AgentStatistics(
        agent_id=agent_id,
        at=now,
        state=times.state,
        reason=reason,
        seconds_in=seconds_in,
        answered=answered,
        talk_seconds=talk_seconds,
        occupancy=occupancy(handling, seconds_in.get(AgentState.AVAILABLE, 0.0)),
        utilization=utilization(handling, logged_in),
    )
