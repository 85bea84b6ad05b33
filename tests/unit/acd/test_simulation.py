"""The real ACD on a simulated clock against Erlang C (fixed seeds, a few seconds).

Tolerances are statistical: four standard errors from batch means (successive waits are
correlated, so the binomial error would be too small), and the runs are long enough for
those errors to be a few percentage points. Longer runs live in ``bench/acd``.
"""

from __future__ import annotations

import pytest

from hotline.acd import erlang
from hotline.acd.simulation import simulate

# (arrivals per second, handle seconds, agents, contacts): 10 Erlangs on 12 and 13 agents,
# and the 10 calls a minute x 3 minutes (30 Erlangs) on 35 agents, whose waits are
# correlated over longer spans and so need a longer run for the same precision.
CASES = [
    (10 / 180, 180.0, 12, 12_000),
    (10 / 180, 180.0, 13, 12_000),
    (10 / 60, 180.0, 35, 24_000),
]


@pytest.mark.parametrize(("rate", "handle", "agents", "contacts"), CASES)
def test_probability_of_waiting_and_service_level_match_erlang_c(
    rate: float, handle: float, agents: int, contacts: int
) -> None:
    traffic = rate * handle
    result = simulate(
        arrivals_per_second=rate,
        handle_seconds=handle,
        agents=agents,
        contacts=contacts,
        warmup=500,
        seed=20261123,
    )
    expected_wait = erlang.erlang_c(traffic, agents)
    expected_level = erlang.service_level(traffic, agents, handle, 20.0)
    assert result.probability_of_waiting_error < 0.04
    assert result.service_level_error < 0.04
    assert abs(result.probability_of_waiting - expected_wait) < max(
        4 * result.probability_of_waiting_error, 0.02
    ), (result, expected_wait)
    assert abs(result.service_level - expected_level) < max(4 * result.service_level_error, 0.02), (
        result,
        expected_level,
    )
    # The ACD's own live service level saw the same contacts (plus the warm-up).
    assert result.acd_service_level is not None
    assert abs(result.acd_service_level - result.service_level) < 0.05


def test_a_team_that_is_too_small_gets_much_worse_service() -> None:
    small = simulate(
        arrivals_per_second=10 / 180, handle_seconds=180.0, agents=11, contacts=3000, seed=5
    )
    large = simulate(
        arrivals_per_second=10 / 180, handle_seconds=180.0, agents=14, contacts=3000, seed=5
    )
    assert small.probability_of_waiting > large.probability_of_waiting + 0.3
