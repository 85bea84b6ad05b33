"""How many calls to place now: pacing policies over a campaign's live state.

A dialler asks its campaign's policy ``calls_to_place(state, now)`` on every tick (once a
second or so) and dials that many contacts. The policy does no I/O and never reads a clock:
the :class:`CampaignState` is told what happens (an agent became ready, a call was
answered, a carrier refused a call) with the time it happened, and a policy reads it. The
same code runs under the simulator (:mod:`hotline.dialer.simulation`) and, later, the live
dialler.

Policies are a registry (:func:`register_policy`, :func:`create_policy`):

* ``preview``: the dialler places no call by itself; the agent sees the contact card and
  dials or skips.
* ``progressive``: one call per ready agent that no call is already ringing for. No call can
  find every agent busy, so nothing is ever abandoned, and agents wait through every ring.
* ``predictive``: several calls per agent, placed so that the *expected* abandon rate stays
  under the campaign's cap (3 % of answered calls by default, the US FTC safe harbour; an
  answered call is abandoned when no agent takes it within 2 s).
* ``vicidial-adaptive`` (:mod:`hotline.dialer.vicidial_adapt`): VICIdial's feedback loop,
  kept as the benchmark we compare against.

The predictive model, in short (``docs/dialer.md`` has the derivation). Over the next half
minute, let ``C(u)`` be the number of answered calls whose 2-s deadline falls before ``now +
u`` and ``S(u)`` the number of agents free by then. Calls take agents first come, first
served, and each call can use any agent free before its deadline, so by Hall's theorem the
calls abandoned are ``max_u (C(u) - S(u))+``. Every ringing call and every busy agent
contributes a Bernoulli term to ``C`` or ``S`` (from the learnt ring, talk and wrap-up
distributions, given how long it has already been ringing, talking or wrapping up); a
Gaussian walk with those marginals and Clark's moments of a maximum give ``E_k``, the
expected abandons if ``k`` more calls are placed. The policy dials while the *marginal*
call's risk ``(E_k - E_{k-1}) / p_answer`` stays under a limit ``lambda`` and the calls in
flight cannot carry the campaign over its cap. ``lambda`` is the feedback, on the
campaign's budget (cap x answered - abandoned - a reserve for luck): it grows while the
campaign is under its cap by more than the reserve (spending the margin) and shrinks when
the model proves optimistic; when the campaign is over its cap the policy falls back to
progressive until answered calls have earned the margin back.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar, TypeVar

import numpy as np

from hotline.dialer.estimates import (
    CampaignEstimates,
    EstimatePriors,
    FloatArray,
)


@dataclass(frozen=True, slots=True)
class PacingConfig:
    """A campaign's pacing rules; the defaults are the FTC safe harbour's."""

    #: Abandoned calls allowed, as a fraction of answered calls over the campaign.
    abandon_target: float = 0.03
    #: An answered call with no agent after this many seconds is abandoned.
    connect_deadline: float = 2.0
    #: The dialler hangs up a call that has rung this long without an answer.
    no_answer_timeout: float = 25.0
    #: The margin earned under the cap is spent over about this many seconds of calls.
    spending_window: float = 600.0
    #: The budget holds back this many standard deviations of the abandons the cap allows
    #: so far (as if they were Poisson), so that luck does not carry a small team over the
    #: cap: with 5 agents a campaign answers about 250 calls in two hours, each abandon is
    #: 0.4 % of them, and the reserve is 2.9 abandons; with 100 agents, 5000 answers, it
    #: is 12 abandons, 0.25 %.
    budget_sigmas: float = 1.0
    #: The calls in flight may carry the campaign over its cap with at most this
    #: probability (their abandons taken as Poisson with the model's mean).
    in_flight_risk: float = 0.05
    #: Never place a call whose own risk of being abandoned, if answered, exceeds this.
    max_call_risk: float = 0.3
    #: Calls in flight (ringing or waiting) per agent logged in, at most.
    max_lines_per_agent: float = 8.0
    #: A carrier's 503 or congestion halves the pace for this many seconds (each one).
    carrier_backoff_seconds: float = 30.0
    #: When the campaign stops dialling today, on the state's clock (None: not known).
    shift_end: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.abandon_target < 1.0:
            raise ValueError("abandon_target is a fraction of answered calls")
        if self.connect_deadline < 0 or self.no_answer_timeout <= 0:
            raise ValueError("deadline and timeout must be positive")
        if self.budget_sigmas < 0:
            raise ValueError("the reserve is counted in standard deviations, not negative")
        if not 0.0 < self.in_flight_risk < 1.0:
            raise ValueError("in_flight_risk is a probability")

    def budget(self, answered: int, abandoned: int) -> float:
        """Abandons the campaign can still afford, less its reserve for bad luck."""
        allowed = self.abandon_target * answered
        return allowed - abandoned - self.budget_sigmas * math.sqrt(allowed + 1.0)


class AgentPhase(Enum):
    """What an agent is doing, as far as pacing cares."""

    READY = "ready"
    TALKING = "talking"
    WRAP_UP = "wrap-up"
    #: Logged in but taking no calls (break, training): not counted as an agent to dial for.
    PAUSED = "paused"


class CampaignState:
    """One campaign's live state, told each change with its time; the estimates learn from it.

    The dialler reports agents' phases and each call's progress (dialled, answered,
    connected or abandoned, or not answered) and the carriers' refusals. Durations are
    measured here from those reports and fed to :attr:`estimates`, so the dialler cannot
    forget to teach the model. Unknown ids raise ``KeyError``: a report about a call the
    state never saw is a bug in the caller.
    """

    def __init__(
        self, config: PacingConfig | None = None, priors: EstimatePriors | None = None
    ) -> None:
        self.config = config or PacingConfig()
        self.estimates = CampaignEstimates(self.config.no_answer_timeout, priors)
        self._agents: dict[str, tuple[AgentPhase, float]] = {}
        self._phase_counts = dict.fromkeys(AgentPhase, 0)
        #: call id -> when it was dialled (still ringing).
        self._ringing: dict[str, float] = {}
        #: call id -> when it was answered (waiting for an agent).
        self._waiting: dict[str, float] = {}
        self._rejections: deque[float] = deque()
        self.dialled = 0
        self.answered = 0
        self.unanswered = 0
        self.connected = 0
        self.abandoned = 0
        self.carrier_rejected_calls = 0

    # -- agents -------------------------------------------------------------------------

    def _set_phase(self, agent_id: str, phase: AgentPhase, now: float) -> AgentPhase | None:
        previous = self._agents.get(agent_id)
        if previous is not None:
            self._phase_counts[previous[0]] -= 1
        self._agents[agent_id] = (phase, now)
        self._phase_counts[phase] += 1
        return None if previous is None else previous[0]

    def _since(self, agent_id: str) -> float | None:
        entry = self._agents.get(agent_id)
        return None if entry is None else entry[1]

    def agent_ready(self, agent_id: str, now: float) -> None:
        """Logged in, back from a pause, or done with wrap-up (which it then measures)."""
        since = self._since(agent_id)
        if self._set_phase(agent_id, AgentPhase.READY, now) is AgentPhase.WRAP_UP:
            assert since is not None
            self.estimates.observe_wrap(now - since)

    def agent_talking(self, agent_id: str, now: float) -> None:
        """Connected to a customer."""
        self._set_phase(agent_id, AgentPhase.TALKING, now)

    def agent_wrapping(self, agent_id: str, now: float) -> None:
        """The customer's call ended; the agent is writing it up (measures the talk)."""
        since = self._since(agent_id)
        if self._set_phase(agent_id, AgentPhase.WRAP_UP, now) is AgentPhase.TALKING:
            assert since is not None
            self.estimates.observe_talk(now - since)

    def agent_paused(self, agent_id: str, now: float) -> None:
        self._set_phase(agent_id, AgentPhase.PAUSED, now)

    def agent_logged_out(self, agent_id: str, now: float) -> None:
        phase, _ = self._agents.pop(agent_id)
        self._phase_counts[phase] -= 1

    def count(self, phase: AgentPhase) -> int:
        return self._phase_counts[phase]

    @property
    def logged_in(self) -> int:
        return len(self._agents)

    @property
    def active_agents(self) -> int:
        """Agents the campaign dials for: logged in and not paused."""
        return len(self._agents) - self._phase_counts[AgentPhase.PAUSED]

    def ages(self, phase: AgentPhase, now: float) -> FloatArray:
        """Seconds each agent in ``phase`` has been in it."""
        return np.array(
            [now - since for p, since in self._agents.values() if p is phase], dtype=np.float64
        )

    # -- calls ----------------------------------------------------------------------------

    def call_dialled(self, call_id: str, now: float) -> None:
        if call_id in self._ringing or call_id in self._waiting:
            raise ValueError(f"call {call_id} is already in progress")
        self._ringing[call_id] = now
        self.dialled += 1

    def call_answered(self, call_id: str, now: float) -> None:
        """The customer picked up; the call waits for an agent until the deadline."""
        dialled_at = self._ringing.pop(call_id)
        self.estimates.observe_answer(now - dialled_at)
        self._waiting[call_id] = now
        self.answered += 1

    def call_not_answered(self, call_id: str, now: float) -> None:
        """No answer by the timeout, busy, or the number failed: the ring ended."""
        dialled_at = self._ringing.pop(call_id)
        self.estimates.observe_no_answer(now - dialled_at)
        self.unanswered += 1

    def call_connected(self, call_id: str, now: float) -> None:
        """An agent took the answered call."""
        del self._waiting[call_id]
        self.connected += 1

    def call_abandoned(self, call_id: str, now: float) -> None:
        """No agent within the deadline: the customer heard the message; counts on the cap."""
        del self._waiting[call_id]
        self.abandoned += 1

    def carrier_rejected(self, call_id: str | None, now: float) -> None:
        """A carrier answered 503 or signalled congestion: the hook that slows the pace.

        The refusal says nothing about the contact (it is not a no-answer and the number
        should be tried again), so it teaches the estimates nothing; it halves the pace for
        ``carrier_backoff_seconds``, each refusal again, so a congested trunk group is not
        hammered until it burns the list.
        """
        if call_id is not None:
            self._ringing.pop(call_id)
            self.dialled -= 1
        self._rejections.append(now)
        self.carrier_rejected_calls += 1

    def carrier_pressure(self, now: float) -> int:
        """Carrier refusals still slowing the pace."""
        horizon = now - self.config.carrier_backoff_seconds
        while self._rejections and self._rejections[0] <= horizon:
            self._rejections.popleft()
        return len(self._rejections)

    @property
    def ringing(self) -> int:
        return len(self._ringing)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def ringing_ages(self, now: float) -> FloatArray:
        return now - np.fromiter(self._ringing.values(), np.float64, len(self._ringing))

    def waiting_ages(self, now: float) -> FloatArray:
        return now - np.fromiter(self._waiting.values(), np.float64, len(self._waiting))

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.answered if self.answered else 0.0

    def progressive_calls(self) -> int:
        """One call per ready agent that no ringing or waiting call is already meant for."""
        return max(0, self._phase_counts[AgentPhase.READY] - self.ringing - self.waiting)


# -- policies and their registry --------------------------------------------------------------


class PacingPolicy(ABC):
    """Decides how many calls a campaign places now. One instance per campaign."""

    #: Registry name, e.g. ``"predictive"``.
    name: ClassVar[str]
    #: Whether the dialler places calls by itself (false for preview).
    automatic: ClassVar[bool] = True

    def calls_to_place(self, state: CampaignState, now: float) -> int:
        """Calls to dial now: the policy's wish, slowed while carriers refuse calls."""
        wanted = max(0, self.wanted_calls(state, now))
        # Each refusal still in its back-off window halves the pace.
        return wanted >> min(state.carrier_pressure(now), 62)

    @abstractmethod
    def wanted_calls(self, state: CampaignState, now: float) -> int:
        """The policy's own decision, before the carrier back-off."""


_POLICIES: dict[str, type[PacingPolicy]] = {}
_P = TypeVar("_P", bound=type[PacingPolicy])


def register_policy(cls: _P) -> _P:
    """Class decorator: make a policy available by its ``name``."""
    if cls.name in _POLICIES:
        raise ValueError(f"pacing policy {cls.name!r} is already registered")
    _POLICIES[cls.name] = cls
    return cls


def policy_names(*, automatic_only: bool = False) -> list[str]:
    return sorted(n for n, c in _POLICIES.items() if c.automatic or not automatic_only)


def create_policy(name: str, **options: Any) -> PacingPolicy:
    try:
        cls = _POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown pacing policy {name!r}; known: {policy_names()}") from None
    return cls(**options)


@register_policy
class PreviewPolicy(PacingPolicy):
    """The agent dials from the contact card; the dialler places nothing by itself."""

    name = "preview"
    automatic = False

    def wanted_calls(self, state: CampaignState, now: float) -> int:
        return 0


@register_policy
class ProgressivePolicy(PacingPolicy):
    """One call per ready agent: never abandons, agents wait through every ring."""

    name = "progressive"

    def wanted_calls(self, state: CampaignState, now: float) -> int:
        return state.progressive_calls()


# -- the predictive model -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PacingTables:
    """The learnt distributions turned into look-up tables over the horizon ``u = 0..U``.

    Row = how long (whole seconds) the agent or call has been in its current phase; column
    ``u`` = seconds from now. Each entry is a probability for one agent or call. Ages past
    the last row use the last row (tables are rebuilt long before that matters).
    """

    #: P(free by now + u | talking for a seconds): the rest of the talk plus a wrap-up.
    talk_free: FloatArray
    #: P(free by now + u | wrapping up for b seconds).
    wrap_free: FloatArray
    #: P(answered, with its connect deadline before now + u | ringing for c seconds).
    answer_by: FloatArray
    answer_probability: float
    mean_handle_seconds: float

    @property
    def horizon(self) -> int:
        return int(self.answer_by.shape[1]) - 1


def build_tables(
    estimates: CampaignEstimates,
    config: PacingConfig,
    *,
    talk_ages: FloatArray,
    wrap_ages: FloatArray,
    ring_ages: FloatArray,
    spare_seconds: int = 64,
) -> PacingTables:
    """Evaluate the estimates (what is running counted as censored) into look-up tables.

    Times are whole-second bins and a duration in bin ``t`` is taken at its middle, ``t +
    0.5``. So a call ringing in bin ``c`` that answers in bin ``s`` answers ``s - c`` seconds
    from now and needs an agent by ``s - c + deadline``; an agent talking in bin ``a`` whose
    talk ends in bin ``t`` and whose wrap-up lasts bin ``w`` is free ``t + w + 0.5 - a``
    seconds from now. Talk rows go ``spare_seconds`` past the longest call in progress.
    """
    ring = estimates.ring.curves(ring_ages)
    talk = estimates.talk.curves(talk_ages)
    wrap = estimates.wrap.curves(wrap_ages)
    ring_bins = len(ring.survival)
    horizon = ring_bins + math.ceil(config.connect_deadline)
    width = horizon + 1
    u = np.arange(width)

    # reach[i] = P(duration bin >= i): the survival shifted by one, with 1 in front.
    talk_reach = np.concatenate(([1.0], talk.survival))
    wrap_reach = np.concatenate(([1.0], wrap.survival))
    wrap_pmf = wrap_reach[:-1] - wrap_reach[1:]

    # talk_free[a, u] = sum_{w < u} pW[w] (1 - reach[a + u - w] / reach[a]).
    longest = int(talk_ages.max()) if len(talk_ages) else 0
    rows = min(len(talk_reach) - width + 1, longest + spare_seconds)
    window = np.lib.stride_tricks.sliding_window_view(talk_reach, width)[:rows]
    kernel = np.zeros((width, width))
    for col in range(1, width):
        kernel[1 : col + 1, col] = wrap_pmf[col - 1 :: -1][:col]
    wrap_started = np.concatenate(([0.0], np.cumsum(wrap_pmf[: width - 1])))
    base = window[:, :1]
    ratio = np.divide(window @ kernel, base, out=np.zeros((rows, width)), where=base > 1e-12)
    talk_free = np.clip(wrap_started - ratio, 0.0, 1.0)

    # wrap_free[b, u] = P(wrap bin <= b + u | wrap bin >= b).
    wrap_window = np.lib.stride_tricks.sliding_window_view(wrap_reach, width + 1)
    wrap_base = wrap_window[:, :1]
    wrap_free = 1.0 - np.divide(
        wrap_window[:, 1:],
        wrap_base,
        out=np.zeros((len(wrap_window), width)),
        where=wrap_base > 1e-12,
    )

    # answer_by[c, u] = (F[c + floor(u - d)] - F[c - 1]) / S[c - 1], zero while u < d.
    shift = np.floor(u - config.connect_deadline).astype(np.int64)
    incidence = np.concatenate(([0.0], ring.incidence, np.full(width, ring.incidence[-1])))
    ring_reach = np.concatenate(([1.0], ring.survival))
    ages = np.arange(ring_bins)[:, None]
    index = np.clip(ages + shift[None, :] + 1, 0, len(incidence) - 1)
    gained = incidence[index] - incidence[ages]
    reach = ring_reach[ages]
    alive = (shift[None, :] >= 0) & (reach > 1e-12)
    answer_by = np.where(alive, gained / np.where(reach > 1e-12, reach, 1.0), 0.0)
    return PacingTables(
        talk_free=np.ascontiguousarray(talk_free),
        wrap_free=np.ascontiguousarray(np.clip(wrap_free, 0.0, 1.0)),
        answer_by=np.clip(answer_by, 0.0, 1.0),
        answer_probability=ring.event_probability,
        mean_handle_seconds=talk.mean + wrap.mean,
    )


_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_INV_SQRT_2 = 1.0 / math.sqrt(2.0)


def _walk_maximum(step_means: list[float], step_vars: list[float]) -> float:
    """``E[max(0, M)]`` for ``M`` the maximum of an integer walk, from its Gaussian steps.

    The walk ``W(u)`` has independent Gaussian steps. Clark's (1961) moments of the maximum
    of two correlated normals carry its running maximum ``M`` forward: mean, variance and
    covariance with the walk (a step is independent of the past, so that covariance only
    changes when the maximum does). The walk stands for an integer count, so the expected
    positive part is read with a continuity correction, ``sum_n P(M >= n - 1/2)`` for
    ``n >= 1``: without it a walk that is 0 or -1 (an agent who may free up, no call due)
    would show spurious abandons in its upper tail. Plain floats: for one candidate this
    is a few dozen operations per second of horizon, where numpy's per-call overhead would
    cost ten times more.
    """
    erfc, exp, sqrt = math.erfc, math.exp, math.sqrt
    walk_mean = step_means[0]
    walk_var = step_vars[0]
    max_mean, max_var, covariance = walk_mean, walk_var, walk_var
    for step_mean, step_var in zip(step_means[1:], step_vars[1:], strict=True):
        walk_mean += step_mean
        walk_var += step_var
        spread2 = max_var + walk_var - 2.0 * covariance
        if spread2 <= 1e-12:
            # The walk and its maximum move together: no uncertainty about which is larger.
            if walk_mean > max_mean:
                max_mean, max_var, covariance = walk_mean, walk_var, walk_var
            continue
        spread = sqrt(spread2)
        alpha = (max_mean - walk_mean) / spread
        keep = 0.5 * erfc(-alpha * _INV_SQRT_2)
        take = 1.0 - keep
        density = exp(-0.5 * alpha * alpha) * _INV_SQRT_2PI
        new_mean = max_mean * keep + walk_mean * take + spread * density
        second = (
            (max_mean * max_mean + max_var) * keep
            + (walk_mean * walk_mean + walk_var) * take
            + (max_mean + walk_mean) * spread * density
        )
        max_var = max(second - new_mean * new_mean, 0.0)
        covariance = covariance * keep + walk_var * take
        max_mean = new_mean
    sd = sqrt(max_var)
    if sd < 1e-9:
        return float(max(0, math.floor(max_mean + 0.5)))
    total = 0.0
    for n in range(1, max(1, math.ceil(max_mean + 8.0 * sd + 1.0)) + 1):
        total += 0.5 * erfc((n - 0.5 - max_mean) / sd * _INV_SQRT_2)
    return total


def expected_abandons(mean: FloatArray, variance: FloatArray) -> float:
    """Expected abandons, ``E[max(0, max_u D(u))]``, from the marginals of ``D(u)``.

    ``D(u) = C(u) - S(u)``: answered calls due an agent minus agents free, by ``now + u``;
    by Hall's theorem its maximum is the number of calls no agent can take in time. The walk
    is given independent increments that reproduce those marginals (a superposition of many
    independent calls and agents is close to one), and :func:`_walk_maximum` takes the
    expectation of its maximum. Taking the maximum of the expectations instead (as if the
    worst second were known in advance) under-counts abandons two to three times on a
    20-agent campaign against a Monte Carlo of the same model; this errs the other way,
    over-counting them in the far tail, and the feedback on the call-risk limit absorbs that.
    """
    steps = np.diff(mean, prepend=0.0)
    spreads = np.maximum(np.diff(variance, prepend=0.0), 0.0)
    return _walk_maximum(steps.tolist(), spreads.tolist())


def poisson_tail(mean: float, count: int) -> float:
    """P(N >= count) for N Poisson with ``mean``: the chance the calls in flight abandon
    ``count`` or more (the exact sum where it is small, where a normal would be poor)."""
    if count <= 0:
        return 1.0
    if mean <= 0.0:
        return 0.0
    if count > 60:
        sd = math.sqrt(mean)
        return 0.5 * math.erfc((count - 0.5 - mean) / sd * _INV_SQRT_2)
    term = math.exp(-mean)
    below = term
    for n in range(1, count):
        term *= mean / n
        below += term
    return max(0.0, 1.0 - below)


@dataclass(frozen=True, slots=True)
class PacingDecision:
    """Why the predictive policy dialled what it did (for the live view and the tests)."""

    calls: int
    #: "predictive", "progressive" (over the cap), or "no agents".
    mode: str
    #: The marginal call's allowed risk of being abandoned, given that it answers.
    call_risk_limit: float = 0.0
    #: Cap x answered - abandoned - reserve (``PacingConfig.budget``): abandons to spare.
    budget: float = 0.0
    #: Expected abandons among the calls in flight, without and with the new calls.
    expected_abandons_before: float = 0.0
    expected_abandons_after: float = 0.0
    answer_probability: float = 0.0
    #: Measured / expected abandons so far, by which the model's estimates were scaled.
    calibration: float = 1.0


@register_policy
class PredictivePolicy(PacingPolicy):
    """Model-based pacing under the abandon cap (see the module docstring)."""

    name = "predictive"

    #: Rebuild the tables at least this often, and after this share of new observations.
    REBUILD_SECONDS: ClassVar[float] = 30.0
    REBUILD_SHARE: ClassVar[float] = 0.1
    #: The budget moves the call-risk limit between e^-SHRINK and e^GROWTH times the cap.
    GROWTH: ClassVar[float] = 2.5
    SHRINK: ClassVar[float] = 5.0
    DEFICIT: ClassVar[float] = 2.0
    #: Abandons measured / abandons the model expected for the calls it placed, with this
    #: many pseudo-abandons on each side, within these bounds, scales the model's estimate.
    CALIBRATION_PRIOR: ClassVar[float] = 3.0
    CALIBRATION_BOUNDS: ClassVar[tuple[float, float]] = (1.0, 4.0)

    def __init__(self) -> None:
        self._tables: PacingTables | None = None
        self._built_at = -math.inf
        self._built_observations = 0
        self.last_decision: PacingDecision | None = None
        #: Abandons the model expected from the calls this policy placed, so far.
        self.expected_so_far = 0.0

    def tables(self, state: CampaignState, now: float) -> PacingTables:
        """The look-up tables, rebuilt when stale (a build takes a millisecond or two)."""
        observations = state.estimates.observations
        fresh = observations - self._built_observations
        if (
            self._tables is None
            or now - self._built_at >= self.REBUILD_SECONDS
            or fresh >= max(10, self.REBUILD_SHARE * self._built_observations)
        ):
            self._tables = build_tables(
                state.estimates,
                state.config,
                talk_ages=state.ages(AgentPhase.TALKING, now),
                wrap_ages=state.ages(AgentPhase.WRAP_UP, now),
                ring_ages=state.ringing_ages(now),
                spare_seconds=int(self.REBUILD_SECONDS) + 34,
            )
            self._built_at = now
            self._built_observations = observations
        return self._tables

    def wanted_calls(self, state: CampaignState, now: float) -> int:
        config = state.config
        progressive = state.progressive_calls()
        active = state.active_agents
        if active == 0:
            self.last_decision = PacingDecision(0, "no agents")
            return 0
        cap = target = config.abandon_target
        budget = config.budget(state.answered, state.abandoned)
        if state.abandoned > cap * state.answered:
            # Over the cap: progressive until answered calls have earned the margin back.
            self.last_decision = PacingDecision(progressive, "progressive", budget=budget)
            return progressive
        tables = self.tables(state, now)
        room = max(
            0, math.floor(config.max_lines_per_agent * active) - state.ringing - state.waiting
        )

        supply_mean, supply_var = self._supply(state, tables, now)
        demand_mean, demand_var, flight_answers = self._demand(state, tables, now)
        base_mean = demand_mean - supply_mean
        base_var = demand_var + supply_var
        new_mean = tables.answer_by[0]
        new_var = new_mean * (1.0 - new_mean)
        p_answer = max(tables.answer_probability, 1e-3)

        # The margin is spent over about one spending window's answers; a deficit (the
        # model was optimistic) tightens the limit the same way.
        window_answers = active * config.spending_window / max(tables.mean_handle_seconds, 1.0)
        scale = max(1.0, target * window_answers)
        # Below the reserve the limit falls DEFICIT times faster than it rises above it;
        # above it, a campaign that stops dialling soon spends only what it has time to
        # recover from (the margin is meant to last a spending window).
        if budget >= 0:
            pressure = budget / scale
            if config.shift_end is not None:
                left = max(config.shift_end - now, 0.0)
                pressure *= min(1.0, left / config.spending_window)
        else:
            pressure = self.DEFICIT * budget / scale
        growth = min(max(pressure, -self.SHRINK), self.GROWTH)
        risk_limit = min(config.max_call_risk, target * math.exp(growth))

        # E_k grows convexly in k, so the first refused call ends the search.
        base_steps = np.diff(base_mean, prepend=0.0).tolist()
        base_spreads = np.diff(base_var, prepend=0.0).tolist()
        new_steps = np.diff(new_mean, prepend=0.0).tolist()
        new_spreads = np.diff(new_var, prepend=0.0).tolist()
        marginal_limit = risk_limit * p_answer
        calibration = self.calibration(state)
        before = previous = expected_abandons(base_mean, base_var)
        calls = 0
        while calls < room:
            k = calls + 1
            expected = _walk_maximum(
                [b + k * n for b, n in zip(base_steps, new_steps, strict=True)],
                [max(b + k * n, 0.0) for b, n in zip(base_spreads, new_spreads, strict=True)],
            )
            room_left = cap * (state.answered + flight_answers + k * p_answer) - state.abandoned
            if calibration * (expected - previous) > marginal_limit or (
                poisson_tail(calibration * expected, math.floor(room_left) + 1)
                > config.in_flight_risk
            ):
                break
            calls, previous = k, expected
        self.expected_so_far += previous - before
        calls = max(calls, min(progressive, room))
        self.last_decision = PacingDecision(
            calls,
            "predictive",
            call_risk_limit=risk_limit,
            budget=budget,
            expected_abandons_before=before,
            expected_abandons_after=previous,
            answer_probability=p_answer,
            calibration=calibration,
        )
        return calls

    def calibration(self, state: CampaignState) -> float:
        """How many abandons the campaign has had for each one the model expected.

        The model's approximations (a Gaussian walk for integer counts, independent
        steps) are right on average for some campaigns and optimistic or pessimistic by a
        factor of up to two for others; this ratio, measured on the campaign itself,
        corrects that before the budget feedback has to.
        """
        prior = self.CALIBRATION_PRIOR
        low, high = self.CALIBRATION_BOUNDS
        ratio = (state.abandoned + prior) / (self.expected_so_far + prior)
        return min(max(ratio, low), high)

    @staticmethod
    def _supply(
        state: CampaignState, tables: PacingTables, now: float
    ) -> tuple[FloatArray, FloatArray]:
        """Mean and variance of the number of agents free by now + u."""
        width = tables.horizon + 1
        mean = np.full(width, float(state.count(AgentPhase.READY)))
        var = np.zeros(width)
        for ages, table in (
            (state.ages(AgentPhase.TALKING, now), tables.talk_free),
            (state.ages(AgentPhase.WRAP_UP, now), tables.wrap_free),
        ):
            if len(ages):
                rows = table[np.minimum(ages.astype(np.int64), len(table) - 1)]
                mean += rows.sum(axis=0)
                var += (rows * (1.0 - rows)).sum(axis=0)
        return mean, var

    @staticmethod
    def _demand(
        state: CampaignState, tables: PacingTables, now: float
    ) -> tuple[FloatArray, FloatArray, float]:
        """Mean and variance of answered calls due an agent by now + u; answers in flight."""
        width = tables.horizon + 1
        mean = np.zeros(width)
        var = np.zeros(width)
        waiting = state.waiting_ages(now)
        if len(waiting):
            due = np.ceil(np.maximum(state.config.connect_deadline - waiting, 0.0))
            counts = np.bincount(np.minimum(due.astype(np.int64), width - 1), minlength=width)
            mean += np.cumsum(counts)
        ringing = state.ringing_ages(now)
        flight = 0.0
        if len(ringing):
            rows = tables.answer_by[np.minimum(ringing.astype(np.int64), len(tables.answer_by) - 1)]
            mean += rows.sum(axis=0)
            var += (rows * (1.0 - rows)).sum(axis=0)
            flight = float(rows[:, -1].sum())
        return mean, var, flight
