"""Calling hours in the contact's local time, across daylight-saving changes.

Every instant is built from a zoneinfo wall-clock time (or UTC) and passed explicitly.
2026 dates used: the US changes clocks on Sunday 8 March (02:00 -> 03:00) and Sunday
1 November (02:00 -> 01:00); the UK on Sunday 29 March (01:00 -> 02:00) and Sunday
25 October (02:00 -> 01:00).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.dialer.calling_hours import (
    DAY_NAMES,
    DEFAULT_CALLING_HOURS,
    CallingHours,
    callable_at,
    contact_time_zones,
    next_callable,
)
from hotline.dialer.contact_lists import ColumnMapping, read_contact_list

NEW_YORK = "America/New_York"
SHANGHAI = "Asia/Shanghai"
LONDON = "Europe/London"
LOS_ANGELES = "America/Los_Angeles"
T = datetime.time


def at(
    zone: str,
    year: int,
    month: int,
    day: int,
    hour: int,
    minute: int,
    second: int = 0,
    *,
    fold: int = 0,
) -> float:
    """Epoch seconds of a wall-clock time in ``zone``."""
    local = datetime.datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(zone))
    return local.replace(fold=fold).timestamp()


def utc(year: int, month: int, day: int, hour: int, minute: int) -> float:
    return at("UTC", year, month, day, hour, minute)


def local(zone: str, instant: float | None) -> datetime.datetime:
    assert instant is not None
    return datetime.datetime.fromtimestamp(instant, ZoneInfo(zone))


# -- the spec ------------------------------------------------------------------------------


def test_parse_reads_ranges_lists_and_several_windows_a_day() -> None:
    hours = CallingHours.parse(
        {"mon-fri": "09:00-12:00, 14:00-20:00", "sat": "10:00-18:00", "Sunday": "closed"}
    )
    assert hours.windows[0] == ((T(9), T(12)), (T(14), T(20)))
    assert hours.windows[4] == hours.windows[0]
    assert hours.windows[5] == ((T(10), T(18)),)
    assert 6 not in hours.windows
    assert CallingHours.parse({"fri-mon": "10:00-11:00"}).windows.keys() == {4, 5, 6, 0}
    assert CallingHours.parse({"mon,wed": "9:30-10:00"}).windows.keys() == {0, 2}
    assert len(CallingHours.parse({"daily": "08:00-21:00"}).windows) == 7


def test_to_spec_groups_days_and_round_trips() -> None:
    spec = {"mon-thu": "09:00-20:00", "fri": "09:00-12:00,13:00-17:30", "sun": "20:00-24:00"}
    hours = CallingHours.parse(spec)
    assert hours.to_spec() == spec
    assert CallingHours.parse(hours.to_spec()) == hours
    assert hash(CallingHours.parse(spec)) == hash(hours)
    assert DEFAULT_CALLING_HOURS.to_spec() == {"mon-fri": "09:00-20:00", "sat": "10:00-18:00"}


def test_windows_given_directly_are_sorted_and_frozen() -> None:
    source = {2: [(T(14), T(16)), (T(9), T(10, 30, 15))]}
    hours = CallingHours(source)  # type: ignore[arg-type]
    source[2].clear()
    assert hours.windows[2] == ((T(9), T(10, 30, 15)), (T(14), T(16)))
    assert hours.to_spec() == {"wed": "09:00-10:30:15,14:00-16:00"}
    with pytest.raises(TypeError):
        hours.windows[3] = ()  # type: ignore[index]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"mon": "9-17"}, "not a time of day"),
        ({"mon": "09:00"}, "not a window"),
        ({"mon": "25:00-26:00"}, "not a time of day"),
        ({"mon": "24:00-24:00"}, "24:00 can only end a window"),
        ({"mon": "20:00-02:00"}, "crosses midnight"),
        ({"mon": "10:00-10:00"}, "empty"),
        ({"mon": "09:00-12:00,11:00-13:00"}, "overlap at 11:00"),
        ({"moonday": "09:00-12:00"}, "unknown day 'moonday'"),
        ({"mon-fri": "09:00-20:00", "fri": "10:00-12:00"}, "name fri twice"),
    ],
)
def test_bad_specs_are_refused_with_a_clear_message(spec: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CallingHours.parse(spec)


def test_a_weekday_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="weekday 7"):
        CallingHours({7: ((T(9), T(10)),)})


# -- callable_at ---------------------------------------------------------------------------


def test_window_is_start_inclusive_end_exclusive_in_local_time() -> None:
    monday = (2026, 6, 1)
    assert not callable_at(DEFAULT_CALLING_HOURS, [NEW_YORK], at(NEW_YORK, *monday, 8, 59, 59))
    assert callable_at(DEFAULT_CALLING_HOURS, [NEW_YORK], at(NEW_YORK, *monday, 9, 0))
    assert callable_at(DEFAULT_CALLING_HOURS, [NEW_YORK], at(NEW_YORK, *monday, 19, 59, 59))
    assert not callable_at(DEFAULT_CALLING_HOURS, [NEW_YORK], at(NEW_YORK, *monday, 20, 0))
    # Sunday is closed.
    assert not callable_at(DEFAULT_CALLING_HOURS, [NEW_YORK], at(NEW_YORK, 2026, 6, 7, 12, 0))


def test_new_york_hours_move_in_utc_across_the_march_change() -> None:
    # 13:30 UTC is 08:30 EST on Friday 6 March and 09:30 EDT on Monday 9 March.
    assert not callable_at(DEFAULT_CALLING_HOURS, [NEW_YORK], utc(2026, 3, 6, 13, 30))
    assert callable_at(DEFAULT_CALLING_HOURS, [NEW_YORK], utc(2026, 3, 9, 13, 30))
    # 00:30 UTC Saturday is 19:30 EST Friday; 00:30 UTC Tuesday is 20:30 EDT Monday.
    assert callable_at(DEFAULT_CALLING_HOURS, [NEW_YORK], utc(2026, 3, 7, 0, 30))
    assert not callable_at(DEFAULT_CALLING_HOURS, [NEW_YORK], utc(2026, 3, 10, 0, 30))


def test_new_york_hours_move_in_utc_across_the_november_change() -> None:
    # 13:30 UTC is 09:30 EDT on Friday 30 October and 08:30 EST on Monday 2 November.
    assert callable_at(DEFAULT_CALLING_HOURS, [NEW_YORK], utc(2026, 10, 30, 13, 30))
    assert not callable_at(DEFAULT_CALLING_HOURS, [NEW_YORK], utc(2026, 11, 2, 13, 30))
    assert callable_at(DEFAULT_CALLING_HOURS, [NEW_YORK], utc(2026, 11, 2, 14, 0))


def test_the_repeated_hour_is_inside_a_window_both_times() -> None:
    night = CallingHours.parse({"sun": "01:00-01:30"})
    first = at(NEW_YORK, 2026, 11, 1, 1, 15, fold=0)  # EDT
    second = at(NEW_YORK, 2026, 11, 1, 1, 15, fold=1)  # EST, an hour later
    assert second - first == 3600
    assert callable_at(night, [NEW_YORK], first)
    assert not callable_at(night, [NEW_YORK], first + 1800)  # 01:45 EDT
    assert callable_at(night, [NEW_YORK], second)


def test_a_contact_in_several_zones_is_called_only_when_it_suits_all() -> None:
    zones = [NEW_YORK, LOS_ANGELES]
    monday = (2026, 6, 1)
    # 10:00 in New York is 07:00 in Los Angeles.
    assert callable_at(DEFAULT_CALLING_HOURS, [NEW_YORK], at(NEW_YORK, *monday, 10, 0))
    assert not callable_at(DEFAULT_CALLING_HOURS, zones, at(NEW_YORK, *monday, 10, 0))
    assert callable_at(DEFAULT_CALLING_HOURS, zones, at(NEW_YORK, *monday, 12, 0))
    # 20:00 in New York: Los Angeles is still open, New York is not.
    assert not callable_at(DEFAULT_CALLING_HOURS, zones, at(NEW_YORK, *monday, 20, 0))


def test_no_zone_at_all_is_refused_rather_than_vacuously_callable() -> None:
    with pytest.raises(ValueError, match="at least one time zone"):
        callable_at(DEFAULT_CALLING_HOURS, [], 0.0)


def test_end_of_day_window_runs_to_midnight() -> None:
    late = CallingHours.parse({"sat": "20:00-24:00", "sun": "00:00-01:00"})
    assert callable_at(late, [SHANGHAI], at(SHANGHAI, 2026, 6, 6, 23, 59, 59) + 0.999)
    assert callable_at(late, [SHANGHAI], at(SHANGHAI, 2026, 6, 7, 0, 0))
    assert not callable_at(late, [SHANGHAI], at(SHANGHAI, 2026, 6, 7, 1, 0))


# -- next_callable -------------------------------------------------------------------------


def test_next_callable_is_now_when_callable_now() -> None:
    now = at(SHANGHAI, 2026, 6, 1, 10, 0, 0) + 0.25
    assert next_callable(DEFAULT_CALLING_HOURS, [SHANGHAI], now) == now


def test_next_callable_in_shanghai_skips_the_evening_and_sunday() -> None:
    friday_evening = at(SHANGHAI, 2026, 6, 5, 20, 0)
    assert next_callable(DEFAULT_CALLING_HOURS, [SHANGHAI], friday_evening) == at(
        SHANGHAI, 2026, 6, 6, 10, 0
    )
    saturday_evening = at(SHANGHAI, 2026, 6, 6, 18, 0)
    assert next_callable(DEFAULT_CALLING_HOURS, [SHANGHAI], saturday_evening) == at(
        SHANGHAI, 2026, 6, 8, 9, 0
    )


def test_next_callable_across_the_march_change_in_new_york() -> None:
    saturday_night = at(NEW_YORK, 2026, 3, 7, 21, 0)  # EST
    monday_nine = next_callable(DEFAULT_CALLING_HOURS, [NEW_YORK], saturday_night)
    assert monday_nine == utc(2026, 3, 9, 13, 0)  # 09:00 EDT
    assert monday_nine - saturday_night == 35 * 3600  # a day and a half, less the lost hour


def test_a_window_starting_in_the_skipped_hour_opens_when_the_clock_jumps() -> None:
    # 02:30 does not exist on 8 March in New York: 01:59:59 EST is followed by 03:00 EDT,
    # which is inside 02:30-03:30, so the window opens at the jump (07:00 UTC).
    night = CallingHours.parse({"daily": "02:30-03:30"})
    opens = next_callable(night, [NEW_YORK], at(NEW_YORK, 2026, 3, 8, 0, 0))
    assert opens == utc(2026, 3, 8, 7, 0)
    assert local(NEW_YORK, opens).time() == T(3, 0)


def test_a_window_reentered_when_the_clocks_go_back() -> None:
    night = CallingHours.parse({"sun": "00:30-01:30"})
    after_first = at(NEW_YORK, 2026, 11, 1, 1, 30, fold=0)  # 01:30 EDT, window closed
    assert not callable_at(night, [NEW_YORK], after_first)
    # At 02:00 EDT the clock reads 01:00 EST again: inside the window, half an hour later.
    assert next_callable(night, [NEW_YORK], after_first) == after_first + 1800
    assert next_callable(night, [NEW_YORK], after_first) == utc(2026, 11, 1, 6, 0)


def test_a_window_in_the_repeated_hour_opens_again_on_the_second_pass() -> None:
    night = CallingHours.parse({"sun": "01:15-01:30"})
    closed = at(NEW_YORK, 2026, 11, 1, 1, 30, fold=0)  # 01:30 EDT
    # 02:00 EDT becomes 01:00 EST; the window opens again at 01:15 EST.
    assert next_callable(night, [NEW_YORK], closed) == at(NEW_YORK, 2026, 11, 1, 1, 15, fold=1)
    assert next_callable(night, [NEW_YORK], closed) == utc(2026, 11, 1, 6, 15)


def test_next_callable_in_london_across_both_changes() -> None:
    saturday_night = at(LONDON, 2026, 3, 28, 19, 0)  # GMT
    assert next_callable(DEFAULT_CALLING_HOURS, [LONDON], saturday_night) == utc(
        2026, 3, 30, 8, 0
    )  # 09:00 BST
    saturday_night = at(LONDON, 2026, 10, 24, 19, 0)  # BST
    assert next_callable(DEFAULT_CALLING_HOURS, [LONDON], saturday_night) == utc(
        2026, 10, 26, 9, 0
    )  # 09:00 GMT


def test_next_callable_of_several_zones_waits_for_the_last_to_open() -> None:
    monday_early = at(NEW_YORK, 2026, 6, 1, 8, 0)
    assert next_callable(DEFAULT_CALLING_HOURS, [NEW_YORK, LOS_ANGELES], monday_early) == at(
        NEW_YORK, 2026, 6, 1, 12, 0
    )


def test_none_when_the_zones_windows_never_overlap_or_no_day_is_open() -> None:
    # 09:00-20:00 in Shanghai is 21:00-08:00 in New York (EDT): never both.
    assert next_callable(DEFAULT_CALLING_HOURS, [SHANGHAI, NEW_YORK], utc(2026, 6, 1, 0, 0)) is None
    assert next_callable(CallingHours({}), [SHANGHAI], utc(2026, 6, 1, 0, 0)) is None


def test_next_callable_looks_eight_days_ahead() -> None:
    sundays = CallingHours.parse({"sun": "10:00-11:00"})
    sunday_noon = at(SHANGHAI, 2026, 6, 7, 12, 0)
    assert next_callable(sundays, [SHANGHAI], sunday_noon) == at(SHANGHAI, 2026, 6, 14, 10, 0)


ZONES = [NEW_YORK, LONDON, SHANGHAI, LOS_ANGELES, "Australia/Lord_Howe", "Asia/Kathmandu"]
#: Minute boundaries from 1 March to 10 April 2026 (the US, UK and Lord Howe changes).
SPRING = [utc(2026, 3, 1, 0, 0) + 60 * m for m in range(0, 40 * 24 * 60, 7)]


def brute_force(hours: CallingHours, zones: Sequence[str], now: float) -> float | None:
    """The reference: the first whole minute from ``now`` when callable."""
    for minute in range(8 * 24 * 60 + 1):
        instant = now + 60 * minute
        if callable_at(hours, zones, instant):
            return instant
    return None


@settings(max_examples=30, deadline=None)
@given(
    days=st.lists(st.sampled_from(DAY_NAMES), min_size=1, max_size=3, unique=True),
    start=st.integers(min_value=0, max_value=24 * 4 - 1).map(lambda q: q * 15),
    length=st.integers(min_value=1, max_value=24).map(lambda q: q * 15),
    zones=st.lists(st.sampled_from(ZONES), min_size=1, max_size=2, unique=True),
    now=st.sampled_from(SPRING)
    | st.sampled_from([utc(2026, 11, 1, 4, 0), utc(2026, 10, 25, 0, 0)]),
)
def test_next_callable_agrees_with_a_minute_by_minute_scan(
    days: list[str], start: int, length: int, zones: list[str], now: float
) -> None:
    # All boundaries (windows, clock changes, ``now``) fall on whole minutes, so the scan
    # finds the exact answer too.
    end = min(start + length, 24 * 60)
    window = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
    hours = CallingHours.parse({",".join(days): window})
    assert next_callable(hours, zones, now) == brute_force(hours, zones, now)


# -- zones of a contact ----------------------------------------------------------------------


def test_zones_come_from_the_list_first_then_from_the_number() -> None:
    assert contact_time_zones("+14155552671", "Asia/Tokyo", "UTC") == ("Asia/Tokyo",)
    assert contact_time_zones("+14155552671", None, "UTC") == (LOS_ANGELES,)
    assert contact_time_zones("+12125550100", None, "UTC") == (NEW_YORK,)
    assert contact_time_zones("+8613800138000", None, "UTC") == (SHANGHAI,)
    assert contact_time_zones("+442079460958", None, "UTC") == (LONDON,)


def test_an_unknown_explicit_zone_is_ignored_for_the_number_s() -> None:
    assert contact_time_zones("+8613800138000", "Mars/Olympus", "UTC") == (SHANGHAI,)
    assert contact_time_zones("+8613800138000", "", "UTC") == (SHANGHAI,)


def test_numbers_without_a_known_zone_take_the_campaign_default() -> None:
    # An international freephone number belongs to no place; a non-number parses to nothing.
    assert contact_time_zones("+80012345678", None, SHANGHAI) == (SHANGHAI,)
    assert contact_time_zones("not a number", None, SHANGHAI) == (SHANGHAI,)


def test_a_us_toll_free_number_spans_many_zones_and_is_never_callable() -> None:
    zones = contact_time_zones("+18003569377", None, "UTC")
    assert {NEW_YORK, LOS_ANGELES, "Pacific/Honolulu"} <= set(zones)
    assert next_callable(DEFAULT_CALLING_HOURS, zones, utc(2026, 6, 1, 0, 0)) is None


def test_a_list_mixing_zones_is_called_in_each_contact_s_own_hours() -> None:
    content = (
        b"phone,name,zone\n"
        b"+1 212 555 0100,Ann,\n"  # New York, from the number
        b"138 0013 8000,Wang,\n"  # Shanghai, from the number
        b"+1 415 555 2671,Bob,Europe/London\n"  # the list says London
    )
    listed = read_contact_list(
        content,
        filename="mixed.csv",
        mapping=ColumnMapping(phone=("phone",), name="name", time_zone="zone"),
        default_region="CN",
    )
    zones = {
        c.name: contact_time_zones(c.phones[0], c.time_zone, SHANGHAI) for c in listed.contacts
    }
    assert zones == {"Ann": (NEW_YORK,), "Wang": (SHANGHAI,), "Bob": (LONDON,)}
    # Monday 1 June 2026, 13:30 UTC: 09:30 in New York, 21:30 in Shanghai, 14:30 in London.
    now = utc(2026, 6, 1, 13, 30)
    open_now = {name: callable_at(DEFAULT_CALLING_HOURS, z, now) for name, z in zones.items()}
    assert open_now == {"Ann": True, "Wang": False, "Bob": True}
    assert next_callable(DEFAULT_CALLING_HOURS, zones["Wang"], now) == at(
        SHANGHAI, 2026, 6, 2, 9, 0
    )
