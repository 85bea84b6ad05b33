"""Everything the ACD decides or observes, as typed events.

The call layer acts on the decisions (``ContactOffered`` rings a phone, ``OfferWithdrawn``
stops it, ``ContactExited`` routes the caller elsewhere); dashboards, the queue log and CDR
writers consume all of them. Times are the ``now`` the ACD was handed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hotline.acd.config import ExitKind
from hotline.acd.states import AgentState
from hotline.events import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStateChanged(Event):
    type_name: ClassVar[str] = "acd.agent_state_changed"

    agent_id: str
    previous: AgentState
    state: AgentState
    #: Break reason code when ``state`` is BREAK, else empty.
    reason: str = ""
    #: Queue whose contact caused the change (offer, call, wrap-up), else empty.
    queue: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentBusyChanged(Event):
    """The agent's phone started or stopped being busy on a call the ACD did not place (a
    consultation, a conference, supervision, a transfer to them, a click-to-call). While
    ``busy`` the agent keeps its ``state`` but is offered nothing."""

    type_name: ClassVar[str] = "acd.agent_busy_changed"

    agent_id: str
    busy: bool
    state: AgentState


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactQueued(Event):
    type_name: ClassVar[str] = "acd.contact_queued"

    contact_id: str
    queue: str
    priority: int
    #: 1 is next in line.
    position: int
    estimated_wait: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactOffered(Event):
    """Decision: ring ``agent_id`` for ``contact_id`` for at most ``ring_timeout`` seconds."""

    type_name: ClassVar[str] = "acd.contact_offered"

    contact_id: str
    queue: str
    agent_id: str
    ring_timeout: float
    #: The caller has hung up and asked to be called back: the agent dials out.
    callback: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class OfferWithdrawn(Event):
    """Decision: stop ringing ``agent_id`` (reason: ``no_answer``, ``rejected``,
    ``abandoned``, ``answered_elsewhere``, ``agent_logged_out``)."""

    type_name: ClassVar[str] = "acd.offer_withdrawn"

    contact_id: str
    queue: str
    agent_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactConnected(Event):
    type_name: ClassVar[str] = "acd.contact_connected"

    contact_id: str
    queue: str
    agent_id: str
    #: Seconds from joining this queue to the answer.
    waited: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactEnded(Event):
    type_name: ClassVar[str] = "acd.contact_ended"

    contact_id: str
    queue: str
    agent_id: str
    talk_seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactAbandoned(Event):
    type_name: ClassVar[str] = "acd.contact_abandoned"

    contact_id: str
    queue: str
    waited: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactExited(Event):
    """Decision: the contact leaves ``queue`` without an agent and goes to ``kind``/``target``
    (another queue, voicemail, busy tone, hang-up). ``reason`` says which rule fired:
    ``max_wait``, ``full``, ``empty``, ``left_empty``."""

    type_name: ClassVar[str] = "acd.contact_exited"

    contact_id: str
    queue: str
    kind: ExitKind
    target: str
    reason: str
    waited: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackOffered(Event):
    """Decision: ask the caller whether to hang up and be called back, keeping their place."""

    type_name: ClassVar[str] = "acd.callback_offered"

    contact_id: str
    queue: str
    position: int
    estimated_wait: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CallbackAccepted(Event):
    type_name: ClassVar[str] = "acd.callback_accepted"

    contact_id: str
    queue: str
    position: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionAnnounced(Event):
    """Decision: tell the caller their position and estimated wait."""

    type_name: ClassVar[str] = "acd.position_announced"

    contact_id: str
    queue: str
    position: int
    estimated_wait: float


@dataclass(frozen=True, slots=True, kw_only=True)
class InputIgnored(Event):
    """An input lost a race (an answer after the caller hung up) and changed nothing."""

    type_name: ClassVar[str] = "acd.input_ignored"

    input: str
    contact_id: str = ""
    agent_id: str = ""
    reason: str
