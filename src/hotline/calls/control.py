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
from typing import Literal

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
    CallQueued,
    CallQueueExited,
    CallResumed,
    CallStarted,
    CallTransferred,
    RecordingStarted,
    RecordingStopped,
    Side,
)
from hotline.calls.routing import RouteDecision

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
    """Place an outgoing leg to an agent's registered phones."""

    call_id: str
    leg_id: str
    agent: str


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
    | EnqueueContact
    | OfferAnswered
    | OfferFailed
    | ContactLeft
)

Output = Command | CallEvent

State = Literal["offered", "ivr", "queued", "ringing_agent", "connected", "ended"]


@dataclass(frozen=True, slots=True)
class TransferDestination:
    """Where a transfer sends the caller: a queue (through the ACD) or a user rung directly."""

    kind: Literal["queue", "user"]
    target: str


class CallControlError(Exception):
    """An input that makes no sense for this call (unknown leg, offer while connected)."""


@dataclass(frozen=True, slots=True)
class _AgentLeg:
    leg_id: str
    agent: str


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
        self._in_acd = False  # whether the ACD holds the call as a contact now
        self._recording_id: str | None = None
        self._recordings = 0
        self._agent_legs = 0
        # The survey after the agent hangs up: per queue, or named by the IVR (the flow's
        # ``survey_flow`` variable, which travels with the contact and wins).
        self._survey_flows = survey_flows or {}
        self._survey_flow_asked: str | None = None
        self._agent_left = False  # the agent hung up first; the caller is in the survey
        self._attributes: dict[str, str] = {}  # what the IVR collected (screen pop)
        self.started_at = 0.0  # set when routed

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
        """The agent talking to the caller now (None while ringing or waiting)."""
        return self._talking.agent if self._talking else None

    @property
    def ringing_agents(self) -> list[str]:
        return [leg.agent for leg in self._ringing.values()]

    @property
    def held(self) -> bool:
        return self._held

    @property
    def attributes(self) -> Mapping[str, str]:
        """The variables the IVR handed over with the call (order number, language...),
        for the agent's screen pop; later enqueues add to them."""
        return dict(self._attributes)

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
        if self._talking is None or self._talking.leg_id != leg_id:
            return []  # a ringing leg that ends is a failure, reported by leg_failed
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
        outputs: list[Output] = [
            *self.stop_recording(now),
            Unbridge(self.customer_leg, talking.leg_id),
        ]
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
        talking = self._talking_leg()
        if self._held:
            return []
        self._held = True
        return [
            Unbridge(self.customer_leg, talking.leg_id),
            PlayMusicOnHold(self.customer_leg),
            CallHeld(at=now, call_id=self.call_id),
        ]

    def resume(self, now: float) -> list[Output]:
        talking = self._talking_leg()
        if not self._held:
            return []
        self._held = False
        return [
            StopMedia(self.customer_leg),
            Bridge(self.customer_leg, talking.leg_id),
            CallResumed(at=now, call_id=self.call_id),
        ]

    def phone_hold(self, leg_id: str, held: bool, now: float) -> list[Output]:
        """The agent's phone changed its own direction by re-INVITE: ``a=sendonly`` or
        ``inactive`` (its hold key) holds the customer, ``sendrecv`` again resumes. A
        direction change on any other leg (a supervisor's phone) changes nothing here."""
        if self._talking is None or self._talking.leg_id != leg_id or self.state != "connected":
            return []
        return self.hold(now) if held else self.resume(now)

    def refer(self, leg_id: str, destination: TransferDestination, now: float) -> list[Output]:
        """The agent's phone transferred the caller (REFER): blind, to a queue or a user."""
        talking = self._talking_leg()
        if talking.leg_id != leg_id:
            raise CallControlError(f"call {self.call_id}: leg {leg_id} is not the agent's")
        if destination.kind == "user" and destination.target == talking.agent:
            raise CallControlError(f"call {self.call_id}: {talking.agent} is the agent already")
        if destination.kind == "queue":
            return self.transfer_to_queue(destination.target, now)
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

    def _release_agent(
        self, kind: Literal["queue", "blind"], target: str, now: float
    ) -> list[Output]:
        talking = self._talking_leg()
        outputs: list[Output] = [*self.stop_recording(now), HangUpLeg(talking.leg_id)]
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
        return self._talking

    # ---- recording on demand ---------------------------------------------------------------

    def start_recording(self, now: float) -> list[Output]:
        leg = self._talking
        if self.state != "connected" or leg is None or self._recording_id is not None:
            return []
        if self._recording_mode() == "never":
            return []  # the queue's policy forbids it (e.g. a card-payment line)
        self._recordings += 1
        self._recording_id = f"{self.call_id}-r{self._recordings}"
        return [
            StartRecording(self._recording_id, self.customer_leg, leg.leg_id),
            RecordingStarted(at=now, call_id=self.call_id, recording_id=self._recording_id),
        ]

    def stop_recording(self, now: float) -> list[Output]:
        if self._recording_id is None:
            return []
        recording_id, self._recording_id = self._recording_id, None
        return [
            StopRecording(recording_id),
            RecordingStopped(at=now, call_id=self.call_id, recording_id=recording_id),
        ]

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

    def _end(self, side: Side, cause: str, now: float) -> list[Output]:
        """Tear the call down; ``side`` is who ended it (their leg needs no BYE)."""
        self.state = "ended"
        outputs: list[Output] = [*self.stop_recording(now)]
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
