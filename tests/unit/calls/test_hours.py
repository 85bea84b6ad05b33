"""Business hours in the calendar's own time zone, with holidays and special days."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from hotline.calls.hours import Calendar


def at(text: str) -> float:
    """Unix time of an ISO time given in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


OFFICE = Calendar.model_validate(
    {
        "timezone": "Asia/Shanghai",
        "weekly": {d: ["09:00-12:00", "13:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        "holidays": ["2026-10-01"],
        "special_days": {"2026-10-10": ["10:00-16:00"]},
    }
)


@pytest.mark.parametrize(
    ("utc", "is_open"),
    [
        ("2026-11-23T01:00:00", True),  # Monday 09:00 in Shanghai: opens
        ("2026-11-23T00:59:59", False),  # 08:59:59
        ("2026-11-23T04:00:00", False),  # 12:00 lunch: the end is exclusive
        ("2026-11-23T05:00:00", True),  # 13:00
        ("2026-11-23T09:59:00", True),  # 17:59
        ("2026-11-23T10:00:00", False),  # 18:00
        ("2026-11-22T03:00:00", False),  # Sunday
        ("2026-10-01T03:00:00", False),  # Thursday, but a holiday
        ("2026-10-10T03:00:00", True),  # Saturday made a working day, 11:00
        ("2026-10-10T01:30:00", False),  # ... which opens only at 10:00
    ],
)
def test_open_in_local_time(utc: str, is_open: bool) -> None:
    assert OFFICE.is_open(at(utc)) is is_open


def test_round_the_clock_range() -> None:
    always = Calendar.model_validate({"timezone": "UTC", "weekly": {"sat": "00:00-24:00"}})
    assert always.is_open(at("2026-11-21T23:59:59"))
    assert always.is_open(at("2026-11-21T00:00:00"))
    assert not always.is_open(at("2026-11-22T00:00:00"))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"weekly": {"monday": ["09:00-18:00"]}}, "unknown weekday 'monday'"),
        ({"weekly": {"mon": ["18:00-09:00"]}}, "the range must end after it starts"),
        ({"weekly": {"mon": ["9-18"]}}, "is not a range like '09:00-18:00'"),
        ({"weekly": {"mon": ["25:00-26:00"]}}, "is not a time of day"),
    ],
)
def test_bad_calendars_explain_themselves(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Calendar.model_validate(data)
