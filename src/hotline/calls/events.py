"""Events of the call layer that go on the bus."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hotline.events import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class TrunkHealthChanged(Event):
    """A carrier trunk went down (stops getting calls) or came back up."""

    type_name: ClassVar[str] = "calls.trunk_health_changed"
    trunk: str
    up: bool
    reason: str
