"""The commands a call returns to the adapters and the ACD, and the errors it raises.

A call (``calls/call.py``) decides; these frozen dataclasses say what must happen: the SIP
adapter rings, answers, dials, cancels and hangs up legs, the media adapter plays, bridges,
mixes and records, the IVR runner and the ACD are told what the call needs from them. One
module for all of them, so that every kind of call (inbound, click-to-call, campaign) speaks
the same vocabulary and an adapter needs to know only this file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from hotline.calls.events import CallEvent

# ---- commands to the adapters and the ACD ------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnswerLeg:
    """Answer the customer's INVITE with our media (200 OK)."""

    leg_id: str


@dataclass(frozen=True, slots=True)
class RejectLeg:
    """Refuse the customer's INVITE before answering it."""

    leg_id: str
    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class RingAgent:
    """Place an outgoing leg to an agent's (or any user's) registered phones; ``role`` says
    what the leg is for (an agent to talk, or a party: consultation, conference, supervisor)."""

    call_id: str
    leg_id: str
    agent: str
    role: Literal["agent", "consult", "third_party", "supervisor"] = "agent"


@dataclass(frozen=True, slots=True)
class DialTrunk:
    """Send an INVITE for the leg ``leg_id`` to a carrier trunk: a dialled customer
    (click-to-call, campaign) or an outside party (transfer, consultation, conference).

    ``request_uri`` carries the number in the trunk's dial format; ``from_user`` is the
    presented number (None: anonymous). ``credentials`` answer the carrier's digest
    challenge (401/407) once; they stay out of the repr, which logs print.
    """

    call_id: str
    leg_id: str
    trunk: str
    request_uri: str
    to_uri: str
    from_user: str | None
    host: str
    port: int
    transport: str
    credentials: tuple[str, str] | None = field(repr=False)
    role: Literal["customer", "external"] = "customer"


@dataclass(frozen=True, slots=True)
class CancelLeg:
    """Stop ringing an agent leg (CANCEL)."""

    leg_id: str


@dataclass(frozen=True, slots=True)
class HangUpLeg:
    """End an answered leg (BYE)."""

    leg_id: str


@dataclass(frozen=True, slots=True)
class StartIvr:
    """Run this IVR flow for the call; its commands come back through ``ivr_*`` inputs."""

    call_id: str
    flow: str
    department: str | None
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StopIvr:
    call_id: str


@dataclass(frozen=True, slots=True)
class PlayMusicOnHold:
    leg_id: str


@dataclass(frozen=True, slots=True)
class PlayRingback:
    """Play the ringback tone to a leg whose party is being rung: the agent of a
    click-to-call while the customer is dialled, the agent during a consultation."""

    leg_id: str


@dataclass(frozen=True, slots=True)
class DetectMachine:
    """Listen to the answered customer's first seconds: a person or an answering machine?
    The verdict comes back as ``machine_detected``; for a machine, only once its greeting
    (and beep) is over when ``wait_for_beep``, so a message left then is heard whole."""

    call_id: str
    leg_id: str
    wait_for_beep: bool


@dataclass(frozen=True, slots=True)
class StopMedia:
    """Stop whatever plays to the leg (prompt, music on hold, ringback)."""

    leg_id: str


@dataclass(frozen=True, slots=True)
class Bridge:
    """Connect the two legs' audio."""

    customer_leg: str
    agent_leg: str


@dataclass(frozen=True, slots=True)
class Unbridge:
    """Disconnect the two legs' audio (hold, transfer)."""

    customer_leg: str
    agent_leg: str


@dataclass(frozen=True, slots=True)
class StartRecording:
    """Record both sides in stereo: customer left, agent right."""

    recording_id: str
    customer_leg: str
    agent_leg: str


@dataclass(frozen=True, slots=True)
class StopRecording:
    recording_id: str


@dataclass(frozen=True, slots=True)
class PauseRecording:
    recording_id: str


@dataclass(frozen=True, slots=True)
class ResumeRecording:
    recording_id: str


@dataclass(frozen=True, slots=True)
class MixMember:
    """One leg in a call's mix: ``participant`` hears all and is heard by all, ``listen``
    hears all and is heard by none, ``whisper`` hears all and is heard by ``whisper_to``."""

    leg_id: str
    role: Literal["participant", "listen", "whisper"] = "participant"
    whisper_to: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SetMix:
    """The call's mix must now be exactly ``members`` (the adapter joins, leaves and changes
    roles to get there); no members: the mix is dissolved. Legs in the mix are not bridged."""

    call_id: str
    members: tuple[MixMember, ...]


@dataclass(frozen=True, slots=True)
class EnqueueContact:
    """Tell the ACD a contact waits in ``queue``."""

    call_id: str
    queue: str
    priority: int
    skills: Mapping[str, int] = field(default_factory=dict)
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OfferAnswered:
    """Tell the ACD the agent took the contact."""

    call_id: str
    agent: str


@dataclass(frozen=True, slots=True)
class OfferFailed:
    """Tell the ACD the agent did not take it."""

    call_id: str
    agent: str
    reason: Literal["no_answer", "rejected", "unreachable"]


@dataclass(frozen=True, slots=True)
class ContactLeft:
    """Tell the ACD the contact is gone: abandoned while waiting, or its talk ended."""

    call_id: str
    agent: str | None


Command = (
    AnswerLeg
    | RejectLeg
    | RingAgent
    | DialTrunk
    | CancelLeg
    | HangUpLeg
    | StartIvr
    | StopIvr
    | PlayMusicOnHold
    | PlayRingback
    | DetectMachine
    | StopMedia
    | Bridge
    | Unbridge
    | StartRecording
    | StopRecording
    | PauseRecording
    | ResumeRecording
    | SetMix
    | EnqueueContact
    | OfferAnswered
    | OfferFailed
    | ContactLeft
)

Output = Command | CallEvent


@dataclass(frozen=True, slots=True)
class TransferDestination:
    """Where a transfer sends the caller: a queue (through the ACD), a user rung directly,
    or an outside number (normalized) dialled through a carrier trunk."""

    kind: Literal["queue", "user", "number"]
    target: str


class CallControlError(Exception):
    """An input that makes no sense for this call (unknown leg, offer while connected)."""
