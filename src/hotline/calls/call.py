"""The call model: one customer call, from its first leg to the last BYE, whatever made it.

The policy half of the B2BUA, sans-IO like the rest of the stack. The SIP and media adapters
report what happens on the legs (answered, failed, hung up, a trunk ringing), the IVR and
the ACD say what they decided (queue there, ring that agent, withdraw the offer), and
:class:`Call` returns the commands that make it so, and the call events that CDRs, the queue
log and the wallboard are built from.

What created the call is data (``kind``), not a separate class: the kinds differ only in
how the customer and the first agent come together —

- ``inbound`` (:meth:`Call.inbound`, then :meth:`route`): the customer's INVITE is routed to
  an IVR flow, a queue or a user;
- ``click_to_call`` (:meth:`Call.click_to_call`, then :meth:`start`): the agent's phone rings
  first (30 s); once it answers, the agent hears ringback while the customer's number is
  dialled through a trunk group, and the two are bridged when the customer answers. The
  customer never answers into silence, and an agent who walked away costs no carrier minute;
- ``campaign`` (:meth:`Call.campaign`, then :meth:`start`): the customer is dialled first and,
  once answered, queued for an agent or handed to an IVR flow (the dialer's robot mode).

From then on the legs, the state machine and every control (hold, transfers, consultation,
conference, supervision, recording pause: ``calls/call_controls.py``) are the same. The
customer leg's ``call_id`` survives everything, so recordings and the CDR stay on one
record. Timers: the click-to-call agent's ring time and the trunk dials' setup and ring
times (``next_timer``/``handle_timer``); an ACD offer's ring time is the ACD's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from hotline.calls.call_controls import CallControls
from hotline.calls.commands import (
    Bridge,
    CallControlError,
    CancelLeg,
    ContactLeft,
    DetectMachine,
    OfferAnswered,
    OfferFailed,
    Output,
    PlayMusicOnHold,
    PlayRingback,
    SetMix,
    StartIvr,
    StopMedia,
    Unbridge,
)
from hotline.calls.events import (
    AgentLegFailed,
    CallAgentLeft,
    CallAnswered,
    CallConnected,
    CallIvrStarted,
    CallKind,
    CallMachineDetected,
    CallQueued,
    CallQueueExited,
    CallStarted,
)
from hotline.calls.recording import RecordingMode
from hotline.calls.routing import Destination, RouteDecision
from hotline.calls.topology import is_mix
from hotline.calls.trunk_dial import DialOutput, TrunkDial

#: How long a click-to-call's agent phone may ring before the call is given up.
AGENT_RING_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class CampaignCallOptions:
    """How the dialler wants a campaign call handled (:meth:`Call.campaign`).

    ``connect_within``: when no agent answers within that many seconds of the call's first
    entry into a queue (at the answer, or after a flow such as a recording notice), the
    call is abandoned by the dialler — it leaves the queue (``CallQueueExited`` of kind
    ``no_agent_in_time``) and the customer hears ``abandon_flow`` (or, without one, is hung
    up on). This is the FTC's 2-second rule: a customer is never left listening to hold
    music because the pacing was wrong. A robot campaign passes none: a customer its flow
    hands to a queue waits as usual.

    ``detect_machine``: the answered leg is first listened to (``DetectMachine``); a person
    (or an unsure verdict) goes on to the destination, a machine hears ``machine_flow`` or
    is hung up on. With ``leave_message`` the verdict on a machine waits for the end of its
    greeting and beep, so the flow's message is recorded whole; without, the flow plays at
    once (the dialler's abandon message: a person taken for a machine must still hear who
    called, never a silent hang-up).

    ``ring_timeout``: how long the customer's phone may ring (None: the default).
    """

    connect_within: float | None = None
    abandon_flow: str | None = None
    detect_machine: bool = False
    machine_flow: str | None = None
    leave_message: bool = False
    ring_timeout: float | None = None

    def __post_init__(self) -> None:
        if self.connect_within is not None and self.connect_within <= 0:
            raise ValueError("connect_within must be positive")
        if self.ring_timeout is not None and self.ring_timeout <= 0:
            raise ValueError("ring_timeout must be positive")


class Call(CallControls):
    """One customer call; see the module docstring."""

    def __init__(
        self,
        *,
        call_id: str,
        kind: CallKind,
        caller: str,
        callee: str,
        customer_leg: str = "",
        customer_dial: TrunkDial | None = None,
        trunk: str | None = None,
        department: str | None = None,
        recording: Mapping[str, RecordingMode] | None = None,
        default_recording: RecordingMode = "always",
        survey_flows: Mapping[str, str] | None = None,
        first_agent: str | None = None,
        destination: Destination | None = None,
        agent_ring_timeout: float = AGENT_RING_TIMEOUT,
        campaign: CampaignCallOptions | None = None,
    ) -> None:
        """Prefer the constructors that name the kind: :meth:`inbound`,
        :meth:`click_to_call`, :meth:`campaign`."""
        super().__init__(
            call_id=call_id,
            kind=kind,
            caller=caller,
            callee=callee,
            customer_leg=customer_leg,
            customer_dial=customer_dial,
            trunk=trunk,
            department=department,
            recording=recording,
            default_recording=default_recording,
            survey_flows=survey_flows,
        )
        self._first_agent = first_agent  # a click-to-call's agent, rung first
        self._destination = destination  # where a campaign call goes once answered
        self._agent_ring_timeout = agent_ring_timeout
        self._agent_deadline: float | None = None
        self._campaign = campaign or CampaignCallOptions()
        self._connect_deadline: float | None = None
        self._connect_armed = False  # the 2-s rule holds once, from the first enqueue

    @classmethod
    def inbound(
        cls,
        *,
        call_id: str,
        leg_id: str,
        caller: str,
        callee: str,
        trunk: str | None,
        recording: Mapping[str, RecordingMode] | None = None,
        default_recording: RecordingMode = "always",
        survey_flows: Mapping[str, str] | None = None,
    ) -> Call:
        """An INVITE from a trunk or a user, answered by :meth:`route`'s decision."""
        return cls(
            call_id=call_id,
            kind="inbound",
            customer_leg=leg_id,
            caller=caller,
            callee=callee,
            trunk=trunk,
            recording=recording,
            default_recording=default_recording,
            survey_flows=survey_flows,
        )

    @classmethod
    def click_to_call(
        cls,
        *,
        call_id: str,
        agent: str,
        dial: TrunkDial,
        department: str | None = None,
        recording: Mapping[str, RecordingMode] | None = None,
        default_recording: RecordingMode = "always",
        survey_flows: Mapping[str, str] | None = None,
        agent_ring_timeout: float = AGENT_RING_TIMEOUT,
    ) -> Call:
        """Ring ``agent``, then dial the customer with ``dial`` (the trunk group was checked
        usable by the caller; ``default_recording`` is the call's recording policy)."""
        return cls(
            call_id=call_id,
            kind="click_to_call",
            customer_dial=dial,
            caller=agent,
            callee=dial.number,
            department=department,
            recording=recording,
            default_recording=default_recording,
            survey_flows=survey_flows,
            first_agent=agent,
            agent_ring_timeout=agent_ring_timeout,
        )

    @classmethod
    def campaign(
        cls,
        *,
        call_id: str,
        dial: TrunkDial,
        destination: Destination,
        department: str | None = None,
        recording: Mapping[str, RecordingMode] | None = None,
        default_recording: RecordingMode = "always",
        survey_flows: Mapping[str, str] | None = None,
        options: CampaignCallOptions | None = None,
    ) -> Call:
        """Dial the customer with ``dial``; once answered, go to ``destination`` (a queue
        of the campaign's agents, or an IVR flow), as ``options`` say
        (:class:`CampaignCallOptions`: the 2-second rule, answering-machine detection)."""
        if destination.type not in ("queue", "flow"):
            raise ValueError(f"a campaign call goes to a queue or a flow, not {destination.type}")
        return cls(
            call_id=call_id,
            kind="campaign",
            customer_dial=dial,
            caller=dial.caller_id or "",
            callee=dial.number,
            department=department,
            recording=recording,
            default_recording=default_recording,
            survey_flows=survey_flows,
            destination=destination,
            campaign=options,
        )

    @property
    def originator(self) -> str | None:
        """The agent a click-to-call was placed for (None for other kinds)."""
        return self._first_agent

    # ---- the call starts -------------------------------------------------------------------

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
            kind=self.kind,
        )
        if decision is None:
            return [started, *self._refuse(404, "Not Found", now)]
        self._department = decision.route.department
        destination = decision.destination
        if destination.type == "hangup":
            return [started, *self._refuse(480, "Temporarily Unavailable", now)]
        if destination.type == "user":  # an extension: ring it directly, without the ACD
            return [started, *self._ring(destination.target, now)]
        return [started, *self._answer_customer(now), *self._go_to(destination, now)]

    def start(self, now: float) -> list[Output]:
        """Place a dialled call: ring the click-to-call's agent, or dial the campaign's
        customer."""
        if self.state != "offered" or self._customer_dial is None:
            raise CallControlError(f"call {self.call_id} is {self.state}, not to be placed")
        self.started_at = now
        outputs: list[Output] = [
            CallStarted(
                at=now,
                call_id=self.call_id,
                direction="outbound",
                caller=self._caller,
                callee=self._callee,
                department=self._department,
                kind=self.kind,
            )
        ]
        if self._first_agent is not None:
            self._agent_deadline = now + self._agent_ring_timeout
            return outputs + self._ring(self._first_agent, now)
        self.state = "dialling"
        return outputs + self._after_customer_dial(self._customer_dial.start(now), now)

    def enqueue(
        self,
        queue: str,
        priority: int,
        skills: Mapping[str, int],
        attributes: Mapping[str, str],
        now: float,
    ) -> list[Output]:
        outputs = super().enqueue(queue, priority, skills, attributes, now)
        within = self._campaign.connect_within
        if within is not None and not self._connect_armed:
            self._connect_armed = True
            self._connect_deadline = now + within
        return outputs

    def _go_to(self, destination: Destination, now: float) -> list[Output]:
        if destination.type == "flow":
            self.state, self._ivr_running = "ivr", True
            return [StartIvr(self.call_id, destination.target, self._department)]
        return self.enqueue(destination.target, 0, {}, {}, now)

    def machine_detected(
        self, verdict: Literal["human", "machine", "notsure"], reason: str, now: float
    ) -> list[Output]:
        """The answering-machine detection's verdict on the answered campaign customer."""
        if self.state != "detecting":
            return []  # the customer hung up meanwhile: the call is over
        event = CallMachineDetected(at=now, call_id=self.call_id, verdict=verdict, reason=reason)
        if verdict != "machine":
            assert self._destination is not None
            return [event, *self._go_to(self._destination, now)]
        flow = self._campaign.machine_flow
        if flow is None:
            return [event, *self._end("system", f"answering machine ({reason})", now)]
        self.state, self._ivr_running = "ivr", True
        return [event, StartIvr(self.call_id, flow, self._department, {"machine": "1"})]

    # ---- the IVR's decisions ---------------------------------------------------------------

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
        dial = self._customer_dial
        if dial is not None and dial.owns(leg_id):
            return self._customer_answered_now(dial, leg_id, now)
        external = self._external
        if external is not None and external.dial.owns(leg_id):
            return self._external_answered(external, leg_id, now)
        if leg_id in self._parties:
            return self._party_answered(self._parties[leg_id], now)
        leg = self._ringing.pop(leg_id, None)
        if leg is None or self.state != "ringing_agent":
            raise CallControlError(f"call {self.call_id}: unexpected answer on leg {leg_id}")
        self._talking = leg
        self._agent_deadline = self._connect_deadline = None
        outputs: list[Output] = []
        for other in list(self._ringing.values()):
            outputs += self._cancel(other, "answered_elsewhere", now)
        if dial is not None and dial.state == "idle":
            # A click-to-call's agent answered: now the customer is dialled, and the agent
            # hears ringback meanwhile.
            self.state = "dialling"
            outputs.append(PlayRingback(leg_id))
            return outputs + self._after_customer_dial(dial.start(now), now)
        self.state = "connected"
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
        if leg_id == self.customer_leg and (self._customer_answered or self._customer_dial is None):
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

    def hang_up(self, cause: str, now: float) -> list[Output]:
        """End the call from our side (a supervisor, the API, the node shutting down)."""
        if self.state == "ended":
            return []
        return self._end("system", cause, now)

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
        if is_mix(before):
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

    # ---- trunk legs: the dialled customer, an outside party ------------------------------------

    def trunk_progress(self, leg_id: str, now: float) -> list[Output]:
        """The carrier rings the dialled number (180/183): its ring time starts."""
        for dial in self._dials():
            if dial.owns(leg_id):
                dial.progress(leg_id, now)
                if dial is self._customer_dial and dial.state == "ringing":
                    self.state = "ringing_customer"
        return []

    def trunk_failed(
        self, leg_id: str, status: int | None, reason: str, now: float
    ) -> list[Output]:
        """A dialled leg ended unanswered on the current trunk: next trunk, or give up."""
        customer, external, party = self._customer_dial, self._external, self._party_dial
        if customer is not None and customer.owns(leg_id):
            return self._after_customer_dial(customer.failed(leg_id, status, reason, now), now)
        if external is not None and self.state == "transferring" and external.dial.owns(leg_id):
            return self._after_external_dial(external.dial.failed(leg_id, status, reason, now), now)
        if party is not None and party.owns(leg_id):
            return [*party.failed(leg_id, status, reason, now), *self._after_party_dial(now)]
        return []

    def next_timer(self) -> float | None:
        if (
            self._agent_deadline is None
            and self._connect_deadline is None
            and self._customer_dial is None
            and self._party_dial is None
            and self._external is None
        ):
            return None  # most calls, most of the time: asked on every input, so cheap
        deadlines = [dial.deadline for dial in self._dials() if dial.deadline is not None]
        if self._agent_deadline is not None:
            deadlines.append(self._agent_deadline)
        if self._connect_deadline is not None:
            deadlines.append(self._connect_deadline)
        return min(deadlines) if deadlines else None

    def handle_timer(self, now: float) -> list[Output]:
        outputs: list[Output] = []
        if self._connect_deadline is not None and now >= self._connect_deadline:
            self._connect_deadline = None
            if self.state in ("queued", "ringing_agent"):
                return self._abandon_by_dialler(now)
        if self._agent_deadline is not None and now >= self._agent_deadline:
            self._agent_deadline = None
            leg = next(iter(self._ringing.values()), None)
            if leg is not None and self.state == "ringing_agent":
                outputs += self._cancel(leg, "no_answer", now)
                return outputs + self._end("system", f"user {leg.agent}: no_answer", now)
        customer, external, party = self._customer_dial, self._external, self._party_dial
        if customer is not None and self.state in ("dialling", "ringing_customer"):
            outputs += self._after_customer_dial(customer.handle_timer(now), now)
        if external is not None and self.state == "transferring":
            outputs += self._after_external_dial(external.dial.handle_timer(now), now)
        if party is not None and self.state == "connected":
            outputs += [*party.handle_timer(now), *self._after_party_dial(now)]
        return outputs

    def _abandon_by_dialler(self, now: float) -> list[Output]:
        """No agent took the answered campaign call in time: out of the queue (a ringing
        agent's phone stops, and the ACD does not count it as their missed call), then the
        abandon message, or the end of the call."""
        queue = self._queue or ""
        reason = "abandoned: no agent in time"
        exited = CallQueueExited(at=now, call_id=self.call_id, queue=queue, kind="no_agent_in_time")
        flow = self._campaign.abandon_flow
        if flow is None:
            return [exited, *self._end("system", reason, now)]
        outputs: list[Output] = [exited, *(CancelLeg(leg_id) for leg_id in self._ringing)]
        self._ringing.clear()
        self._in_acd = False
        outputs.append(ContactLeft(self.call_id, None))
        self.state, self._ivr_running = "ivr", True
        variables = {"exit_queue": queue, "abandoned": "1"}
        return [
            *outputs,
            StopMedia(self.customer_leg),
            StartIvr(self.call_id, flow, self._department, variables),
        ]

    def _dials(self) -> list[TrunkDial]:
        dials = [self._customer_dial, self._party_dial]
        if self._external is not None and self.state == "transferring":
            dials.append(self._external.dial)
        return [
            dial
            for dial in dials
            if dial is not None and dial.state in ("dialling", "ringing", "idle")
        ]

    def _after_customer_dial(self, outputs: list[DialOutput], now: float) -> list[Output]:
        """What the customer's dial returned; the call ends when no trunk carries it."""
        dial = self._customer_dial
        assert dial is not None
        if dial.state == "failed" and dial.failure is not None:
            status, cause = dial.failure
            return [*outputs, *self._end("system", cause, now, sip_status=status)]
        if dial.state == "dialling":
            self.state = "dialling"
        return list(outputs)

    def _customer_answered_now(self, dial: TrunkDial, leg_id: str, now: float) -> list[Output]:
        outputs: list[Output] = [*dial.answered(leg_id, now)]
        self._customer_leg, self._customer_answered = leg_id, True
        outputs.append(CallAnswered(at=now, call_id=self.call_id))
        talking = self._talking
        if talking is None:  # a campaign call: now to its queue or flow
            if self._campaign.detect_machine:
                self.state = "detecting"
                wait = self._campaign.leave_message
                return [*outputs, DetectMachine(self.call_id, leg_id, wait_for_beep=wait)]
            assert self._destination is not None
            return outputs + self._go_to(self._destination, now)
        self.state = "connected"
        outputs += [
            StopMedia(talking.leg_id),  # the ringback
            Bridge(leg_id, talking.leg_id),
            CallConnected(at=now, call_id=self.call_id, leg_id=talking.leg_id, agent=talking.agent),
        ]
        if self._recording_mode() == "always":
            outputs += self.start_recording(now)
        return outputs
