"""What supervisors and agents do to the live contact centre, and what they see of it.

The API calls these methods; each change asks the sans-IO :class:`ContactCenter` with ``now``
and hands what it returns to ``execute`` (the telephony runtime, which rings, bridges and
publishes). Reading is a snapshot of the ACD and the calls in progress, taken in the event
loop's thread between two inputs, so it is always consistent. Access rules (who may act on
which agent or call) are the API's; this layer answers for a given agent or call id.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from hotline.acd import AcdError
from hotline.calls.commands import CallControlError
from hotline.calls.events import SupervisorMode
from hotline.calls.trunk_dial import OriginateError
from hotline.events import Event
from hotline.services.contact_center import ContactCenter, Output

Execute = Callable[[Sequence[Output]], Awaitable[None]]
#: Places a click-to-call: (agent, number, trunk group, caller id) -> call id.
Originate = Callable[[str, str, str | None, str | None], str]


class OperationError(Exception):
    """The operation cannot be done; ``kind`` says why: "not_found", "conflict",
    "invalid" (a bad number or caller ID), "unavailable" (no usable trunk) or "forbidden"
    (an outside number the transfer rules do not allow)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class QueueView:
    name: str
    department: str
    waiting: int
    longest_wait: float
    offered: int
    answered: int
    abandoned: int
    service_level: float | None
    abandon_rate: float | None
    average_speed_of_answer: float | None
    agents_by_state: dict[str, int]


@dataclass(frozen=True, slots=True)
class AgentView:
    agent_id: str
    department: str
    state: str
    reason: str
    seconds_in_state: float
    call_id: str | None
    phone_registered: bool | None  # None: this node does not know (no registrar)
    #: The phone is busy on a call outside the ACD (consulted, supervising, click-to-call):
    #: the agent keeps ``state`` but is offered nothing; ``seconds_busy`` is how long.
    busy: bool = False
    seconds_busy: float | None = None


@dataclass(frozen=True, slots=True)
class PartyView:
    """A leg beyond customer and agent: consultation, conference party, supervisor."""

    leg_id: str
    role: str
    party: str
    mode: str | None
    answered: bool


@dataclass(frozen=True, slots=True)
class CallView:
    call_id: str
    caller: str
    callee: str
    state: str
    department: str | None
    queue: str | None
    agent: str | None
    ringing: tuple[str, ...]
    held: bool
    started_at: float
    direction: str = "inbound"
    #: What created the call (``CallKind``): inbound, click_to_call, campaign, practice.
    kind: str = "inbound"
    #: What the IVR collected (flow variables handed over with the call).
    attributes: dict[str, str] = field(default_factory=dict)
    parties: tuple[PartyView, ...] = ()
    recording: str | None = None  # "on", "paused", or None (not recorded now)


def _recording_view(recording_id: str | None, paused: bool) -> str | None:
    """A call's recording as the live views show it, alike for inbound and outbound."""
    if recording_id is None:
        return None
    return "paused" if paused else "on"


@dataclass(frozen=True, slots=True)
class TrunkView:
    """One trunk as the live API and /metrics show it."""

    name: str
    host: str
    port: int
    transport: str
    groups: tuple[str, ...]
    probed: bool
    up: bool
    active_calls: int
    max_channels: int | None
    calls_total: int
    last_probe_status: int | None
    last_probe_at: float | None


@dataclass(frozen=True, slots=True)
class EventParties:
    """Whom a live event concerns: the department it belongs to and the agents on it.

    The ACD's and the call layer's events name queues, agents and calls, not database ids;
    the events WebSocket uses this to show a supervisor their departments' events and an
    agent the events of their own state and calls."""

    department: str | None
    agents: frozenset[str]


class LiveOperations:
    def __init__(
        self,
        center: ContactCenter,
        execute: Execute,
        clock: Callable[[], float] = time.time,
        phone_registered: Callable[[str], bool] | None = None,
        originate: Originate | None = None,
        trunks: Callable[[], list[TrunkView]] | None = None,
    ) -> None:
        self.center = center
        self._execute = execute
        self._clock = clock
        self._phone_registered = phone_registered
        self._originate = originate
        self._trunks = trunks

    # ---- agents --------------------------------------------------------------------------

    async def agent_login(self, agent_id: str) -> None:
        await self._agent(agent_id, lambda now: self.center.agent_login(now, agent_id))

    async def agent_logout(self, agent_id: str) -> None:
        await self._agent(agent_id, lambda now: self.center.agent_logout(now, agent_id))

    async def agent_ready(self, agent_id: str) -> None:
        await self._agent(agent_id, lambda now: self.center.agent_ready(now, agent_id))

    async def agent_break(self, agent_id: str, reason: str) -> None:
        await self._agent(agent_id, lambda now: self.center.agent_break(now, agent_id, reason))

    def agent_department(self, agent_id: str) -> str:
        self._known_agent(agent_id)
        return self.center.acd.agent_profile(agent_id).department

    async def _agent(self, agent_id: str, change: Callable[[float], list[Output]]) -> None:
        self._known_agent(agent_id)
        try:
            outputs = change(self._clock())
        except AcdError as error:
            raise OperationError("conflict", str(error)) from None
        await self._execute(outputs)

    def _known_agent(self, agent_id: str) -> None:
        if agent_id not in self.center.acd.agent_ids():
            raise OperationError("not_found", f"no agent {agent_id}")

    # ---- calls ---------------------------------------------------------------------------

    async def hangup(self, call_id: str) -> None:
        await self._call(call_id, lambda now: self.center.hangup(now, call_id))

    async def hold(self, call_id: str) -> None:
        await self._call(call_id, lambda now: self.center.hold(now, call_id))

    async def resume(self, call_id: str) -> None:
        await self._call(call_id, lambda now: self.center.resume(now, call_id))

    async def transfer_to_queue(self, call_id: str, queue: str) -> None:
        if queue not in self.center.acd.queue_names():
            raise OperationError("not_found", f"no queue {queue}")
        await self._call(call_id, lambda now: self.center.transfer_to_queue(now, call_id, queue))

    async def transfer_to_user(self, call_id: str, target: str) -> None:
        """Blind transfer to ``target``, read as a phone's REFER target is
        (``ContactCenter.transfer_destination``): a queue or agent by name, one of our
        numbers routed to a queue or a user (transferred there, not rung as
        ``sip:<number>@``), or an outside number through a carrier trunk (403 "forbidden" if
        the transfer rules do not allow it, 503 if no trunk could carry the call now: the
        caller stays with the agent either way). Anything else is rung as a user directly."""
        if not self.center.is_live(call_id):
            raise OperationError("not_found", f"no call {call_id} in progress")
        try:
            destination = self.center.transfer_destination(target, self._clock())
        except OriginateError as error:
            raise OperationError(error.kind, str(error)) from None
        center = self.center

        def change(now: float) -> list[Output]:
            if destination is None:
                return center.transfer_to_user(now, call_id, target)
            if destination.kind == "number":
                return center.transfer_to_number(now, call_id, destination.target)
            if destination.kind == "queue":
                return center.transfer_to_queue(now, call_id, destination.target)
            return center.transfer_to_user(now, call_id, destination.target)

        await self._call(call_id, change)

    def originate(
        self, agent_id: str, number: str, group: str | None, caller_id: str | None
    ) -> str:
        """Click-to-call: ring the agent's phone, then dial ``number`` through a trunk
        group (``calls/call.py``); returns the new call's id."""
        if self._originate is None:
            raise OperationError("unavailable", "this node places no outbound calls")
        self._known_agent(agent_id)
        if self._phone_registered is not None and not self._phone_registered(agent_id):
            raise OperationError("conflict", f"agent {agent_id} has no registered phone")
        try:
            return self._originate(agent_id, number, group, caller_id)
        except OriginateError as error:
            raise OperationError(error.kind, str(error)) from None

    def trunks(self) -> list[TrunkView]:
        """Every configured trunk with its health and channels in use."""
        return self._trunks() if self._trunks is not None else []

    async def consult(self, call_id: str, target: str) -> None:
        await self._call(call_id, lambda now: self.center.consult(now, call_id, target))

    async def complete_transfer(self, call_id: str) -> None:
        await self._call(call_id, lambda now: self.center.complete_transfer(now, call_id))

    async def cancel_consult(self, call_id: str) -> None:
        await self._call(call_id, lambda now: self.center.cancel_consult(now, call_id))

    async def add_party(self, call_id: str, target: str) -> None:
        await self._call(call_id, lambda now: self.center.add_party(now, call_id, target))

    async def drop_party(self, call_id: str) -> None:
        await self._call(call_id, lambda now: self.center.drop_party(now, call_id))

    async def supervise(self, call_id: str, supervisor: str, mode: SupervisorMode) -> None:
        """Ring ``supervisor``'s phone into the call, or switch its mode when it is on."""
        live = self.center.calls.get(call_id)
        if live is not None and any(role == "supervisor" for _, role, *_ in live.parties):
            await self._call(call_id, lambda now: self.center.set_supervision(now, call_id, mode))
            return
        await self._call(call_id, lambda now: self.center.supervise(now, call_id, supervisor, mode))

    async def end_supervision(self, call_id: str) -> None:
        await self._call(call_id, lambda now: self.center.end_supervision(now, call_id))

    async def recording(
        self, call_id: str, action: Literal["start", "stop", "pause", "resume"]
    ) -> None:
        center = self.center
        change = {
            "start": center.start_recording,
            "stop": center.stop_recording,
            "pause": center.pause_recording,
            "resume": center.resume_recording,
        }[action]
        await self._call(call_id, lambda now: change(now, call_id))

    def call(self, call_id: str) -> CallView:
        if not self.center.is_live(call_id):
            raise OperationError("not_found", f"no call {call_id} in progress")
        return self._call_view(call_id)

    async def _call(self, call_id: str, change: Callable[[float], list[Output]]) -> None:
        if not self.center.is_live(call_id):
            raise OperationError("not_found", f"no call {call_id} in progress")
        try:
            outputs = change(self._clock())
        except (CallControlError, AcdError) as error:
            raise OperationError("conflict", str(error)) from None
        except OriginateError as error:  # a transfer to an outside number
            raise OperationError(error.kind, str(error)) from None
        await self._execute(outputs)

    # ---- who an event concerns -----------------------------------------------------------

    def event_parties(self, event: Event) -> EventParties | None:
        """The department and agents of a live event, from its queue, agent and call fields
        (the call's own department first), or ``None`` when it names nothing known."""
        acd = self.center.acd
        agents: set[str] = set()
        for name in ("agent_id", "agent", "from_agent"):
            value = getattr(event, name, None)
            if isinstance(value, str) and value:
                agents.add(value)
        department = getattr(event, "department", None)
        call_id = getattr(event, "call_id", None) or getattr(event, "contact_id", None)
        call = self.center.calls.get(call_id) if isinstance(call_id, str) else None
        if call is not None:
            department = department or call.department
            if call.agent:
                agents.add(call.agent)
            agents.update(call.ringing_agents)
            # A click-to-call is the agent's own call, in the agent's department: its
            # events reach that agent's desktop and its supervisors as an inbound call's do.
            if call.originator:
                agents.add(call.originator)
        queue = getattr(event, "queue", None)
        if not department and isinstance(queue, str) and queue in acd.queue_names():
            department = acd.queue_config(queue).department
        if not department and agents:
            known = set(acd.agent_ids())
            department = next(
                (acd.agent_profile(a).department for a in sorted(agents) if a in known), None
            )
        if not department and not agents:
            return None
        return EventParties(department or None, frozenset(agents))

    # ---- snapshots -----------------------------------------------------------------------

    def queues(self) -> list[QueueView]:
        acd, now = self.center.acd, self._clock()
        views = []
        for name in acd.queue_names():
            stats = acd.queue_statistics(name, now)
            views.append(
                QueueView(
                    name=name,
                    department=acd.queue_config(name).department,
                    waiting=stats.waiting,
                    longest_wait=stats.longest_wait,
                    offered=stats.offered,
                    answered=stats.answered,
                    abandoned=stats.abandoned,
                    service_level=stats.service_level,
                    abandon_rate=stats.abandon_rate,
                    average_speed_of_answer=stats.average_speed_of_answer,
                    agents_by_state={s.value: n for s, n in stats.agents_by_state.items()},
                )
            )
        return views

    def agents(self) -> list[AgentView]:
        acd, now = self.center.acd, self._clock()
        return [
            AgentView(
                agent_id=agent_id,
                department=acd.agent_profile(agent_id).department,
                state=acd.agent_state(agent_id).value,
                reason=acd.agent_reason(agent_id),
                seconds_in_state=max(0.0, now - acd.agent_since(agent_id)),
                call_id=acd.agent_contact(agent_id) or None,
                phone_registered=(
                    self._phone_registered(agent_id) if self._phone_registered else None
                ),
                busy=acd.agent_busy(agent_id),
                seconds_busy=(
                    max(0.0, now - acd.agent_busy_since(agent_id))
                    if acd.agent_busy(agent_id)
                    else None
                ),
            )
            for agent_id in acd.agent_ids()
        ]

    def calls(self) -> list[CallView]:
        return [self._call_view(call_id) for call_id in self.center.live_call_ids()]

    def _call_view(self, call_id: str) -> CallView:
        call = self.center.calls[call_id]
        return CallView(
            call_id=call_id,
            caller=call.caller,
            callee=call.callee,
            state=call.state,
            department=call.department,
            queue=call.queue,
            agent=call.agent,
            ringing=tuple(call.ringing_agents),
            held=call.held,
            started_at=call.started_at,
            direction=call.direction,
            kind=call.kind,
            attributes=dict(call.attributes),
            parties=tuple(PartyView(*party) for party in call.parties),
            recording=_recording_view(call.recording_id, call.recording_paused),
        )
