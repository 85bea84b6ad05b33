"""Choosing whom to dial next: the hopper.

The pacing policy says *how many* calls to place (:mod:`hotline.dialer.pacing`); the hopper
says *which contacts*. It is handed the campaign's contacts as they stand and returns the
ones to dial, in order, with the number to dial for each:

* only contacts still ``pending``, whose retry time has come (``next_attempt_at <= now``,
  or None for a contact never tried), and that may be called now in every one of their
  time zones (:func:`hotline.dialer.calling_hours.callable_at`);
* highest priority first, then the longest overdue (a contact never tried before one whose
  retry came due), then the lowest id (list order), so the order is total and repeatable;
* each attempt dials the next of the contact's numbers, ``phones[attempts % len(phones)]``,
  so a contact with a mobile and an office number is tried on both in turn rather than
  spending all its attempts on the one that does not answer;
* a contact whose number for this attempt is on a do-not-call list is not dialled but
  returned as a :class:`Skip`, which the caller records (the contact becomes
  ``do_not_call``). Its other numbers are not tried instead: someone who has registered a
  number against calls is taken not to want calls, and erring that way is the safe one.

It never returns more than ``count`` picks, does no I/O and reads no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from hotline.dialer.calling_hours import CallingHours, callable_at
from hotline.dialer.do_not_call import DoNotCall

ContactStatus = Literal["pending", "dialling", "done", "exhausted", "do_not_call"]


@dataclass(frozen=True, slots=True)
class ContactState:
    """One contact of a campaign as the hopper sees it."""

    contact_id: int
    #: E.164, in the order to try them.
    phones: tuple[str, ...]
    #: IANA zones the contact may be in (:func:`~hotline.dialer.calling_hours.contact_time_zones`).
    zones: tuple[str, ...]
    #: Higher dials first.
    priority: int
    #: Counted attempts so far (congestion is not counted).
    attempts: int
    #: When the contact may be tried again; None: as soon as possible.
    next_attempt_at: float | None
    status: ContactStatus

    def __post_init__(self) -> None:
        if not self.phones:
            raise ValueError(f"contact {self.contact_id} has no phone number")
        if not self.zones:
            raise ValueError(f"contact {self.contact_id} has no time zone")
        if self.attempts < 0:
            raise ValueError(f"contact {self.contact_id}: attempts cannot be negative")

    @property
    def number_to_dial(self) -> str:
        """This attempt's number: the contact's numbers in turn."""
        return self.phones[self.attempts % len(self.phones)]


@dataclass(frozen=True, slots=True)
class Pick:
    """Dial ``number`` for contact ``contact_id`` now."""

    contact_id: int
    number: str


@dataclass(frozen=True, slots=True)
class Skip:
    """Do not dial this contact: the caller records why (its status becomes the reason)."""

    contact_id: int
    reason: Literal["do_not_call"]


def _order(contact: ContactState) -> tuple[int, bool, float, int]:
    due = contact.next_attempt_at
    return (-contact.priority, due is not None, 0.0 if due is None else due, contact.contact_id)


def pick_contacts(
    candidates: Iterable[ContactState],
    count: int,
    now: float,
    hours: CallingHours,
    dnc: DoNotCall,
) -> tuple[list[Pick], list[Skip]]:
    """Up to ``count`` contacts to dial now, in order, and the contacts found blocked on
    the way (see the module docstring for the rules).

    Only the contacts the picks pass over are checked against the do-not-call lists, so a
    blocked contact further down is found when its turn comes.
    """
    picks: list[Pick] = []
    skips: list[Skip] = []
    if count <= 0:
        return picks, skips
    due = sorted(
        (
            contact
            for contact in candidates
            if contact.status == "pending"
            and (contact.next_attempt_at is None or contact.next_attempt_at <= now)
        ),
        key=_order,
    )
    # Contacts share zones (a list is mostly one or two), so each set is looked up once.
    open_now: dict[tuple[str, ...], bool] = {}
    for contact in due:
        callable_now = open_now.get(contact.zones)
        if callable_now is None:
            callable_now = open_now[contact.zones] = callable_at(hours, contact.zones, now)
        if not callable_now:
            continue
        number = contact.number_to_dial
        if dnc.blocks(number):
            skips.append(Skip(contact.contact_id, "do_not_call"))
            continue
        picks.append(Pick(contact.contact_id, number))
        if len(picks) == count:
            break
    return picks, skips
