"""Drive a CampaignState by hand, with an explicit clock, as a dialler would."""

from __future__ import annotations

import itertools

from hotline.dialer.pacing import CampaignState

_ids = itertools.count()


def agents(state: CampaignState, count: int, now: float = 0.0) -> list[str]:
    names = [f"agent-{next(_ids)}" for _ in range(count)]
    for name in names:
        state.agent_ready(name, now)
    return names


def teach_talk(state: CampaignState, seconds: float, times: int = 300) -> None:
    """The campaign has seen ``times`` talks of ``seconds`` and wrap-ups of 1 s."""
    for _ in range(times):
        state.estimates.observe_talk(seconds)
        state.estimates.observe_wrap(1.0)


def teach_ring(state: CampaignState, answer_rate: float, ring: float, times: int = 400) -> None:
    answered = round(times * answer_rate)
    for _ in range(answered):
        state.estimates.observe_answer(ring)
    for _ in range(times - answered):
        state.estimates.observe_no_answer(state.config.no_answer_timeout)


def talking(state: CampaignState, names: list[str], since: float) -> None:
    """Agents connected at ``since`` (their customers' calls are not tracked here)."""
    for name in names:
        state.agent_talking(name, since)


def answered_calls(state: CampaignState, count: int, now: float) -> list[str]:
    """Calls dialled and answered at ``now``, waiting for an agent."""
    calls = [f"call-{next(_ids)}" for _ in range(count)]
    for call in calls:
        state.call_dialled(call, now - 5.0)
        state.call_answered(call, now)
    return calls


def record_outcomes(state: CampaignState, connected: int, abandoned: int, now: float) -> None:
    """Past calls: ``connected`` taken by an agent in time, ``abandoned`` not."""
    for call in answered_calls(state, connected, now):
        state.call_connected(call, now)
    for call in answered_calls(state, abandoned, now):
        state.call_abandoned(call, now + 2.0)
