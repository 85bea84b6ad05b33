"""``LiveCampaign``: outcomes of attempts, the contact's next step and the pacing state,
told with an explicit clock."""

from __future__ import annotations

import pytest

from hotline.acd.states import AgentState
from hotline.dialer.live_campaign import LiveCampaign, unanswered_outcome
from hotline.dialer.pacing import PacingConfig
from hotline.dialer.retry_rules import RetryRule, RetryRules

RULES = RetryRules(busy=RetryRule(600, 3), no_answer=RetryRule(3600, 2))


def campaign(mode: str = "progressive", agents: tuple[str, ...] = ("1001", "1002")) -> LiveCampaign:
    live = LiveCampaign(
        7, mode=mode, pacing=PacingConfig(), retry_rules=RULES, members=frozenset(agents)
    )
    for agent in agents:
        live.agent_changed(agent, AgentState.AVAILABLE, 0.0)
    return live


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (486, "busy"),
        (600, "busy"),
        (603, "busy"),
        (480, "no_answer"),
        (487, "no_answer"),
        (404, "invalid_number"),
        (484, "invalid_number"),
        (503, "congestion"),
        (408, "congestion"),
        (500, "failed"),
        (None, "failed"),
    ],
)
def test_unanswered_attempts_are_classed_by_the_final_status(
    status: int | None, outcome: str
) -> None:
    assert unanswered_outcome(status) == outcome


def test_progressive_dials_one_call_per_ready_agent_and_counts_the_calls_in_flight() -> None:
    live = campaign()
    assert live.calls_to_place(1.0) == 2
    live.dialled("c1", 1, "+8613800138000", 0, 1.0)
    assert live.calls_to_place(1.0) == 1
    live.agent_changed("1002", AgentState.BREAK, 2.0)
    assert live.calls_to_place(2.0) == 0
    live.agent_changed("9999", AgentState.AVAILABLE, 2.0)  # not a member: ignored
    assert live.calls_to_place(2.0) == 0


def test_agents_logging_in_and_out_change_the_pace_and_an_unknown_logout_is_harmless() -> None:
    live = campaign(agents=("1001", "1002", "1003"))
    live.agent_changed("1003", AgentState.LOGGED_OUT, 1.0)
    assert live.calls_to_place(1.0) == 2
    live.agent_changed("1003", AgentState.LOGGED_OUT, 2.0)  # told twice
    live.members = frozenset({"1001", "1002", "1003", "1004"})
    live.agent_changed("1004", AgentState.LOGGED_OUT, 2.0)  # never logged in
    assert live.state.logged_in == 2


def test_a_connected_call_is_answered_and_done() -> None:
    live = campaign()
    live.dialled("c1", 1, "+8613800138000", 0, 1.0)
    live.answered("c1", 6.0)
    live.agent_changed("1001", AgentState.ON_CALL, 6.5)
    live.connected("c1", "1001", 6.5)
    finished = live.ended("c1", None, 60.0)
    assert finished is not None
    assert (finished.outcome, finished.next_step.status, finished.attempts) == (
        "answered",
        "done",
        1,
    )
    assert (finished.attempt.agent, finished.attempt.connected_at) == ("1001", 6.5)
    assert (live.state.answered, live.state.connected, live.state.abandoned) == (1, 1, 0)
    assert "c1" not in live.attempts


def test_no_agent_in_time_is_abandoned_and_retried_a_day_later() -> None:
    live = campaign()
    live.dialled("c1", 1, "+8613800138000", 0, 1.0)
    live.answered("c1", 6.0)
    live.abandoned("c1", 8.0)
    live.connected("c1", "1001", 8.5)  # too late: it stays abandoned
    finished = live.ended("c1", None, 12.0)
    assert finished is not None
    assert finished.outcome == "abandoned"
    assert finished.next_step.status == "retry"
    assert finished.next_step.at == 12.0 + RULES.abandoned.delay_seconds
    assert live.state.abandon_rate == 1.0


def test_hanging_up_while_waiting_counts_as_abandoned() -> None:
    live = campaign()
    live.dialled("c1", 1, "+8613800138000", 0, 1.0)
    live.answered("c1", 6.0)
    finished = live.ended("c1", None, 6.8)
    assert finished is not None
    assert finished.outcome == "abandoned"
    assert live.state.abandoned == 1
    assert live.state.waiting == 0


def test_busy_is_retried_until_its_attempts_are_spent() -> None:
    live = campaign()
    steps = []
    for n in range(3):
        live.dialled(f"c{n}", 1, "+8613800138000", n, 100.0 * n)
        finished = live.ended(f"c{n}", 486, 100.0 * n + 5)
        assert finished is not None
        assert finished.outcome == "busy"
        steps.append((finished.next_step.status, finished.attempts))
    assert steps == [("retry", 1), ("retry", 2), ("exhausted", 3)]
    assert live.state.unanswered == 3


def test_congestion_is_not_an_attempt_and_slows_the_pace() -> None:
    live = campaign()
    live.dialled("c1", 1, "+8613800138000", 1, 1.0)
    live.trunk_refused("c1", 503, 1.5)  # the first trunk; the next is tried
    finished = live.ended("c1", 503, 2.0)  # ... and refuses too
    assert finished is not None
    assert (finished.outcome, finished.attempts, finished.next_step.counts_as_attempt) == (
        "congestion",
        1,
        False,
    )
    assert live.state.carrier_pressure(2.0) == 2
    assert live.calls_to_place(2.0) == 0  # two ready agents, halved twice
    assert live.state.dialled == 0  # a refused call was never a dial


def test_a_refused_placement_slows_the_pace_like_a_503() -> None:
    live = campaign()
    live.not_placed(1.0)
    assert live.calls_to_place(1.0) == 1


def test_a_robot_campaign_keeps_its_lines_busy_and_never_abandons() -> None:
    live = LiveCampaign(8, mode="robot", pacing=PacingConfig(), retry_rules=RULES, robot_lines=3)
    assert live.calls_to_place(0.0) == 3
    live.dialled("c1", 1, "+8613800138000", 0, 0.0)
    live.answered("c1", 4.0)
    assert live.calls_to_place(4.0) == 2
    finished = live.ended("c1", None, 40.0)
    assert finished is not None
    assert finished.outcome == "answered"
    assert live.state.abandoned == 0


def test_preview_places_nothing_by_itself() -> None:
    assert campaign("preview").calls_to_place(0.0) == 0


def test_events_of_unknown_calls_are_ignored() -> None:
    live = campaign()
    live.answered("nope", 1.0)
    live.connected("nope", "1001", 1.0)
    live.abandoned("nope", 1.0)
    live.trunk_refused("nope", 503, 1.0)
    assert live.ended("nope", 486, 1.0) is None
    assert live.state.carrier_pressure(1.0) == 0


def detecting() -> LiveCampaign:
    live = LiveCampaign(
        9,
        mode="progressive",
        pacing=PacingConfig(),
        retry_rules=RULES,
        members=frozenset({"1001"}),
        detects_machines=True,
    )
    live.agent_changed("1001", AgentState.AVAILABLE, 0.0)
    return live


def test_with_detection_a_machine_is_its_own_outcome_and_no_answer_to_the_pacing() -> None:
    live = detecting()
    live.dialled("c1", 1, "+8613800138000", 0, 1.0)
    live.answered("c1", 5.0)
    assert live.state.answered == 0  # not until a person is found
    live.machine_detected("c1", "machine", 7.0)
    finished = live.ended("c1", None, 20.0)
    assert finished is not None
    assert (finished.outcome, finished.attempt.amd_verdict) == ("machine", "machine")
    assert finished.next_step.at == 20.0 + RULES.machine.delay_seconds
    assert (live.state.answered, live.state.unanswered, live.state.abandoned) == (0, 1, 0)


def test_with_detection_a_person_counts_as_answered_from_the_verdict() -> None:
    live = detecting()
    live.dialled("c1", 1, "+8613800138000", 0, 1.0)
    live.answered("c1", 5.0)
    live.machine_detected("c1", "notsure", 7.5)
    assert (live.state.answered, live.state.waiting) == (1, 1)
    live.connected("c1", "1001", 8.0)
    finished = live.ended("c1", None, 60.0)
    assert finished is not None
    assert (finished.outcome, finished.attempt.amd_verdict) == ("answered", "notsure")


def test_hanging_up_during_the_detection_is_a_no_answer_not_an_abandon() -> None:
    live = detecting()
    live.dialled("c1", 1, "+8613800138000", 0, 1.0)
    live.answered("c1", 5.0)
    finished = live.ended("c1", None, 5.5)
    assert finished is not None
    assert finished.outcome == "no_answer"
    assert live.state.abandoned == 0


def test_the_live_figures_show_agents_calls_the_cap_and_occupancy() -> None:
    live = campaign()  # 1001 and 1002 ready since 0
    live.dialled("c1", 1, "+8613800138000", 0, 0.0)
    live.dialled("c2", 2, "+8613800138001", 0, 0.0)
    live.answered("c1", 5.0)
    live.agent_changed("1001", AgentState.ON_CALL, 5.0)
    live.connected("c1", "1001", 5.0)
    figures = live.figures(15.0)
    assert (figures.agents_logged_in, figures.agents_ready, figures.agents_talking) == (2, 1, 1)
    assert (figures.ringing, figures.waiting, figures.dialled, figures.answered) == (1, 0, 2, 1)
    assert figures.calls_per_agent == 0.5
    # 1001 talked 10 of its 15 s, 1002 none of its 15 s.
    assert figures.occupancy == pytest.approx(10 / 30)
    live.agent_changed("1001", AgentState.LOGGED_OUT, 20.0)
    assert live.figures(20.0).occupancy == pytest.approx(15 / 40)
    assert live.figures(20.0).abandon_target == 0.03
