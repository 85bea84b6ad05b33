"""One node's contact centre: call control and the ACD wired together, sans-IO.

The adapters call in with ``now``: the SIP side reports legs, the IVR runner reports what
flows decided, and the agent API reports logins and breaks. Out come commands for those
adapters and events for the bus. The traffic between calls and the ACD never leaves this
object: a call's ``EnqueueContact`` becomes ``Acd.contact_arrived``, the ACD's
``ContactOffered`` becomes ``Call.offer``, and so on, until both sides are quiet.
So the whole path, caller to queue to agent to wrap-up, runs in one test with an
explicit clock.

Mapping notes:
- Every call is one ``Call`` (``calls/call.py``) in one table, whatever created it: an
  inbound INVITE, a click-to-call (``originate``), a campaign call (``dial_campaign``); so
  every input below reaches every kind the same way. A click-to-call's agent who is
  available when it starts is put on a break with the reason "outbound call" (so the ACD
  offers them nothing meanwhile) and made ready again once the call no longer rings or
  talks on their phone (it ended, or they transferred it), unless their state was changed
  in between.
- Consultation and conference targets that read as an outside number (an E.164 number
  after normalizing; extensions and short codes are users) are dialled through the
  transfer trunk group, under the same rules as a blind transfer to a number.
- Direct calls: a user whose phone a call rings or talks on outside the ACD (consultation,
  conference, supervisor, a transfer or IVR step to the user, a click-to-call's agent) is
  reported to the ACD as busy (``Acd.agent_direct_call``) while at least one call holds
  such a leg, so the ACD offers them no queue call meanwhile (docs/acd.md, "Direct calls").
- A transfer to an outside number (API or REFER) is dialled through the trunk group of
  ``ExternalTransferRules.trunk_group`` (default: the first group, which click-to-call
  uses by default), after the rules allowed the number; the call presents the DID the
  customer dialled if the group owns it, else the group's default or nothing.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Literal

from hotline.acd import (
    Acd,
    AcdError,
    AgentProfile,
    AgentState,
    QueueConfig,
)
from hotline.calls import commands as control
from hotline.calls.call import Call, CampaignCallOptions
from hotline.calls.commands import (
    DialTrunk,
    TransferDestination,
)
from hotline.calls.events import SupervisorMode
from hotline.calls.numbers import NumberError, NumberingPlan, normalize
from hotline.calls.recording import RecordingMode
from hotline.calls.routing import Destination, InboundRouter
from hotline.calls.transfer_rules import ExternalTransferRules
from hotline.calls.trunk_dial import OriginateError, TrunkDial, usable_trunks_or_raise
from hotline.calls.trunks import TrunkGroup
from hotline.events import Event
from hotline.services.acd_link import (
    AcdCommand,
    AnnouncePosition,
    call_effects,
    report_to_acd,
)
from hotline.services.direct_calls import DirectCallCount
from hotline.services.outside_dialling import OutsideDialling

log = logging.getLogger(__name__)


AdapterCommand = (
    control.AnswerLeg
    | control.RejectLeg
    | control.RingAgent
    | control.CancelLeg
    | control.HangUpLeg
    | control.StartIvr
    | control.StopIvr
    | control.PlayMusicOnHold
    | control.PlayRingback
    | control.DetectMachine
    | control.StopMedia
    | control.Bridge
    | control.Unbridge
    | control.StartRecording
    | control.StopRecording
    | control.PauseRecording
    | control.ResumeRecording
    | control.SetMix
    | AnnouncePosition
    | DialTrunk
)
Output = AdapterCommand | Event

#: The break reason of an agent busy on a click-to-call.
OUTBOUND_BREAK = "outbound call"


class ContactCenter:
    def __init__(
        self,
        acd: Acd,
        router: InboundRouter,
        *,
        recording: Mapping[str, RecordingMode] | None = None,
        default_recording: RecordingMode = "always",
        exit_flows: Mapping[str, str] | None = None,
        survey_flows: Mapping[str, str] | None = None,
    ) -> None:
        self.acd = acd
        self._router = router
        self._recording = dict(recording or {})
        self._default_recording: RecordingMode = default_recording
        self._exit_flows = dict(exit_flows or {})
        #: queue -> the flow that surveys its callers after the agent hangs up.
        self._survey_flows = dict(survey_flows or {})
        #: Every call in progress, by call id, whatever its kind.
        self.calls: dict[str, Call] = {}
        self._touched: set[str] = set()  # calls an input reached; checked for their end
        self.dialling = OutsideDialling()
        #: Click-to-calls whose agent we put on break: call id -> agent.
        self._outbound_breaks: dict[str, str] = {}
        self._direct = DirectCallCount()
        #: Calls that own a timer now (a dial's setup or ring time, a click-to-call agent's
        #: ring time): the node re-arms its timer after every input, so only these are asked.
        self._timed: set[str] = set()

    def configure_trunks(
        self,
        groups: Mapping[str, TrunkGroup],
        plan: NumberingPlan,
        transfer_rules: ExternalTransferRules | None = None,
    ) -> None:
        """The trunk groups outbound calls go through (their states are shared with the
        node's trunk service, which probes them), how numbers are read, and which outside
        numbers transfers may reach (None: the rules stay as they are; the live directory
        changes trunks and groups, the rules come from the settings)."""
        self.dialling.configure(groups, plan, transfer_rules)

    @property
    def trunk_groups(self) -> Mapping[str, TrunkGroup]:
        return self.dialling.groups

    def is_live(self, call_id: str) -> bool:
        """Whether a call (of any kind) is still in progress."""
        return call_id in self.calls

    def live_call_ids(self) -> list[str]:
        return list(self.calls)

    # ---- outbound calls ----------------------------------------------------------------------

    def originate(
        self,
        now: float,
        *,
        call_id: str,
        agent: str,
        number: str,
        group: str | None = None,
        caller_id: str | None = None,
    ) -> list[Output]:
        """Click-to-call: ring ``agent``'s phone, then dial ``number`` through ``group``
        (default: the first configured group). Raises :class:`OriginateError` at once
        when the call cannot be placed (no such agent or group, a bad number, the agent
        busy on a call, no usable trunk), before any phone rings."""
        if call_id in self.calls:
            raise ValueError(f"call {call_id} already exists")
        if agent not in self.acd.agent_ids():
            raise OriginateError("not_found", f"no agent {agent}")
        trunk_group = self.dialling.group(group)
        state = self.acd.agent_state(agent)
        if state in (AgentState.RESERVED, AgentState.ON_CALL) or any(
            call.originator == agent for call in self.calls.values()
        ):
            raise OriginateError("conflict", f"agent {agent} is on a call")
        call = Call.click_to_call(
            call_id=call_id,
            agent=agent,
            dial=self.dialling.customer_dial(call_id, number, trunk_group, caller_id),
            department=self.acd.agent_profile(agent).department,
            recording=self._recording,
            default_recording=self._default_recording,
            survey_flows=self._survey_flows,
        )
        usable_trunks_or_raise(trunk_group)
        outputs: list[object] = []
        if state is AgentState.AVAILABLE:
            try:
                outputs += self.acd.agent_break(now, agent, OUTBOUND_BREAK)
                self._outbound_breaks[call_id] = agent
            except AcdError as error:  # break reasons configured without it
                log.warning("agent %s stays available during a call: %s", agent, error)
        self.calls[call_id] = call
        self._touched.add(call_id)
        outputs += call.start(now)
        return self._settle(outputs, now)

    def dial_campaign(
        self,
        now: float,
        *,
        call_id: str,
        number: str,
        destination: Destination,
        group: str | None = None,
        caller_id: str | None = None,
        department: str | None = None,
        options: CampaignCallOptions | None = None,
    ) -> list[Output]:
        """A campaign call: dial ``number`` through ``group`` first; once the customer
        answers, queue it (``destination`` a queue) or run an IVR flow for it (the robot);
        ``options``: see :class:`CampaignCallOptions`. Raises
        :class:`OriginateError` when it cannot be placed."""
        if call_id in self.calls:
            raise ValueError(f"call {call_id} already exists")
        trunk_group = self.dialling.group(group)
        options = options or CampaignCallOptions()
        ring_timeout = options.ring_timeout
        call = Call.campaign(
            call_id=call_id,
            dial=self.dialling.customer_dial(call_id, number, trunk_group, caller_id, ring_timeout),
            destination=destination,
            department=department,
            recording=self._recording,
            default_recording=self._default_recording,
            survey_flows=self._survey_flows,
            options=options,
        )
        usable_trunks_or_raise(trunk_group)
        self.calls[call_id] = call
        self._touched.add(call_id)
        return self._settle(call.start(now), now)

    def machine_detected(
        self,
        now: float,
        call_id: str,
        verdict: Literal["human", "machine", "notsure"],
        reason: str,
    ) -> list[Output]:
        return self._on(call_id, now, lambda call: call.machine_detected(verdict, reason, now))

    def trunk_progress(self, now: float, call_id: str, leg_id: str) -> list[Output]:
        return self._on(call_id, now, lambda call: call.trunk_progress(leg_id, now))

    def trunk_failed(
        self, now: float, call_id: str, leg_id: str, status: int | None, reason: str
    ) -> list[Output]:
        return self._on(call_id, now, lambda call: call.trunk_failed(leg_id, status, reason, now))

    # ---- transfers to outside numbers --------------------------------------------------------

    def outside_number(self, raw: str) -> str:
        """``raw`` normalized, if transfers may reach it and a trunk could carry it now."""
        return self.dialling.outside_number(raw)

    def _external_dial(self, call: Call, raw: str) -> TrunkDial:
        return self.dialling.outside_party_dial(call.call_id, call.callee, raw)

    def transfer_to_number(self, now: float, call_id: str, number: str) -> list[Output]:
        """Blind transfer of a call to an outside number through a trunk; raises
        :class:`OriginateError` before anything changes when it cannot be placed."""
        call = self.calls.get(call_id)
        if call is None:
            return []
        dial = self._external_dial(call, number)  # checked before anything changes
        return self._on(call_id, now, lambda call: call.transfer_to_number(dial, now))

    def _party_dial(self, call: Call, target: str) -> TrunkDial | None:
        """The dial of an outside number a consultation or conference rings (None: the
        target is a user). A target is an outside number when it normalizes to an E.164
        number; extensions, queue numbers and short codes are users."""
        if target in self.acd.agent_ids() or not self.dialling.is_outside_number(target):
            return None
        return self._external_dial(call, target)

    def _free_originators(self, now: float) -> list[Event]:
        """A click-to-call's agent is done with it (the call ended, or no longer rings or
        talks on their phone: transferred): ready again if we put them on break.

        Called once the call's outputs are settled (so that a queue the agent transferred
        to does not hand the caller straight back to them); an ACD refusal here must not
        raise, or the outputs already decided for the call would be lost."""
        events: list[Event] = []
        for call_id, agent in list(self._outbound_breaks.items()):
            call = self.calls.get(call_id)
            if call is not None and call.state != "ended" and agent in call.direct_agents:
                continue
            del self._outbound_breaks[call_id]
            try:
                still_ours = self.acd.agent_state(agent) is AgentState.BREAK and (
                    self.acd.agent_reason(agent) == OUTBOUND_BREAK
                )
                if still_ours:
                    events += self.acd.agent_ready(now, agent)
            except AcdError as error:  # e.g. an agent the directory no longer has
                log.warning("agent %s not made ready after a click-to-call: %s", agent, error)
        return events

    # ---- from the SIP adapter --------------------------------------------------------------

    def inbound_call(
        self,
        now: float,
        *,
        call_id: str,
        leg_id: str,
        caller: str,
        callee: str,
        trunk: str | None,
    ) -> list[Output]:
        if call_id in self.calls:
            raise ValueError(f"call {call_id} already exists")
        call = Call.inbound(
            call_id=call_id,
            leg_id=leg_id,
            caller=caller,
            callee=callee,
            trunk=trunk,
            recording=self._recording,
            default_recording=self._default_recording,
            survey_flows=self._survey_flows,
        )
        self.calls[call_id] = call
        self._touched.add(call_id)
        return self._settle(call.route(self._router.route(callee, trunk, now), now), now)

    def leg_answered(self, now: float, call_id: str, leg_id: str) -> list[Output]:
        return self._on(call_id, now, lambda call: call.leg_answered(leg_id, now))

    def leg_failed(
        self,
        now: float,
        call_id: str,
        leg_id: str,
        reason: Literal["no_answer", "rejected", "unreachable"],
    ) -> list[Output]:
        return self._on(call_id, now, lambda call: call.leg_failed(leg_id, reason, now))

    def leg_hung_up(self, now: float, call_id: str, leg_id: str) -> list[Output]:
        return self._on(call_id, now, lambda call: call.leg_hung_up(leg_id, now))

    def hangup(
        self, now: float, call_id: str, cause: str = "hung up by supervisor"
    ) -> list[Output]:
        return self._on(call_id, now, lambda call: call.hang_up(cause, now))

    def hold(self, now: float, call_id: str) -> list[Output]:
        return self._on(call_id, now, lambda call: call.hold(now))

    def resume(self, now: float, call_id: str) -> list[Output]:
        return self._on(call_id, now, lambda call: call.resume(now))

    def transfer_to_queue(self, now: float, call_id: str, queue: str) -> list[Output]:
        return self._on(call_id, now, lambda call: call.transfer_to_queue(queue, now))

    def transfer_to_user(self, now: float, call_id: str, target: str) -> list[Output]:
        return self._on(call_id, now, lambda call: call.transfer_to_user(target, now))

    def consult(self, now: float, call_id: str, target: str) -> list[Output]:
        """Attended transfer, step one, to a user or an outside number (dialled)."""
        return self._on(
            call_id, now, lambda call: call.consult(target, now, self._party_dial(call, target))
        )

    def complete_transfer(self, now: float, call_id: str) -> list[Output]:
        return self._on(call_id, now, lambda call: call.complete_transfer(now))

    def cancel_consult(self, now: float, call_id: str) -> list[Output]:
        return self._on(call_id, now, lambda call: call.cancel_consult(now))

    def add_party(self, now: float, call_id: str, target: str) -> list[Output]:
        """Conference a user or an outside number (dialled) into the call."""
        return self._on(
            call_id, now, lambda call: call.add_party(target, now, self._party_dial(call, target))
        )

    def drop_party(self, now: float, call_id: str) -> list[Output]:
        return self._on(call_id, now, lambda call: call.drop_party(now))

    def supervise(
        self, now: float, call_id: str, supervisor: str, mode: SupervisorMode
    ) -> list[Output]:
        return self._on(call_id, now, lambda call: call.supervise(supervisor, mode, now))

    def set_supervision(self, now: float, call_id: str, mode: SupervisorMode) -> list[Output]:
        return self._on(call_id, now, lambda call: call.set_supervision(mode, now))

    def end_supervision(self, now: float, call_id: str) -> list[Output]:
        return self._on(call_id, now, lambda call: call.end_supervision(now))

    def start_recording(self, now: float, call_id: str) -> list[Output]:
        return self._on(call_id, now, lambda call: call.start_recording(now))

    def stop_recording(self, now: float, call_id: str) -> list[Output]:
        return self._on(call_id, now, lambda call: call.stop_recording(now))

    def pause_recording(self, now: float, call_id: str) -> list[Output]:
        return self._on(call_id, now, lambda call: call.pause_recording(now))

    def resume_recording(self, now: float, call_id: str) -> list[Output]:
        return self._on(call_id, now, lambda call: call.resume_recording(now))

    def phone_hold(self, now: float, call_id: str, leg_id: str, held: bool) -> list[Output]:
        """A phone's re-INVITE changed its direction (its own hold or resume key)."""
        return self._on(call_id, now, lambda call: call.phone_hold(leg_id, held, now))

    def refer(
        self, now: float, call_id: str, leg_id: str, destination: TransferDestination
    ) -> list[Output]:
        """A phone's REFER, once :meth:`transfer_destination` has found where it points."""

        def refer(call: Call) -> list[control.Output]:
            dial = None
            if destination.kind == "number":
                dial = self._external_dial(call, destination.target)
            return call.refer(leg_id, destination, now, dial)

        return self._on(call_id, now, refer)

    def talking_leg(self, call_id: str) -> str | None:
        """The leg of the agent talking on a call now: the one leg whose phone may transfer
        the call."""
        call = self.calls.get(call_id)
        return call.talking_leg if call is not None else None

    def transfer_destination(self, number: str, now: float) -> TransferDestination | None:
        """What a transfer target dialled on a phone means: a queue by name, an agent by
        extension, a number whose (trunk-independent, exact or prefix, never catch-all)
        inbound route ends in a queue or a user, or else an outside number (normalized).
        None when it is none of these (a transfer into an IVR flow is not offered either);
        :class:`OriginateError` for an outside number that transfers may not reach, or that
        no trunk could carry now."""
        if number in self.acd.queue_names():
            return TransferDestination("queue", number)
        if number in self.acd.agent_ids():
            return TransferDestination("user", number)
        # Only routes that name the number: a catch-all "*" would claim every outside one.
        decision = self._router.route(number, None, now, catch_all=False)
        if decision is not None:
            destination = decision.destination
            if destination.type == "queue" and destination.target in self.acd.queue_names():
                return TransferDestination("queue", destination.target)
            if destination.type == "user":
                return TransferDestination("user", destination.target)
            return None
        try:
            normalize(number, self.dialling.plan)
        except NumberError:
            return None  # not a telephone number: an unknown user
        return TransferDestination("number", self.outside_number(number))

    # ---- from the IVR runner ---------------------------------------------------------------

    def ivr_started(self, now: float, call_id: str, flow: str, version: int) -> list[Output]:
        return self._on(call_id, now, lambda call: call.ivr_started(flow, version, now))

    def ivr_enqueue(
        self,
        now: float,
        call_id: str,
        queue: str,
        priority: int = 0,
        skills: Mapping[str, int] | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> list[Output]:
        return self._on(
            call_id,
            now,
            lambda call: call.enqueue(queue, priority, skills or {}, attributes or {}, now),
        )

    def ivr_transfer(self, now: float, call_id: str, target: str) -> list[Output]:
        return self._on(call_id, now, lambda call: call.ivr_transfer(target, now))

    def ivr_hung_up(self, now: float, call_id: str) -> list[Output]:
        return self._on(call_id, now, lambda call: call.ivr_hung_up(now))

    # ---- from the agent desktop or API -----------------------------------------------------

    def agent_login(self, now: float, agent_id: str) -> list[Output]:
        return self._settle(self.acd.agent_login(now, agent_id), now)

    def agent_logout(self, now: float, agent_id: str) -> list[Output]:
        return self._settle(self.acd.agent_logout(now, agent_id), now)

    def agent_ready(self, now: float, agent_id: str) -> list[Output]:
        return self._settle(self.acd.agent_ready(now, agent_id), now)

    def agent_break(self, now: float, agent_id: str, reason: str) -> list[Output]:
        return self._settle(self.acd.agent_break(now, agent_id, reason), now)

    # ---- configuration ---------------------------------------------------------------------

    @property
    def router(self) -> InboundRouter:
        return self._router

    def reconfigure(
        self,
        now: float,
        *,
        queues: Iterable[QueueConfig],
        agents: Iterable[AgentProfile],
        router: InboundRouter,
        recording: Mapping[str, RecordingMode],
        survey_flows: Mapping[str, str] | None = None,
    ) -> list[Output]:
        """Apply a whole new directory while calls go on.

        Queues are added or changed in place (waiting callers keep their place); agents are
        added or updated (a logged-in agent stays logged in). The ACD never forgets a queue
        or an agent, so one that left the directory is emptied instead: the agent keeps no
        queue (it is offered nothing more), the queue gets no new calls because no route
        leads to it any longer, and its waiting callers are still served by its members.
        New calls use the new routes and recording rules; calls in progress keep theirs."""
        events: list[object] = []
        known_queues = set(self.acd.queue_names())
        for queue in queues:
            if queue.name not in known_queues or self.acd.queue_config(queue.name) != queue:
                events += self.acd.configure_queue(queue, now)
        wanted = {agent.agent_id: agent for agent in agents}
        known = set(self.acd.agent_ids())
        for agent_id, profile in wanted.items():
            if agent_id in known:
                if self.acd.agent_profile(agent_id) != profile:
                    events += self.acd.update_agent(now, profile)
            else:
                self.acd.add_agent(profile, now)
                if self._direct.count(agent_id):  # a user on a direct call became an agent
                    events += self.acd.agent_direct_call(now, agent_id, True)
        for agent_id in known - set(wanted):
            profile = self.acd.agent_profile(agent_id)
            if profile.queues:
                events += self.acd.update_agent(now, replace(profile, queues={}))
        self._router = router
        self._recording = dict(recording)
        self._survey_flows = dict(survey_flows or {})
        return self._settle(events, now)

    # ---- time ------------------------------------------------------------------------------

    def next_timer(self) -> float | None:
        calls = (self.calls.get(call_id) for call_id in self._timed)
        times = [t for t in (c.next_timer() for c in calls if c is not None) if t is not None]
        acd = self.acd.next_timer()
        if acd is not None:
            times.append(acd)
        return min(times) if times else None

    def handle_timer(self, now: float) -> list[Output]:
        outputs = self._settle(self.acd.handle_timer(now), now)
        for call_id in list(self._timed):
            call = self.calls.get(call_id)
            deadline = call.next_timer() if call is not None else None
            if deadline is not None and deadline <= now:
                outputs += self._on(call_id, now, lambda c: c.handle_timer(now))
        return outputs

    # ---- the loop between calls and the ACD -------------------------------------------------

    def _on(
        self, call_id: str, now: float, action: Callable[[Call], list[control.Output]]
    ) -> list[Output]:
        call = self.calls.get(call_id)
        if call is None:
            log.info("input for a call that is over", extra={"call_id": call_id})
            return []
        self._touched.add(call_id)
        return self._settle(action(call), now)

    def _settle(self, first: Iterable[object], now: float) -> list[Output]:
        """Pass outputs back and forth between calls and the ACD until nothing is left
        for either; return what is meant for the adapters and the bus."""
        pending: deque[object] = deque(first)
        out: list[Output] = []
        while pending:
            while pending:
                item = pending.popleft()
                if isinstance(item, AcdCommand):
                    pending.extend(report_to_acd(self.acd, item, now))
                    continue
                if isinstance(item, Event):
                    pending.extend(self._from_acd(item, now))
                out.append(item)  # type: ignore[arg-type]
            # Once calls and ACD are quiet, tell the ACD whose phones are now busy (or free)
            # on direct calls; a freed agent may be offered a contact, so go round again.
            pending.extend(self._sync_direct_calls(now))
            if not pending:  # a click-to-call's agent done with it: ready again
                pending.extend(self._free_originators(now))
        for call_id in self._touched:
            call = self.calls.get(call_id)
            if call is not None and call.state == "ended":
                del self.calls[call_id]
                call = None
            if call is not None and call.next_timer() is not None:
                self._timed.add(call_id)
            else:
                self._timed.discard(call_id)
        self._touched.clear()
        return out

    def direct_calls(self, user: str) -> int:
        """How many calls ring or talk on ``user``'s phone outside the ACD now."""
        return self._direct.count(user)

    def _sync_direct_calls(self, now: float) -> list[Event]:
        """Bring the direct-call count up to date for the calls an input touched, and
        report each user's first and last direct call to the ACD (``direct_calls.py``)."""
        events: list[Event] = []
        for call_id in list(self._touched):
            call = self.calls.get(call_id)
            users = call.direct_agents if call is not None else frozenset()
            for user, busy in self._direct.update(call_id, users):
                events += self._tell_acd_busy(now, user, busy)
        return events

    def _tell_acd_busy(self, now: float, user: str, busy: bool) -> list[Event]:
        try:
            return self.acd.agent_direct_call(now, user, busy)
        except AcdError:
            return []  # a user who is no agent (a supervisor's phone): nothing to route

    def _from_acd(self, event: Event, now: float) -> Sequence[object]:
        """The call-side effects of an ACD decision (none for plain state changes)."""
        contact_id = getattr(event, "contact_id", None)
        if not isinstance(contact_id, str):
            return []
        self._touched.add(contact_id)
        call = self.calls.get(contact_id)
        return call_effects(call, event, self._exit_flows, now) if call is not None else []
