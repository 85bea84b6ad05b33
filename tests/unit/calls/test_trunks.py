"""Trunk choice, channel limits, health hysteresis and failover within one attempt."""

from collections import Counter

import pytest
from pydantic import ValidationError

from hotline.calls.trunks import (
    OutboundAttempt,
    ProbeSchedule,
    TrunkConfig,
    TrunkGroup,
    TrunkGroupConfig,
    TrunkState,
    trunk_states,
)


def trunks(**extra: dict[str, object]) -> dict[str, TrunkState]:
    base: dict[str, dict[str, object]] = {
        "telecom": {"priority": 0, "weight": 5},
        "unicom": {"priority": 1, "weight": 1},
        "mobile": {"priority": 2, "weight": 1},
    }
    for name, fields in extra.items():
        base[name] = {**base[name], **fields}
    return trunk_states(
        TrunkConfig.model_validate({"name": n, "host": f"{n}.example", **f})
        for n, f in base.items()
    )


def group(states: dict[str, TrunkState], strategy: str = "priority", **kw: object) -> TrunkGroup:
    config = TrunkGroupConfig.model_validate(
        {"name": "out", "strategy": strategy, "trunks": list(states), **kw}
    )
    return TrunkGroup.build(config, states)


def names(states: list[TrunkState]) -> list[str]:
    return [t.name for t in states]


def test_priority_order_skips_down_and_full_trunks() -> None:
    states = trunks(telecom={"max_channels": 1})
    g = group(states)
    assert names(g.order()) == ["telecom", "unicom", "mobile"]
    states["telecom"].acquire()
    assert names(g.order()) == ["unicom", "mobile"]  # full
    states["unicom"].up = False
    assert names(g.order()) == ["mobile"]


def test_smooth_weighted_round_robin_spreads_by_weight() -> None:
    g = group(trunks(), "weighted_round_robin")
    picks = [g.order()[0].name for _ in range(14)]
    assert Counter(picks) == {"telecom": 10, "unicom": 2, "mobile": 2}
    # Smooth: the heavy trunk never takes more than its share in a row.
    assert picks[:7] == ["telecom", "telecom", "unicom", "telecom", "mobile", "telecom", "telecom"]


def test_least_used_prefers_the_idlest_trunk() -> None:
    states = trunks()
    g = group(states, "least_used")
    states["telecom"].acquire()
    states["unicom"].acquire()
    assert names(g.order()) == ["mobile", "telecom", "unicom"]


def test_failover_on_503_then_answered_on_second_trunk() -> None:
    states = trunks()
    attempt = OutboundAttempt(group(states))
    first = attempt.next_trunk()
    assert first is not None
    assert (first.name, first.active_calls) == ("telecom", 1)
    assert attempt.failed(503) is True
    assert states["telecom"].active_calls == 0  # the failed trunk's channel is free again
    second = attempt.next_trunk()
    assert second is not None
    assert second.name == "unicom"
    attempt.ended()
    assert attempt.tried == ["telecom", "unicom"]
    assert all(t.active_calls == 0 for t in states.values())
    assert states["unicom"].calls_total == 1


@pytest.mark.parametrize(
    ("status", "moves_on"),
    [
        (None, True),  # no answer at all (timer B)
        (408, True),
        (500, True),
        (503, True),
        (604, True),
        (606, True),
        (600, False),  # busy everywhere: the callee, not the carrier
        (603, False),  # declined
        (486, False),  # busy here
        (404, False),
        (484, False),
    ],
)
def test_default_failover_codes(status: int | None, moves_on: bool) -> None:
    attempt = OutboundAttempt(group(trunks()))
    attempt.next_trunk()
    assert attempt.failed(status) is moves_on


def test_failover_codes_are_configurable_and_validated() -> None:
    g = group(trunks(), failover_on=["6xx", "480"])
    assert g.config.fails_over_on(603)
    assert g.config.fails_over_on(480)
    assert not g.config.fails_over_on(503)
    with pytest.raises(ValidationError, match="'5x' is not a SIP status"):
        group(trunks(), failover_on=["5x"])


def test_attempt_ends_when_every_trunk_failed() -> None:
    attempt = OutboundAttempt(group(trunks()))
    for _ in range(2):
        attempt.next_trunk()
        assert attempt.failed(503)
    attempt.next_trunk()
    assert attempt.failed(503) is False  # nothing left to try
    assert attempt.next_trunk() is None


def test_trunk_that_fills_up_during_the_attempt_is_skipped() -> None:
    states = trunks(unicom={"max_channels": 1})
    attempt = OutboundAttempt(group(states))
    attempt.next_trunk()
    states["unicom"].acquire()  # another call took unicom's only channel meanwhile
    attempt.failed(503)
    nxt = attempt.next_trunk()
    assert nxt is not None
    assert nxt.name == "mobile"


def test_misuse_is_an_error_not_a_silent_leak() -> None:
    attempt = OutboundAttempt(group(trunks()))
    with pytest.raises(RuntimeError, match="no trunk is in use"):
        attempt.ended()
    attempt.next_trunk()
    with pytest.raises(RuntimeError, match="has not failed or ended"):
        attempt.next_trunk()
    state = TrunkState(TrunkConfig(name="x", host="h", max_channels=1))
    with pytest.raises(RuntimeError, match="release without acquire"):
        state.release()
    state.acquire()
    with pytest.raises(RuntimeError, match="no free channel"):
        state.acquire()


def test_health_goes_down_after_three_failures_and_up_after_two_answers() -> None:
    trunk = TrunkState(TrunkConfig(name="t", host="h", probe_interval_s=30))
    assert trunk.record_probe(None, 0) is None
    assert trunk.record_probe(503, 30) is None
    assert trunk.next_probe_at == 60
    assert not trunk.probe_due(59.9)
    down = trunk.record_probe(None, 60)
    assert down is not None
    assert (down.up, down.reason) == (False, "3 probes failed, last no answer")
    assert not trunk.up
    assert trunk.record_probe(None, 90) is None  # already down: no repeated event
    assert trunk.record_probe(200, 120) is None  # one answer is not enough
    up = trunk.record_probe(405, 150)  # any answer but 408/5xx proves it is there
    assert up is not None
    assert up.up
    assert trunk.up


def test_a_good_answer_resets_the_failure_count() -> None:
    trunk = TrunkState(TrunkConfig(name="t", host="h"))
    for status in (None, None, 200, None, None):
        assert trunk.record_probe(status, 0) is None
    assert trunk.up


def test_configuration_errors() -> None:
    with pytest.raises(ValueError, match="two trunks are named 'a'"):
        trunk_states([TrunkConfig(name="a", host="h"), TrunkConfig(name="a", host="i")])
    config = TrunkGroupConfig(name="g", trunks=("a", "ghost"))
    with pytest.raises(ValueError, match="trunk group g: no trunk 'ghost'"):
        TrunkGroup.build(config, trunk_states([TrunkConfig(name="a", host="h")]))


def probe_schedule() -> tuple[dict[str, TrunkState], ProbeSchedule]:
    states = trunks(
        telecom={"probe_interval_s": 10.0, "probe_timeout_s": 2.0, "down_after": 2},
        unicom={"probe_interval_s": 10.0, "probe_timeout_s": 2.0, "up_after": 1},
    )
    return states, ProbeSchedule([states["telecom"], states["unicom"]])


def test_probes_are_sent_per_interval_one_at_a_time_per_trunk() -> None:
    _states, schedule = probe_schedule()
    assert names(schedule.due(0.0)) == ["telecom", "unicom"]
    assert schedule.due(0.5) == []  # both still out
    assert schedule.next_timer() == 2.0  # their timeouts
    assert schedule.answered("telecom", 200, 0.1) is None
    assert schedule.answered("telecom", 200, 0.2) is None  # a retransmitted answer: ignored
    assert schedule.answered("unicom", 404, 0.3) is None  # any answer proves it is there
    assert schedule.next_timer() == pytest.approx(10.1)
    assert schedule.due(10.0) == []
    assert names(schedule.due(10.1)) == ["telecom"]


def test_unanswered_probes_take_a_trunk_down_and_answers_bring_it_back() -> None:
    states, schedule = probe_schedule()
    schedule.due(0.0)
    schedule.answered("unicom", 200, 0.0)
    assert schedule.handle_timer(1.9) == []
    assert schedule.handle_timer(2.0) == []  # one failure: still up (down_after 2)
    assert states["telecom"].up
    assert names(schedule.due(12.0)) == ["telecom", "unicom"]
    (change,) = schedule.handle_timer(14.0)
    assert (change.trunk, change.up) == ("telecom", False)
    assert change.reason == "2 probes failed, last no answer"
    assert schedule.answered("telecom", 200, 14.5) is None  # too late: already counted
    assert not states["telecom"].up
    schedule.due(24.0)
    assert schedule.answered("telecom", 200, 24.1) is None  # up_after 2 for telecom
    schedule.due(34.1)
    change = schedule.answered("telecom", 200, 34.2)
    assert change is not None
    assert change.up
