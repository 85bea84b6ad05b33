"""Events of the call layer that go on the bus."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from hotline.events import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class TrunkHealthChanged(Event):
    """A carrier trunk went down (stops getting calls) or came back up."""

    type_name: ClassVar[str] = "calls.trunk_health_changed"
    trunk: str
    up: bool
    reason: str


# ---- a call's life -------------------------------------------------------------------------
# The call layer reports every change of a call as one of these; CDRs, the queue log and the
# wallboard are built from them. ``leg_id`` names one SIP dialog of the B2BUA; a call keeps
# its ``call_id`` across transfers, so recordings and CDRs stay linked to it.

Direction = Literal["inbound", "outbound"]
#: What created a call. Data, not a code path: every kind has the same legs and controls.
#: ``inbound``: an INVITE from a trunk or user; ``click_to_call``: the API rings an agent,
#: then dials the customer; ``campaign``: the customer is dialled first, then queued or
#: handed to an IVR flow (the dialer); ``practice``: a simulated caller (training).
CallKind = Literal["inbound", "click_to_call", "campaign", "practice"]
LegRole = Literal["customer", "agent", "supervisor", "third_party"]
Side = Literal["customer", "agent", "system"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallStarted(Event):
    """A new call: an INVITE from a trunk or user, or an outbound call we place."""

    type_name: ClassVar[str] = "calls.started"
    call_id: str
    direction: Direction
    caller: str
    callee: str
    trunk: str | None = None
    route: str | None = None
    department: str | None = None
    kind: CallKind = "inbound"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAnswered(Event):
    """The customer leg is answered (by our IVR for inbound, by the far end for outbound)."""

    type_name: ClassVar[str] = "calls.answered"
    call_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallIvrStarted(Event):
    type_name: ClassVar[str] = "calls.ivr_started"
    call_id: str
    flow: str
    version: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CallQueued(Event):
    """The caller waits in a queue (again, after a transfer to a queue)."""

    type_name: ClassVar[str] = "calls.queued"
    call_id: str
    queue: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallMachineDetected(Event):
    """Answering-machine detection on a campaign call's answered leg: a person, a machine
    (its greeting over, when the campaign leaves a message after the beep), or unsure
    (treated as a person: a person must never be hung up on as a machine)."""

    type_name: ClassVar[str] = "calls.machine_detected"
    call_id: str
    verdict: Literal["human", "machine", "notsure"]
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallQueueExited(Event):
    """The system moved the caller out of the queue (max wait, full, no agents): to
    voicemail, a callback offer, busy or hang-up. Overflow to another queue is CallQueued."""

    type_name: ClassVar[str] = "calls.queue_exited"
    call_id: str
    queue: str
    kind: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentLegRinging(Event):
    """An agent's phone rings for this call."""

    type_name: ClassVar[str] = "calls.agent_ringing"
    call_id: str
    leg_id: str
    agent: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentLegFailed(Event):
    """An agent did not take the call (no answer, rejected, unreachable)."""

    type_name: ClassVar[str] = "calls.agent_failed"
    call_id: str
    leg_id: str
    agent: str
    reason: Literal["no_answer", "rejected", "unreachable", "answered_elsewhere"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallConnected(Event):
    """Customer and agent are bridged and can talk."""

    type_name: ClassVar[str] = "calls.connected"
    call_id: str
    leg_id: str
    agent: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAgentLeft(Event):
    """The agent hung up first and the caller stays on the line for the survey; the
    conversation (and the agent's talk time) ends here, the call a little later."""

    type_name: ClassVar[str] = "calls.agent_left"
    call_id: str
    leg_id: str
    agent: str
    survey_flow: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallHeld(Event):
    type_name: ClassVar[str] = "calls.held"
    call_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallResumed(Event):
    type_name: ClassVar[str] = "calls.resumed"
    call_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallTransferred(Event):
    """The customer was passed on: to another agent, a queue or an outside number."""

    type_name: ClassVar[str] = "calls.transferred"
    call_id: str
    from_agent: str | None
    target: str
    kind: Literal["blind", "attended", "queue"]


#: ``external``: the outside party a blind transfer dialled through a carrier trunk.
PartyRole = Literal["consult", "third_party", "supervisor", "external"]
SupervisorMode = Literal["listen", "whisper", "barge"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallPartyJoined(Event):
    """A leg beyond customer and agent answered: the agent's consultation (attended
    transfer), a conference's third party, or a supervisor (``mode``)."""

    type_name: ClassVar[str] = "calls.party_joined"
    call_id: str
    leg_id: str
    role: PartyRole
    party: str  # the user or extension rung
    mode: SupervisorMode | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallPartyModeChanged(Event):
    """A supervisor switched between listen, whisper and barge."""

    type_name: ClassVar[str] = "calls.party_mode_changed"
    call_id: str
    leg_id: str
    mode: SupervisorMode


@dataclass(frozen=True, slots=True, kw_only=True)
class CallPartyLeft(Event):
    """That leg is gone (``reason``: hung_up, dropped, cancelled, transferred (took the
    call over), no_answer, rejected, unreachable, call_ended), or never answered."""

    type_name: ClassVar[str] = "calls.party_left"
    call_id: str
    leg_id: str
    role: PartyRole
    party: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingStarted(Event):
    type_name: ClassVar[str] = "calls.recording_started"
    call_id: str
    recording_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingStopped(Event):
    type_name: ClassVar[str] = "calls.recording_stopped"
    call_id: str
    recording_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingPaused(Event):
    """Recording paused (a card number is read out): the paused time is left out of the
    file and listed in its metadata."""

    type_name: ClassVar[str] = "calls.recording_paused"
    call_id: str
    recording_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingResumed(Event):
    type_name: ClassVar[str] = "calls.recording_resumed"
    call_id: str
    recording_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingSaved(Event):
    """A recording's file is closed and hashed (after ``RecordingStopped``, possibly after
    the call's ``CallEnded``): what the recordings table stores. ``path`` is relative to
    the node's recordings directory; ``started_at`` is Unix time."""

    type_name: ClassVar[str] = "calls.recording_saved"
    call_id: str
    recording_id: str
    path: str
    started_at: float
    duration_seconds: float
    size_bytes: int
    sha256: str
    department: str | None = None
    #: The queue the call was in when the recording started (its speech analysis may be
    #: in that queue's language), None for a call that never queued.
    queue: str | None = None
    #: "call" (the stereo conversation) or "voicemail" (a mono message for ``mailbox``).
    kind: Literal["call", "voicemail"] = "call"
    mailbox: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LegMediaStats(Event):
    """What one leg's media looked like when it ended: the call-quality figures operators
    ask about ("the customer said the line broke up"). Counted at our endpoint: packets
    received from that leg's peer, lost on the way to us, interarrival jitter (RFC 3550)."""

    type_name: ClassVar[str] = "calls.leg_media_stats"
    call_id: str
    leg_id: str
    role: str
    received: int
    lost: int
    jitter_ms: float
    sent: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SurveyAnswered(Event):
    type_name: ClassVar[str] = "calls.survey_answered"
    call_id: str
    question: str
    score: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TrunkAttemptEnded(Event):
    """One try of an outbound call on one carrier trunk is over: answered (``status`` 200),
    refused with ``status``, or given up (``status`` None: no answer in time). An outbound
    call that fails over has one of these per trunk it tried, in order."""

    type_name: ClassVar[str] = "calls.trunk_attempt_ended"
    call_id: str
    leg_id: str
    trunk: str
    number: str  # as dialled on that trunk (its dial format)
    status: int | None
    reason: str
    #: Whose leg: the dialled customer's (click-to-call, campaign), or an outside party's
    #: (transfer, consultation, conference). The CDR's trunk is the customer's.
    role: Literal["customer", "external"] = "customer"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnded(Event):
    """The call is over: who hung up and why (SIP status or Q.850-style cause text)."""

    type_name: ClassVar[str] = "calls.ended"
    call_id: str
    side: Side
    cause: str
    sip_status: int | None = None


CallEvent = (
    CallStarted
    | CallAnswered
    | CallIvrStarted
    | CallQueued
    | CallQueueExited
    | CallMachineDetected
    | AgentLegRinging
    | AgentLegFailed
    | CallConnected
    | CallAgentLeft
    | CallHeld
    | CallResumed
    | CallTransferred
    | CallPartyJoined
    | CallPartyModeChanged
    | CallPartyLeft
    | RecordingStarted
    | RecordingPaused
    | RecordingResumed
    | RecordingStopped
    | SurveyAnswered
    | TrunkAttemptEnded
    | CallEnded
)
