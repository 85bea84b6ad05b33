"""``LiveCampaign``: one running campaign's calls and agents, as the live dialler sees them.

The sans-IO core of the dialler service (``services/campaign_dialler.py``), which feeds it
the node's events with their times and asks it, once a second, how many contacts to dial.
It keeps the pacing state (:class:`~hotline.dialer.pacing.CampaignState`) told of every
change, and folds each attempt into its outcome and the contact's next step (retry rules),
so the same decisions are tested here with an explicit clock and made on the wire.

What counts as what (the FTC's terms, as ``docs/dialer.md`` states them):

- an attempt is *answered* when the customer's leg answers; it is *connected* when an agent
  answers it, *abandoned* when it ends or leaves the queue without an agent (the call model
  takes it out of the queue at the 2-s deadline). A customer who hangs up while waiting,
  even within the 2 s, counts as abandoned: the cap is counted conservatively;
- an unanswered attempt is classed by the final SIP status of its dial: busy (486, 600,
  603), no answer (480 ring timeout, 487), an invalid number (404, 410, 484, 604), the
  carrier's congestion (503 from every trunk, 408 when no trunk answered at all: not the
  contact's fault, so not an attempt), or failed;
- a robot campaign (an IVR flow, no agents) has no abandons: an answered call is answered;
- with answering-machine detection, an answered call counts as answered (for the cap and
  for the pacing's answer model) only once it is found to be a person: a machine is an
  unanswered ring to the pacing and the outcome ``machine`` to its contact.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.acd.states import AgentState
from hotline.dialer.pacing import (
    AgentPhase,
    CampaignState,
    PacingConfig,
    PacingPolicy,
    create_policy,
)
from hotline.dialer.retry_rules import NextStep, Outcome, RetryRules, after_attempt

BUSY_STATUSES = frozenset({486, 600, 603})
NO_ANSWER_STATUSES = frozenset({480, 487})
INVALID_NUMBER_STATUSES = frozenset({404, 410, 484, 604})
CONGESTION_STATUSES = frozenset({503, 408})


def unanswered_outcome(sip_status: int | None) -> Outcome:
    """What an attempt that was never answered tells about its contact."""
    if sip_status in BUSY_STATUSES:
        return "busy"
    if sip_status in NO_ANSWER_STATUSES:
        return "no_answer"
    if sip_status in INVALID_NUMBER_STATUSES:
        return "invalid_number"
    if sip_status in CONGESTION_STATUSES:
        return "congestion"
    return "failed"


@dataclass(slots=True)
class Attempt:
    """One dial of one contact, from the dial to the end of the call."""

    call_id: str
    contact_id: int
    number: str
    attempts_before: int
    dialled_at: float
    answered_at: float | None = None
    connected_at: float | None = None
    agent: str | None = None
    abandoned: bool = False
    #: The answering-machine detection's verdict (None: not detected, or not yet).
    amd_verdict: str | None = None


@dataclass(frozen=True, slots=True)
class LiveFigures:
    """What a supervisor watches on a running campaign (the live view, the API)."""

    agents_logged_in: int
    agents_ready: int
    agents_talking: int
    agents_wrapping: int
    ringing: int  # dialled, not answered yet
    waiting: int  # answered, no agent yet (for at most 2 s)
    dialled: int
    answered: int
    connected: int
    abandoned: int
    abandon_rate: float  # abandoned / answered, over the campaign since the node started
    abandon_target: float
    #: Calls in flight per agent the campaign dials for: the pacing's level now.
    calls_per_agent: float
    #: Talk time / logged-in time of the campaign's agents since the node started.
    occupancy: float
    carrier_pressure: int  # carrier refusals still slowing the pace


@dataclass(frozen=True, slots=True)
class FinishedAttempt:
    attempt: Attempt
    outcome: Outcome
    next_step: NextStep
    ended_at: float
    sip_status: int | None
    #: The contact's attempts so far, this one included unless it does not count.
    attempts: int


class LiveCampaign:
    """See the module docstring. ``members``: the agents of the campaign's queue (none for
    a robot campaign, which keeps ``robot_lines`` calls going instead)."""

    def __init__(
        self,
        campaign_id: int,
        *,
        mode: str,
        pacing: PacingConfig,
        retry_rules: RetryRules,
        members: frozenset[str] = frozenset(),
        robot_lines: int = 0,
        detects_machines: bool = False,
    ) -> None:
        self.campaign_id = campaign_id
        self.mode = mode
        self.retry_rules = retry_rules
        self.members = members
        self.robot_lines = robot_lines
        self.detects_machines = detects_machines
        self.state = CampaignState(pacing)
        self.policy: PacingPolicy | None = None if mode == "robot" else create_policy(mode)
        self.attempts: dict[str, Attempt] = {}
        self._logged_in: set[str] = set()
        # For occupancy: each logged-in agent's state and since when, and the totals.
        self._agent_since: dict[str, tuple[AgentState, float]] = {}
        self._logged_seconds = 0.0
        self._talk_seconds = 0.0

    # ---- agents ----------------------------------------------------------------------------

    def agent_changed(self, agent_id: str, state: AgentState, now: float) -> None:
        """An agent of the campaign's queue changed state. A reserved agent (an offer
        ringing on its phone, maybe an inbound call) is counted as busy: the pacing must
        not dial for an agent that is about to take another call."""
        if agent_id not in self.members:
            return
        self._account(agent_id, state, now)
        pacing = self.state
        if state is AgentState.LOGGED_OUT:
            if agent_id in self._logged_in:
                self._logged_in.discard(agent_id)
                pacing.agent_logged_out(agent_id, now)
            return
        self._logged_in.add(agent_id)
        if state is AgentState.AVAILABLE:
            pacing.agent_ready(agent_id, now)
        elif state in (AgentState.ON_CALL, AgentState.RESERVED):
            pacing.agent_talking(agent_id, now)
        elif state is AgentState.WRAP_UP:
            pacing.agent_wrapping(agent_id, now)
        else:
            pacing.agent_paused(agent_id, now)

    def _account(self, agent_id: str, state: AgentState, now: float) -> None:
        previous = self._agent_since.pop(agent_id, None)
        if previous is not None:
            self._add_time(previous[0], now - previous[1])
        if state is not AgentState.LOGGED_OUT:
            self._agent_since[agent_id] = (state, now)

    def _add_time(self, state: AgentState, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self._logged_seconds += seconds
        if state is AgentState.ON_CALL:
            self._talk_seconds += seconds

    def figures(self, now: float) -> LiveFigures:
        state = self.state
        logged, talk = self._logged_seconds, self._talk_seconds
        for agent_state, since in self._agent_since.values():
            logged += max(0.0, now - since)
            if agent_state is AgentState.ON_CALL:
                talk += max(0.0, now - since)
        active = state.active_agents
        return LiveFigures(
            agents_logged_in=state.logged_in,
            agents_ready=state.count(AgentPhase.READY),
            agents_talking=state.count(AgentPhase.TALKING),
            agents_wrapping=state.count(AgentPhase.WRAP_UP),
            ringing=state.ringing,
            waiting=state.waiting,
            dialled=state.dialled,
            answered=state.answered,
            connected=state.connected,
            abandoned=state.abandoned,
            abandon_rate=state.abandon_rate,
            abandon_target=state.config.abandon_target,
            calls_per_agent=(state.ringing + state.waiting) / active if active else 0.0,
            occupancy=talk / logged if logged > 0 else 0.0,
            carrier_pressure=state.carrier_pressure(now),
        )

    # ---- pacing ----------------------------------------------------------------------------

    def calls_to_place(self, now: float) -> int:
        """Contacts to dial now (preview: none, the agent dials)."""
        if self.policy is None:  # robot: keep its lines busy
            return max(0, self.robot_lines - len(self.attempts))
        if not self.policy.automatic:
            return 0
        return self.policy.calls_to_place(self.state, now)

    # ---- one attempt -------------------------------------------------------------------------

    def dialled(
        self, call_id: str, contact_id: int, number: str, attempts_before: int, now: float
    ) -> Attempt:
        attempt = Attempt(call_id, contact_id, number, attempts_before, now)
        self.attempts[call_id] = attempt
        self.state.call_dialled(call_id, now)
        return attempt

    def not_placed(self, now: float) -> None:
        """A dial refused before anything rang (no usable trunk): slows the pace like a
        carrier's 503."""
        self.state.carrier_rejected(None, now)

    def trunk_refused(self, call_id: str, status: int | None, now: float) -> None:
        """One trunk of the dial answered 503 (the next may still carry the call)."""
        if call_id in self.attempts and status == 503:
            self.state.carrier_rejected(None, now)

    def answered(self, call_id: str, now: float) -> None:
        attempt = self.attempts.get(call_id)
        if attempt is None or attempt.answered_at is not None:
            return
        attempt.answered_at = now
        if not self.detects_machines:
            self._answered_by_person(call_id, now)

    def machine_detected(self, call_id: str, verdict: str, now: float) -> None:
        """The detection's verdict on an answered call (unsure counts as a person)."""
        attempt = self.attempts.get(call_id)
        if attempt is None or attempt.answered_at is None or attempt.amd_verdict is not None:
            return
        attempt.amd_verdict = verdict
        if not self.detects_machines:
            return
        if verdict == "machine":
            self.state.call_not_answered(call_id, now)
        else:
            self._answered_by_person(call_id, now)

    def _answered_by_person(self, call_id: str, now: float) -> None:
        self.state.call_answered(call_id, now)
        if self.policy is None:  # robot: nobody waits for an agent
            self.state.call_connected(call_id, now)

    def connected(self, call_id: str, agent: str, now: float) -> None:
        attempt = self.attempts.get(call_id)
        if attempt is None or attempt.answered_at is None or attempt.connected_at is not None:
            return
        if self.policy is None or attempt.abandoned:
            return
        attempt.connected_at, attempt.agent = now, agent
        self.state.call_connected(call_id, now)

    def abandoned(self, call_id: str, now: float) -> None:
        """No agent in time: the call model took the customer out of the queue."""
        attempt = self.attempts.get(call_id)
        if attempt is None or attempt.answered_at is None or attempt.connected_at is not None:
            return
        if self.policy is None or attempt.abandoned:
            return
        attempt.abandoned = True
        self.state.call_abandoned(call_id, now)

    def ended(self, call_id: str, sip_status: int | None, now: float) -> FinishedAttempt | None:
        """The call is over: the attempt's outcome and the contact's next step."""
        attempt = self.attempts.pop(call_id, None)
        if attempt is None:
            return None
        if attempt.answered_at is None:
            outcome = unanswered_outcome(sip_status)
            if outcome == "congestion":
                self.state.carrier_rejected(call_id, now)
            else:
                self.state.call_not_answered(call_id, now)
        elif attempt.amd_verdict == "machine":
            outcome = "machine"
        elif self.detects_machines and attempt.amd_verdict is None:
            # Hung up during the detection: a ring that ended, not an abandon.
            self.state.call_not_answered(call_id, now)
            outcome = "no_answer"
        elif attempt.connected_at is not None or self.policy is None:
            outcome = "answered"
        else:
            if not attempt.abandoned:  # hung up while waiting: abandoned all the same
                attempt.abandoned = True
                self.state.call_abandoned(call_id, now)
            outcome = "abandoned"
        step = after_attempt(self.retry_rules, outcome, attempt.attempts_before + 1, now)
        attempts = attempt.attempts_before + (1 if step.counts_as_attempt else 0)
        return FinishedAttempt(attempt, outcome, step, now, sip_status, attempts)
