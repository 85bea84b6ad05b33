"""The base of every event that crosses a layer boundary or goes on the bus.

Each layer declares its own events in its own ``events.py`` as frozen, slotted dataclasses
deriving from :class:`Event` (the aioquic shape), so that consumers (dashboards, CDR writers,
webhooks, the queue log) match on types instead of parsing strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Something that happened, at a moment.

    ``at`` is Unix time in seconds as given by the emitter's caller: pure cores never read
    the clock, they stamp events with the ``now`` they were handed.
    """

    at: float

    #: Stable name used on the wire (WebSocket, webhooks, Redis/NATS subjects), e.g.
    #: ``"acd.contact_queued"``. Set by each concrete class; unique across the project.
    type_name: ClassVar[str] = "event"
