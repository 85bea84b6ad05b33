"""Business-hours calendars: when a hotline, route or IVR branch is open.

A calendar is weekly opening ranges in a named time zone, plus holidays (closed all day) and
special days (their own ranges, e.g. a working Saturday before a Chinese public holiday).
``is_open`` takes Unix time so that callers pass their ``now`` and tests need no clock.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(?P<start>[0-2]\d:[0-5]\d)-(?P<end>[0-2]\d:[0-5]\d)$")


class TimeRange(BaseModel):
    """An opening range within one day; ``end`` is exclusive, ``24:00`` means midnight."""

    model_config = ConfigDict(frozen=True)

    start: time
    end: time | None  # None stands for 24:00

    @classmethod
    def parse(cls, text: str) -> TimeRange:
        match = _RANGE.match(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not a range like '09:00-18:00'")
        start = _clock(match["start"])
        end = None if match["end"] == "24:00" else _clock(match["end"])
        if start is None or (end is not None and end <= start):
            raise ValueError(f"{text!r}: the range must end after it starts, within the day")
        return cls(start=start, end=end)

    def contains(self, moment: time) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


def _clock(text: str) -> time | None:
    hours, minutes = int(text[:2]), int(text[3:])
    if hours == 24 and minutes == 0:
        return None
    if hours > 23:
        raise ValueError(f"{text!r} is not a time of day")
    return time(hours, minutes)


def _ranges(value: object) -> list[TimeRange]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError("give a list of ranges like ['09:00-12:00', '13:00-18:00']")
    return [item if isinstance(item, TimeRange) else TimeRange.parse(str(item)) for item in value]


class Calendar(BaseModel):
    """Weekly opening hours with holidays and special days, in one time zone."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = "Asia/Shanghai"
    weekly: dict[str, list[TimeRange]] = Field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    special_days: dict[date, list[TimeRange]] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("weekly", mode="before")
    @classmethod
    def _weekly(cls, value: object) -> dict[str, list[TimeRange]]:
        if not isinstance(value, dict):
            raise ValueError("give weekday names (mon..sun) mapped to ranges")
        unknown = sorted(set(value) - set(WEEKDAYS))
        if unknown:
            raise ValueError(f"unknown weekday {unknown[0]!r}; use {', '.join(WEEKDAYS)}")
        return {day: _ranges(ranges) for day, ranges in value.items()}

    @field_validator("special_days", mode="before")
    @classmethod
    def _special(cls, value: object) -> dict[object, list[TimeRange]]:
        if not isinstance(value, dict):
            raise ValueError("give dates mapped to ranges")
        return {day: _ranges(ranges) for day, ranges in value.items()}

    def is_open(self, now: float) -> bool:
        local = datetime.fromtimestamp(now, ZoneInfo(self.timezone))
        today = local.date()
        if today in self.special_days:
            ranges = self.special_days[today]
        elif today in self.holidays:
            return False
        else:
            ranges = self.weekly.get(WEEKDAYS[local.weekday()], [])
        moment = local.time()
        return any(r.contains(moment) for r in ranges)
