"""When a contact may be called: the campaign's calling hours, in the contact's local time.

Rules on calling hours (the US TCPA's 8 am to 9 pm, national and provincial rules
elsewhere) are about the hour where the *called person* is, not where the call centre is,
so a campaign's hours are local wall-clock windows per weekday, checked in each contact's
time zone. The zone is the list's own (a column) when it has one, else the number's: a
Chinese mobile is in Asia/Shanghai, a US geographic number in its area code's zone.

A number may map to several zones (a US toll-free number, a mobile in a country with
several zones, an area code straddling a zone line). Such a contact is only called when
every one of its zones is inside the hours: calling someone at 7 am because the number
*might* be an hour further east is the mistake the rules exist to prevent. Some contacts
(the US toll-free numbers span Guam to Newfoundland) are then never callable; giving the
list a time-zone column fixes that.

Daylight saving time is handled by working on instants: :func:`callable_at` converts
``now`` to each zone's wall clock (the clock jumps at a change, and the windows are read
on it), and :func:`next_callable` only has to look at the instants where the answer can
change, which it enumerates exactly. Nothing here reads the clock.
"""

from __future__ import annotations

import datetime
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_time_zones

Window = tuple[datetime.time, datetime.time]

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAYS = {name: index for index, name in enumerate(DAY_NAMES)}
_FULL_DAYS = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
#: Window ends written "24:00" (the end of the day) are kept as the last instant of the day.
END_OF_DAY = datetime.time.max
_CLOSED = {"", "closed", "off", "none"}
_CLOCK = re.compile(r"([01]?[0-9]|2[0-4]):([0-5][0-9])(?::([0-5][0-9]))?")
#: How far :func:`next_callable` looks ahead.
LOOKAHEAD_SECONDS = 8 * 86400.0
#: Offsets between successive probes for a zone's clock changes; two changes within this
#: much time would hide each other, and no zone has had that.
_PROBE_SECONDS = 6 * 3600


def _day(name: str) -> int:
    key = name.strip().lower()
    day = _DAYS.get(key, _FULL_DAYS.get(key))
    if day is None:
        raise ValueError(f"unknown day {name!r}; days are {', '.join(DAY_NAMES)}")
    return day


def _days(key: str) -> list[int]:
    """``"mon-fri"``, ``"sat"``, ``"mon,wed,fri"``, ``"fri-mon"`` (wraps), ``"daily"``."""
    if key.strip().lower() in ("daily", "every day", "all"):
        return list(range(7))
    days: list[int] = []
    for part in key.split(","):
        first, dash, last = part.partition("-")
        if not dash:
            days.append(_day(first))
            continue
        start, end = _day(first), _day(last)
        days.extend((start + offset) % 7 for offset in range((end - start) % 7 + 1))
    return days


def _clock(text: str, *, end: bool) -> datetime.time:
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text.strip()!r} is not a time of day (HH:MM)")
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    if hours == 24:
        if minutes or seconds or not end:
            raise ValueError(f"{text.strip()!r}: 24:00 can only end a window")
        return END_OF_DAY
    return datetime.time(hours, minutes, seconds)


def _windows(text: str) -> tuple[Window, ...]:
    """``"09:00-12:00,14:00-18:00"``; ``"closed"`` or ``""`` for none."""
    if text.strip().lower() in _CLOSED:
        return ()
    windows: list[Window] = []
    for part in text.split(","):
        start, dash, end = part.partition("-")
        if not dash:
            raise ValueError(f"{part.strip()!r} is not a window (HH:MM-HH:MM)")
        windows.append((_clock(start, end=False), _clock(end, end=True)))
    return tuple(windows)


def _format_clock(value: datetime.time) -> str:
    if value == END_OF_DAY:
        return "24:00"
    if value.second or value.microsecond:
        return value.strftime("%H:%M:%S")
    return value.strftime("%H:%M")


def _check_day(day: int, windows: Sequence[Window]) -> tuple[Window, ...]:
    ordered = tuple(sorted(windows))
    for start, end in ordered:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("calling-hour windows are local wall-clock times, without a zone")
        if not start < end:
            raise ValueError(
                f"{DAY_NAMES[day]}: window {_format_clock(start)}-{_format_clock(end)} is empty"
                " or crosses midnight (split it across the two days)"
            )
    for (_, end), (start, _) in itertools.pairwise(ordered):
        if start < end:
            raise ValueError(f"{DAY_NAMES[day]}: windows overlap at {_format_clock(start)}")
    return ordered


@dataclass(frozen=True)
class CallingHours:
    """Local windows ``[start, end)`` per weekday (0 = Monday); a day left out is closed."""

    windows: Mapping[int, tuple[Window, ...]]

    def __post_init__(self) -> None:
        checked: dict[int, tuple[Window, ...]] = {}
        for day, windows in self.windows.items():
            if day not in range(7):
                raise ValueError(f"weekday {day!r} is not 0 (Monday) to 6 (Sunday)")
            ordered = _check_day(day, windows)
            if ordered:
                checked[day] = ordered
        # Frozen means frozen: a shared campaign setting is not mutated behind a caller.
        object.__setattr__(self, "windows", MappingProxyType(dict(sorted(checked.items()))))

    def __hash__(self) -> int:
        return hash(tuple(self.windows.items()))

    @classmethod
    def parse(cls, spec: Mapping[str, str]) -> CallingHours:
        """Hours from a campaign's settings: ``{"mon-fri": "09:00-20:00", "sat":
        "10:00-12:00,14:00-18:00"}``. Days are ``mon``..``sun`` (or full names), ranges may
        wrap (``fri-mon``), ``daily`` is every day; ``24:00`` ends a window at midnight and
        ``closed`` gives a day no window. A day named twice is refused, since which entry
        was meant to win is a guess."""
        windows: dict[int, tuple[Window, ...]] = {}
        named: dict[int, str] = {}
        for key, value in spec.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise ValueError(f"calling hours are text, as 'mon-fri': '09:00-20:00': {key!r}")
            try:
                days, day_windows = _days(key), _windows(value)
            except ValueError as exc:
                raise ValueError(f"calling hours {key!r}: {exc}") from None
            for day in days:
                if day in named:
                    raise ValueError(
                        f"calling hours name {DAY_NAMES[day]} twice ({named[day]!r} and {key!r})"
                    )
                named[day] = key
                windows[day] = day_windows
        return cls(windows)

    def to_spec(self) -> dict[str, str]:
        """The settings form, consecutive days with the same windows as one range."""
        spec: dict[str, str] = {}
        day = 0
        while day < 7:
            windows = self.windows.get(day, ())
            last = day
            while last + 1 < 7 and self.windows.get(last + 1, ()) == windows:
                last += 1
            if windows:
                key = DAY_NAMES[day] if last == day else f"{DAY_NAMES[day]}-{DAY_NAMES[last]}"
                spec[key] = ",".join(
                    f"{_format_clock(start)}-{_format_clock(end)}" for start, end in windows
                )
            day = last + 1
        return spec

    def open_at(self, local: datetime.datetime) -> bool:
        """Whether the wall-clock time ``local`` is inside a window of its weekday."""
        clock = local.time()
        return any(
            start <= clock and (clock < end or end == END_OF_DAY)
            for start, end in self.windows.get(local.weekday(), ())
        )


#: A conservative default: weekdays 09:00-20:00, Saturdays 10:00-18:00, Sundays closed, in
#: the contact's time. It sits inside the US TCPA's 8 am-9 pm and the usual European
#: rules, but local laws differ (and change): the operator sets each campaign's hours.
DEFAULT_CALLING_HOURS = CallingHours.parse({"mon-fri": "09:00-20:00", "sat": "10:00-18:00"})


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def contact_time_zones(phone: str, explicit: str | None, default: str) -> tuple[str, ...]:
    """The IANA zones a contact may be in: the list's zone if it gave one, else the number's.

    ``phone`` is E.164. libphonenumber maps a geographic number to its area's zones (one
    for most, several for some US area codes and for mobiles of countries with several
    zones); when it knows nothing (``Etc/Unknown``) or the number does not parse, the
    campaign's ``default`` zone is used. A zone missing from this machine's time-zone
    database (an explicit one included: the lists check theirs, other callers may not) is
    ignored, for the same reason.
    """
    if explicit and _known_zone(explicit):
        return (explicit,)
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return (default,)
    zones = tuple(
        zone
        for zone in phone_time_zones.time_zones_for_number(number)
        if zone != "Etc/Unknown" and _known_zone(zone)
    )
    return zones or (default,)


def _zones(zones: Sequence[str]) -> list[ZoneInfo]:
    if not zones:
        # "Inside the hours in every zone" would be true of no zone at all.
        raise ValueError("a contact needs at least one time zone (contact_time_zones gives one)")
    return [ZoneInfo(zone) for zone in zones]


def _open(hours: CallingHours, zones: Sequence[ZoneInfo], instant: float) -> bool:
    return all(hours.open_at(datetime.datetime.fromtimestamp(instant, zone)) for zone in zones)


def callable_at(hours: CallingHours, zones: Sequence[str], now: float) -> bool:
    """Whether ``now`` (epoch seconds) is inside the hours on the local clock of every zone."""
    return _open(hours, _zones(zones), now)


def _clock_changes(zone: ZoneInfo, start: float, stop: float) -> Iterator[float]:
    """The instants in ``(start, stop]`` at which ``zone``'s UTC offset changes."""

    def offset(instant: float) -> datetime.timedelta | None:
        return datetime.datetime.fromtimestamp(instant, zone).utcoffset()

    low = start
    while low < stop:
        high = min(low + _PROBE_SECONDS, stop)
        if offset(low) != offset(high):
            # Offsets change on whole seconds: bisect to the first second of the new one.
            before, after = int(low), int(high) if high == int(high) else int(high) + 1
            first = offset(before)
            while after - before > 1:
                middle = (before + after) // 2
                if offset(middle) == first:
                    before = middle
                else:
                    after = middle
            yield float(after)
        low = high


def _window_starts(
    hours: CallingHours, zone: ZoneInfo, start: float, stop: float
) -> Iterator[float]:
    """Every instant in the range whose local time in ``zone`` is a window's start.

    A wall-clock time repeated when the clocks go back has two instants (``fold`` 0 and
    1), and both are given; one skipped when they go forward has none, and the instant the
    clock jumps past it is among :func:`_clock_changes`.
    """
    first = datetime.datetime.fromtimestamp(start, zone).date() - datetime.timedelta(days=1)
    last = datetime.datetime.fromtimestamp(stop, zone).date() + datetime.timedelta(days=1)
    day = first
    while day <= last:
        for window_start, _ in hours.windows.get(day.weekday(), ()):
            for fold in (0, 1):
                local = datetime.datetime.combine(day, window_start, zone).replace(fold=fold)
                yield local.timestamp()
        day += datetime.timedelta(days=1)


def next_callable(hours: CallingHours, zones: Sequence[str], now: float) -> float | None:
    """The earliest instant ``>= now`` at which :func:`callable_at` holds, or None if there
    is none within 8 days (hours with no window, or zones whose windows never overlap).

    Being callable can only begin at ``now``, at an instant where some zone's wall clock
    reaches a window's start, or at an instant where some zone's clock jumps (daylight
    saving time, or a zone changing its offset); the function checks exactly those, in
    order, so the answer is exact to the instant, across clock changes included.
    """
    infos = _zones(zones)
    stop = now + LOOKAHEAD_SECONDS
    candidates = {now}
    for zone in infos:
        candidates.update(_window_starts(hours, zone, now, stop))
        candidates.update(_clock_changes(zone, now, stop))
    for instant in sorted(c for c in candidates if now <= c <= stop):
        if _open(hours, infos, instant):
            return instant
    return None
