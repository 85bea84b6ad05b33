"""Which users' phones calls ring or talk on outside the ACD: direct calls.

A consultation, a conference party, a supervisor, a transfer or IVR step to a user, and a
click-to-call's agent all ring a user's phone without an ACD offer. While at least one call
holds such a leg of a user, the ACD must offer that user no queue call (docs/acd.md, "Direct
calls"). The count per user is derived from each call's own legs (``Call.direct_agents``)
and compared with what was counted for that call before, so a leg that fails or a call that
ends by any path can neither leak a count nor take it below zero: an ended call holds no one.
"""

from __future__ import annotations

from collections.abc import Iterable


class DirectCallCount:
    """Per-user count of the calls holding a direct leg of theirs."""

    def __init__(self) -> None:
        self._by_call: dict[str, frozenset[str]] = {}  # call id -> the users it holds
        self._count: dict[str, int] = {}  # user -> calls holding them (absent: none)

    def count(self, user: str) -> int:
        return self._count.get(user, 0)

    def update(self, call_id: str, users: Iterable[str]) -> list[tuple[str, bool]]:
        """The call now holds ``users``; returns the edges to report, in order: (user,
        True) for a user whose first direct call this is, (user, False) for one whose
        last direct call let go."""
        current = frozenset(users)
        before = self._by_call.get(call_id, frozenset())
        if current == before:
            return []
        if current:
            self._by_call[call_id] = current
        else:
            self._by_call.pop(call_id, None)
        edges: list[tuple[str, bool]] = []
        for user in sorted(current - before):
            self._count[user] = self._count.get(user, 0) + 1
            if self._count[user] == 1:
                edges.append((user, True))
        for user in sorted(before - current):
            left = self._count[user] - 1
            if left:
                self._count[user] = left
            else:
                del self._count[user]
                edges.append((user, False))
        return edges
