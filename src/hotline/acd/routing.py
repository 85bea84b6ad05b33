"""Routing decisions: which agents a contact rings, which contact a freed agent takes.

``Router`` answers the two questions of event-driven routing and changes nothing but its
strategies' memory (round robin's last member) and its random generator:

* ``agents_for(contact)``, when a contact joins, returns to or widens its tier: the eligible
  agents among its queue's routable members (and, from a pooling tier, the routable agents
  of the pooled departments), narrowed by the queue's strategy to one (all for ring-all);
* ``contact_for(agent)``, when an agent becomes routable: across the agent's queues the
  lower member priority wins, then the contact first in line. Each line is walked from its
  head and stops at the first contact the agent may take or at one that could not beat the
  best found so far, so an agent looks past the head only for contacts it may not take.

Carrying out a decision (ringing, timers, state changes) is :mod:`hotline.acd.offering`'s
part; keeping the two apart lets each be read, and tested, on its own.
"""

from __future__ import annotations

import random

from hotline.acd.agents import AgentRecord, AgentRoster, is_routable
from hotline.acd.config import POOLED_PRIORITY, Tier
from hotline.acd.queues import ContactKey, ContactRecord, QueueLines, QueueRecord
from hotline.acd.skills import meets
from hotline.acd.strategies import RoutingRequest


def eligible(agent: AgentRecord, member_priority: int, tier: Tier, contact: ContactRecord) -> bool:
    """Whether a tier lets an agent serving at ``member_priority`` take ``contact``."""
    if member_priority == POOLED_PRIORITY:
        if not tier.include_pooled:
            return False
    elif member_priority > tier.max_member_priority:
        return False
    return meets(agent.profile.skills, contact.requirements, tier.relax_levels)


class Router:
    """Matches contacts and agents over the roster's indexes and the queues' lines."""

    __slots__ = ("_agents", "_lines", "_pooling_cache", "_rng", "_roster")

    def __init__(self, roster: AgentRoster, lines: QueueLines, rng: random.Random) -> None:
        self._roster = roster
        self._agents = roster.agents
        self._lines = lines
        self._rng = rng
        self._pooling_cache: dict[str, list[str]] = {}

    def forget_pooling(self) -> None:
        """A queue was added or reconfigured: which queues pool which department may have
        changed."""
        self._pooling_cache.clear()

    def agents_for(self, now: float, contact: ContactRecord) -> list[AgentRecord]:
        """The agents to ring for a contact that has just joined, returned or widened its
        tier; empty if nobody routable may take it."""
        queue = self._lines.queues[contact.queue]
        agents = self._agents
        members = queue.members
        member_priority = members.priority
        tier = queue.tier_at(now - contact.joined_at)
        candidates: list[AgentRecord] = []
        for agent_id in members.routable:
            agent = agents[agent_id]
            if eligible(agent, member_priority[agent_id], tier, contact):
                candidates.append(agent)
        if tier.include_pooled:
            routable_by_department = self._roster.routable_by_department
            for department in sorted(queue.config.pooled_departments):
                for agent_id in routable_by_department.get(department, {}):
                    if agent_id in member_priority:
                        continue
                    agent = agents[agent_id]
                    if eligible(agent, POOLED_PRIORITY, tier, contact):
                        candidates.append(agent)
        if not candidates:
            return candidates
        if queue.strategy.rings_all:
            return sorted(candidates, key=lambda agent: agent.agent_id)
        request = RoutingRequest(
            queue=queue.config.name,
            requirements=contact.requirements,
            positions=self._positions_for(queue, candidates),
        )
        picked = queue.strategy.choose(candidates, request, self._rng)
        return [agents[picked.agent_id]]

    @staticmethod
    def _positions_for(queue: QueueRecord, candidates: list[AgentRecord]) -> dict[str, int]:
        positions = queue.members.positions
        pooled_base = queue.members.next_position
        result: dict[str, int] = {}
        for agent in candidates:
            position = positions.get(agent.agent_id)
            if position is None:  # pooled agents hunt after every member
                position = pooled_base + agent.order
            result[agent.agent_id] = position
        return result

    def contact_for(self, now: float, agent: AgentRecord) -> ContactRecord | None:
        """The best waiting contact for an agent who has just become routable, if any.

        Across the agent's queues the lower member priority wins, then the contact that is
        first in line by its queue's order (priority class, then score)."""
        if not is_routable(agent, now):
            return None
        queues = self._lines.queues
        contacts = self._lines.contacts
        best: tuple[int, ContactKey, ContactRecord] | None = None
        for name, member_priority in self._queues_for(agent):
            queue = queues[name]
            if member_priority == POOLED_PRIORITY:
                if not queue.ever_pools:
                    continue
            elif member_priority > queue.worst_member_priority:
                continue
            if best is not None and member_priority > best[0]:
                continue
            for key, contact_id in queue.waiting:
                if best is not None and (member_priority, key) >= best[:2]:
                    break
                contact = contacts[contact_id]
                tier = queue.tier_at(now - contact.joined_at)
                if eligible(agent, member_priority, tier, contact):
                    best = (member_priority, key, contact)
                    break
        return None if best is None else best[2]

    def _queues_for(self, agent: AgentRecord) -> list[tuple[str, int]]:
        """The agent's member queues, then the queues pooling the agent's department, with
        the member priority each would be served at."""
        queues = self._lines.queues
        result = [
            (name, priority) for name, priority in agent.profile.queues.items() if name in queues
        ]
        for name in self._pooling_queues(agent.profile.department):
            if name not in agent.profile.queues:
                result.append((name, POOLED_PRIORITY))
        result.sort(key=lambda item: item[1])
        return result

    def _pooling_queues(self, department: str) -> list[str]:
        """Queues that may draw on ``department``'s agents (cached: asked on every routing
        from the agent's side, changed only by ``configure_queue``)."""
        cached = self._pooling_cache.get(department)
        if cached is None:
            cached = [
                name
                for name, queue in self._lines.queues.items()
                if department in queue.config.pooled_departments
            ]
            self._pooling_cache[department] = cached
        return cached
