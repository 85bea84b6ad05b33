"""Scorecards graded on analyses of known content: each item's outcome, reason and moment."""

from __future__ import annotations

from typing import Any

import pytest

from hotline.qa.scorecards import (
    DEFAULT_ITEMS,
    CallFindings,
    Scorecard,
    ScorecardError,
    parse_items,
    score,
    sheet_of,
)


def findings(**overrides: Any) -> CallFindings:
    """A 120 s call: the agent greets at 2 s, verifies identity at 30 s, the customer
    thanks at 110 s;
    the longest silence is 6 s at 50 s; the customer goes from 0.3 to 0.6."""
    metrics: dict[str, Any] = {
        "duration_seconds": 120.0,
        "speakers": [
            {"speaker": "customer", "talk_seconds": 40.0, "talk_ratio": 0.4, "speech_rate": 180.0},
            {"speaker": "agent", "talk_seconds": 60.0, "talk_ratio": 0.6, "speech_rate": 240.0},
        ],
        "longest_silence_seconds": 6.0,
        "longest_silence_start": 50.0,
        "silence_seconds": 12.0,
        "overtalk_seconds": 1.5,
        "overtalk_count": 2,
    }
    analytics: dict[str, Any] = {
        "sentiment": {
            "customer": {
                "start": 0.3,
                "end": 0.6,
                "overall": 0.45,
                "label_start": "negative",
                "label_end": "neutral",
            },
            "agent": {"start": 0.7, "end": 0.7, "label_start": "positive", "label_end": "positive"},
            "curve": [
                {"speaker": "customer", "start": 5.0, "score": 0.3},
                {"speaker": "customer", "start": 100.0, "score": 0.6},
            ],
        },
        "categories": [
            {
                "category": "greeting",
                "speaker": "agent",
                "hits": [{"start": 2.0, "end": 3.0, "text": "您好", "segment": 0}],
            },
            {
                "category": "identity_verified",
                "speaker": "agent",
                "hits": [{"start": 30.0, "end": 32.0, "text": "请问您的身份证后四位"}],
            },
            {
                "category": "thanks",
                "speaker": "customer",
                "hits": [{"start": 110.0, "end": 112.0, "text": "谢谢"}],
            },
        ],
    }
    metrics.update(overrides.pop("metrics", {}))
    analytics.update(overrides.pop("analytics", {}))
    return CallFindings(metrics=metrics, analytics=analytics, language="zh")


def card(*items: dict[str, Any]) -> Scorecard:
    return Scorecard("test", parse_items(list(items)))


DEFAULT = Scorecard("default", parse_items(list(DEFAULT_ITEMS)))


def by_key(sheet: Any) -> dict[str, Any]:
    return {item.key: item for item in sheet.items}


def test_a_good_call_passes_every_default_item() -> None:
    sheet = score(DEFAULT, findings())
    items = by_key(sheet)
    assert {k: i.outcome for k, i in items.items()} == dict.fromkeys(items, "passed")
    assert sheet.total == 100.0
    assert items["greeting"].moment == 2.0
    assert "您好" in items["greeting"].why
    assert "00:02" in items["greeting"].why
    assert items["silence"].moment == 50.0


def test_a_late_greeting_fails_and_costs_its_weight() -> None:
    late = findings(
        analytics={
            "categories": [
                {"category": "greeting", "speaker": "agent", "hits": [{"start": 14.0, "end": 15}]},
                *findings().analytics["categories"][1:],
            ]
        }
    )
    sheet = score(DEFAULT, late)
    greeting = by_key(sheet)["greeting"]
    assert greeting.outcome == "failed"
    assert "first 10 s" in greeting.why
    assert sheet.total == 85.0  # 15 of 100 weight lost


def test_a_greeting_by_the_customer_does_not_count_for_the_agent() -> None:
    hits = [{"category": "greeting", "speaker": "customer", "hits": [{"start": 1.0, "end": 2}]}]
    sheet = score(card(DEFAULT_ITEMS[0]), findings(analytics={"categories": hits}))
    assert sheet.items[0].outcome == "failed"
    assert sheet.total == 0.0


def test_forbidden_words_are_critical_the_total_is_zero() -> None:
    categories = [
        *findings().analytics["categories"],
        {
            "category": "forbidden_words",
            "speaker": "agent",
            "hits": [{"start": 41.5, "end": 42.0, "text": "你烦不烦", "keyword": "烦"}],
        },
    ]
    sheet = score(DEFAULT, findings(analytics={"categories": categories}))
    forbidden = by_key(sheet)["forbidden"]
    assert forbidden.outcome == "failed"
    assert forbidden.moment == 41.5
    assert "你烦不烦" in forbidden.why
    assert "00:41" in forbidden.why
    assert sheet.critical_failed
    assert sheet.total == 0.0


def test_long_silence_fails_with_its_start() -> None:
    sheet = score(
        DEFAULT, findings(metrics={"longest_silence_seconds": 31.0, "longest_silence_start": 62})
    )
    silence = by_key(sheet)["silence"]
    assert silence.outcome == "failed"
    assert silence.moment == 62.0
    assert "31" in silence.why
    assert "01:02" in silence.why
    assert sheet.total == 80.0


def test_customer_worse_at_the_end_fails_not_negative_is_separate() -> None:
    worse = {
        "customer": {"start": 0.6, "end": 0.2, "label_start": "neutral", "label_end": "negative"}
    }
    items = card(
        {"key": "w", "kind": "sentiment", "params": {"condition": "end_not_worse"}},
        {"key": "n", "kind": "sentiment", "params": {"condition": "end_not_negative"}},
    )
    sheet = score(items, findings(analytics={"sentiment": worse}))
    assert [item.outcome for item in sheet.items] == ["failed", "failed"]
    slightly = {"customer": {"start": 0.6, "end": 0.57, "label_end": "neutral"}}
    sheet = score(items, findings(analytics={"sentiment": slightly}))
    assert [item.outcome for item in sheet.items] == ["passed", "passed"]


def test_agent_speech_rate_between_bounds_and_talk_ratio() -> None:
    items = card(
        {
            "key": "rate",
            "kind": "metric",
            "params": {"metric": "speech_rate", "speaker": "agent", "min": 150, "max": 350},
        },
        {
            "key": "ratio",
            "kind": "metric",
            "params": {"metric": "talk_ratio", "speaker": "agent", "max": 0.5},
        },
    )
    sheet = score(items, findings())
    assert [item.outcome for item in sheet.items] == ["passed", "failed"]
    assert sheet.total == 50.0
    assert sheet.items[1].why == "agent talk_ratio 0.6 (not at most 0.5)"


def test_an_old_analysis_without_analytics_is_judged_on_metrics_only() -> None:
    old = CallFindings(metrics=findings().metrics, analytics={})
    sheet = score(DEFAULT, old)
    outcomes = {item.key: item.outcome for item in sheet.items}
    assert outcomes.pop("silence") == "passed"
    assert set(outcomes.values()) == {"not_applicable"}
    assert sheet.total == 100.0
    nothing = score(card(DEFAULT_ITEMS[0]), CallFindings(metrics={}, analytics={}))
    assert nothing.total is None


def test_within_the_last_seconds_uses_the_call_duration() -> None:
    early_thanks = [
        {"category": "thanks", "speaker": "customer", "hits": [{"start": 20.0, "end": 21.0}]}
    ]
    sheet = score(card(DEFAULT_ITEMS[5]), findings(analytics={"categories": early_thanks}))
    assert sheet.items[0].outcome == "failed"


def test_overriding_an_item_recomputes_the_total() -> None:
    sheet = score(DEFAULT, findings(metrics={"longest_silence_seconds": 31.0}))
    items = [
        item if item.key != "silence" else type(item)(**{**item.to_dict(), "outcome": "passed"})
        for item in sheet.items
    ]
    assert sheet_of(items).total == 100.0


@pytest.mark.parametrize(
    ("items", "path"),
    [
        ("nope", "items"),
        ([], "items"),
        ([{"key": "a", "kind": "magic"}], "items.0.kind"),
        ([{"kind": "metric", "params": {"metric": "talk_ratio", "max": 1}}], "items.0.key"),
        (
            [{"key": "a", "kind": "metric", "params": {"metric": "talk_ratio", "max": 1}}],
            "items.0.params.speaker",
        ),
        (
            [{"key": "a", "kind": "metric", "params": {"metric": "overtalk_seconds"}}],
            "items.0.params",
        ),
        (
            [
                {
                    "key": "a",
                    "kind": "metric",
                    "params": {"metric": "overtalk_seconds", "min": 5, "max": 1},
                }
            ],
            "items.0.params.max",
        ),
        ([{"key": "a", "kind": "category_present", "params": {}}], "items.0.params.category"),
        (
            [
                {
                    "key": "a",
                    "kind": "category_present",
                    "params": {"category": "x", "within": {"mid": 3}},
                }
            ],
            "items.0.params.within",
        ),
        (
            [{"key": "a", "kind": "sentiment", "params": {"condition": "happy"}}],
            "items.0.params.condition",
        ),
        (
            [
                {
                    "key": "a",
                    "kind": "sentiment",
                    "weight": -1,
                    "params": {"condition": "end_not_worse"},
                }
            ],
            "items.0.weight",
        ),
        (
            [
                {"key": "a", "kind": "sentiment", "params": {"condition": "end_not_worse"}},
                {"key": "a", "kind": "sentiment", "params": {"condition": "end_not_negative"}},
            ],
            "items.1.key",
        ),
    ],
)
def test_bad_items_are_refused_naming_the_field(items: Any, path: str) -> None:
    with pytest.raises(ScorecardError) as error:
        parse_items(items)
    assert error.value.path == path


def test_items_round_trip_through_json() -> None:
    items = parse_items(list(DEFAULT_ITEMS))
    assert parse_items([item.to_dict() for item in items]) == items


def test_applies_to_queues() -> None:
    scorecard = Scorecard("q", parse_items(list(DEFAULT_ITEMS)), queue_ids=frozenset({3}))
    assert scorecard.applies_to(3)
    assert not scorecard.applies_to(4)
    assert not scorecard.applies_to(None)
    assert Scorecard("all", scorecard.items).applies_to(None)
