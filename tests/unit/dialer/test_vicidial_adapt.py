"""VICIdial's ADAPT_TAPERED loop, step by step on an explicit clock."""

from __future__ import annotations

import pytest

from hotline.dialer.pacing import CampaignState, PacingConfig
from hotline.dialer.vicidial_adapt import VicidialAdaptTapered, VicidialSettings

from .support import agents, record_outcomes, talking


def _tick(policy: VicidialAdaptTapered, state: CampaignState, start: float, end: float) -> int:
    calls = 0
    now = start
    while now <= end:
        calls = policy.calls_to_place(state, now)
        now += 1.0
    return calls


def test_calls_are_the_level_times_ready_and_talking_agents_minus_calls_in_progress() -> None:
    state = CampaignState()
    names = agents(state, 10)
    talking(state, names[:4], 0.0)
    policy = VicidialAdaptTapered(VicidialSettings(initial_level=2.0))
    # goal = round(2.0 x (6 ready + 4 talking)) = 20; in progress: 4 talking calls.
    assert policy.calls_to_place(state, 0.0) == 16
    for index in range(5):
        state.call_dialled(f"c{index}", 0.0)
    assert policy.calls_to_place(state, 1.0) == 11


def test_waiting_agents_raise_the_level_every_15_seconds_up_to_the_maximum() -> None:
    state = CampaignState()
    agents(state, 10)
    policy = VicidialAdaptTapered()
    _tick(policy, state, 0.0, 14.0)
    assert policy.level == 1.0
    _tick(policy, state, 15.0, 15.0)
    # Every agent ready, no call waiting: differential / agents = 1, the level doubles.
    assert policy.level == 2.0
    _tick(policy, state, 16.0, 30.0)
    assert policy.level == 3.0  # adaptive_maximum_level


def test_drops_over_the_limit_late_in_the_shift_taper_the_level_to_one() -> None:
    # The shift ends in 2 hours at 21:00: tapered_rate = (2100 - 1900) / 1000 = 0.2.
    state = CampaignState(PacingConfig(shift_end=7200.0))
    agents(state, 10)
    record_outcomes(state, connected=90, abandoned=10, now=0.0)
    for index in range(60):
        state.call_dialled(f"extra-{index}", 0.0)
        state.call_not_answered(f"extra-{index}", 1.0)
    policy = VicidialAdaptTapered(VicidialSettings(initial_level=3.0))
    _tick(policy, state, 1.0, 16.0)
    # 10 % of answered calls dropped today, over the 3 % limit: 3.0 x 2.0 (all agents
    # waiting) capped at 3.0, then x 0.2, then raised to the floor of 1.0.
    assert policy.level == pytest.approx(1.0)


def test_the_taper_forgives_drops_while_ten_hhmm_hours_are_left() -> None:
    state = CampaignState(PacingConfig(shift_end=12 * 3600.0))
    agents(state, 10)
    record_outcomes(state, connected=90, abandoned=10, now=0.0)
    for index in range(60):
        state.call_dialled(f"extra-{index}", 0.0)
        state.call_not_answered(f"extra-{index}", 1.0)
    policy = VicidialAdaptTapered(VicidialSettings(initial_level=1.5))
    _tick(policy, state, 1.0, 16.0)
    # 09:00 against 21:00: 1200 "hours" left, tapered_rate 1: the level keeps rising.
    assert policy.level == pytest.approx(3.0)


def test_heavy_drops_in_the_last_minute_halve_the_level() -> None:
    state = CampaignState()
    names = agents(state, 10)
    policy = VicidialAdaptTapered(VicidialSettings(initial_level=2.0))
    policy.calls_to_place(state, 0.0)  # samples 10 ready agents; today's drops: none
    # Within the minute: 30 calls dialled, 20 answered and dropped (67 % of the calls),
    # and every agent is busy since.
    record_outcomes(state, connected=0, abandoned=20, now=1.0)
    for index in range(10):
        state.call_dialled(f"na-{index}", 1.0)
        state.call_not_answered(f"na-{index}", 2.0)
    talking(state, names, 1.0)
    policy.calls_to_place(state, 60.0)
    # Samples: 10 then 0 ready, so the differential is 5 of 10 agents: 2.0 x 1.5 = 3.0,
    # halved for the last minute's drops. (30 calls today: too few for the daily rule.)
    assert policy.level == pytest.approx(1.5)
