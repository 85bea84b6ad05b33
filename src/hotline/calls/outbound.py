"""Outbound calls through carrier trunks: click-to-call, sans-IO.

"Call this customer for agent 1002" (a CRM's click-to-call, the API's originate) rings the
agent's phone first; once the agent answers, the customer's number is dialled through a
trunk group and the two legs are bridged when the customer answers. Ringing the agent first
means the customer never answers into silence, and an agent who walked away costs no
carrier minute.

:class:`OutboundCall` is the policy half, like ``CustomerCall`` for inbound calls: the
adapters report what happened on the legs, and it returns commands (ring the agent, dial a
trunk, cancel, bridge, record, hang up) and the call events the CDR is folded from. Its
recording pauses and resumes like an inbound call's (the same ``RecordingSwitch``), so the
agent can leave a card number read out of the file. The
carrier half is :class:`TrunkDial`, which a transfer to an outside number shares. Trunk
choice, capacity and failover are :class:`~hotline.calls.trunks.OutboundAttempt`'s: on a
failover answer (``failover_on``: 408, 5xx, 604, 606 by default) or on a trunk that shows
no sign of life within its ``setup_timeout_s`` (no ringing, no final answer), the next
usable trunk is tried within the same attempt. Each trunk tried leaves a
``TrunkAttemptEnded`` event, so the CDR lists them in order. The call owns its timers (the
agent's ring time, the trunk's setup time, the customer's ring time): ``next_timer`` and
``handle_timer`` with an explicit clock.

Caller-ID rules (:func:`presented_number`), first match wins:

1. the trunk's fixed ``caller_id`` (a carrier that only lets its own number through);
2. the number the call asks to present (the API's ``caller_id``; a transfer passes the DID
   the customer dialled) if it is one of the group's ``caller_ids`` (numbers we own);
3. the group's ``default_caller_id``;
4. none: the call goes out anonymous (``From: anonymous``, ``Privacy: id``, RFC 3323).

A requested number that the group does not allow is refused when the call is placed, not
replaced silently: presenting a number one does not own is illegal in many countries.
A transfer's DID that the group does not list is not refused: the transfer goes out with
the group's default (or anonymous), since the caller, not the agent, chose that number.

Which outside numbers a transfer may reach at all is :class:`ExternalTransferRules`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hotline.calls.control import (
    Bridge,
    CallControlError,
    CancelLeg,
    CustomerCall,
    DialTrunk,
    HangUpLeg,
    PauseRecording,
    PlayMusicOnHold,
    RecordingMode,
    RecordingSwitch,
    ResumeRecording,
    RingAgent,
    StartRecording,
    StopMedia,
    StopRecording,
    Unbridge,
)
from hotline.calls.events import (
    AgentLegFailed,
    AgentLegRinging,
    CallAnswered,
    CallConnected,
    CallEnded,
    CallHeld,
    CallResumed,
    CallStarted,
    RecordingPaused,
    RecordingResumed,
    RecordingStarted,
    RecordingStopped,
    Side,
    TrunkAttemptEnded,
)
from hotline.calls.numbers import (
    NumberError,
    NumberingPlan,
    is_premium,
    normalize,
    region_of,
    to_dial_format,
)
from hotline.calls.trunks import OutboundAttempt, TrunkConfig, TrunkGroup, TrunkGroupConfig

__all__ = [  # DialTrunk is defined with the other commands (calls/control.py), used from here
    "DialTrunk",
    "ExternalTransferRules",
    "OriginateError",
    "OutboundCall",
    "TrunkDial",
    "check_caller_id",
    "presented_number",
    "usable_trunks_or_raise",
]

#: How long the agent's phone may ring before the click-to-call is given up.
AGENT_RING_TIMEOUT = 30.0
#: How long the customer's phone may ring once the carrier reports ringing.
CUSTOMER_RING_TIMEOUT = 60.0


OutboundCommand = (
    RingAgent
    | DialTrunk
    | CancelLeg
    | HangUpLeg
    | Bridge
    | Unbridge
    | PlayMusicOnHold
    | StopMedia
    | StartRecording
    | StopRecording
    | PauseRecording
    | ResumeRecording
)
OutboundOutput = (
    OutboundCommand
    | CallStarted
    | CallAnswered
    | CallConnected
    | CallEnded
    | CallHeld
    | CallResumed
    | AgentLegRinging
    | AgentLegFailed
    | RecordingStarted
    | RecordingStopped
    | RecordingPaused
    | RecordingResumed
    | TrunkAttemptEnded
)

OutboundState = Literal["ringing_agent", "dialling", "ringing_customer", "connected", "ended"]


class OriginateError(Exception):
    """An outbound call (or a transfer to an outside number) that cannot be placed.
    ``kind``: "invalid" (a bad number or caller ID), "unavailable" (no usable trunk),
    "conflict" (the agent cannot take it now), "not_found" (no such agent or trunk group),
    "forbidden" (the number is outside what transfers may reach)."""

    def __init__(
        self,
        kind: Literal["invalid", "unavailable", "conflict", "not_found", "forbidden"],
        message: str,
    ) -> None:
        super().__init__(message)
        self.kind = kind


def presented_number(
    trunk: TrunkConfig, group: TrunkGroupConfig, requested: str | None
) -> str | None:
    """The number an outbound call presents on ``trunk`` (see the module docstring);
    ``requested`` must already be one of the group's ``caller_ids`` or None."""
    if trunk.caller_id:
        return trunk.caller_id
    if requested is not None and requested in group.caller_ids:
        return requested
    return group.default_caller_id


def check_caller_id(
    group: TrunkGroupConfig, requested: str | None, plan: NumberingPlan
) -> str | None:
    """The group's ``caller_ids`` entry that ``requested`` names (in any format that reads
    as the same number), or OriginateError if the group may not present it."""
    if requested is None:
        return None
    wanted = _canonical(requested, plan)
    for allowed in group.caller_ids:
        if allowed == requested or _canonical(allowed, plan) == wanted:
            return allowed
    raise OriginateError(
        "invalid", f"caller_id {requested!r} is not a number of trunk group {group.name}"
    )


def _canonical(number: str, plan: NumberingPlan) -> str:
    try:
        return normalize(number, plan)
    except NumberError:
        return number


def usable_trunks_or_raise(group: TrunkGroup) -> None:
    """Fail fast, before an agent's phone rings, when no trunk could carry the call."""
    if any(trunk.usable for trunk in group.trunks):
        return
    states = ", ".join(f"{t.name} {'down' if not t.up else 'full'}" for t in group.trunks)
    raise OriginateError("unavailable", f"no usable trunk in group {group.config.name}: {states}")


DialState = Literal["idle", "dialling", "ringing", "answered", "failed", "ended"]
DialOutput = DialTrunk | CancelLeg | HangUpLeg | TrunkAttemptEnded


class TrunkDial:
    """One number dialled through a trunk group, trunk after trunk, until it answers.

    The carrier half that a click-to-call's customer leg and a transfer's outside party
    share: channels and failover (:class:`OutboundAttempt`), the number in each trunk's dial
    format, the caller-ID rules, digest credentials, and two timers on an explicit clock
    (``deadline``): a trunk's ``setup_timeout_s`` without ringing or a final answer moves to
    the next trunk; ``ring_timeout`` after ringing gives up. Every trunk tried leaves a
    ``TrunkAttemptEnded``. The owner reads ``state`` after each input: ``failed`` (with
    ``failure``: the SIP status and cause) means no trunk will carry the call any more.
    """

    def __init__(
        self,
        *,
        call_id: str,
        number: str,
        group: TrunkGroup,
        plan: NumberingPlan,
        caller_id: str | None = None,
        ring_timeout: float = CUSTOMER_RING_TIMEOUT,
        callee: str = "customer",
        leg_tag: str = "t",
    ) -> None:
        self.call_id = call_id
        self.number = number  # normalized (calls/numbers.py)
        self.state: DialState = "idle"
        self.leg_id: str | None = None  # the leg being dialled, or answered
        self.deadline: float | None = None
        self.failure: tuple[int, str] | None = None
        self._group = group
        self._plan = plan
        self._caller_id = caller_id  # one of the group's caller_ids, or None
        self._ring_timeout = ring_timeout
        self._callee = callee  # how causes name the dialled party
        self._leg_tag = leg_tag
        self._attempt: OutboundAttempt | None = None
        self._dialled = ""  # the number as the current trunk was sent it
        self._legs = 0

    @property
    def group(self) -> str:
        return self._group.config.name

    @property
    def caller_id(self) -> str | None:
        """The number the call asked to present (one of the group's), or None."""
        return self._caller_id

    @property
    def trunk(self) -> str | None:
        """The trunk whose channel the dial holds now."""
        trunk = self._attempt.in_use if self._attempt is not None else None
        return trunk.name if trunk is not None else None

    def start(self, now: float) -> list[DialOutput]:
        if self.state != "idle":
            raise CallControlError(f"call {self.call_id}: {self.number} is dialled already")
        self._attempt = OutboundAttempt(self._group)
        return self._dial_next(now)

    def owns(self, leg_id: str) -> bool:
        """Whether ``leg_id`` is the leg being dialled (not one given up on)."""
        return leg_id == self.leg_id and self.state in ("dialling", "ringing")

    def progress(self, leg_id: str, now: float) -> None:
        """The carrier reports ringing (180/183): the trunk lives; the ring time starts."""
        if leg_id == self.leg_id and self.state == "dialling":
            self.state = "ringing"
            self.deadline = now + self._ring_timeout

    def failed(self, leg_id: str, status: int | None, reason: str, now: float) -> list[DialOutput]:
        """The current leg ended before an answer: the next trunk, or ``failed``."""
        if not self.owns(leg_id):
            return []  # a leg given up on already (its 487 after our CANCEL)
        return self._give_up(status, reason, now, cancel=False)

    def answered(self, leg_id: str, now: float) -> list[DialOutput]:
        if not self.owns(leg_id):
            raise CallControlError(f"call {self.call_id}: unexpected answer on leg {leg_id}")
        self.state, self.deadline = "answered", None
        return [self._attempt_ended(200, "answered", now)]

    def handle_timer(self, now: float) -> list[DialOutput]:
        if self.deadline is None or now < self.deadline:
            return []
        self.deadline = None
        if self.state == "dialling":
            return self._give_up(None, "no answer from the trunk in time", now, cancel=True)
        if self.state == "ringing":
            outputs = self.stop(now, reason="no answer in time")
            self.state, self.failure = "failed", (480, f"{self._callee} did not answer")
            return outputs
        return []

    def stop(
        self, now: float, *, hang_up: bool = True, reason: str = "call ended while dialling"
    ) -> list[DialOutput]:
        """The call is over (or goes elsewhere): cancel a leg still being dialled, or hang
        up an answered one (``hang_up`` False: it hung up itself); the channel is free."""
        attempt, leg_id, state = self._attempt, self.leg_id, self.state
        self.state, self.deadline = "ended", None
        if attempt is None or attempt.in_use is None or leg_id is None:
            return []
        if state == "answered":
            attempt.ended()
            return [HangUpLeg(leg_id)] if hang_up else []
        ended = self._attempt_ended(None, reason, now)
        attempt.failed(487)
        return [CancelLeg(leg_id), ended]

    def _dial_next(self, now: float) -> list[DialOutput]:
        assert self._attempt is not None
        trunk = self._attempt.next_trunk()
        if trunk is None:
            tried = ", ".join(self._attempt.tried) or "none usable"
            self.state, self.leg_id, self.deadline = "failed", None, None
            self.failure = (503, f"no trunk could carry the call (tried: {tried})")
            return []
        config = trunk.config
        self._legs += 1
        self.leg_id = f"{self.call_id}-{self._leg_tag}{self._legs}"
        self.state = "dialling"
        self.deadline = now + config.setup_timeout_s
        self._dialled = to_dial_format(self.number, config.dial_format, self._plan)
        presented = presented_number(config, self._group.config, self._caller_id)
        from_user = (
            to_dial_format(presented, config.dial_format, self._plan)
            if presented is not None and presented.startswith("+")
            else presented
        )
        credentials = None
        if config.username and config.password is not None:
            credentials = (config.username, config.password.get_secret_value())
        host = config.host if ":" not in config.host else f"[{config.host}]"
        parameters = "" if config.transport == "udp" else f";transport={config.transport}"
        return [
            DialTrunk(
                call_id=self.call_id,
                leg_id=self.leg_id,
                trunk=config.name,
                request_uri=f"sip:{self._dialled}@{host}:{config.port}{parameters}",
                to_uri=f"sip:{self._dialled}@{host}",
                from_user=from_user,
                host=config.host,
                port=config.port,
                transport=config.transport,
                credentials=credentials,
            )
        ]

    def _give_up(
        self, status: int | None, reason: str, now: float, *, cancel: bool
    ) -> list[DialOutput]:
        assert self._attempt is not None
        assert self.leg_id is not None
        outputs: list[DialOutput] = [CancelLeg(self.leg_id)] if cancel else []
        outputs.append(self._attempt_ended(status, reason, now))
        self.leg_id = None
        if self._attempt.failed(status):
            return [*outputs, *self._dial_next(now)]
        self.state, self.deadline = "failed", None
        if status is None:
            self.failure = (408, "no trunk answered in time")
        else:
            self.failure = (status, f"{self._callee} leg failed: {status} {reason}")
        return outputs

    def _attempt_ended(self, status: int | None, reason: str, now: float) -> TrunkAttemptEnded:
        assert self._attempt is not None
        assert self.leg_id is not None
        trunk = self._attempt.in_use
        return TrunkAttemptEnded(
            at=now,
            call_id=self.call_id,
            leg_id=self.leg_id,
            trunk=trunk.name if trunk else "",
            number=self._dialled,
            status=status,
            reason=reason,
        )


class ExternalTransferRules(BaseModel):
    """Which outside numbers a transfer may reach, and through which trunk group.

    Toll fraud is the classic PBX abuse: a transfer key that dials anywhere lets whoever
    reaches an agent (or steals a phone's password) call premium and international numbers
    on the company's bill. So, by default, a transfer reaches numbers of the numbering
    plan's own region only: the region the number is in (libphonenumber's ranges), not its
    country calling code, which several countries share (+1 876 is Jamaica, +44 1534
    Jersey, +7 701 Kazakhstan: classic fraud destinations under a home code). Premium-rate
    and shared-cost numbers are refused even at home unless ``allow_premium``; international
    numbers and service short codes (no E.164 form: 110, 95588, premium SMS) only if a
    prefix allows them. An ``allowed_prefixes`` entry wins over these rules;
    ``blocked_prefixes`` win over everything (e.g. a national premium-rate range).
    Prefixes are written in normalized form: ``+44``, ``+86168``, ``95588``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    trunk_group: str | None = Field(
        default=None,
        description="the group transfers dial through; default the first (click-to-call's)",
    )
    allow_national: bool = True
    allow_international: bool = False
    allow_premium: bool = Field(
        default=False, description="premium-rate and shared-cost numbers (surcharged)"
    )
    allowed_prefixes: tuple[str, ...] = ()
    blocked_prefixes: tuple[str, ...] = ()

    def refusal(self, number: str, plan: NumberingPlan) -> str | None:
        """Why a transfer may not reach the normalized ``number`` (None: it may)."""
        if any(number.startswith(prefix) for prefix in self.blocked_prefixes):
            return f"transfers to {number} are blocked"
        if any(number.startswith(prefix) for prefix in self.allowed_prefixes):
            return None
        if not number.startswith("+"):
            return f"transfers to the short code {number} are not allowed"
        if is_premium(number) and not self.allow_premium:
            return f"transfers to the premium-rate number {number} are not allowed"
        if region_of(number) == plan.region.upper():
            return None if self.allow_national else f"transfers to {number} are not allowed"
        if self.allow_international:
            return None
        return f"international transfers are not allowed ({number})"


class OutboundCall:
    """One click-to-call: the agent's leg, then the customer's through a trunk group."""

    def __init__(
        self,
        *,
        call_id: str,
        agent: str,
        number: str,
        group: TrunkGroup,
        plan: NumberingPlan,
        caller_id: str | None = None,
        department: str | None = None,
        recording: RecordingMode = "always",
        agent_ring_timeout: float = AGENT_RING_TIMEOUT,
        customer_ring_timeout: float = CUSTOMER_RING_TIMEOUT,
    ) -> None:
        try:
            self._number = normalize(number, plan)
        except NumberError as error:
            raise OriginateError("invalid", str(error)) from None
        caller_id = check_caller_id(group.config, caller_id, plan)
        self.call_id = call_id
        self.state: OutboundState = "ringing_agent"
        self.started_at = 0.0
        self._agent = agent
        self._group = group
        self._department = department
        self._recording_mode: RecordingMode = recording
        self._agent_ring_timeout = agent_ring_timeout
        self._agent_leg = f"{call_id}-a1"
        self._dial = TrunkDial(
            call_id=call_id,
            number=self._number,
            group=group,
            plan=plan,
            caller_id=caller_id,
            ring_timeout=customer_ring_timeout,
        )
        self._agent_answered = False
        self._customer_answered = False
        self._held = False
        self._recorder = RecordingSwitch(call_id)  # the same switch as inbound calls'
        self._deadline: float | None = None  # the agent's ring time

    # ---- read-only views (the live API) ------------------------------------------------

    @property
    def caller(self) -> str:
        return self._agent

    @property
    def callee(self) -> str:
        return self._number

    @property
    def department(self) -> str | None:
        return self._department

    @property
    def queue(self) -> str | None:
        return None

    @property
    def agent(self) -> str | None:
        """The agent on the call once their phone answered."""
        return self._agent if self._agent_answered else None

    @property
    def ringing_agents(self) -> list[str]:
        return [self._agent] if self.state == "ringing_agent" else []

    @property
    def held(self) -> bool:
        return self._held

    @property
    def customer_leg(self) -> str | None:
        return self._dial.leg_id

    @property
    def group(self) -> str:
        return self._group.config.name

    @property
    def agent_leg(self) -> str:
        return self._agent_leg

    @property
    def recording_id(self) -> str | None:
        """The recording running now (None: not recorded at the moment)."""
        return self._recorder.recording_id

    @property
    def recording_paused(self) -> bool:
        return self._recorder.paused

    def as_customer_call(
        self,
        recording: Mapping[str, RecordingMode] | None = None,
        survey_flows: Mapping[str, str] | None = None,
    ) -> CustomerCall:
        """This connected call as a :class:`CustomerCall`, for a transfer (to a queue, a
        user or an outside number): the customer's trunk leg and its channel, the agent's
        leg and the running recording carry over. This object is left as it was; the
        caller drops it once the transfer is accepted."""
        customer = self._connected_customer_leg()
        return CustomerCall.from_outbound(
            call_id=self.call_id,
            customer_leg=customer,
            customer_dial=self._dial,
            number=self._number,
            presented=self._dial.caller_id,
            agent=self._agent,
            agent_leg=self._agent_leg,
            department=self._department,
            started_at=self.started_at,
            held=self._held,
            recorder=self._recorder.copy(),
            recording=recording,
            default_recording=self._recording_mode,
            survey_flows=survey_flows,
        )

    # ---- the call starts ------------------------------------------------------------------

    def start(self, now: float) -> list[OutboundOutput]:
        """Ring the agent's phone (the trunk group was checked usable by the caller)."""
        self.started_at = now
        self._deadline = now + self._agent_ring_timeout
        return [
            CallStarted(
                at=now,
                call_id=self.call_id,
                direction="outbound",
                caller=self._agent,
                callee=self._number,
                department=self._department,
            ),
            RingAgent(self.call_id, self._agent_leg, self._agent),
            AgentLegRinging(
                at=now, call_id=self.call_id, leg_id=self._agent_leg, agent=self._agent
            ),
        ]

    # ---- what happens on the legs -------------------------------------------------------------

    def leg_answered(self, leg_id: str, now: float) -> list[OutboundOutput]:
        if leg_id == self._agent_leg and self.state == "ringing_agent":
            self._agent_answered = True
            self.state, self._deadline = "dialling", None
            return self._after_dial(self._dial.start(now), now)
        if self._dial.owns(leg_id) and self.state in ("dialling", "ringing_customer"):
            return self._customer_answered_now(leg_id, now)
        raise CallControlError(f"call {self.call_id}: unexpected answer on leg {leg_id}")

    def leg_failed(
        self, leg_id: str, reason: Literal["no_answer", "rejected", "unreachable"], now: float
    ) -> list[OutboundOutput]:
        """The agent's phone did not take the call."""
        if leg_id != self._agent_leg or self.state != "ringing_agent":
            return []
        failed = AgentLegFailed(
            at=now, call_id=self.call_id, leg_id=leg_id, agent=self._agent, reason=reason
        )
        return [
            failed,
            *self._end("system", f"agent {self._agent}: {reason}", now, agent_leg=False),
        ]

    def trunk_progress(self, leg_id: str, now: float) -> list[OutboundOutput]:
        """The carrier reports ringing (180/183): the trunk lives; the customer's ring
        time starts."""
        if self.state == "dialling":
            self._dial.progress(leg_id, now)
            if self._dial.state == "ringing":
                self.state = "ringing_customer"
        return []

    def trunk_failed(
        self, leg_id: str, status: int | None, reason: str, now: float
    ) -> list[OutboundOutput]:
        """The customer leg on the current trunk ended before an answer (its final status;
        None: no sign of life). Fails over within the attempt, or ends the call."""
        if self.state not in ("dialling", "ringing_customer"):
            return []
        return self._after_dial(self._dial.failed(leg_id, status, reason, now), now)

    def leg_hung_up(self, leg_id: str, now: float) -> list[OutboundOutput]:
        """A BYE from the agent's phone or the customer's side."""
        if self.state == "ended":
            return []
        if leg_id == self._agent_leg:
            return self._end("agent", "agent hung up", now)
        if leg_id == self._dial.leg_id and self._customer_answered:
            return self._end("customer", "customer hung up", now)
        return []

    def hang_up(self, cause: str, now: float) -> list[OutboundOutput]:
        if self.state == "ended":
            return []
        return self._end("system", cause, now)

    # ---- hold and recording ---------------------------------------------------------------

    def hold(self, now: float) -> list[OutboundOutput]:
        customer = self._connected_customer_leg()
        if self._held:
            return []
        self._held = True
        return [
            Unbridge(customer, self._agent_leg),
            PlayMusicOnHold(customer),
            CallHeld(at=now, call_id=self.call_id),
        ]

    def resume(self, now: float) -> list[OutboundOutput]:
        customer = self._connected_customer_leg()
        if not self._held:
            return []
        self._held = False
        return [
            StopMedia(customer),
            Bridge(customer, self._agent_leg),
            CallResumed(at=now, call_id=self.call_id),
        ]

    def start_recording(self, now: float) -> list[OutboundOutput]:
        customer = self._dial.leg_id
        if self.state != "connected" or customer is None:
            return []
        if self._recording_mode == "never":
            return []  # the call was placed unrecorded (API ``recording: never``)
        return list(self._recorder.start(customer, self._agent_leg, now))

    def pause_recording(self, now: float) -> list[OutboundOutput]:
        """Leave what follows out of the recording (the customer reads out a card number);
        CallControlError when the call is not being recorded, as for inbound calls."""
        return list(self._recorder.pause(now))

    def resume_recording(self, now: float) -> list[OutboundOutput]:
        return list(self._recorder.resume(now))

    def stop_recording(self, now: float) -> list[OutboundOutput]:
        return list(self._recorder.stop(now))

    # ---- time -----------------------------------------------------------------------------

    def next_timer(self) -> float | None:
        if self.state in ("dialling", "ringing_customer"):
            return self._dial.deadline
        return self._deadline

    def handle_timer(self, now: float) -> list[OutboundOutput]:
        if self.state in ("dialling", "ringing_customer"):
            return self._after_dial(self._dial.handle_timer(now), now)
        if self._deadline is None or now < self._deadline:
            return []
        self._deadline = None
        if self.state == "ringing_agent":
            failed = AgentLegFailed(
                at=now,
                call_id=self.call_id,
                leg_id=self._agent_leg,
                agent=self._agent,
                reason="no_answer",
            )
            return [
                CancelLeg(self._agent_leg),
                failed,
                *self._end("system", f"agent {self._agent}: no_answer", now, agent_leg=False),
            ]
        return []

    # ---- helpers --------------------------------------------------------------------------

    def _after_dial(self, outputs: list[DialOutput], now: float) -> list[OutboundOutput]:
        """What the customer's dial returned; the call ends when no trunk carries it."""
        if self._dial.state == "failed" and self._dial.failure is not None:
            status, cause = self._dial.failure
            return [*outputs, *self._end("system", cause, now, sip_status=status)]
        if self._dial.state == "dialling":
            self.state = "dialling"
        return list(outputs)

    def _customer_answered_now(self, leg_id: str, now: float) -> list[OutboundOutput]:
        self._customer_answered = True
        self.state = "connected"
        outputs: list[OutboundOutput] = [
            *self._dial.answered(leg_id, now),
            Bridge(leg_id, self._agent_leg),
            CallAnswered(at=now, call_id=self.call_id),
            CallConnected(at=now, call_id=self.call_id, leg_id=self._agent_leg, agent=self._agent),
        ]
        if self._recording_mode == "always":
            outputs += self.start_recording(now)
        return outputs

    def _connected_customer_leg(self) -> str:
        if self.state != "connected" or self._dial.leg_id is None:
            raise CallControlError(f"call {self.call_id} is {self.state}, not connected")
        return self._dial.leg_id

    def _end(
        self,
        side: Side,
        cause: str,
        now: float,
        *,
        sip_status: int | None = None,
        agent_leg: bool = True,
    ) -> list[OutboundOutput]:
        """Tear down: ``side`` ended it (its leg needs nothing more from us)."""
        previous, self.state, self._deadline = self.state, "ended", None
        outputs: list[OutboundOutput] = [*self.stop_recording(now)]
        outputs += self._dial.stop(now, hang_up=side != "customer")
        if agent_leg and side != "agent":
            if previous == "ringing_agent" and not self._agent_answered:
                outputs.append(CancelLeg(self._agent_leg))
            elif self._agent_answered:
                outputs.append(HangUpLeg(self._agent_leg))
        outputs.append(
            CallEnded(at=now, call_id=self.call_id, side=side, cause=cause, sip_status=sip_status)
        )
        return outputs
