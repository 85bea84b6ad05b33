"""QA reports over known scores: averages, pass rates, trends and the CSV columns."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from hotline.qa.reports import ScoreRow, report, to_csv

DAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def row(agent: str, total: float | None, greeting: str = "passed") -> ScoreRow:
    items = [{"key": "greeting", "outcome": greeting}, {"key": "pii", "outcome": "not_applicable"}]
    return ScoreRow(total, items, DAY, agent=agent, team="A", queue="sales")


def test_average_count_pass_rate_and_trend() -> None:
    now = [row("1001", 100), row("1001", 60, "failed"), row("1002", None), row("1002", 90)]
    before = [row("1001", 70)]
    lines = {line.group: line for line in report(now, "agent", before)}
    assert lines["1001"].to_dict() == {
        "group": "1001",
        "count": 2,
        "scored": 2,
        "average": 80.0,
        "previous_average": 70.0,
        "trend": 10.0,
        "pass_rates": {"greeting": 0.5},  # not_applicable items are not counted
    }
    assert (lines["1002"].count, lines["1002"].scored, lines["1002"].average) == (2, 1, 90.0)
    assert lines["1002"].trend is None  # no score the period before


def test_csv_has_one_column_per_item() -> None:
    text = to_csv(report([row("1001", 100), row("1002", 50, "failed")], "agent"), "agent")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "agent",
        "count",
        "scored",
        "average",
        "previous_average",
        "trend",
        "pass_rate:greeting",
    ]
    assert rows[1] == ["1001", "1", "1", "100.0", "", "", "1.0"]
    assert rows[2] == ["1002", "1", "1", "50.0", "", "", "0.0"]


def test_unknown_group_is_refused() -> None:
    with pytest.raises(ValueError, match="group must be one of"):
        report([], "weekday")
