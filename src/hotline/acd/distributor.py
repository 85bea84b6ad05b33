"""The ACD: which waiting contact goes to which agent, and when.

Sans-IO like aioquic's connection: every input is a method call carrying ``now`` and returns
the events it caused (decisions for the call layer, state changes for everyone else);
``next_timer()`` says when to call ``handle_timer(now)`` for the time-driven rules (ring
no-answer, end of wrap-up, end of a reject delay, max wait, announcements, tier widening).
Nothing here reads a clock, sleeps or does I/O, so a test or a simulation drives it with an
explicit clock, and a cluster can run it as the single ACD leader.

``Acd`` is the public face and the place the parts are composed; the work is done by a
one-way chain of modules, each importing only those before it:

* :mod:`hotline.acd.timers` — the timer heap, entries voided by tokens;
* :mod:`hotline.acd.agents` — agent records, the state table applied with its indexes;
* :mod:`hotline.acd.queues` — contact records, each queue's ordered line, joins and exits;
* :mod:`hotline.acd.routing` — the matching decisions, over those indexes and lines;
* :mod:`hotline.acd.offering` — offers and their outcomes, freed agents routed again;
* :mod:`hotline.acd.presence` — the agents' own inputs (login, breaks, ready, busy).

What stays here is what spans them all: configuration (a queue or an agent changed while
contacts wait), firing timers, and the read-only queries and statistics.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from hotline.acd.agents import AgentRoster, is_routable
from hotline.acd.config import DEFAULT_BREAK_REASONS, AgentProfile, QueueConfig
from hotline.acd.offering import Offering
from hotline.acd.presence import AgentPresence
from hotline.acd.queues import ContactRecord, ContactState, QueueLines
from hotline.acd.routing import Router
from hotline.acd.skills import SkillRequirement
from hotline.acd.states import AgentState
from hotline.acd.statistics import (
    AgentStatistics,
    QueueStatistics,
    agent_statistics,
    queue_statistics,
)
from hotline.acd.timers import AGENT_TIMERS, TimerEntry, TimerHeap, TimerKind
from hotline.events import Event


class Acd:
    """Queues, agents and the routing between them, driven by calls that carry ``now``."""

    def __init__(
        self,
        *,
        seed: int | None = 0,
        break_reasons: Iterable[str] = DEFAULT_BREAK_REASONS,
    ) -> None:
        self._timers = TimerHeap()
        self._roster = AgentRoster(self._timers)
        self._lines = QueueLines(self._timers)
        self._router = Router(self._roster, self._lines, random.Random(seed))
        self._offering = Offering(self._roster, self._lines, self._router, self._timers)
        self._presence = AgentPresence(self._roster, self._lines, self._offering, break_reasons)

    # ------------------------------------------------------------------ configuration

    def configure_queue(self, config: QueueConfig, now: float = 0.0) -> list[Event]:
        """Add a queue, or replace the configuration of an existing one while it runs.

        Waiting contacts, counters and members stay; a new strategy starts with no memory.
        Waiting contacts get the new skill requirements and timers (max wait, tiers and
        announcements count from when they joined) and are routed again, since the change
        may have made agents eligible (pooling switched on for slack season, say)."""
        out: list[Event] = []
        self._router.forget_pooling()
        lines = self._lines
        existing = lines.queues.get(config.name)
        if existing is None:
            lines.add_queue(config, self._roster.add_queue(config.name))
            return out
        lines.reconfigure(now, existing, config)
        for _, contact_id in list(existing.waiting):
            still_waiting = lines.contacts.get(contact_id)
            if still_waiting is not None and still_waiting.state is ContactState.WAITING:
                self._offering.route_contact(now, still_waiting, out)
        return out

    def add_agent(self, profile: AgentProfile, now: float = 0.0) -> None:
        """Register an agent (logged out). Queues it names that do not exist yet pick the
        agent up when they are configured."""
        self._roster.add_agent(profile, now)

    def update_agent(self, now: float, profile: AgentProfile) -> list[Event]:
        """Change an agent's skills, department, memberships or rules while they work."""
        roster = self._roster
        agent = roster.agent(profile.agent_id)
        out: list[Event] = []
        was_routable = is_routable(agent, now)
        if was_routable:
            roster.set_routable(agent, False)
        roster.change_profile(agent, profile)
        if was_routable:
            roster.set_routable(agent, True)
            self._offering.route_agent(now, agent, out)
        self._offering.check_empty_queues(now, out)
        return out

    # ------------------------------------------------------------------ agent inputs

    def agent_login(self, now: float, agent_id: str) -> list[Event]:
        return self._presence.agent_login(now, agent_id)

    def agent_logout(self, now: float, agent_id: str) -> list[Event]:
        """Log out now, or after the call if the agent is on one. A ringing offer is
        withdrawn and the contact keeps its place in line."""
        return self._presence.agent_logout(now, agent_id)

    def agent_break(self, now: float, agent_id: str, reason: str) -> list[Event]:
        """Go on break with a configured reason code; during a call or while ringing, the
        break starts as soon as the agent would otherwise become available."""
        return self._presence.agent_break(now, agent_id, reason)

    def agent_ready(self, now: float, agent_id: str) -> list[Event]:
        """Back from break, end of wrap-up before its timer, or an on-demand agent asking
        for the next contact."""
        return self._presence.agent_ready(now, agent_id)

    def agent_direct_call(self, now: float, agent_id: str, busy: bool) -> list[Event]:
        """The agent's phone is (``busy``) or is no longer busy on a call outside the ACD.

        The contact centre counts the agent's legs that the ACD did not offer and reports
        the edges (0 -> 1, 1 -> 0); the ACD only needs the flag. While busy the agent is
        offered nothing whatever its state; when the flag drops an available agent past its
        delays is offered the best waiting contact at once. Repeating the current value
        changes nothing."""
        return self._presence.agent_direct_call(now, agent_id, busy)

    # ------------------------------------------------------------------ contact inputs

    def contact_arrived(
        self,
        now: float,
        contact_id: str,
        queue: str,
        *,
        priority: int = 0,
        base_score: float = 0.0,
        needs: Iterable[SkillRequirement] = (),
    ) -> list[Event]:
        """A caller (or a callback request) wants an agent of ``queue``. ``priority`` is a
        strict class (VIP above all others); ``base_score`` adds seconds of seniority."""
        return self._offering.contact_arrived(now, contact_id, queue, priority, base_score, needs)

    def contact_abandoned(self, now: float, contact_id: str) -> list[Event]:
        """The caller hung up before reaching an agent (waiting or ringing)."""
        return self._offering.contact_abandoned(now, contact_id)

    def offer_answered(self, now: float, contact_id: str, agent_id: str) -> list[Event]:
        return self._offering.offer_answered(now, contact_id, agent_id)

    def offer_rejected(self, now: float, contact_id: str, agent_id: str) -> list[Event]:
        """The agent declined (or the phone was busy/unreachable)."""
        return self._offering.offer_failed(now, contact_id, agent_id, "rejected")

    def contact_ended(self, now: float, contact_id: str) -> list[Event]:
        """The connected call ended; the agent goes to the queue's wrap-up."""
        return self._offering.contact_ended(now, contact_id)

    def callback_accepted(self, now: float, contact_id: str) -> list[Event]:
        """The caller chose to hang up and be called back: the contact keeps its place and
        is offered to an agent (who dials out) when its turn comes."""
        return self._offering.callback_accepted(now, contact_id)

    # ------------------------------------------------------------------ timers

    def next_timer(self) -> float | None:
        """When ``handle_timer`` must next be called, or None if nothing is pending."""
        return self._timers.next_due(self._timer_live)

    def handle_timer(self, now: float) -> list[Event]:
        """Fire every timer due at ``now``."""
        out: list[Event] = []
        pop_due = self._timers.pop_due
        while (entry := pop_due(now)) is not None:
            if self._timer_live(entry):
                self._fire(now, entry[2], entry[3], out)
        return out

    def _timer_live(self, entry: TimerEntry) -> bool:
        _, _, kind, subject, token = entry
        if kind in AGENT_TIMERS:
            agent = self._roster.agents.get(subject)
            return agent is not None and agent.token == token
        contact = self._lines.contacts.get(subject)
        return contact is not None and contact.token == token

    def _fire(self, now: float, kind: TimerKind, subject: str, out: list[Event]) -> None:
        if kind is TimerKind.RING:
            agent = self._roster.agents[subject]
            out.extend(self._offering.offer_failed(now, agent.contact_id, subject, "no_answer"))
        elif kind is TimerKind.REST_END:
            self._presence.end_rest(now, self._roster.agents[subject], out)
        elif kind is TimerKind.WRAP_UP_END:
            self._offering.end_wrap_up(now, self._roster.agents[subject], out)
        else:
            self._fire_contact_timer(now, kind, self._lines.contacts[subject], out)

    def _fire_contact_timer(
        self, now: float, kind: TimerKind, contact: ContactRecord, out: list[Event]
    ) -> None:
        lines = self._lines
        if kind is TimerKind.MAX_WAIT:
            if contact.state is ContactState.WAITING:
                queue = lines.queues[contact.queue]
                action = queue.config.on_max_wait
                if lines.exit(now, contact, queue, action, "max_wait", out, set()):
                    self._offering.route_contact(now, contact, out)  # overflowed
            # While ringing the offer runs its course; a failed offer re-checks max wait.
        elif kind is TimerKind.ANNOUNCE:
            lines.announce(now, contact, out)
        elif kind is TimerKind.TIER and contact.state is ContactState.WAITING:
            self._offering.route_contact(now, contact, out)

    # ------------------------------------------------------------------ queries

    def agent_state(self, agent_id: str) -> AgentState:
        return self._roster.agent(agent_id).state

    def agent_reason(self, agent_id: str) -> str:
        return self._roster.agent(agent_id).reason

    def contact_state(self, contact_id: str) -> ContactState | None:
        contact = self._lines.contacts.get(contact_id)
        return None if contact is None else contact.state

    def contact_queue(self, contact_id: str) -> str | None:
        contact = self._lines.contacts.get(contact_id)
        return None if contact is None else contact.queue

    def contact_joined_at(self, contact_id: str) -> float | None:
        """When the contact joined its current queue (tiers and max wait count from it)."""
        contact = self._lines.contacts.get(contact_id)
        return None if contact is None else contact.joined_at

    def ringing_agents(self, contact_id: str) -> list[str]:
        contact = self._lines.contacts.get(contact_id)
        return [] if contact is None else list(contact.ringing)

    def waiting_contacts(self, queue: str) -> list[str]:
        """Contacts waiting (not ringing) in ``queue``, next in line first."""
        return [contact_id for _, contact_id in self._lines.queue(queue).waiting]

    def contact_ids(self) -> list[str]:
        return list(self._lines.contacts)

    def queue_names(self) -> list[str]:
        return list(self._lines.queues)

    def queue_config(self, queue: str) -> QueueConfig:
        return self._lines.queue(queue).config

    def agent_profile(self, agent_id: str) -> AgentProfile:
        return self._roster.agent(agent_id).profile

    def agent_since(self, agent_id: str) -> float:
        """When the agent entered its current state (the wallboard's time in state)."""
        return self._roster.agent(agent_id).times.since

    def agent_busy(self, agent_id: str) -> bool:
        """Whether the agent's phone is busy on a call outside the ACD (see
        ``agent_direct_call``)."""
        return self._roster.agent(agent_id).busy

    def agent_busy_since(self, agent_id: str) -> float:
        """When the busy flag last changed."""
        return self._roster.agent(agent_id).busy_since

    def agent_contact(self, agent_id: str) -> str:
        """The contact ringing on, talking to, or wrapped up by the agent ("" if none)."""
        return self._roster.agent(agent_id).contact_id

    def agent_ids(self) -> list[str]:
        return list(self._roster.agents)

    def is_routable(self, agent_id: str, now: float) -> bool:
        return is_routable(self._roster.agent(agent_id), now)

    def estimated_wait(self, queue: str, position: int) -> float:
        """EWT for the ``position``-th in line: that many recent handle times shared among
        the staffed members (at least one, so a queue with nobody staffed still gets a
        finite, if optimistic, figure)."""
        return self._lines.estimated_wait(self._lines.queue(queue), position)

    def queue_statistics(self, queue: str, now: float) -> QueueStatistics:
        target = self._lines.queue(queue)
        contacts = self._lines.contacts
        agents = self._roster.agents
        by_state = dict.fromkeys(AgentState, 0)
        for agent_id in target.members.priority:
            by_state[agents[agent_id].state] += 1
        waiting_since = [contacts[cid].joined_at for _, cid in target.waiting]
        waiting_since += [contacts[cid].joined_at for cid in target.ringing]
        return queue_statistics(
            queue=queue,
            now=now,
            counters=target.counters,
            waiting_since=waiting_since,
            agents_by_state=by_state,
        )

    def agent_statistics(self, agent_id: str, now: float) -> AgentStatistics:
        agent = self._roster.agent(agent_id)
        return agent_statistics(
            agent_id=agent_id,
            now=now,
            times=agent.times,
            reason=agent.reason,
            answered=agent.answered,
            talk_seconds=agent.talk_seconds,
        )
