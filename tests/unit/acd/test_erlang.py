"""Erlang formulas against exact values and published table points."""

from __future__ import annotations

import math

import pytest

from hotline.acd import erlang


def test_exact_small_cases() -> None:
    # M/M/1: the probability of waiting is the utilisation.
    assert erlang.erlang_c(0.7, 1) == pytest.approx(0.7)
    # c = 3, A = 2: (8/6 * 3) / (1 + 2 + 2 + 4) = 4/9, worked by hand.
    assert erlang.erlang_c(2.0, 3) == pytest.approx(4 / 9)
    # Erlang B, c = 2, A = 1: (1/2) / (1 + 1 + 1/2) = 1/5.
    assert erlang.erlang_b(1.0, 2) == pytest.approx(0.2)


def test_published_erlang_b_table_points() -> None:
    # Standard Erlang B tables: 10 Erlangs on 10 circuits blocks 21.5 %, on 15 about 3.6 %.
    assert erlang.erlang_b(10.0, 10) == pytest.approx(0.2146, abs=5e-4)
    assert erlang.erlang_b(10.0, 15) == pytest.approx(0.0365, abs=5e-4)


@pytest.mark.parametrize(
    ("agents", "waiting"),
    [(11, 0.6821), (12, 0.4494), (13, 0.2853), (14, 0.1741)],
)
def test_published_erlang_c_table_for_ten_erlangs(agents: int, waiting: float) -> None:
    """The classic call-centre example: 10 Erlangs of traffic (e.g. 200 calls an hour of
    3 minutes each)."""
    assert erlang.erlang_c(10.0, agents) == pytest.approx(waiting, abs=5e-5)


def test_service_level_and_asa_follow_from_erlang_c() -> None:
    waiting = erlang.erlang_c(10.0, 12)
    assert erlang.service_level(10.0, 12, 180.0, 20.0) == pytest.approx(
        1 - waiting * math.exp(-2 * 20 / 180)
    )
    assert erlang.average_speed_of_answer(10.0, 12, 180.0) == pytest.approx(waiting * 90.0)
    # 10 calls a minute of 3 minutes each (30 Erlangs) at 80 % in 20 s: the smallest team
    # that reaches the target, and one fewer does not.
    agents = erlang.agents_for_service_level(30.0, 180.0, 20.0, 0.8)
    assert agents == 35
    assert erlang.service_level(30.0, agents, 180.0, 20.0) >= 0.8
    assert erlang.service_level(30.0, agents - 1, 180.0, 20.0) < 0.8


def test_overloaded_queue() -> None:
    assert erlang.erlang_c(12.0, 12) == 1.0
    assert erlang.service_level(12.0, 10, 180.0, 20.0) == 0.0
    assert erlang.average_speed_of_answer(12.0, 12, 180.0) == math.inf


def test_large_teams_do_not_overflow() -> None:
    value = erlang.erlang_c(900.0, 950)
    assert 0.0 < value < 1.0
