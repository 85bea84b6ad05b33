"""Offering: carrying out routing decisions, and everything that can happen to an offer.

``Offering`` rings agents for a contact (``ContactOffered``, the agent ``reserved``, a ring
timer), and handles each way an offer ends: answered (the other ring-all phones are
withdrawn), rejected, not answered in time (with the no-answer limit and the reject and
no-answer rests), abandoned by the caller, or withdrawn because the agent logged out. It then
follows the contact to the end of its call and the agent through wrap-up.

Most of those paths end in the same two steps, which therefore live here too: the contact
goes back to its place in line and is routed again (unless max wait has passed meanwhile),
and a freed agent first carries out a break or logout it asked for while busy
(``apply_pending``), else is routed to the best waiting contact. ``check_empty_queues``
applies ``leave_when_empty`` after a logout or a change of memberships.

Decisions come from :mod:`hotline.acd.routing`; state lives in :mod:`hotline.acd.agents`
and :mod:`hotline.acd.queues`. Agent-initiated inputs (login, breaks, ready) are one module
up, in :mod:`hotline.acd.presence`, and use this one.
"""

from __future__ import annotations

from collections.abc import Iterable

from hotline.acd.agents import AgentRecord, AgentRoster
from hotline.acd.config import NO_ANSWER_BREAK, ON_DEMAND_BREAK
from hotline.acd.events import (
    CallbackAccepted,
    ContactAbandoned,
    ContactConnected,
    ContactEnded,
    ContactOffered,
    InputIgnored,
    OfferWithdrawn,
)
from hotline.acd.queues import (
    TIME_TOLERANCE,
    ContactRecord,
    ContactState,
    QueueLines,
    QueueRecord,
    position,
    remove_waiting,
)
from hotline.acd.routing import Router
from hotline.acd.skills import SkillRequirement
from hotline.acd.states import AgentInput, AgentState
from hotline.acd.timers import TimerHeap, TimerKind
from hotline.events import Event


class Offering:
    """Offers of contacts to agents and their outcomes, over the roster and the lines."""

    __slots__ = ("_lines", "_roster", "_router", "_timers")

    def __init__(
        self, roster: AgentRoster, lines: QueueLines, router: Router, timers: TimerHeap
    ) -> None:
        self._roster = roster
        self._lines = lines
        self._router = router
        self._timers = timers

    # ------------------------------------------------------------------ routing

    def route_contact(self, now: float, contact: ContactRecord, out: list[Event]) -> None:
        """Offer a contact that has just joined, returned or widened its tier, if anyone
        may take it."""
        agents = self._router.agents_for(now, contact)
        if agents:
            self._offer(now, contact, self._lines.queues[contact.queue], agents, out)

    def route_agent(self, now: float, agent: AgentRecord, out: list[Event]) -> None:
        """Offer the best waiting contact to an agent who has just become routable."""
        contact = self._router.contact_for(now, agent)
        if contact is not None:
            self._offer(now, contact, self._lines.queues[contact.queue], [agent], out)

    def _offer(
        self,
        now: float,
        contact: ContactRecord,
        queue: QueueRecord,
        agents: list[AgentRecord],
        out: list[Event],
    ) -> None:
        remove_waiting(queue, contact)
        contact.state = ContactState.RINGING
        queue.ringing[contact.contact_id] = None
        ring_timeout = queue.config.ring_timeout
        transition = self._roster.transition
        for agent in agents:
            contact.ringing[agent.agent_id] = None
            out.append(
                ContactOffered(
                    at=now,
                    contact_id=contact.contact_id,
                    queue=queue.config.name,
                    agent_id=agent.agent_id,
                    ring_timeout=ring_timeout,
                    callback=contact.callback,
                )
            )
            agent.contact_id = contact.contact_id
            agent.queue = queue.config.name
            transition(now, agent, AgentInput.OFFER, out, queue=queue.config.name)
            self._timers.arm(now + ring_timeout, TimerKind.RING, agent.agent_id, agent.token)

    # ------------------------------------------------------------------ contact inputs

    def contact_arrived(
        self,
        now: float,
        contact_id: str,
        queue: str,
        priority: int,
        base_score: float,
        needs: Iterable[SkillRequirement],
    ) -> list[Event]:
        lines = self._lines
        contact = lines.new_contact(now, contact_id, queue, priority, base_score, needs)
        out: list[Event] = []
        if lines.join(now, contact, lines.queues[queue], out, visited=set()):
            self.route_contact(now, contact, out)
        return out

    def contact_abandoned(self, now: float, contact_id: str) -> list[Event]:
        contact = self._lines.contacts.get(contact_id)
        out: list[Event] = []
        if contact is None or contact.state is ContactState.CONNECTED:
            why = "unknown contact" if contact is None else "already connected; end it instead"
            out.append(InputIgnored(at=now, input="abandon", contact_id=contact_id, reason=why))
            return out
        queue = self._lines.queues[contact.queue]
        waited = now - contact.joined_at
        freed: list[AgentRecord] = []
        if contact.state is ContactState.RINGING:
            for agent_id in list(contact.ringing):
                agent = self._roster.agents[agent_id]
                self.withdraw(now, contact, agent, "abandoned", out)
                self._roster.transition(now, agent, AgentInput.WITHDRAW, out)
                freed.append(agent)
        self._lines.leave(contact)
        del self._lines.contacts[contact_id]
        queue.counters.record_abandoned(waited)
        out.append(
            ContactAbandoned(at=now, contact_id=contact_id, queue=queue.config.name, waited=waited)
        )
        for agent in freed:
            self.become_available(now, agent, out)
        return out

    def offer_answered(self, now: float, contact_id: str, agent_id: str) -> list[Event]:
        contact = self._lines.contacts.get(contact_id)
        agent = self._roster.agent(agent_id)
        out: list[Event] = []
        if contact is None or agent_id not in contact.ringing:
            out.append(
                InputIgnored(
                    at=now,
                    input="answer",
                    contact_id=contact_id,
                    agent_id=agent_id,
                    reason="offer no longer stands",
                )
            )
            return out
        queue = self._lines.queues[contact.queue]
        agents = self._roster.agents
        others = [agents[other] for other in contact.ringing if other != agent_id]
        for other in others:
            self.withdraw(now, contact, other, "answered_elsewhere", out)
            self._roster.transition(now, other, AgentInput.WITHDRAW, out)
        contact.ringing.clear()
        queue.ringing.pop(contact_id, None)
        contact.state = ContactState.CONNECTED
        contact.agent_id = agent_id
        contact.token += 1  # a connected contact has no queue timers left
        waited = now - contact.joined_at
        queue.counters.record_answered(waited)
        agent.no_answer_streak = 0
        agent.answered += 1
        agent.answered_by_queue[queue.config.name] = agent.calls_answered_in(queue.config.name) + 1
        agent.connected_at = now
        self._roster.transition(now, agent, AgentInput.ANSWER, out, queue=queue.config.name)
        out.append(
            ContactConnected(
                at=now,
                contact_id=contact_id,
                queue=queue.config.name,
                agent_id=agent_id,
                waited=waited,
            )
        )
        for other in others:
            self.become_available(now, other, out)
        return out

    def contact_ended(self, now: float, contact_id: str) -> list[Event]:
        contact = self._lines.contacts.get(contact_id)
        out: list[Event] = []
        if contact is None or contact.state is not ContactState.CONNECTED:
            out.append(
                InputIgnored(at=now, input="end", contact_id=contact_id, reason="not connected")
            )
            return out
        agent = self._roster.agents[contact.agent_id]
        queue = self._lines.queues[contact.queue]
        del self._lines.contacts[contact_id]
        talk = now - agent.connected_at
        agent.talk_seconds += talk
        agent.wrap_up_talk = talk
        agent.wrap_up_started = now
        self._roster.transition(now, agent, AgentInput.HANG_UP, out, queue=queue.config.name)
        out.append(
            ContactEnded(
                at=now,
                contact_id=contact_id,
                queue=queue.config.name,
                agent_id=agent.agent_id,
                talk_seconds=talk,
            )
        )
        wrap_up = queue.config.wrap_up_seconds
        if wrap_up > 0:
            self._timers.arm(now + wrap_up, TimerKind.WRAP_UP_END, agent.agent_id, agent.token)
        else:
            self.end_wrap_up(now, agent, out)
        return out

    def callback_accepted(self, now: float, contact_id: str) -> list[Event]:
        contact = self._lines.contacts.get(contact_id)
        out: list[Event] = []
        if contact is None or contact.state is ContactState.CONNECTED:
            out.append(
                InputIgnored(at=now, input="callback", contact_id=contact_id, reason="not waiting")
            )
            return out
        contact.callback = True
        queue = self._lines.queues[contact.queue]
        out.append(
            CallbackAccepted(
                at=now,
                contact_id=contact_id,
                queue=contact.queue,
                position=position(queue, contact),
            )
        )
        return out

    # ------------------------------------------------------------------ offers that fail

    def withdraw(
        self, now: float, contact: ContactRecord, agent: AgentRecord, reason: str, out: list[Event]
    ) -> None:
        contact.ringing.pop(agent.agent_id, None)
        out.append(
            OfferWithdrawn(
                at=now,
                contact_id=contact.contact_id,
                queue=contact.queue,
                agent_id=agent.agent_id,
                reason=reason,
            )
        )

    def offer_failed(self, now: float, contact_id: str, agent_id: str, reason: str) -> list[Event]:
        """A reject (``reason`` "rejected") or a ring no-answer ("no_answer")."""
        contact = self._lines.contacts.get(contact_id)
        agent = self._roster.agent(agent_id)
        out: list[Event] = []
        if contact is None or agent_id not in contact.ringing:
            out.append(
                InputIgnored(
                    at=now,
                    input=reason,
                    contact_id=contact_id,
                    agent_id=agent_id,
                    reason="offer no longer stands",
                )
            )
            return out
        self.withdraw(now, contact, agent, reason, out)
        profile = agent.profile
        transition = self._roster.transition
        if reason == "no_answer":
            agent.no_answer_streak += 1
            if profile.max_no_answer and agent.no_answer_streak >= profile.max_no_answer:
                transition(now, agent, AgentInput.NO_ANSWER_LIMIT, out, reason=NO_ANSWER_BREAK)
                self.return_to_line(now, contact, out)
                return out
            agent.ready_at = now + profile.no_answer_delay
            transition(now, agent, AgentInput.NO_ANSWER, out)
        else:
            agent.ready_at = now + profile.reject_delay
            transition(now, agent, AgentInput.REJECT, out)
        # A break or logout asked for while ringing wins over the contact coming back.
        self.apply_pending(now, agent, out)
        self.return_to_line(now, contact, out)
        if agent.state is AgentState.AVAILABLE:
            self.route_agent(now, agent, out)
        return out

    def return_to_line(self, now: float, contact: ContactRecord, out: list[Event]) -> None:
        """Once nobody rings for it any more, the contact goes back to its place in line."""
        if contact.ringing:
            return
        lines = self._lines
        queue = lines.requeue(contact)
        max_wait = queue.config.max_wait
        if max_wait is not None and now - contact.joined_at + TIME_TOLERANCE >= max_wait:
            if lines.exit(now, contact, queue, queue.config.on_max_wait, "max_wait", out, set()):
                self.route_contact(now, contact, out)  # it waits in the overflow queue
            if contact.contact_id not in lines.contacts or contact.queue != queue.config.name:
                return
        self.route_contact(now, contact, out)

    # ------------------------------------------------------------------ freed agents

    def become_available(self, now: float, agent: AgentRecord, out: list[Event]) -> None:
        """After an agent went back to AVAILABLE: apply a pending break or logout, or look
        for a contact for them."""
        if not self.apply_pending(now, agent, out):
            self.route_agent(now, agent, out)

    def apply_pending(self, now: float, agent: AgentRecord, out: list[Event]) -> bool:
        """Carry out a logout or break asked for while the agent could not take it."""
        if agent.state is not AgentState.AVAILABLE:
            return False
        if agent.pending_logout:
            self._roster.transition(now, agent, AgentInput.LOG_OUT, out)
            self.check_empty_queues(now, out)
            return True
        if agent.pending_break:
            reason, agent.pending_break = agent.pending_break, ""
            self._roster.transition(now, agent, AgentInput.TAKE_BREAK, out, reason=reason)
            return True
        return False

    def record_handled(self, now: float, agent: AgentRecord) -> None:
        """The end of wrap-up: the queue's handle time (talk + wrap-up) for its AHT."""
        queue = self._lines.queues.get(agent.queue)
        if queue is not None:
            queue.counters.record_handled(agent.wrap_up_talk, now - agent.wrap_up_started)

    def end_wrap_up(self, now: float, agent: AgentRecord, out: list[Event]) -> None:
        self.record_handled(now, agent)
        transition = self._roster.transition
        if agent.pending_logout:
            transition(now, agent, AgentInput.LOG_OUT, out)
            self.check_empty_queues(now, out)
        elif agent.pending_break:
            reason, agent.pending_break = agent.pending_break, ""
            transition(now, agent, AgentInput.TAKE_BREAK, out, reason=reason)
        elif agent.profile.on_demand:
            transition(now, agent, AgentInput.WRAP_UP_END_ON_DEMAND, out, reason=ON_DEMAND_BREAK)
        else:
            transition(now, agent, AgentInput.WRAP_UP_END, out)
            self.route_agent(now, agent, out)

    def check_empty_queues(self, now: float, out: list[Event]) -> None:
        """``leave_when_empty``: once the last member logs out, waiting callers leave by the
        queue's ``on_empty`` exit."""
        lines = self._lines
        for queue in lines.queues.values():
            if queue.config.leave_when_empty and queue.members.logged_in == 0 and queue.waiting:
                for _, contact_id in list(queue.waiting):
                    contact = lines.contacts[contact_id]
                    if contact.callback:
                        continue  # a callback has no caller on the line to send anywhere
                    if lines.exit(
                        now,
                        contact,
                        queue,
                        queue.config.on_empty,
                        "left_empty",
                        out,
                        {queue.config.name},
                    ):
                        self.route_contact(now, contact, out)
