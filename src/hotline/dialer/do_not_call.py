"""Do-not-call lists: numbers the dialler must never ring.

Two lists apply to every campaign: the organisation's global list (national registries
it has imported, people who asked any campaign to stop) and the campaign's own (people
who asked this campaign). The check is on the number actually about to be dialled, just
before dialling (:func:`hotline.dialer.hopper.pick_contacts`), so an entry added while a
campaign runs takes effect on its next pick. Both lists hold E.164 numbers, the same
spelling :func:`hotline.dialer.numbers.normalize_number` gives the contact lists; an entry
in any other spelling would silently never match, so it is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

# E.164: "+", a country code that does not start with 0, at most 15 digits in all.
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")

DoNotCallReason = Literal["global", "campaign"]


def _numbers(numbers: Iterable[str], which: str) -> frozenset[str]:
    entries = frozenset(numbers)
    for number in entries:
        if not _E164.fullmatch(number):
            raise ValueError(
                f"{which} do-not-call entry {number!r} is not E.164 (normalize it first)"
            )
    return entries


class DoNotCall:
    """The global and one campaign's do-not-call lists, for look-ups while dialling."""

    __slots__ = ("_campaign", "_global")

    def __init__(self, global_numbers: Iterable[str], campaign_numbers: Iterable[str]) -> None:
        self._global = _numbers(global_numbers, "global")
        self._campaign = _numbers(campaign_numbers, "campaign")

    def blocks(self, number_e164: str) -> bool:
        """Whether ``number_e164`` must not be dialled."""
        return number_e164 in self._global or number_e164 in self._campaign

    def reason(self, number: str) -> DoNotCallReason | None:
        """Which list blocks ``number`` (the global one first), or None."""
        if number in self._global:
            return "global"
        if number in self._campaign:
            return "campaign"
        return None

    def __repr__(self) -> str:
        return f"DoNotCall(<{len(self._global)} global, {len(self._campaign)} campaign numbers>)"
