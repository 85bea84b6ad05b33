"""Pacing policies on a hand-built campaign state with an explicit clock.

Every decision here is a pure function of what the state was told and ``now``; no test
sleeps or reads a clock.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from hotline.dialer.estimates import EstimatePriors, LifetimeEstimate, lognormal_pmf
from hotline.dialer.pacing import (
    AgentPhase,
    CampaignState,
    PacingConfig,
    PacingPolicy,
    PredictivePolicy,
    create_policy,
    expected_abandons,
    policy_names,
    register_policy,
)

from .support import agents, answered_calls, record_outcomes, talking, teach_ring, teach_talk


def test_registry_lists_every_policy_and_refuses_unknown_or_duplicate_names() -> None:
    assert policy_names() == ["predictive", "preview", "progressive", "vicidial-adaptive"]
    assert "preview" not in policy_names(automatic_only=True)
    with pytest.raises(ValueError, match="unknown pacing policy"):
        create_policy("nuisance")

    class Again(PacingPolicy):
        name = "progressive"

        def wanted_calls(self, state: CampaignState, now: float) -> int:
            return 0

    with pytest.raises(ValueError, match="already registered"):
        register_policy(Again)


def test_progressive_dials_one_call_per_ready_agent_not_yet_covered() -> None:
    state = CampaignState()
    policy = create_policy("progressive")
    names = agents(state, 5)
    assert policy.calls_to_place(state, 0.0) == 5
    for index in range(3):
        state.call_dialled(f"c{index}", 0.0)
    assert policy.calls_to_place(state, 1.0) == 2
    talking(state, names[:2], 1.0)
    assert policy.calls_to_place(state, 1.0) == 0


def test_preview_never_dials_by_itself() -> None:
    state = CampaignState()
    agents(state, 5)
    policy = create_policy("preview")
    assert not policy.automatic
    assert policy.calls_to_place(state, 0.0) == 0


def test_predictive_never_dials_when_no_agent_will_be_free_in_time() -> None:
    state = CampaignState()
    teach_talk(state, 300.0)
    teach_ring(state, 0.3, 8.0)
    names = agents(state, 20)
    talking(state, names, 0.0)
    policy = PredictivePolicy()
    # Every agent started a five-minute call ten seconds ago: nobody is free for minutes.
    assert policy.calls_to_place(state, 10.0) == 0
    assert policy.last_decision is not None
    assert policy.last_decision.mode == "predictive"


def test_predictive_dials_ahead_for_agents_about_to_be_free() -> None:
    state = CampaignState()
    teach_talk(state, 60.0)
    teach_ring(state, 0.3, 8.0, times=4000)
    names = agents(state, 20)
    talking(state, names, 0.0)
    policy = PredictivePolicy()
    # Talks last 60 s (and wrap-ups 1 s) and these have lasted 55 s: all 20 agents are free
    # in about 7 s, before a call dialled now answers (8 s) and is due an agent (10 s).
    # None is ready now, so progressive would wait.
    assert state.progressive_calls() == 0
    calls = policy.calls_to_place(state, 55.0)
    assert calls > 20
    decision = policy.last_decision
    assert decision is not None
    assert decision.expected_abandons_after <= 0.03 * calls * decision.answer_probability + 1e-9


def test_predictive_dials_more_lines_per_agent_at_a_lower_answer_rate() -> None:
    def first_wave(answer_rate: float) -> int:
        state = CampaignState()
        teach_talk(state, 120.0)
        teach_ring(state, answer_rate, 8.0, times=2000)
        agents(state, 20)
        return PredictivePolicy().calls_to_place(state, 0.0)

    low, high = first_wave(0.15), first_wave(0.6)
    assert high >= 20
    assert low > 2 * high


def _busy_campaign(abandoned: int) -> tuple[CampaignState, PredictivePolicy]:
    state = CampaignState()
    teach_talk(state, 60.0)
    teach_ring(state, 0.3, 8.0)
    names = agents(state, 20)
    record_outcomes(state, connected=400, abandoned=abandoned, now=10.0)
    talking(state, names, 0.0)
    return state, PredictivePolicy()


def test_the_feedback_loop_backs_off_to_progressive_after_abandons() -> None:
    state, policy = _busy_campaign(abandoned=0)
    calm = policy.calls_to_place(state, 55.0)
    assert calm > 0
    # 20 abandons on 420 answered is 4.8 %, over the 3 % cap: progressive, and with every
    # agent talking that is no call at all.
    state, policy = _busy_campaign(abandoned=20)
    assert policy.calls_to_place(state, 55.0) == 0
    assert policy.last_decision is not None
    assert policy.last_decision.mode == "progressive"


def test_the_margin_under_the_cap_raises_the_call_risk_limit_and_a_deficit_lowers_it() -> None:
    limits = []
    for abandoned in (0, 6, 12):
        state, policy = _busy_campaign(abandoned=abandoned)
        policy.calls_to_place(state, 55.0)
        assert policy.last_decision is not None
        limits.append(policy.last_decision.call_risk_limit)
    target = PacingConfig().abandon_target
    assert limits[0] > target > limits[2]
    assert limits[0] > limits[1] > limits[2]


def test_a_carrier_503_halves_the_pace_until_its_back_off_has_passed() -> None:
    state = CampaignState(PacingConfig(carrier_backoff_seconds=30.0))
    agents(state, 8)
    policy = create_policy("progressive")
    assert policy.calls_to_place(state, 0.0) == 8
    state.call_dialled("refused", 0.0)
    state.carrier_rejected("refused", 0.0)
    assert state.dialled == 0
    assert state.ringing == 0
    assert policy.calls_to_place(state, 1.0) == 4
    state.carrier_rejected(None, 2.0)
    assert policy.calls_to_place(state, 3.0) == 2
    assert policy.calls_to_place(state, 31.0) == 4
    assert policy.calls_to_place(state, 32.0) == 8


def test_a_carrier_503_slows_the_predictive_policy_too() -> None:
    state, policy = _busy_campaign(abandoned=0)
    calm = policy.calls_to_place(state, 55.0)
    state.carrier_rejected(None, 55.0)
    assert policy.calls_to_place(state, 55.0) <= calm // 2


def test_the_state_measures_durations_and_teaches_the_estimates() -> None:
    state = CampaignState()
    (name,) = agents(state, 1, now=0.0)
    state.call_dialled("c", 0.0)
    state.call_answered("c", 7.5)
    assert (state.ringing, state.waiting, state.answered) == (0, 1, 1)
    state.call_connected("c", 7.5)
    state.agent_talking(name, 7.5)
    state.agent_wrapping(name, 97.5)
    state.agent_ready(name, 107.5)
    estimates = state.estimates
    assert estimates.ring.observations == 1
    assert estimates.talk.observations == 1
    assert estimates.wrap.observations == 1
    assert state.count(AgentPhase.READY) == 1
    state.agent_paused(name, 108.0)
    assert (state.logged_in, state.active_agents) == (1, 0)
    state.agent_logged_out(name, 109.0)
    assert state.logged_in == 0
    with pytest.raises(KeyError):
        state.call_answered("never-dialled", 1.0)


def test_a_waiting_call_counts_against_the_agents_free_by_its_deadline() -> None:
    state = CampaignState()
    teach_talk(state, 300.0)
    names = agents(state, 2)
    talking(state, names, 0.0)
    answered_calls(state, 1, now=10.0)
    policy = PredictivePolicy()
    assert policy.calls_to_place(state, 10.5) == 0
    decision = policy.last_decision
    assert decision is not None
    # Nobody will be free within the 1.5 s left: that call is as good as abandoned.
    assert decision.expected_abandons_before == pytest.approx(1.0, abs=0.05)


def test_censoring_keeps_running_calls_as_evidence_that_calls_last() -> None:
    estimate = LifetimeEstimate(lognormal_pmf(60.0, 0.5, 600), weight=1.0)
    for _ in range(20):
        estimate.observe(30.0)
    naive = estimate.curves()
    # 80 more calls have been running for 200 s and counting.
    censored = estimate.curves(np.full(80, 200.0))
    assert naive.mean < 60.0
    assert censored.mean > 150.0


def test_a_new_campaign_starts_from_the_cautious_prior() -> None:
    state = CampaignState(priors=EstimatePriors(answer_probability=0.9, talk_seconds=180.0))
    curves = state.estimates.ring.curves()
    assert curves.event_probability == pytest.approx(0.9)
    assert state.estimates.talk.curves().mean == pytest.approx(180.0, rel=0.02)


def test_expected_abandons_of_simple_walks() -> None:
    horizon = 10
    never = expected_abandons(np.full(horizon, -3.0), np.zeros(horizon))
    assert never == pytest.approx(0.0, abs=1e-9)
    certain = expected_abandons(np.linspace(-2.0, 3.0, horizon), np.zeros(horizon))
    assert certain == pytest.approx(3.0, abs=1e-6)
    # One standard normal step read as an integer count: sum_n P(X >= n - 1/2).
    one = expected_abandons(np.zeros(1), np.ones(1))
    tails = sum(0.5 * math.erfc((n - 0.5) / math.sqrt(2.0)) for n in range(1, 12))
    assert one == pytest.approx(tails, rel=1e-9)
    assert one < 1.0 / math.sqrt(2.0 * math.pi)
    # An agent who may free up and no call due: no abandon, whatever the spread.
    maybe_free = expected_abandons(np.array([0.0, -0.01]), np.array([0.0, 0.0099]))
    assert maybe_free < 1e-6
    # A walk's maximum is at least its last value's positive part, and grows with the steps.
    walk = expected_abandons(np.zeros(horizon), np.arange(1.0, horizon + 1))
    assert walk > one
