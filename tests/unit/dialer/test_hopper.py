"""Choosing whom to dial: eligibility, order, number rotation and do-not-call skips."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest

from hotline.dialer.calling_hours import DEFAULT_CALLING_HOURS, CallingHours
from hotline.dialer.do_not_call import DoNotCall
from hotline.dialer.hopper import ContactState, ContactStatus, Pick, Skip, pick_contacts

SHANGHAI = ("Asia/Shanghai",)
NEW_YORK = ("America/New_York",)
#: Monday 1 June 2026, 10:00 in Shanghai (22:00 on Sunday in New York).
NOW = datetime.datetime(2026, 6, 1, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
NO_DNC = DoNotCall([], [])
ALWAYS = CallingHours.parse({"daily": "00:00-24:00"})


def contact(
    contact_id: int,
    *,
    phones: tuple[str, ...] = (),
    zones: tuple[str, ...] = SHANGHAI,
    priority: int = 0,
    attempts: int = 0,
    next_attempt_at: float | None = None,
    status: ContactStatus = "pending",
) -> ContactState:
    return ContactState(
        contact_id=contact_id,
        phones=phones or (f"+86138{contact_id:08d}",),
        zones=zones,
        priority=priority,
        attempts=attempts,
        next_attempt_at=next_attempt_at,
        status=status,
    )


def ids(picks: list[Pick]) -> list[int]:
    return [pick.contact_id for pick in picks]


def test_only_pending_contacts_whose_time_has_come_are_picked() -> None:
    candidates = [
        contact(1),
        contact(2, next_attempt_at=NOW),
        contact(3, next_attempt_at=NOW + 1),
        contact(4, status="dialling"),
        contact(5, status="done"),
        contact(6, status="exhausted"),
        contact(7, status="do_not_call"),
    ]
    picks, skips = pick_contacts(candidates, 10, NOW, ALWAYS, NO_DNC)
    assert ids(picks) == [1, 2]
    assert skips == []


def test_contacts_outside_their_own_calling_hours_are_left_for_later() -> None:
    candidates = [contact(1, zones=NEW_YORK), contact(2, zones=SHANGHAI)]
    picks, _ = pick_contacts(candidates, 10, NOW, DEFAULT_CALLING_HOURS, NO_DNC)
    assert ids(picks) == [2]
    # Twelve hours on it is 22:00 in Shanghai and 10:00 in New York.
    picks, _ = pick_contacts(candidates, 10, NOW + 12 * 3600, DEFAULT_CALLING_HOURS, NO_DNC)
    assert ids(picks) == [1]
    # A contact that may be in either zone waits for a time that suits both (none today).
    both = [contact(3, zones=SHANGHAI + NEW_YORK)]
    assert pick_contacts(both, 10, NOW, DEFAULT_CALLING_HOURS, NO_DNC) == ([], [])


def test_order_is_priority_then_longest_due_then_id() -> None:
    candidates = [
        contact(10, next_attempt_at=NOW - 60),
        contact(11),
        contact(12, priority=5, next_attempt_at=NOW - 10),
        contact(13, priority=5, next_attempt_at=NOW - 3600),
        contact(14, next_attempt_at=NOW - 600),
        contact(9),
        contact(15, priority=-1),
        contact(16, priority=5),
    ]
    picks, _ = pick_contacts(reversed(candidates), 10, NOW, ALWAYS, NO_DNC)
    assert ids(picks) == [16, 13, 12, 9, 11, 14, 10, 15]


def test_never_more_than_count_picks() -> None:
    candidates = [contact(n) for n in range(1, 20)]
    picks, _ = pick_contacts(candidates, 3, NOW, ALWAYS, NO_DNC)
    assert ids(picks) == [1, 2, 3]
    assert pick_contacts(candidates, 0, NOW, ALWAYS, NO_DNC) == ([], [])
    assert pick_contacts(candidates, -2, NOW, ALWAYS, NO_DNC) == ([], [])


def test_each_attempt_dials_the_contact_s_next_number() -> None:
    phones = ("+8613800138000", "+8613900139000", "+861012345678")
    dialled = [
        pick_contacts([contact(1, phones=phones, attempts=n)], 1, NOW, ALWAYS, NO_DNC)[0][0]
        for n in range(5)
    ]
    assert [pick.number for pick in dialled] == [*phones, *phones[:2]]
    assert dialled[0] == Pick(1, "+8613800138000")


def test_a_blocked_number_gives_a_skip_and_does_not_use_up_the_count() -> None:
    dnc = DoNotCall(["+8613800000001"], ["+8613800000003"])
    candidates = [contact(n) for n in range(1, 6)]
    picks, skips = pick_contacts(candidates, 2, NOW, ALWAYS, dnc)
    assert ids(picks) == [2, 4]
    assert skips == [Skip(1, "do_not_call"), Skip(3, "do_not_call")]


def test_the_do_not_call_check_is_on_this_attempt_s_number() -> None:
    phones = ("+8613800138000", "+8613900139000")
    dnc = DoNotCall([], ["+8613900139000"])
    assert pick_contacts([contact(1, phones=phones)], 1, NOW, ALWAYS, dnc)[0] == [
        Pick(1, "+8613800138000")
    ]
    assert pick_contacts([contact(1, phones=phones, attempts=1)], 1, NOW, ALWAYS, dnc) == (
        [],
        [Skip(1, "do_not_call")],
    )


def test_a_contact_without_numbers_or_zones_is_refused() -> None:
    with pytest.raises(ValueError, match="no phone number"):
        ContactState(1, (), SHANGHAI, 0, 0, None, "pending")
    with pytest.raises(ValueError, match="no time zone"):
        ContactState(1, ("+8613800138000",), (), 0, 0, None, "pending")
    with pytest.raises(ValueError, match="negative"):
        ContactState(1, ("+8613800138000",), SHANGHAI, 0, -1, None, "pending")


def test_a_large_hopper_is_picked_from_in_one_pass() -> None:
    candidates = [
        contact(n, priority=n % 7, zones=NEW_YORK if n % 2 else SHANGHAI) for n in range(20_000)
    ]
    picks, _ = pick_contacts(candidates, 50, NOW, DEFAULT_CALLING_HOURS, NO_DNC)
    assert len(picks) == 50
    assert all(pick.contact_id % 2 == 0 and pick.contact_id % 7 == 6 for pick in picks)
    assert ids(picks) == sorted(ids(picks))
