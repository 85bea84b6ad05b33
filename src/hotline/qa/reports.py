"""QA reports ("自动生成质检报告"): scores grouped by agent, team, queue or day, with the
average, the count, each item's pass rate and the trend against the period before.

Pure code over plain rows (what ``qa_scores`` holds), so that a report is the same sums
whichever database it came from, and the CSV export is the JSON report in columns.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GROUPS = ("agent", "team", "queue", "day")


@dataclass(frozen=True, slots=True)
class ScoreRow:
    final_score: float | None
    items: Sequence[Mapping[str, Any]]
    started_at: datetime
    agent: str | None = None
    team: str | None = None
    queue: str | None = None


@dataclass(slots=True)
class ReportLine:
    group: str
    count: int = 0
    #: Scores with a total (calls where no item could be judged have none).
    scored: int = 0
    average: float | None = None
    previous_average: float | None = None
    #: average - previous_average, when both exist.
    trend: float | None = None
    #: item key → share of the calls where it was judged that passed (0..1).
    pass_rates: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "count": self.count,
            "scored": self.scored,
            "average": self.average,
            "previous_average": self.previous_average,
            "trend": self.trend,
            "pass_rates": dict(self.pass_rates),
        }


def group_of(row: ScoreRow, group: str) -> str:
    if group == "day":
        return row.started_at.date().isoformat()
    value = {"agent": row.agent, "team": row.team, "queue": row.queue}[group]
    return value if value else "-"


def _averages(rows: Iterable[ScoreRow], group: str) -> dict[str, float]:
    totals: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        if row.final_score is not None:
            totals[group_of(row, group)].append(row.final_score)
    return {key: round(sum(v) / len(v), 1) for key, v in totals.items()}


def report(
    rows: Iterable[ScoreRow], group: str, previous: Iterable[ScoreRow] = ()
) -> list[ReportLine]:
    """One line per group of ``rows`` (sorted by group), the trend against ``previous``
    (the same length of time just before). ``day`` lines have no trend (a day is not
    compared with the day of the period before)."""
    if group not in GROUPS:
        raise ValueError(f"group must be one of {', '.join(GROUPS)}")
    lines: dict[str, ReportLine] = {}
    passes: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    rows = list(rows)
    for row in rows:
        key = group_of(row, group)
        line = lines.setdefault(key, ReportLine(key))
        line.count += 1
        for item in row.items:
            outcome = item.get("outcome")
            if outcome in ("passed", "failed"):
                tally = passes[key][str(item.get("key"))]
                tally[0] += outcome == "passed"
                tally[1] += 1
    averages = _averages(rows, group)
    before = {} if group == "day" else _averages(previous, group)
    for key, line in lines.items():
        line.scored = sum(
            1 for row in rows if group_of(row, group) == key and row.final_score is not None
        )
        line.average = averages.get(key)
        line.previous_average = before.get(key)
        if line.average is not None and line.previous_average is not None:
            line.trend = round(line.average - line.previous_average, 1)
        line.pass_rates = {
            item: round(passed / judged, 3) for item, (passed, judged) in passes[key].items()
        }
    return [lines[key] for key in sorted(lines)]


def to_csv(lines: Sequence[ReportLine], group: str) -> str:
    """The report as CSV: one column per item's pass rate (keys in first-seen order)."""
    items: list[str] = []
    for line in lines:
        items += [key for key in line.pass_rates if key not in items]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [group, "count", "scored", "average", "previous_average", "trend"]
        + [f"pass_rate:{key}" for key in items]
    )
    for line in lines:
        writer.writerow(
            [
                line.group,
                line.count,
                line.scored,
                "" if line.average is None else line.average,
                "" if line.previous_average is None else line.previous_average,
                "" if line.trend is None else line.trend,
            ]
            + [line.pass_rates.get(key, "") for key in items]
        )
    return out.getvalue()
