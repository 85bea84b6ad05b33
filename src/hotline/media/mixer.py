"""N-party mixing with per-participant mix-minus, and the supervisor modes of a call center:
listen (hears everyone, heard by no one), whisper (heard only by chosen participants, e.g. the
agent being coached), barge (an ordinary participant: all hear all).

One tick mixes one 20 ms frame per participant as a single matrix product: ``who hears whom``
is an n-by-n matrix of 0/1 with a zero diagonal (mix-minus: nobody hears themselves), so the
per-participant loop stays in numpy rather than in Python. The matrix is rebuilt only when a
role changes, not per tick.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from hotline.media.codecs import Pcm

FRAME = 160


class Role(enum.Enum):
    PARTICIPANT = "participant"  # hears all, heard by all (also what "barge" switches to)
    LISTEN = "listen"  # hears all, heard by none
    WHISPER = "whisper"  # hears all, heard only by ``whisper_to``


@dataclass(slots=True)
class _Member:
    role: Role = Role.PARTICIPANT
    whisper_to: frozenset[str] = frozenset()


@dataclass(slots=True)
class Mixer:
    """One conference. Inputs and outputs are int16 frames of ``frame`` samples."""

    frame: int = FRAME
    _members: dict[str, _Member] = field(default_factory=dict)
    _order: list[str] = field(default_factory=list)
    _hears: npt.NDArray[np.int32] | None = None

    def add(self, participant: str, role: Role = Role.PARTICIPANT) -> None:
        if participant in self._members:
            raise ValueError(f"{participant} is already in the conference")
        self._members[participant] = _Member(role)
        self._order.append(participant)
        self._hears = None

    def remove(self, participant: str) -> None:
        del self._members[participant]
        self._order.remove(participant)
        for member in self._members.values():
            member.whisper_to = member.whisper_to - {participant}
        self._hears = None

    def listen(self, participant: str) -> None:
        self._set(participant, Role.LISTEN, frozenset())

    def whisper(self, participant: str, to: set[str] | frozenset[str]) -> None:
        unknown = set(to) - set(self._members)
        if unknown:
            raise KeyError(f"cannot whisper to {sorted(unknown)}: not in the conference")
        self._set(participant, Role.WHISPER, frozenset(to))

    def barge(self, participant: str) -> None:
        self._set(participant, Role.PARTICIPANT, frozenset())

    def _set(self, participant: str, role: Role, whisper_to: frozenset[str]) -> None:
        member = self._members[participant]
        member.role, member.whisper_to = role, whisper_to
        self._hears = None

    def role(self, participant: str) -> Role:
        return self._members[participant].role

    @property
    def participants(self) -> list[str]:
        return list(self._order)

    def hears(self) -> npt.NDArray[np.int32]:
        """``hears[i, j] == 1`` when participant i hears participant j (in ``participants``)."""
        if self._hears is None:
            n = len(self._order)
            matrix = np.zeros((n, n), dtype=np.int32)
            for j, speaker in enumerate(self._order):
                member = self._members[speaker]
                for i, listener in enumerate(self._order):
                    if i == j or member.role is Role.LISTEN:
                        continue
                    if member.role is Role.WHISPER and listener not in member.whisper_to:
                        continue
                    matrix[i, j] = 1
            self._hears = matrix
        return self._hears

    def mix(self, frames: dict[str, Pcm]) -> dict[str, Pcm]:
        """One tick: each participant's output from everyone's input (missing input = silence)."""
        n = len(self._order)
        if n == 0:
            return {}
        inputs = np.zeros((n, self.frame), dtype=np.int32)
        for index, participant in enumerate(self._order):
            frame = frames.get(participant)
            if frame is not None:
                usable = min(len(frame), self.frame)
                inputs[index, :usable] = frame[:usable]
        mixed = np.clip(self.hears() @ inputs, -32768, 32767).astype(np.int16)
        return {participant: mixed[index] for index, participant in enumerate(self._order)}
