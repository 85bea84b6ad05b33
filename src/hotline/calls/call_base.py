"""The state every call has, whatever created it, and the steps all its controls share.

A call is a set of legs: one customer leg (an INVITE we answer, or a number we dial through a
trunk), the agent leg that talks to the customer (ringing agent legs before that: ring-all
offers several), extra parties (consultation, conference, supervisor) and at most one outside
party that took the caller over (a transfer to an outside number). ``CallBase`` holds those
legs and the call's state, and the primitives that the controls (``calls/call_controls.py``)
and the call's inputs (``calls/call.py``) are built from: ringing a leg, cancelling it,
connecting the audio as the state calls for (``calls/topology.py``), recording, and tearing
the whole call down. It is sans-IO: inputs carry ``now``, outputs are commands and events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from hotline.calls.commands import (
    AnswerLeg,
    CallControlError,
    CancelLeg,
    ContactLeft,
    EnqueueContact,
    HangUpLeg,
    Output,
    PlayMusicOnHold,
    RejectLeg,
    RingAgent,
    StopIvr,
)
from hotline.calls.events import (
    AgentLegFailed,
    AgentLegRinging,
    CallAnswered,
    CallEnded,
    CallKind,
    CallPartyLeft,
    CallQueued,
    PartyRole,
    Side,
)
from hotline.calls.recording import RecordingMode, RecordingSwitch
from hotline.calls.topology import Party, Topology, connect, topology_of
from hotline.calls.trunk_dial import TrunkDial

State = Literal[
    "offered",  # an inbound INVITE not routed yet
    "dialling",  # the customer's number is being dialled (click-to-call, campaign)
    "ringing_customer",  # the carrier reports the customer's phone ringing
    "detecting",  # a campaign's customer answered: a person or a machine?
    "ivr",
    "queued",
    "ringing_agent",
    "connected",
    "transferring",  # an outside number is dialled for a blind transfer
    "ended",
]


@dataclass(frozen=True, slots=True)
class AgentLeg:
    """A leg that talks (or rings) as the call's agent: a user, or an outside number that
    took the caller over."""

    leg_id: str
    agent: str


@dataclass(slots=True)
class External:
    """An outside number that has (or is about to get) the caller: its dial through the
    trunks, and where the caller goes back to if nobody answers there."""

    dial: TrunkDial
    from_agent: str
    origin_queue: str | None
    connected: bool = False


class CallBase:
    """The legs and state of one call; see the module docstring."""

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
    ) -> None:
        self.call_id = call_id
        self.kind: CallKind = kind
        self.direction: Literal["inbound", "outbound"] = (
            "inbound" if kind in ("inbound", "practice") else "outbound"
        )
        self.state: State = "offered"
        self.started_at = 0.0
        self._caller, self._callee, self._trunk = caller, callee, trunk
        # The customer's leg: known from the start for an INVITE; for a dialled customer,
        # the leg of the trunk that answered (``_customer_dial`` holds its channel).
        self._customer_leg = customer_leg
        self._customer_dial = customer_dial
        self._recording = recording or {}
        self._default_recording: RecordingMode = default_recording
        self._ringing: dict[str, AgentLeg] = {}
        self._talking: AgentLeg | None = None
        self._customer_answered = False
        self._held = False
        self._ivr_running = False
        self._department = department
        self._queue: str | None = None  # the queue the call is (or was last) in
        # The contact's last priority and skill needs (the IVR's language, a VIP's rank):
        # a failed outside transfer re-queues the caller with them.
        self._priority = 0
        self._skills: dict[str, int] = {}
        self._in_acd = False  # whether the ACD holds the call as a contact now
        self._recorder = RecordingSwitch(call_id)
        self._parties: dict[str, Party] = {}
        # The one party reached through a trunk (an outside consultation or conference).
        self._party_dial: TrunkDial | None = None
        self._legs = 0  # legs rung or dialled by us, numbering their ids
        self._attributes: dict[str, str] = {}  # what the IVR collected (screen pop)
        self._external: External | None = None  # an outside number has the caller
        # The survey after the agent hangs up: per queue, or named by the IVR (the flow's
        # ``survey_flow`` variable, which travels with the contact and wins).
        self._survey_flows = survey_flows or {}
        self._survey_flow_asked: str | None = None
        self._agent_left = False  # the agent hung up first; the caller is in the survey

    # ---- read-only views (live API, wallboard) ---------------------------------------------

    @property
    def customer_leg(self) -> str:
        """The customer's leg; for a customer still being dialled, the leg tried now."""
        if self._customer_leg or self._customer_dial is None:
            return self._customer_leg
        return self._customer_dial.leg_id or ""

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
        """The agent on the call now (None while ringing or waiting, and once an outside
        party has the caller)."""
        return self._talking.agent if self._talking and not self._external else None

    @property
    def ringing_agents(self) -> list[str]:
        return [leg.agent for leg in self._ringing.values()]

    @property
    def direct_agents(self) -> frozenset[str]:
        """Users whose phones this call rings or talks on outside the ACD: every party
        (consultation, conference, supervisor), and the ringing or talking agent leg when
        the ACD does not hold the call (a click-to-call's agent, a transfer or IVR step to
        a user, the party that took over a consultation). The contact centre keeps such
        agents from being offered queue calls meanwhile."""
        if self.state == "ended":
            return frozenset()
        users = {p.party for p in self._parties.values() if p.leg_id not in self._dialled_legs}
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
    def recording_paused(self) -> bool:
        return self._recorder.paused

    @property
    def talking_leg(self) -> str | None:
        """The leg of the agent talking to the caller now (an outside party is no agent:
        its REFER or hold is not ours to follow)."""
        if self.state != "connected":
            return None
        return self._talking.leg_id if self._talking and not self._external else None

    @property
    def _dialled_legs(self) -> frozenset[str]:
        dial = self._party_dial
        return frozenset({dial.leg_id}) if dial is not None and dial.leg_id else frozenset()

    # ---- the steps the controls are built from ----------------------------------------------

    def enqueue(
        self,
        queue: str,
        priority: int,
        skills: Mapping[str, int],
        attributes: Mapping[str, str],
        now: float,
    ) -> list[Output]:
        """The caller waits in ``queue`` (from the IVR, the route, a transfer, a campaign)."""
        self._expect("ivr", "queued", "offered", "dialling", "ringing_customer", "detecting")
        self.state, self._queue, self._ivr_running, self._in_acd = "queued", queue, False, True
        self._priority, self._skills = priority, dict(skills)
        self._survey_flow_asked = attributes.get("survey_flow") or self._survey_flow_asked
        self._attributes.update(attributes)
        return [
            EnqueueContact(self.call_id, queue, priority, dict(skills), dict(attributes)),
            PlayMusicOnHold(self.customer_leg),
            CallQueued(at=now, call_id=self.call_id, queue=queue),
        ]

    def _next_leg_id(self, tag: str) -> str:
        self._legs += 1
        return f"{self.call_id}-{tag}{self._legs}"

    def _ring(self, agent: str, now: float) -> list[Output]:
        leg_id = self._next_leg_id("a")
        self._ringing[leg_id], self.state = AgentLeg(leg_id, agent), "ringing_agent"
        return [
            RingAgent(self.call_id, leg_id, agent),
            AgentLegRinging(at=now, call_id=self.call_id, leg_id=leg_id, agent=agent),
        ]

    def _cancel(
        self,
        leg: AgentLeg,
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

    def _answer_customer(self, now: float) -> list[Output]:
        if self._customer_answered:
            return []
        self._customer_answered = True
        return [AnswerLeg(self.customer_leg), CallAnswered(at=now, call_id=self.call_id)]

    def _talking_leg(self) -> AgentLeg:
        if self.state != "connected" or self._talking is None:
            raise CallControlError(f"call {self.call_id} is {self.state}, not connected")
        if self._external is not None:
            raise CallControlError(
                f"call {self.call_id}: the caller is with the outside number "
                f"{self._external.dial.number}"
            )
        return self._talking

    def _topology(self) -> Topology:
        """The connection the state calls for (see ``calls/topology.py``)."""
        talking = self._talking
        if self.state != "connected" or talking is None:
            return ()
        return topology_of(
            self.customer_leg, talking.leg_id, held=self._held, parties=self._parties.values()
        )

    def _connect(self, before: Topology) -> list[Output]:
        return connect(self.call_id, before, self._topology())

    def _party_of(self, *roles: PartyRole) -> Party | None:
        return next((p for p in self._parties.values() if p.role in roles), None)

    def _answered_party(self, *roles: PartyRole) -> Party | None:
        return next((p for p in self._parties.values() if p.role in roles and p.answered), None)

    def _party_left(self, party: Party, reason: str, now: float) -> CallPartyLeft:
        return CallPartyLeft(
            at=now,
            call_id=self.call_id,
            leg_id=party.leg_id,
            role=party.role,
            party=party.party,
            reason=reason,
        )

    def _end_party_leg(self, party: Party, now: float, *, hang_up: bool = True) -> list[Output]:
        """Let a party's leg go: CANCEL or BYE for a user's phone; for a party dialled
        through a trunk, its dial is stopped (the channel is given back)."""
        dial = self._party_dial
        if dial is not None and party.leg_id in self._dialled_legs:
            self._party_dial = None
            return list(dial.stop(now, hang_up=hang_up))
        if not hang_up:
            return []
        return [HangUpLeg(party.leg_id) if party.answered else CancelLeg(party.leg_id)]

    def _drop_parties(self, reason: str, now: float) -> list[Output]:
        """Let every extra leg go (the call ends, or its agent leaves); no reconnection."""
        outputs: list[Output] = []
        for party in list(self._parties.values()):
            outputs += self._end_party_leg(party, now)
            del self._parties[party.leg_id]
            outputs.append(self._party_left(party, reason, now))
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

    def _recording_mode(self) -> RecordingMode:
        if self._queue is None:
            return self._default_recording
        return self._recording.get(self._queue, self._default_recording)

    # ---- the end ---------------------------------------------------------------------------

    def _refuse(self, status: int, reason: str, now: float) -> list[Output]:
        self.state = "ended"
        return [
            RejectLeg(self.customer_leg, status, reason),
            CallEnded(at=now, call_id=self.call_id, side="system", cause=reason, sip_status=status),
        ]

    def _end(
        self,
        side: Side,
        cause: str,
        now: float,
        *,
        gone: str | None = None,
        sip_status: int | None = None,
    ) -> list[Output]:
        """Tear the call down; ``side`` is who ended it (their leg needs no BYE), ``gone``
        a leg that ended itself (the outside party of a transfer)."""
        self.state = "ended"
        outputs: list[Output] = [*self._drop_parties("call_ended", now), *self.stop_recording(now)]
        dialled = self._customer_dial is not None
        if self._customer_dial is not None:
            # A dialled customer: its channel is given back, a leg still dialled cancelled
            # (the BYE of an answered one, if any, is below).
            outputs += self._customer_dial.stop(now, hang_up=False)
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
        if side != "customer" and (self._customer_answered or not dialled):
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
        outputs.append(
            CallEnded(at=now, call_id=self.call_id, side=side, cause=cause, sip_status=sip_status)
        )
        return outputs

    def _expect(self, *states: State) -> None:
        if self.state not in states:
            raise CallControlError(
                f"call {self.call_id} is {self.state}, not {' or '.join(states)}"
            )
