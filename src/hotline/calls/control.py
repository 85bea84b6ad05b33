"""Call control: what happens to one customer call, from INVITE to the last BYE.

The policy half of the B2BUA, sans-IO like the rest of the stack. The SIP and media adapters
report what happens on the legs (offered, ringing, answered, failed, hung up, a prompt
ended), the IVR and the ACD say what they decided (play this, queue there, ring that agent,
withdraw the offer), and ``CustomerCall`` returns the commands that make it so. It also
returns the call events that CDRs, the queue log and the wallboard are built from. It owns
no timers: ring timeouts belong to the ACD (it withdraws the offer), INVITE timeouts to the
SIP transaction layer (a failed leg).

One customer leg per call. Several agent legs may ring at once (the ACD's ring-all strategy
offers one contact to several agents); the first to answer is bridged and the others are
cancelled at once, since only one agent can take the call. The customer leg's ``call_id``
survives everything, so recordings and the CDR stay on one record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from hotline.calls.events import (
    AgentLegFailed,
    AgentLegRinging,
    CallAgentLeft,
    CallAnswered,
    CallConnected,
    CallEnded,
    CallEvent,
    CallHeld,
    CallIvrStarted,
    CallPartyJoined,
    CallPartyLeft,
    CallPartyModeChanged,
    CallQueued,
    CallQueueExited,
    CallResumed,
    CallStarted,
    CallTransferred,
    PartyRole,
    RecordingPaused,
    RecordingResumed,
    RecordingStarted,
    RecordingStopped,
    Side,
    SupervisorMode,
)
from hotline.calls.routing import RouteDecision

if TYPE_CHECKING:  # built by the contact centre, which knows the trunk groups
    from hotline.calls.outbound import DialOutput, TrunkDial

RecordingMode = Literal["always", "on_demand", "never"]

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
    """Send an INVITE for the leg ``leg_id`` to a carrier trunk: an outbound call's customer,
    or the outside party of a transfer.

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
class StopMedia:
    """Stop whatever plays to the leg (prompt or music on hold)."""

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


RecorderOutput = (
    StartRecording
    | StopRecording
    | PauseRecording
    | ResumeRecording
    | RecordingStarted
    | RecordingStopped
    | RecordingPaused
    | RecordingResumed
)


class RecordingSwitch:
    """One call's recording switch, shared by inbound (:class:`CustomerCall`) and
    click-to-call (``calls/outbound.py``) calls, so that both pause, resume and refuse
    alike: which recording runs now (numbered per call: ``<call>-r1``, ``-r2``...) and
    whether it is paused. When to record is the owning call's policy, not this."""

    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        self.recording_id: str | None = None  # the recording running now
        self.recordings = 0  # how many were started on this call
        self._paused = False

    @property
    def paused(self) -> bool:
        return self.recording_id is not None and self._paused

    def copy(self) -> RecordingSwitch:
        """The same state in a new object (a click-to-call handed over for a transfer
        stays as it was if the transfer is refused)."""
        other = RecordingSwitch(self.call_id)
        other.recording_id, other.recordings, other._paused = (
            self.recording_id,
            self.recordings,
            self._paused,
        )
        return other

    def start(self, customer_leg: str, agent_leg: str, now: float) -> list[RecorderOutput]:
        if self.recording_id is not None:
            return []
        self.recordings += 1
        self.recording_id = f"{self.call_id}-r{self.recordings}"
        self._paused = False
        return [
            StartRecording(self.recording_id, customer_leg, agent_leg),
            RecordingStarted(at=now, call_id=self.call_id, recording_id=self.recording_id),
        ]

    def pause(self, now: float) -> list[RecorderOutput]:
        """Leave what follows out of the recording (a card number, a password read out)."""
        if self.recording_id is None:
            raise CallControlError(f"call {self.call_id} is not being recorded")
        if self._paused:
            return []
        self._paused = True
        return [
            PauseRecording(self.recording_id),
            RecordingPaused(at=now, call_id=self.call_id, recording_id=self.recording_id),
        ]

    def resume(self, now: float) -> list[RecorderOutput]:
        if self.recording_id is None:
            raise CallControlError(f"call {self.call_id} is not being recorded")
        if not self._paused:
            return []
        self._paused = False
        return [
            ResumeRecording(self.recording_id),
            RecordingResumed(at=now, call_id=self.call_id, recording_id=self.recording_id),
        ]

    def stop(self, now: float) -> list[RecorderOutput]:
        if self.recording_id is None:
            return []
        self._paused = False
        recording_id, self.recording_id = self.recording_id, None
        return [
            StopRecording(recording_id),
            RecordingStopped(at=now, call_id=self.call_id, recording_id=recording_id),
        ]


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

State = Literal["offered", "ivr", "queued", "ringing_agent", "connected", "transferring", "ended"]

#: The priority a caller gets back in their queue when a transfer to an outside number
#: failed: ahead of callers who have not been served yet (they were, once).
FALLBACK_PRIORITY = 10


@dataclass(frozen=True, slots=True)
class TransferDestination:
    """Where a transfer sends the caller: a queue (through the ACD), a user rung directly,
    or an outside number (normalized) dialled through a carrier trunk."""

    kind: Literal["queue", "user", "number"]
    target: str


class CallControlError(Exception):
    """An input that makes no sense for this call (unknown leg, offer while connected)."""


@dataclass(frozen=True, slots=True)
class _AgentLeg:
    leg_id: str
    agent: str


@dataclass(slots=True)
class _Party:
    """A leg beyond the customer and the talking agent (see ``CustomerCall`` parties)."""

    leg_id: str
    party: str
    role: PartyRole
    mode: SupervisorMode | None = None
    answered: bool = False


@dataclass(slots=True)
class _External:
    """A blind transfer to an outside number: its dial through the trunks, and where the
    caller goes back to if nobody answers there."""

    dial: TrunkDial
    from_agent: str
    origin_queue: str | None
    connected: bool = False


#: How the call's audio is connected: nothing, the customer bridged to the agent, or a mix.
_Topology = tuple[()] | tuple[str, str] | tuple[MixMember, ...]


class CustomerCall:
    """One inbound customer call and the agent legs it rings."""

    def __init__(
        self,
        *,
        call_id: str,
        leg_id: str,
        caller: str,
        callee: str,
        trunk: str | None,
        recording: Mapping[str, RecordingMode] | None = None,
        default_recording: RecordingMode = "always",
        survey_flows: Mapping[str, str] | None = None,
    ) -> None:
        self.call_id = call_id
        self.customer_leg = leg_id
        self.state: State = "offered"
        self._caller, self._callee, self._trunk = caller, callee, trunk
        self._recording = recording or {}
        self._default_recording = default_recording
        self._ringing: dict[str, _AgentLeg] = {}
        self._talking: _AgentLeg | None = None
        self._customer_answered = False
        self._held = False
        self._ivr_running = False
        self._department: str | None = None
        self._queue: str | None = None  # the queue the call is (or was last) in
        # The contact's last priority and skill needs (the IVR's language, a VIP's rank):
        # a failed outside transfer re-queues the caller with them.
        self._priority = 0
        self._skills: dict[str, int] = {}
        self._in_acd = False  # whether the ACD holds the call as a contact now
        self._recorder = RecordingSwitch(call_id)
        self._parties: dict[str, _Party] = {}
        self._agent_legs = 0
        # The survey after the agent hangs up: per queue, or named by the IVR (the flow's
        # ``survey_flow`` variable, which travels with the contact and wins).
        self._survey_flows = survey_flows or {}
        self._survey_flow_asked: str | None = None
        self._agent_left = False  # the agent hung up first; the caller is in the survey
        self._attributes: dict[str, str] = {}  # what the IVR collected (screen pop)
        self._external: _External | None = None  # a transfer to an outside number
        self.started_at = 0.0  # set when routed
        self.direction: Literal["inbound", "outbound"] = "inbound"
        # A click-to-call handed over for a transfer: the customer's own trunk leg, whose
        # channel is given back when the call ends.
        self._customer_dial: TrunkDial | None = None

    @classmethod
    def from_outbound(
        cls,
        *,
        call_id: str,
        customer_leg: str,
        customer_dial: TrunkDial,
        number: str,
        presented: str | None,
        agent: str,
        agent_leg: str,
        department: str | None,
        started_at: float,
        held: bool,
        recorder: RecordingSwitch,
        recording: Mapping[str, RecordingMode] | None = None,
        default_recording: RecordingMode = "always",
        survey_flows: Mapping[str, str] | None = None,
    ) -> CustomerCall:
        """A connected click-to-call (``calls/outbound.py``) as a customer call, so that
        the agent can transfer it like an inbound one: the customer leg is the trunk leg
        the customer answered on (``customer_dial`` holds its channel), the agent talks on
        ``agent_leg``, the running recording (``recorder``: paused or not) goes on until
        the transfer stops it. Nothing
        is emitted: the call's history so far is the click-to-call's."""
        call = cls(
            call_id=call_id,
            leg_id=customer_leg,
            caller=number,
            callee=presented or "",
            trunk=None,
            recording=recording,
            default_recording=default_recording,
            survey_flows=survey_flows,
        )
        call.state, call.direction, call.started_at = "connected", "outbound", started_at
        call._customer_answered, call._held, call._department = True, held, department
        call._talking = _AgentLeg(agent_leg, agent)
        call._agent_legs = 1  # the agent's leg was the first
        call._recorder = recorder
        call._customer_dial = customer_dial
        return call

    # ---- read-only views (live API, wallboard) ---------------------------------------------

    @property
    def caller(self) -> str:
        return self._caller

    @property
    def callee(self) -> str:
        return self._callee

    @property
    def department(self) -> str | None:
        return self._department

    @property
    def queue(self) -> str | None:
        """The queue the call is in, or was last in."""
        return self._queue

    @property
    def agent(self) -> str | None:
        """The agent talking to the caller now (None while ringing or waiting, and once an
        outside party has the caller)."""
        return self._talking.agent if self._talking and not self._external else None

    @property
    def ringing_agents(self) -> list[str]:
        return [leg.agent for leg in self._ringing.values()]

    @property
    def direct_agents(self) -> frozenset[str]:
        """Users whose phones this call rings or talks on outside the ACD: every party
        (consultation, conference, supervisor), and the ringing or talking agent leg when
        the ACD does not hold the call (a transfer or IVR step to a user, the party that
        took over a consultation, a click-to-call handed over for a transfer). The contact
        centre keeps such agents from being offered queue calls meanwhile."""
        if self.state == "ended":
            return frozenset()
        users = {party.party for party in self._parties.values()}
        if not self._in_acd:
            users.update(leg.agent for leg in self._ringing.values())
            if self._talking is not None and self._external is None:
                users.add(self._talking.agent)
        return frozenset(users)

    @property
    def held(self) -> bool:
        return self._held

    @property
    def attributes(self) -> Mapping[str, str]:
        """The variables the IVR handed over with the call (order number, language...),
        for the agent's screen pop; later enqueues add to them."""
        return dict(self._attributes)

    @property
    def parties(self) -> list[tuple[str, str, str, str | None, bool]]:
        """(leg id, role, party, supervisor mode, answered) of every extra leg, the outside
        party of a transfer included."""
        parties: list[tuple[str, str, str, str | None, bool]] = [
            (p.leg_id, p.role, p.party, p.mode, p.answered) for p in self._parties.values()
        ]
        external = self._external
        if external is not None and external.dial.leg_id is not None:
            leg_id, number = external.dial.leg_id, external.dial.number
            parties.append((leg_id, "external", number, None, external.connected))
        return parties

    @property
    def recording_id(self) -> str | None:
        """The recording running now (None: not recorded at the moment)."""
        return self._recorder.recording_id

    @property
    def talking_leg(self) -> str | None:
        """The leg of the agent talking to the caller now (an outside party is no agent:
        its REFER or hold is not ours to follow)."""
        return self._talking.leg_id if self._talking and not self._external else None

    @property
    def recording_paused(self) -> bool:
        return self._recorder.paused

    # ---- the call arrives ------------------------------------------------------------------

    def route(self, decision: RouteDecision | None, now: float) -> list[Output]:
        """Act on the inbound route chosen for this call (None: no route matched)."""
        route = decision.route if decision else None
        self.started_at = now
        started = CallStarted(
            at=now,
            call_id=self.call_id,
            direction="inbound",
            caller=self._caller,
            callee=self._callee,
            trunk=self._trunk,
            route=route.name if route else None,
            department=route.department if route else None,
        )
        if decision is None:
            return [started, *self._refuse(404, "Not Found", now)]
        self._department = decision.route.department
        destination = decision.destination
        if destination.type == "hangup":
            return [started, *self._refuse(480, "Temporarily Unavailable", now)]
        if destination.type == "flow":
            self.state, self._ivr_running = "ivr", True
            return [
                started,
                *self._answer_customer(now),
                StartIvr(self.call_id, destination.target, self._department),
            ]
        if destination.type == "queue":
            return [
                started,
                *self._answer_customer(now),
                *self.enqueue(destination.target, 0, {}, {}, now),
            ]
        # A user (extension): ring it directly, as an agent leg without the ACD.
        return [started, *self._ring(destination.target, now)]

    # ---- the IVR's decisions ---------------------------------------------------------------

    def enqueue(
        self,
        queue: str,
        priority: int,
        skills: Mapping[str, int],
        attributes: Mapping[str, str],
        now: float,
    ) -> list[Output]:
        """The caller waits in ``queue`` (from the IVR, the route, or a transfer)."""
        self._expect("ivr", "queued", "offered")
        self.state, self._queue, self._ivr_running, self._in_acd = "queued", queue, False, True
        self._priority, self._skills = priority, dict(skills)
        self._survey_flow_asked = attributes.get("survey_flow") or self._survey_flow_asked
        self._attributes.update(attributes)
        return [
            EnqueueContact(self.call_id, queue, priority, dict(skills), dict(attributes)),
            PlayMusicOnHold(self.customer_leg),
            CallQueued(at=now, call_id=self.call_id, queue=queue),
        ]

    def ivr_started(self, flow: str, version: int, now: float) -> list[Output]:
        """The IVR runner picked a version of the flow (a department may pilot a new one)."""
        self._expect("ivr")
        return [CallIvrStarted(at=now, call_id=self.call_id, flow=flow, version=version)]

    def ivr_hung_up(self, now: float) -> list[Output]:
        """The flow ended the call (closed, goodbye)."""
        self._expect("ivr")
        self._ivr_running = False
        return self._end("system", "ivr ended the call", now)

    def ivr_transfer(self, target: str, now: float) -> list[Output]:
        """The flow sends the caller to a user or number: ring it directly."""
        self._expect("ivr")
        self._ivr_running = False
        return [PlayMusicOnHold(self.customer_leg), *self._ring(target, now)]

    # ---- the ACD's decisions ---------------------------------------------------------------

    def offer(self, agent: str, now: float) -> list[Output]:
        """The ACD offers the contact to ``agent``: ring their phones (ring-all: several)."""
        self._expect("queued", "ringing_agent")
        if any(leg.agent == agent for leg in self._ringing.values()):
            raise CallControlError(f"call {self.call_id}: {agent} is already ringing")
        return self._ring(agent, now)

    def withdraw(self, agent: str, now: float) -> list[Output]:
        """The ACD takes the offer back (ring timeout, agent logged out)."""
        leg = next((leg for leg in self._ringing.values() if leg.agent == agent), None)
        if leg is None:
            return []  # already answered, failed or cancelled: nothing to undo
        return self._cancel(leg, "no_answer", now)

    def queue_exit(
        self,
        kind: Literal["overflow", "voicemail", "callback_offer", "busy", "hang_up"],
        target: str,
        flow: str | None,
        now: float,
    ) -> list[Output]:
        """The ACD moved the caller out of the queue (max wait, queue full, no agents).

        ``overflow``: the ACD has already queued it in ``target``. ``voicemail`` and
        ``callback_offer`` hand the caller to ``flow`` (with ``exit_target`` set to
        ``target``); without a flow, or for ``busy`` and ``hang_up``, the call ends.
        """
        self._expect("queued")
        if kind == "overflow":
            self._queue = target
            return [CallQueued(at=now, call_id=self.call_id, queue=target)]
        self._in_acd = False
        queue = self._queue or ""
        exited = CallQueueExited(at=now, call_id=self.call_id, queue=queue, kind=kind)
        if kind in ("voicemail", "callback_offer") and flow is not None:
            self.state, self._ivr_running = "ivr", True
            variables = {"exit_target": target, "exit_queue": queue}
            return [
                exited,
                StopMedia(self.customer_leg),
                StartIvr(self.call_id, flow, self._department, variables),
            ]
        return [exited, *self._end("system", f"queue {queue}: {kind}", now)]

    # ---- what happens on the legs ----------------------------------------------------------

    def leg_answered(self, leg_id: str, now: float) -> list[Output]:
        external = self._external
        if external is not None and external.dial.owns(leg_id):
            return self._external_answered(external, leg_id, now)
        if leg_id in self._parties:
            return self._party_answered(self._parties[leg_id], now)
        leg = self._ringing.pop(leg_id, None)
        if leg is None or self.state != "ringing_agent":
            raise CallControlError(f"call {self.call_id}: unexpected answer on leg {leg_id}")
        self._talking, self.state = leg, "connected"
        outputs: list[Output] = []
        for other in list(self._ringing.values()):
            outputs += self._cancel(other, "answered_elsewhere", now)
        outputs += [
            *self._answer_customer(now),  # a direct call to a user is answered only now
            StopMedia(self.customer_leg),
            Bridge(self.customer_leg, leg_id),
        ]
        if self._in_acd:
            outputs.append(OfferAnswered(self.call_id, leg.agent))
        outputs.append(CallConnected(at=now, call_id=self.call_id, leg_id=leg_id, agent=leg.agent))
        if self._recording_mode() == "always":
            outputs += self.start_recording(now)
        return outputs

    def leg_failed(
        self, leg_id: str, reason: Literal["no_answer", "rejected", "unreachable"], now: float
    ) -> list[Output]:
        """An agent leg ended before it was answered (busy, declined, no registration)."""
        if leg_id in self._parties:
            return self._party_gone(self._parties[leg_id], reason, now)
        leg = self._ringing.pop(leg_id, None)
        if leg is None:
            return []  # a leg we already cancelled: its failure is old news
        if not self._ringing and self.state == "ringing_agent":
            self.state = "queued"
        event = AgentLegFailed(
            at=now, call_id=self.call_id, leg_id=leg_id, agent=leg.agent, reason=reason
        )
        if not self._in_acd:  # a direct call to a user: nobody else to try
            return [event, *self._end("system", f"user {leg.agent}: {reason}", now)]
        return [event, OfferFailed(self.call_id, leg.agent, reason)]

    def leg_hung_up(self, leg_id: str, now: float) -> list[Output]:
        """A BYE (or CANCEL of the customer's INVITE) from either side."""
        if self.state == "ended":
            return []
        if leg_id == self.customer_leg:
            return self._end("customer", "customer hung up", now)
        if leg_id in self._parties:
            return self._party_gone(self._parties[leg_id], "hung_up", now)
        if self._talking is None or self._talking.leg_id != leg_id:
            return []  # a ringing leg that ends is a failure, reported by leg_failed
        if self._external is not None:
            number = self._external.dial.number
            return self._end("system", f"the outside party {number} hung up", now, gone=leg_id)
        taker = self._answered_party("consult", "third_party")
        if taker is not None:
            # The agent hung up on an answered consultation or conference: the other party
            # takes the caller over (the attended transfer every PBX does on hang-up).
            return self._take_over(taker, now, agent_gone=True)
        consult = self._party_of("consult")
        if consult is not None:
            # Still ringing: the agent leaves it to ring; it becomes a blind transfer.
            return self._consult_to_blind(consult, now)
        survey = self._survey_flow()
        if survey is not None and self._customer_answered:
            return self._survey_after_agent(survey, now)
        return self._end("agent", "agent hung up", now)

    def _survey_flow(self) -> str | None:
        if self._survey_flow_asked:
            return self._survey_flow_asked
        return self._survey_flows.get(self._queue) if self._queue else None

    def _survey_after_agent(self, flow: str, now: float) -> list[Output]:
        """The agent hung up first and a survey is asked for: the agent goes to wrap-up,
        the caller stays and the survey flow runs on the customer leg."""
        talking = self._talking
        assert talking is not None
        before = self._topology()
        outputs: list[Output] = [*self._drop_parties("dropped", now), *self.stop_recording(now)]
        if _is_mix(before):
            outputs.append(SetMix(self.call_id, ()))  # a supervisor leaves with the agent
        elif before:
            outputs.append(Unbridge(self.customer_leg, talking.leg_id))
        if self._in_acd:
            self._in_acd = False
            outputs.append(ContactLeft(self.call_id, talking.agent))  # wrap-up starts now
        outputs.append(
            CallAgentLeft(
                at=now,
                call_id=self.call_id,
                leg_id=talking.leg_id,
                agent=talking.agent,
                survey_flow=flow,
            )
        )
        self._talking, self._held, self._agent_left = None, False, True
        self.state, self._ivr_running = "ivr", True
        variables = {"agent": talking.agent, "queue": self._queue or ""}
        return [*outputs, StartIvr(self.call_id, flow, self._department, variables)]

    def hang_up(self, cause: str, now: float) -> list[Output]:
        """End the call from our side (a supervisor, the API, the node shutting down)."""
        if self.state == "ended":
            return []
        return self._end("system", cause, now)

    # ---- the agent's phone: hold and blind transfer ------------------------------------------

    def hold(self, now: float) -> list[Output]:
        """The agent put the customer on hold: the customer hears music, not the agent."""
        self._talking_leg()
        if self._held:
            return []
        if self._answered_party("third_party") is not None:
            raise CallControlError(f"call {self.call_id}: no hold in a conference")
        before = self._topology()
        self._held = True
        return [
            *self._connect(before),
            PlayMusicOnHold(self.customer_leg),
            CallHeld(at=now, call_id=self.call_id),
        ]

    def resume(self, now: float) -> list[Output]:
        self._talking_leg()
        if not self._held:
            return []
        if self._party_of("consult") is not None:
            raise CallControlError(f"call {self.call_id}: complete or cancel the consultation")
        before = self._topology()
        self._held = False
        return [
            StopMedia(self.customer_leg),
            *self._connect(before),
            CallResumed(at=now, call_id=self.call_id),
        ]

    def phone_hold(self, leg_id: str, held: bool, now: float) -> list[Output]:
        """The agent's phone changed its own direction by re-INVITE: ``a=sendonly`` or
        ``inactive`` (its hold key) holds the customer, ``sendrecv`` again resumes. A
        direction change on any other leg (a supervisor's phone) changes nothing here."""
        if self._talking is None or self._talking.leg_id != leg_id or self.state != "connected":
            return []
        try:
            return self.hold(now) if held else self.resume(now)
        except CallControlError:
            # Hold in a conference, resume during a consultation: the phone's key does not
            # change what the desktop set up (its own media direction is all it changes).
            return []

    def refer(
        self,
        leg_id: str,
        destination: TransferDestination,
        now: float,
        dial: TrunkDial | None = None,
    ) -> list[Output]:
        """The agent's phone transferred the caller (REFER): blind, to a queue, a user, or
        an outside number (``dial``: its dial through the trunks)."""
        talking = self._talking_leg()
        if talking.leg_id != leg_id:
            raise CallControlError(f"call {self.call_id}: leg {leg_id} is not the agent's")
        if destination.kind == "user" and destination.target == talking.agent:
            raise CallControlError(f"call {self.call_id}: {talking.agent} is the agent already")
        if destination.kind == "queue":
            return self.transfer_to_queue(destination.target, now)
        if destination.kind == "number":
            if dial is None:
                raise CallControlError(f"call {self.call_id}: no trunk dial for a number")
            return self.transfer_to_number(dial, now)
        return self.transfer_to_user(destination.target, now)

    def transfer_to_queue(self, queue: str, now: float) -> list[Output]:
        """Blind transfer into a queue: the agent is released to wrap-up, the caller waits."""
        outputs = self._release_agent("queue", queue, now)
        self.state = "queued"
        return outputs + self.enqueue(queue, 0, {}, {}, now)

    def transfer_to_user(self, target: str, now: float) -> list[Output]:
        """Blind transfer to a user or number: ring it directly, without the ACD."""
        outputs = self._release_agent("blind", target, now)
        self._queue = None  # the new target's talk is not the queue's (recording policy)
        return [*outputs, PlayMusicOnHold(self.customer_leg), *self._ring(target, now)]

    def transfer_to_number(self, dial: TrunkDial, now: float) -> list[Output]:
        """Blind transfer to an outside number through a carrier trunk.

        ``dial`` is built by the contact centre: the number normalized and checked against
        the transfer rules, the transfer trunk group, the DID the caller dialled as the
        number to present. As for any blind transfer the agent is released at once (BYE,
        wrap-up); the caller hears music while trunks are tried (failover, channels and
        timers are the dial's). On answer the caller is bridged to the outside party and
        recorded per the policy of the queue the call came from, on the same call record.
        If no trunk gets an answer the caller is not dropped (``_external_failed``).
        """
        talking = self._talking_leg()
        outputs = self._release_agent("blind", dial.number, now)
        self._external = _External(dial, talking.agent, self._queue)
        self.state = "transferring"
        outputs.append(PlayMusicOnHold(self.customer_leg))
        return outputs + self._after_dial(dial.start(now), now)

    def trunk_progress(self, leg_id: str, now: float) -> list[Output]:
        """The carrier rings the outside number (180/183): its ring time starts."""
        if self._external is not None and self.state == "transferring":
            self._external.dial.progress(leg_id, now)
        return []

    def trunk_failed(
        self, leg_id: str, status: int | None, reason: str, now: float
    ) -> list[Output]:
        """The outside number's leg on the current trunk ended unanswered: next trunk, or
        the fallback."""
        if self._external is None or self.state != "transferring":
            return []
        return self._after_dial(self._external.dial.failed(leg_id, status, reason, now), now)

    def next_timer(self) -> float | None:
        """The outside number's setup or ring deadline; calls own no other timer."""
        if self._external is None or self.state != "transferring":
            return None
        return self._external.dial.deadline

    def handle_timer(self, now: float) -> list[Output]:
        if self._external is None or self.state != "transferring":
            return []
        return self._after_dial(self._external.dial.handle_timer(now), now)

    def _after_dial(self, outputs: list[DialOutput], now: float) -> list[Output]:
        external = self._external
        if external is None or external.dial.state != "failed":
            return list(outputs)
        return [*outputs, *self._external_failed(now)]

    def _external_failed(self, now: float) -> list[Output]:
        """Nobody answered at the outside number (busy, no answer, every trunk failed).

        Decision: the caller goes back where a call-centre operator expects it, never to
        the dial tone: into the queue the call came from, ahead of callers not served yet
        (``FALLBACK_PRIORITY``, or the contact's own priority if higher: a VIP stays
        ahead) and with its skill needs (the IVR's language), with ``transfer_failed`` on
        the screen pop; a call that reached the agent without a queue (a direct route)
        rings that agent again. The music goes on throughout; the failed tries are in the
        CDR's trunk attempts.
        """
        external = self._external
        assert external is not None
        self._external = None
        number = external.dial.number
        if external.origin_queue is not None:
            self.state = "queued"
            attributes = {"transfer_failed": number}
            priority = max(self._priority, FALLBACK_PRIORITY)
            skills = self._skills
            return self.enqueue(external.origin_queue, priority, skills, attributes, now)
        return self._ring(external.from_agent, now)

    def _external_answered(self, external: _External, leg_id: str, now: float) -> list[Output]:
        outputs: list[Output] = [*external.dial.answered(leg_id, now)]
        external.connected = True
        self._talking, self.state = _AgentLeg(leg_id, external.dial.number), "connected"
        outputs += [
            StopMedia(self.customer_leg),
            Bridge(self.customer_leg, leg_id),
            CallPartyJoined(
                at=now,
                call_id=self.call_id,
                leg_id=leg_id,
                role="external",
                party=external.dial.number,
            ),
        ]
        if self._recording_mode() == "always":
            outputs += self.start_recording(now)
        return outputs

    def _release_agent(
        self, kind: Literal["queue", "blind"], target: str, now: float
    ) -> list[Output]:
        talking = self._talking_leg()
        if self._party_of("consult", "third_party") is not None:
            raise CallControlError(f"call {self.call_id}: end the consultation or conference")
        before = self._topology()
        outputs: list[Output] = [*self._drop_parties("dropped", now)]
        if _is_mix(before):
            outputs.append(SetMix(self.call_id, ()))
        outputs += [*self.stop_recording(now), HangUpLeg(talking.leg_id)]
        if self._in_acd:
            self._in_acd = False
            outputs.append(ContactLeft(self.call_id, talking.agent))  # wrap-up starts
        outputs.append(
            CallTransferred(
                at=now, call_id=self.call_id, from_agent=talking.agent, target=target, kind=kind
            )
        )
        self._talking, self._held = None, False
        return outputs

    def _talking_leg(self) -> _AgentLeg:
        if self.state != "connected" or self._talking is None:
            raise CallControlError(f"call {self.call_id} is {self.state}, not connected")
        if self._external is not None:
            raise CallControlError(
                f"call {self.call_id}: the caller is with the outside number "
                f"{self._external.dial.number}"
            )
        return self._talking

    # ---- more parties: consultation, conference, supervisor ----------------------------------
    #
    # Extra legs are rung like agents (``RingAgent`` with a role) but never go through the
    # ACD. While the call is only customer and agent, they are bridged (cheap pass-through);
    # as soon as a third leg has answered, the legs are mixed instead (``SetMix``: mix-minus
    # and the supervisor roles of ``media/mixer.py``). ``_topology`` says which connection the
    # state calls for, and ``_connect`` turns a change of it into commands, so that every
    # input below only changes state and asks for the connection to follow.

    def consult(self, target: str, now: float) -> list[Output]:
        """Attended transfer, step one: the customer is held (music), ``target`` rung; when
        it answers the agent and ``target`` talk, the customer does not hear them."""
        self._check_new_party(target, "a consultation or conference is on")
        outputs = self.hold(now) if not self._held else []
        return outputs + self._ring_party(target, "consult", None, now)

    def complete_transfer(self, now: float) -> list[Output]:
        """Attended transfer, step two: the consulted party takes the customer over, the
        agent is released into wrap-up."""
        self._talking_leg()
        consult = self._party_of("consult")
        if consult is None or not consult.answered:
            raise CallControlError(f"call {self.call_id}: no answered consultation")
        return self._take_over(consult, now, agent_gone=False)

    def cancel_consult(self, now: float) -> list[Output]:
        """Attended transfer abandoned: the consulted party is let go, the agent is back
        with the customer."""
        self._talking_leg()
        return self._let_party_go("consult", "no consultation", "cancelled", now)

    def add_party(self, target: str, now: float) -> list[Output]:
        """Conference: ring ``target``; when it answers, customer, agent and it all hear
        each other."""
        self._talking_leg()
        if self._held:
            raise CallControlError(f"call {self.call_id} is on hold")
        self._check_new_party(target, "a consultation or conference is on")
        return self._ring_party(target, "third_party", None, now)

    def drop_party(self, now: float) -> list[Output]:
        """End the conference's third party (customer and agent go on alone)."""
        return self._let_party_go("third_party", "no conference party", "dropped", now)

    def supervise(self, supervisor: str, mode: SupervisorMode, now: float) -> list[Output]:
        """Ring ``supervisor``'s phone; once answered it listens (hears both, heard by
        none), whispers (heard by the agent only) or barges in (all hear all)."""
        self._check_new_party(supervisor, "it is supervised already", ("supervisor",))
        return self._ring_party(supervisor, "supervisor", mode, now)

    def set_supervision(self, mode: SupervisorMode, now: float) -> list[Output]:
        """Switch the supervisor between listen, whisper and barge."""
        party = self._party_of("supervisor")
        if party is None:
            raise CallControlError(f"call {self.call_id} is not supervised")
        if party.mode == mode:
            return []
        before = self._topology()
        party.mode = mode
        if not party.answered:
            return []
        return [
            *self._connect(before),
            CallPartyModeChanged(at=now, call_id=self.call_id, leg_id=party.leg_id, mode=mode),
        ]

    def end_supervision(self, now: float) -> list[Output]:
        return self._let_party_go("supervisor", "it is not supervised", "dropped", now)

    def _check_new_party(
        self,
        target: str,
        busy: str,
        roles: tuple[PartyRole, ...] = ("consult", "third_party"),
    ) -> None:
        """The guard every new party passes: an agent talks, no party of ``roles`` is on
        (``busy`` says so), and ``target`` is not that agent."""
        talking = self._talking_leg()
        if self._party_of(*roles) is not None:
            raise CallControlError(f"call {self.call_id}: {busy}")
        if target == talking.agent:
            raise CallControlError(f"call {self.call_id}: {target} is the agent already")

    def _let_party_go(self, role: PartyRole, missing: str, reason: str, now: float) -> list[Output]:
        """End the party of ``role`` (``missing`` says there is none) for ``reason``."""
        party = self._party_of(role)
        if party is None:
            raise CallControlError(f"call {self.call_id}: {missing}")
        return self._party_gone(party, reason, now)

    def _ring_party(
        self,
        target: str,
        role: Literal["consult", "third_party", "supervisor"],
        mode: SupervisorMode | None,
        now: float,
    ) -> list[Output]:
        self._agent_legs += 1
        leg_id = f"{self.call_id}-{role[0]}{self._agent_legs}"
        self._parties[leg_id] = _Party(leg_id, target, role, mode)
        return [RingAgent(self.call_id, leg_id, target, role)]

    def _party_answered(self, party: _Party, now: float) -> list[Output]:
        if party.answered or self.state != "connected":
            raise CallControlError(f"call {self.call_id}: unexpected answer on {party.leg_id}")
        before = self._topology()
        party.answered = True
        return [
            *self._connect(before),
            CallPartyJoined(
                at=now,
                call_id=self.call_id,
                leg_id=party.leg_id,
                role=party.role,
                party=party.party,
                mode=party.mode,
            ),
        ]

    def _party_gone(self, party: _Party, reason: str, now: float) -> list[Output]:
        """A party's leg failed, hung up, or is let go (``reason`` cancelled/dropped): the
        others go on; a consultation that ends takes the agent back to the customer."""
        before = self._topology()
        del self._parties[party.leg_id]
        outputs: list[Output] = []
        if reason in ("cancelled", "dropped"):
            outputs.append(HangUpLeg(party.leg_id) if party.answered else CancelLeg(party.leg_id))
        if party.role == "consult" and self._held and self.state == "connected":
            self._held = False
            outputs += [
                StopMedia(self.customer_leg),
                *self._connect(before),
                CallResumed(at=now, call_id=self.call_id),
            ]
        else:
            outputs += self._connect(before)
        outputs.append(self._party_left(party, reason, now))
        return outputs

    def _take_over(self, party: _Party, now: float, *, agent_gone: bool) -> list[Output]:
        """``party`` (an answered consultation or conference party) becomes the agent: the
        old agent is released (BYE unless it hung up itself) into wrap-up, and the customer
        is bridged to the new one, recorded on the same call record."""
        talking = self._talking_leg()
        before = self._topology()
        outputs: list[Output] = [*self.stop_recording(now)]
        del self._parties[party.leg_id]
        outputs += self._drop_parties("dropped", now)  # a supervisor of the old agent
        if _is_mix(before):
            outputs.append(SetMix(self.call_id, ()))
        if not agent_gone:
            outputs.append(HangUpLeg(talking.leg_id))
        if self._in_acd:
            self._in_acd = False
            outputs.append(ContactLeft(self.call_id, talking.agent))  # wrap-up starts
        outputs += [
            CallTransferred(
                at=now,
                call_id=self.call_id,
                from_agent=talking.agent,
                target=party.party,
                kind="attended",
            ),
            self._party_left(party, "transferred", now),
        ]
        if self._held:
            self._held = False
            outputs += [StopMedia(self.customer_leg), CallResumed(at=now, call_id=self.call_id)]
        self._talking = _AgentLeg(party.leg_id, party.party)
        self._queue = None  # the new party's talk is not the queue's (recording policy)
        outputs += [
            Bridge(self.customer_leg, party.leg_id),
            CallConnected(at=now, call_id=self.call_id, leg_id=party.leg_id, agent=party.party),
        ]
        if self._recording_mode() == "always":
            outputs += self.start_recording(now)
        return outputs

    def _consult_to_blind(self, consult: _Party, now: float) -> list[Output]:
        """The agent hung up while its consultation still rang: the ringing leg carries on as
        a blind transfer to that user (the caller keeps hearing music)."""
        talking = self._talking_leg()
        outputs: list[Output] = [*self.stop_recording(now)]
        del self._parties[consult.leg_id]
        outputs += self._drop_parties("dropped", now)
        if self._in_acd:
            self._in_acd = False
            outputs.append(ContactLeft(self.call_id, talking.agent))
        outputs.append(
            CallTransferred(
                at=now,
                call_id=self.call_id,
                from_agent=talking.agent,
                target=consult.party,
                kind="blind",
            )
        )
        self._talking, self._held, self._queue = None, False, None
        self._ringing[consult.leg_id] = _AgentLeg(consult.leg_id, consult.party)
        self.state = "ringing_agent"
        outputs.append(
            AgentLegRinging(
                at=now, call_id=self.call_id, leg_id=consult.leg_id, agent=consult.party
            )
        )
        return outputs

    def _drop_parties(self, reason: str, now: float) -> list[Output]:
        """Let every extra leg go (the call ends, or its agent leaves); no reconnection."""
        outputs: list[Output] = []
        for party in list(self._parties.values()):
            del self._parties[party.leg_id]
            outputs += [
                HangUpLeg(party.leg_id) if party.answered else CancelLeg(party.leg_id),
                self._party_left(party, reason, now),
            ]
        return outputs

    def _party_left(self, party: _Party, reason: str, now: float) -> CallPartyLeft:
        return CallPartyLeft(
            at=now,
            call_id=self.call_id,
            leg_id=party.leg_id,
            role=party.role,
            party=party.party,
            reason=reason,
        )

    def _party_of(self, *roles: PartyRole) -> _Party | None:
        return next((p for p in self._parties.values() if p.role in roles), None)

    def _answered_party(self, *roles: PartyRole) -> _Party | None:
        return next((p for p in self._parties.values() if p.role in roles and p.answered), None)

    def _topology(self) -> _Topology:
        """The connection the state calls for: () nothing, (customer, agent) a bridge, or
        the members of a mix."""
        talking = self._talking
        if self.state != "connected" or talking is None:
            return ()
        members = [] if self._held else [MixMember(self.customer_leg)]
        members.append(MixMember(talking.leg_id))
        for party in self._parties.values():
            if not party.answered:
                continue
            if party.role == "supervisor":
                if party.mode == "listen":
                    members.append(MixMember(party.leg_id, "listen"))
                elif party.mode == "whisper":
                    members.append(MixMember(party.leg_id, "whisper", (talking.leg_id,)))
                else:
                    members.append(MixMember(party.leg_id))
            elif party.role == ("consult" if self._held else "third_party"):
                # A consultation is mixed with the agent while the customer is held; a
                # conference party with both while not.
                members.append(MixMember(party.leg_id))
        if len(members) < 2:
            return ()
        if not self._held and len(members) == 2:
            return (self.customer_leg, talking.leg_id)
        return tuple(members)

    def _connect(self, before: _Topology) -> list[Output]:
        """Commands that take the call's audio from ``before`` to what the state calls for."""
        after = self._topology()
        if after == before:
            return []
        outputs: list[Output] = []
        bridged, mixed = _bridge_of(before), _mix_of(before)
        if bridged is not None:
            outputs.append(Unbridge(*bridged))
        wanted_bridge, wanted_mix = _bridge_of(after), _mix_of(after)
        if mixed is not None and wanted_mix is None:
            outputs.append(SetMix(self.call_id, ()))
        if wanted_mix is not None:
            outputs.append(SetMix(self.call_id, wanted_mix))
        elif wanted_bridge is not None:
            outputs.append(Bridge(*wanted_bridge))
        return outputs

    # ---- recording on demand ---------------------------------------------------------------

    def start_recording(self, now: float) -> list[Output]:
        leg = self._talking
        if self.state != "connected" or leg is None:
            return []
        if self._recording_mode() == "never":
            return []  # the queue's policy forbids it (e.g. a card-payment line)
        return list(self._recorder.start(self.customer_leg, leg.leg_id, now))

    def pause_recording(self, now: float) -> list[Output]:
        """Leave what follows out of the recording (a card number, a password read out)."""
        return list(self._recorder.pause(now))

    def resume_recording(self, now: float) -> list[Output]:
        return list(self._recorder.resume(now))

    def stop_recording(self, now: float) -> list[Output]:
        return list(self._recorder.stop(now))

    # ---- helpers ---------------------------------------------------------------------------

    def _ring(self, agent: str, now: float) -> list[Output]:
        self._agent_legs += 1
        leg_id = f"{self.call_id}-a{self._agent_legs}"
        self._ringing[leg_id], self.state = _AgentLeg(leg_id, agent), "ringing_agent"
        return [
            RingAgent(self.call_id, leg_id, agent),
            AgentLegRinging(at=now, call_id=self.call_id, leg_id=leg_id, agent=agent),
        ]

    def _answer_customer(self, now: float) -> list[Output]:
        if self._customer_answered:
            return []
        self._customer_answered = True
        return [AnswerLeg(self.customer_leg), CallAnswered(at=now, call_id=self.call_id)]

    def _refuse(self, status: int, reason: str, now: float) -> list[Output]:
        self.state = "ended"
        return [
            RejectLeg(self.customer_leg, status, reason),
            CallEnded(at=now, call_id=self.call_id, side="system", cause=reason, sip_status=status),
        ]

    def _end(self, side: Side, cause: str, now: float, gone: str | None = None) -> list[Output]:
        """Tear the call down; ``side`` is who ended it (their leg needs no BYE), ``gone``
        a leg that ended itself (the outside party of a transfer)."""
        self.state = "ended"
        outputs: list[Output] = [*self._drop_parties("call_ended", now), *self.stop_recording(now)]
        if self._customer_dial is not None:  # a click-to-call's customer: its channel
            self._customer_dial.stop(now, hang_up=False)  # (the BYE, if any, is below)
        external, self._external = self._external, None
        if external is not None:
            # The outside party's channel is given back; a leg still dialled is cancelled.
            outputs += external.dial.stop(now, hang_up=gone is None and side != "agent")
            if external.connected:
                self._talking = None
                outputs.append(
                    CallPartyLeft(
                        at=now,
                        call_id=self.call_id,
                        leg_id=external.dial.leg_id or "",
                        role="external",
                        party=external.dial.number,
                        reason="hung_up" if gone else "call_ended",
                    )
                )
        if self._ivr_running:
            self._ivr_running = False
            outputs.append(StopIvr(self.call_id))
        # Legs still ringing at the end show in the CDR as "abandoned".
        outputs += [CancelLeg(leg_id) for leg_id in self._ringing]
        self._ringing.clear()
        talking = self._talking
        if talking is not None and side != "agent":
            outputs.append(HangUpLeg(talking.leg_id))
        if side != "customer":
            outputs.append(
                HangUpLeg(self.customer_leg)
                if self._customer_answered
                else RejectLeg(self.customer_leg, 480, "Temporarily Unavailable")
            )
        if self._in_acd:
            # The ACD frees a ringing agent, or starts the talking agent's wrap-up.
            self._in_acd = False
            outputs.append(ContactLeft(self.call_id, talking.agent if talking else None))
        if self._agent_left:
            # Decision: the record keeps who ended the conversation. The agent did; what
            # followed (the survey's goodbye, or the caller leaving it) is in the cause.
            side, cause = "agent", f"agent hung up; after the survey: {cause}"
        outputs.append(CallEnded(at=now, call_id=self.call_id, side=side, cause=cause))
        return outputs

    def _recording_mode(self) -> RecordingMode:
        if self._queue is None:
            return self._default_recording
        return self._recording.get(self._queue, self._default_recording)

    def _cancel(
        self,
        leg: _AgentLeg,
        reason: Literal["no_answer", "answered_elsewhere"],
        now: float,
    ) -> list[Output]:
        del self._ringing[leg.leg_id]
        if not self._ringing and self.state == "ringing_agent":
            self.state = "queued"
        return [
            CancelLeg(leg.leg_id),
            AgentLegFailed(
                at=now, call_id=self.call_id, leg_id=leg.leg_id, agent=leg.agent, reason=reason
            ),
        ]

    def _expect(self, *states: State) -> None:
        if self.state not in states:
            raise CallControlError(
                f"call {self.call_id} is {self.state}, not {' or '.join(states)}"
            )


def _is_mix(topology: _Topology) -> bool:
    return _mix_of(topology) is not None


def _mix_of(topology: _Topology) -> tuple[MixMember, ...] | None:
    members = tuple(m for m in topology if isinstance(m, MixMember))
    return members if members else None


def _bridge_of(topology: _Topology) -> tuple[str, str] | None:
    legs = [leg for leg in topology if isinstance(leg, str)]
    return (legs[0], legs[1]) if len(legs) == 2 else None
