"""Agent presence: the inputs an agent gives from the desktop, and the end of their rests.

``AgentPresence`` handles log in (ready, or on break for on-demand agents), log out (now,
withdrawing a ringing offer, or after the call), breaks with a configured reason (now, or as
soon as the agent would be available), ready (back from break, wrap-up ended early, or a
reject or no-answer rest cut short) and the direct-call busy flag. Each is a row of the
state table applied by :mod:`hotline.acd.agents`, followed by what it frees up: an agent who
becomes routable is offered the best waiting contact through :mod:`hotline.acd.offering`.

The rules are spelled out in docs/acd.md ("Agent states", "Direct calls").
"""

from __future__ import annotations

from collections.abc import Iterable

from hotline.acd.agents import AgentRecord, AgentRoster
from hotline.acd.config import NO_ANSWER_BREAK, ON_DEMAND_BREAK
from hotline.acd.errors import AcdError
from hotline.acd.events import AgentBusyChanged
from hotline.acd.offering import Offering
from hotline.acd.queues import QueueLines
from hotline.acd.states import AgentInput, AgentState
from hotline.events import Event


class AgentPresence:
    """Login, logout, breaks, ready and direct-call busy, for the agents of a roster."""

    __slots__ = ("_break_reasons", "_lines", "_offering", "_roster")

    def __init__(
        self,
        roster: AgentRoster,
        lines: QueueLines,
        offering: Offering,
        break_reasons: Iterable[str],
    ) -> None:
        self._roster = roster
        self._lines = lines
        self._offering = offering
        self._break_reasons = frozenset(break_reasons)

    def agent_login(self, now: float, agent_id: str) -> list[Event]:
        agent = self._roster.agent(agent_id)
        out: list[Event] = []
        if agent.profile.on_demand:
            self._roster.transition(
                now, agent, AgentInput.LOG_IN_ON_DEMAND, out, reason=ON_DEMAND_BREAK
            )
        else:
            self._roster.transition(now, agent, AgentInput.LOG_IN, out)
            self._offering.route_agent(now, agent, out)
        return out

    def agent_logout(self, now: float, agent_id: str) -> list[Event]:
        agent = self._roster.agent(agent_id)
        out: list[Event] = []
        if agent.state is AgentState.ON_CALL:
            agent.pending_logout = True
            return out
        offering = self._offering
        if agent.state is AgentState.RESERVED:
            contact = self._lines.contacts[agent.contact_id]
            offering.withdraw(now, contact, agent, "agent_logged_out", out)
            self._roster.transition(now, agent, AgentInput.LOG_OUT, out)
            offering.return_to_line(now, contact, out)
        else:
            if agent.state is AgentState.WRAP_UP:
                offering.record_handled(now, agent)
            self._roster.transition(now, agent, AgentInput.LOG_OUT, out)
        offering.check_empty_queues(now, out)
        return out

    def agent_break(self, now: float, agent_id: str, reason: str) -> list[Event]:
        if reason not in self._break_reasons:
            raise AcdError(
                f"unknown break reason {reason!r}; known: {', '.join(sorted(self._break_reasons))}"
            )
        agent = self._roster.agent(agent_id)
        out: list[Event] = []
        if agent.state in (AgentState.ON_CALL, AgentState.RESERVED):
            agent.pending_break = reason
            return out
        if agent.state is AgentState.WRAP_UP:
            self._offering.record_handled(now, agent)
        self._roster.transition(now, agent, AgentInput.TAKE_BREAK, out, reason=reason)
        return out

    def agent_ready(self, now: float, agent_id: str) -> list[Event]:
        agent = self._roster.agent(agent_id)
        out: list[Event] = []
        agent.pending_break = ""
        if agent.state in (AgentState.RESERVED, AgentState.ON_CALL):
            return out  # a pending break, if any, is now cancelled
        # Saying "ready" ends a reject or no-answer delay: the agent is back at the desk.
        if agent.state is AgentState.AVAILABLE:
            if agent.ready_at > now:
                self.end_rest(now, agent, out)
            return out
        agent.ready_at = now
        if agent.state is AgentState.WRAP_UP:
            self._offering.record_handled(now, agent)
        if agent.state is AgentState.BREAK and agent.reason == NO_ANSWER_BREAK:
            agent.no_answer_streak = 0
        self._roster.transition(now, agent, AgentInput.READY, out)
        # A logout asked for during the call wins.
        self._offering.become_available(now, agent, out)
        return out

    def agent_direct_call(self, now: float, agent_id: str, busy: bool) -> list[Event]:
        agent = self._roster.agent(agent_id)
        out: list[Event] = []
        if agent.busy == busy:
            return out
        agent.busy = busy
        agent.busy_since = now
        out.append(AgentBusyChanged(at=now, agent_id=agent_id, busy=busy, state=agent.state))
        if busy:
            self._roster.set_routable(agent, False)
        elif agent.state is AgentState.AVAILABLE and agent.ready_at <= now:
            self._roster.set_routable(agent, True)
            self._offering.become_available(now, agent, out)
        return out

    def end_rest(self, now: float, agent: AgentRecord, out: list[Event]) -> None:
        """An available agent's reject or no-answer delay is over (its timer, or ready)."""
        agent.ready_at = now
        agent.token += 1  # void the delay's timer if the agent ended it early
        if not agent.busy:  # else routable once the direct call ends
            self._roster.set_routable(agent, True)
        self._offering.become_available(now, agent, out)
