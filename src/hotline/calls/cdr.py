"""Call detail records, folded from a call's event history.

A CDR is not maintained beside the call; it is computed from the events the call layer
already emits (``calls/events.py``). So the record and the queue log can never disagree, a
CDR can be rebuilt after a crash from the persisted events, and a transfer cannot orphan a
recording: recordings and agents hang off the ``call_id``, which survives transfers.

Durations follow docs/architecture.md: ``talk_s`` excludes hold (AHT = talk + hold +
wrap-up; wrap-up comes from the ACD and is joined by the store). ``wait_s`` is the time spent
in queues before an agent connected, or before the caller gave up.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    CallPartyJoined,
    CallPartyLeft,
    CallPartyModeChanged,
    CallQueued,
    CallQueueExited,
    CallResumed,
    CallStarted,
    CallTransferred,
    Direction,
    PartyRole,
    RecordingPaused,
    RecordingStarted,
    RecordingStopped,
    Side,
    SurveyAnswered,
    TrunkAttemptEnded,
)

Outcome = Literal["handled", "abandoned", "queue_exit", "ivr_only", "unanswered"]


class CdrError(ValueError):
    """The events do not describe one finished call."""


@dataclass(frozen=True, slots=True)
class AgentSegment:
    """One agent's part in the call: offered (rang) and maybe connected."""

    agent: str
    leg_id: str
    rang_at: float | None
    connected_at: float | None
    ended_at: float | None
    outcome: Literal[
        "talked",
        "no_answer",
        "rejected",
        "unreachable",
        "answered_elsewhere",
        "abandoned",
    ]


@dataclass(frozen=True, slots=True)
class TrunkAttempt:
    """One carrier trunk an outbound call tried, and how that ended (200: answered)."""

    trunk: str
    leg_id: str
    number: str
    status: int | None
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class PartySegment:
    """A leg beyond customer and agent that answered: a consultation, a conference's third
    party, a supervisor (with the modes it used, in order)."""

    role: PartyRole
    party: str
    leg_id: str
    joined_at: float
    left_at: float
    left_because: str
    modes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Cdr:
    call_id: str
    direction: Direction
    caller: str
    callee: str
    trunk: str | None
    route: str | None
    department: str | None
    started_at: float
    answered_at: float | None
    ended_at: float
    ivr_flow: str | None
    ivr_version: int | None
    queues: tuple[str, ...]
    queued_at: float | None
    connected_at: float | None
    agent: str | None
    segments: tuple[AgentSegment, ...]
    outcome: Outcome
    hangup_side: Side
    hangup_cause: str
    sip_status: int | None
    duration_s: float
    ring_s: float
    wait_s: float
    talk_s: float
    hold_s: float
    transfers: int
    recording_ids: tuple[str, ...]
    survey: dict[str, int] = field(default_factory=dict)
    #: Outbound calls: every trunk tried, in order (failover shows as several).
    trunk_attempts: tuple[TrunkAttempt, ...] = ()
    parties: tuple[PartySegment, ...] = ()
    recording_pauses: int = 0


def build_cdr(events: Iterable[CallEvent]) -> Cdr:
    """The record of one finished call from its events, in the order they happened."""
    fold = _Fold()
    for event in events:
        fold.apply(event)
    return fold.result()


class _Fold:
    def __init__(self) -> None:
        self.start: CallStarted | None = None
        self.end: CallEnded | None = None
        self.answered_at: float | None = None
        self.ivr: CallIvrStarted | None = None
        self.queues: list[str] = []
        self.exited_queue = False
        self.queued_at: float | None = None
        self.waiting_since: float | None = None
        self.wait_s = 0.0
        self.connected_at: float | None = None
        self.agent: str | None = None
        self.ringing: dict[str, AgentLegRinging] = {}
        self.talking: CallConnected | None = None
        self.talking_rang_at: float | None = None
        self.segments: list[AgentSegment] = []
        self.connected_s = 0.0
        self.held_since: float | None = None
        self.hold_s = 0.0
        self.transfers = 0
        self.recordings: list[str] = []
        self.survey: dict[str, int] = {}
        self.trunk_attempts: list[TrunkAttempt] = []
        self.customer_attempts: list[TrunkAttempt] = []  # the dialled customer's, if any
        self.joined: dict[str, tuple[CallPartyJoined, list[str]]] = {}
        self.parties: list[PartySegment] = []
        self.pauses = 0

    def apply(self, event: CallEvent) -> None:
        if self.start is None:
            if not isinstance(event, CallStarted):
                raise CdrError(f"call history starts with {event.type_name}, not calls.started")
            self.start = event
            return
        if event.call_id != self.start.call_id:
            raise CdrError(f"event of call {event.call_id} in the history of {self.start.call_id}")
        if self.end is not None:
            raise CdrError(f"{event.type_name} after the call ended")
        now = event.at
        if isinstance(event, CallAnswered):
            self.answered_at = self.answered_at or now
        elif isinstance(event, CallIvrStarted):
            self.ivr = self.ivr or event
        elif isinstance(event, CallQueued):
            self.queues.append(event.queue)
            self.queued_at = self.queued_at or now
            if self.waiting_since is None:
                self.waiting_since = now
        elif isinstance(event, CallQueueExited):
            self.exited_queue = True
            self._stop_waiting(now)
        elif isinstance(event, AgentLegRinging):
            self.ringing[event.leg_id] = event
        elif isinstance(event, AgentLegFailed):
            rang = self.ringing.pop(event.leg_id, None)
            self.segments.append(
                AgentSegment(
                    event.agent, event.leg_id, rang.at if rang else None, None, now, event.reason
                )
            )
        elif isinstance(event, CallConnected):
            self._stop_waiting(now)
            self._close_talk(now)
            rang = self.ringing.pop(event.leg_id, None)
            self.talking, self.talking_rang_at = event, rang.at if rang else None
            self.connected_at = self.connected_at or now
            self.agent = self.agent or event.agent
        elif isinstance(event, CallAgentLeft):
            self._close_talk(now)  # the caller stays for the survey, the talk is over
        elif isinstance(event, CallHeld):
            self.held_since = self.held_since if self.held_since is not None else now
        elif isinstance(event, CallResumed):
            self._stop_hold(now)
        elif isinstance(event, CallTransferred):
            self.transfers += 1
            self._close_talk(now)
        elif isinstance(event, RecordingStarted):
            if event.recording_id not in self.recordings:
                self.recordings.append(event.recording_id)
        elif isinstance(event, RecordingStopped):
            pass  # the recording stays linked; its length is in its own metadata
        elif isinstance(event, SurveyAnswered):
            self.survey[event.question] = event.score
        elif isinstance(event, TrunkAttemptEnded):
            attempt = TrunkAttempt(
                event.trunk, event.leg_id, event.number, event.status, event.reason, now
            )
            self.trunk_attempts.append(attempt)
            if event.role == "customer":
                self.customer_attempts.append(attempt)
        elif isinstance(event, CallPartyJoined):
            self.joined[event.leg_id] = (event, [event.mode] if event.mode else [])
        elif isinstance(event, CallPartyModeChanged):
            if event.leg_id in self.joined:
                self.joined[event.leg_id][1].append(event.mode)
        elif isinstance(event, CallPartyLeft):
            self._party_left(event.leg_id, event.reason, now)
        elif isinstance(event, RecordingPaused):
            self.pauses += 1
        elif isinstance(event, CallEnded):
            for leg_id in list(self.joined):
                self._party_left(leg_id, "call_ended", now)
            self._stop_waiting(now)
            self._close_talk(now)
            for leg_id, rang in self.ringing.items():
                self.segments.append(
                    AgentSegment(rang.agent, leg_id, rang.at, None, now, "abandoned")
                )
            self.ringing.clear()
            self.end = event

    def _party_left(self, leg_id: str, reason: str, now: float) -> None:
        joined = self.joined.pop(leg_id, None)
        if joined is None:
            return  # it never answered: nothing to account for
        event, modes = joined
        self.parties.append(
            PartySegment(event.role, event.party, leg_id, event.at, now, reason, tuple(modes))
        )

    def _stop_waiting(self, now: float) -> None:
        if self.waiting_since is not None:
            self.wait_s += now - self.waiting_since
            self.waiting_since = None

    def _stop_hold(self, now: float) -> None:
        if self.held_since is not None:
            self.hold_s += now - self.held_since
            self.held_since = None

    def _close_talk(self, now: float) -> None:
        self._stop_hold(now)
        if self.talking is None:
            return
        talking = self.talking
        self.connected_s += now - talking.at
        self.segments.append(
            AgentSegment(
                talking.agent, talking.leg_id, self.talking_rang_at, talking.at, now, "talked"
            )
        )
        self.talking = None

    def result(self) -> Cdr:
        start, end = self.start, self.end
        if start is None or end is None:
            raise CdrError("the call has not ended" if start else "no events")
        return Cdr(
            call_id=start.call_id,
            direction=start.direction,
            caller=start.caller,
            callee=start.callee,
            trunk=start.trunk or self._answering_trunk(),
            route=start.route,
            department=start.department,
            started_at=start.at,
            answered_at=self.answered_at,
            ended_at=end.at,
            ivr_flow=self.ivr.flow if self.ivr else None,
            ivr_version=self.ivr.version if self.ivr else None,
            queues=tuple(self.queues),
            queued_at=self.queued_at,
            connected_at=self.connected_at,
            agent=self.agent,
            segments=tuple(self.segments),
            outcome=self._outcome(end),
            hangup_side=end.side,
            hangup_cause=end.cause,
            sip_status=end.sip_status,
            duration_s=end.at - start.at,
            ring_s=(self.answered_at or end.at) - start.at,
            wait_s=self.wait_s,
            talk_s=self.connected_s - self.hold_s,
            hold_s=self.hold_s,
            transfers=self.transfers,
            recording_ids=tuple(self.recordings),
            survey=dict(self.survey),
            trunk_attempts=tuple(self.trunk_attempts),
            parties=tuple(self.parties),
            recording_pauses=self.pauses,
        )

    def _answering_trunk(self) -> str | None:
        """A dialled call's trunk: the one the customer answered on, else the last one
        tried for the customer (an outside party's trunk is listed in the attempts, but is
        not the call's)."""
        for attempt in reversed(self.customer_attempts):
            if attempt.status is not None and 200 <= attempt.status < 300:
                return attempt.trunk
        return self.customer_attempts[-1].trunk if self.customer_attempts else None

    def _outcome(self, end: CallEnded) -> Outcome:
        if self.connected_at is not None:
            return "handled"
        if self.queues:
            abandoned = end.side == "customer" and not self.exited_queue
            return "abandoned" if abandoned else "queue_exit"
        if self.answered_at is not None:
            return "ivr_only"
        return "unanswered"
