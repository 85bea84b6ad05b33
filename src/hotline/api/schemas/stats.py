"""Statistics over the call history for the wallboard's charts (``routes/stats.py``)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel


class IntervalCount(BaseModel):
    start: datetime
    offered: int
    handled: int
    abandoned: int
    other: int


class IntervalStats(BaseModel):
    """One day's calls per interval, from the CDRs, in the asked time zone."""

    day: date
    minutes: int
    timezone: str
    intervals: list[IntervalCount]
