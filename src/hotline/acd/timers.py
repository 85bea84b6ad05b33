"""The ACD's one timer heap: every time-driven rule as an entry that a token can void.

Sans-IO like aioquic's ``get_timer()``/``handle_timer(now)``: nothing here reads a clock.
The rules that need time (ring no-answer, end of a reject or no-answer rest, end of wrap-up,
max wait, announcements, tier widening) arm an entry ``(when, sequence, kind, subject,
token)``; the adapter asks ``Acd.next_timer()`` when to come back. Entries are never removed
when their subject moves on: the subject's token changes instead, and an entry whose token
no longer matches is dropped when it reaches the top. That keeps arming and voiding O(log n)
and O(1), with no search through the heap.

This is the bottom of the ACD's chain of modules: it knows only kinds and ids, not agents or
contacts, so the liveness test is passed in by the ``Acd`` that knows both.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Callable


class TimerKind(enum.Enum):
    """What a timer entry is for; agent timers name an agent, the others a contact."""

    __hash__ = object.__hash__  # see AgentState

    RING = "ring"
    REST_END = "rest_end"
    WRAP_UP_END = "wrap_up_end"
    MAX_WAIT = "max_wait"
    ANNOUNCE = "announce"
    TIER = "tier"


#: Kinds whose subject is an agent id (the others name a contact id).
AGENT_TIMERS = frozenset({TimerKind.RING, TimerKind.REST_END, TimerKind.WRAP_UP_END})

#: (when, arming sequence, kind, subject id, subject's token when armed).
TimerEntry = tuple[float, int, TimerKind, str, int]


class TimerHeap:
    """Timer entries ordered by due time, then by arming order."""

    __slots__ = ("_entries", "_sequence")

    def __init__(self) -> None:
        self._entries: list[TimerEntry] = []
        self._sequence = 0

    def arm(self, when: float, kind: TimerKind, subject: str, token: int) -> None:
        self._sequence += 1
        heapq.heappush(self._entries, (when, self._sequence, kind, subject, token))

    def next_due(self, is_live: Callable[[TimerEntry], bool]) -> float | None:
        """When the first live entry is due (dropping void ones on top), or None."""
        entries = self._entries
        while entries and not is_live(entries[0]):
            heapq.heappop(entries)
        return entries[0][0] if entries else None

    def pop_due(self, now: float) -> TimerEntry | None:
        """The next entry due at ``now``, live or not, or None. Entries armed while firing
        are seen by the next call, so a rule due at once still fires in the same round."""
        entries = self._entries
        if entries and entries[0][0] <= now:
            return heapq.heappop(entries)
        return None
