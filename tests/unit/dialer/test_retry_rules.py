"""After an attempt: done, retried at an explicit time, or exhausted."""

from __future__ import annotations

from typing import Any

import pytest

from hotline.dialer.retry_rules import (
    OUTCOMES,
    NextStep,
    RetryRule,
    RetryRules,
    after_attempt,
)

NOW = 1_800_000_000.0


def test_answered_and_invalid_numbers_are_done_and_counted() -> None:
    for outcome in ("answered", "invalid_number"):
        assert after_attempt(RetryRules(), outcome, 1, NOW) == NextStep("done", None, True)


def test_do_not_call_is_done_and_never_retried_whatever_the_count() -> None:
    assert after_attempt(RetryRules(), "do_not_call", 0, NOW) == NextStep("done", None, False)
    assert after_attempt(RetryRules(), "do_not_call", 9, NOW).status == "done"


@pytest.mark.parametrize(
    ("outcome", "delay", "limit"),
    [
        ("busy", 600, 3),
        ("no_answer", 3600, 3),
        ("machine", 14400, 2),
        ("failed", 1800, 2),
        ("abandoned", 86400, 2),
    ],
)
def test_default_rules_retry_after_their_delay_until_the_limit(
    outcome: Any, delay: float, limit: int
) -> None:
    rules = RetryRules()
    for attempts in range(1, limit):
        step = after_attempt(rules, outcome, attempts, NOW)
        assert step == NextStep("retry", NOW + delay, True)
    assert after_attempt(rules, outcome, limit, NOW) == NextStep("exhausted", None, True)
    assert after_attempt(rules, outcome, limit + 1, NOW).status == "exhausted"


def test_an_abandoned_contact_is_not_redialled_the_same_day() -> None:
    step = after_attempt(RetryRules(), "abandoned", 1, NOW)
    assert step.at is not None
    assert step.at - NOW >= 86400


def test_congestion_is_not_counted_and_never_exhausts_the_contact() -> None:
    rules = RetryRules(congestion_delay_seconds=90)
    for attempts in (0, 1, 50):
        assert after_attempt(rules, "congestion", attempts, NOW) == NextStep(
            "retry", NOW + 90, False
        )


def test_the_latest_outcome_s_limit_applies_to_the_attempts_so_far() -> None:
    rules = RetryRules(busy=RetryRule(60, 5), no_answer=RetryRule(3600, 3))
    # Busy twice, then no answer on the third attempt: no_answer's limit of 3 is reached.
    assert after_attempt(rules, "busy", 2, NOW).status == "retry"
    assert after_attempt(rules, "no_answer", 3, NOW).status == "exhausted"
    assert after_attempt(rules, "busy", 3, NOW).status == "retry"


def test_a_single_attempt_rule_never_retries() -> None:
    rules = RetryRules(machine=RetryRule(0, 1))
    assert after_attempt(rules, "machine", 1, NOW).status == "exhausted"


def test_every_outcome_has_a_step_and_an_unknown_one_is_refused() -> None:
    for outcome in OUTCOMES:
        assert after_attempt(RetryRules(), outcome, 1, NOW).status in ("done", "retry", "exhausted")
    with pytest.raises(ValueError, match="unknown outcome"):
        after_attempt(RetryRules(), "voicemail", 1, NOW)  # type: ignore[arg-type]


def test_spec_round_trips_and_keys_left_out_keep_defaults() -> None:
    rules = RetryRules.parse(
        {
            "busy": {"delay_seconds": 300, "max_attempts": 5},
            "machine": {"max_attempts": 1},
            "congestion_delay_seconds": 60,
        }
    )
    assert rules.busy == RetryRule(300, 5)
    assert rules.machine == RetryRule(14400, 1)
    assert rules.no_answer == RetryRules().no_answer
    assert rules.congestion_delay_seconds == 60
    assert RetryRules.parse(rules.to_spec()) == rules
    assert RetryRules.parse({}) == RetryRules()
    assert RetryRules().to_spec()["abandoned"] == {"delay_seconds": 86400, "max_attempts": 2}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"no_anwser": {"delay_seconds": 1, "max_attempts": 1}}, "unknown retry rules"),
        ({"busy": 600}, "busy must be a mapping"),
        ({"busy": {"delay": 600}}, "unknown keys"),
        ({"busy": {"delay_seconds": "10m"}}, "busy.delay_seconds must be a number"),
        ({"busy": {"max_attempts": True}}, "must be a number"),
        ({"busy": {"max_attempts": 2.5}}, "whole number"),
        ({"busy": {"max_attempts": 0}}, "busy: max_attempts counts the first attempt"),
        ({"failed": {"delay_seconds": -1}}, "failed: a retry delay must be >= 0"),
        ({"failed": {"delay_seconds": float("nan")}}, "finite"),
        ({"congestion_delay_seconds": -5}, "congestion_delay_seconds must be >= 0"),
    ],
)
def test_bad_specs_are_refused_with_the_key_at_fault(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryRules.parse(spec)
