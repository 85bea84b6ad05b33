"""The standard metric definitions (docs/architecture.md), with numbers worked by hand."""

from __future__ import annotations

import pytest

from hotline.acd import AgentState, QueueConfig
from hotline.acd import statistics as stats

from .support import agent, build


def test_formulas_match_the_published_definitions() -> None:
    assert stats.average_speed_of_answer(90.0, 3) == 30.0
    assert stats.average_handle_time(300.0, 60.0, 90.0, 3) == 150.0
    # 8 answered within 20 s, 10 answered, 2 abandoned after 20 s: 8 / 12.
    assert stats.service_level(8, 10, 2) == pytest.approx(2 / 3)
    assert stats.abandon_rate(3, 12) == 0.25
    assert stats.occupancy(45.0, 15.0) == 0.75
    assert stats.utilization(45.0, 90.0) == 0.5


def test_no_data_is_none_not_zero_or_hundred_percent() -> None:
    assert stats.average_speed_of_answer(0.0, 0) is None
    assert stats.service_level(0, 0, 0) is None
    assert stats.abandon_rate(0, 0) is None
    assert stats.occupancy(0.0, 0.0) is None


def test_live_queue_statistics_after_a_worked_scenario() -> None:
    """One agent, T = 20 s. Timeline (s):
    c1 arrives 0, answered 0 (wait 0), ends 100, wrap-up 10 -> handle 110.
    c2 arrives 10, answered 110 (wait 100), ends 150, wrap-up 10 -> handle 50.
    c3 arrives 20, abandons 23 (wait 3: short, within T).
    c4 arrives 30, abandons 60 (wait 30: after T).
    c5 arrives 40, still waiting at 120 (wait 80).
    c6 arrives 105, answered at 160 is after our snapshot; waiting at 120 (wait 15).
    """
    acd = build([QueueConfig(name="sales", wrap_up_seconds=10.0)], [agent("a1")])
    acd.contact_arrived(0.0, "c1", "sales")
    acd.offer_answered(0.0, "c1", "a1")
    acd.contact_arrived(10.0, "c2", "sales")
    acd.contact_arrived(20.0, "c3", "sales")
    acd.contact_abandoned(23.0, "c3")
    acd.contact_arrived(30.0, "c4", "sales")
    acd.contact_arrived(40.0, "c5", "sales")
    acd.contact_abandoned(60.0, "c4")
    acd.contact_ended(100.0, "c1")
    acd.contact_arrived(105.0, "c6", "sales")
    acd.handle_timer(110.0)
    acd.offer_answered(110.0, "c2", "a1")
    snapshot = acd.queue_statistics("sales", 120.0)
    assert snapshot.waiting == 2
    assert snapshot.longest_wait == 80.0
    assert snapshot.average_wait == pytest.approx((80.0 + 15.0) / 2)
    assert (snapshot.offered, snapshot.answered, snapshot.abandoned) == (6, 2, 2)
    assert snapshot.abandoned_short == 1
    assert snapshot.average_speed_of_answer == 50.0  # (0 + 100) / 2
    assert snapshot.service_level == pytest.approx(1 / 3)  # 1 within / (2 + 1 after T)
    assert snapshot.abandon_rate == pytest.approx(2 / 6)
    assert snapshot.average_handle_time == 110.0  # only c1 is fully handled
    assert snapshot.agents_by_state[AgentState.ON_CALL] == 1
    acd.contact_ended(150.0, "c2")
    acd.handle_timer(160.0)
    after = acd.queue_statistics("sales", 160.0)
    assert after.average_handle_time == pytest.approx((110.0 + 50.0) / 2)


def test_answer_exactly_at_the_threshold_counts_as_within() -> None:
    acd = build([QueueConfig(name="sales", service_level_seconds=20.0)], [agent("a1")])
    acd.contact_arrived(0.0, "c1", "sales")
    acd.offer_answered(20.0, "c1", "a1")
    assert acd.queue_statistics("sales", 20.0).service_level == 1.0
