"""Agent state: the live record of every agent, and the indexes that follow its state.

``AgentRoster`` owns the agents. It applies a row of the state table
(:mod:`hotline.acd.states`) with ``transition`` and, in the same step, keeps every index in
step with it: who is routable in each queue and each department, how many members of each
queue are logged in and staffed, the agent's token (which voids timers armed in an earlier
state) and the end of a reject or no-answer rest. Doing all of that in one method means no
caller can change an agent's state and forget an index.

Routing reads these indexes instead of scanning agents: a contact that joins a queue looks
only at that queue's routable members (``QueueMembers.routable``) and, when its tier pools
departments, at those departments' routable agents. The roster knows queues only by name
and member priority; lines of waiting contacts and queue configuration live one module up,
in :mod:`hotline.acd.queues`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from hotline.acd.config import AgentProfile
from hotline.acd.errors import AcdError
from hotline.acd.events import AgentStateChanged
from hotline.acd.states import STAFFED_STATES, AgentInput, AgentState, next_state
from hotline.acd.statistics import AgentTimes
from hotline.acd.timers import TimerHeap, TimerKind
from hotline.events import Event


@dataclass(slots=True, eq=False)
class AgentRecord:
    """An agent's live record; strategies read it through ``strategies.Candidate``."""

    profile: AgentProfile
    times: AgentTimes
    #: Registration order: where a pooled agent hunts among other pooled agents.
    order: int
    state: AgentState = AgentState.LOGGED_OUT
    reason: str = ""
    idle_since: float = 0.0
    #: Not offered anything before this moment (reject and no-answer delays).
    ready_at: float = 0.0
    talk_seconds: float = 0.0
    answered: int = 0
    answered_by_queue: dict[str, int] = field(default_factory=dict)
    no_answer_streak: int = 0
    pending_logout: bool = False
    pending_break: str = ""
    #: The contact ringing on, connected to, or being wrapped up by this agent.
    contact_id: str = ""
    queue: str = ""
    connected_at: float = 0.0
    wrap_up_started: float = 0.0
    wrap_up_talk: float = 0.0
    #: Bumped on every state change, so timers armed in an earlier state are ignored.
    token: int = 0
    #: The phone is busy on a call the ACD did not place (``agent_direct_call``): the agent
    #: keeps its state but is not routable. A flag, not a state, so that a ready agent
    #: stays ready and wrap-up, breaks and delays run as usual meanwhile.
    busy: bool = False
    busy_since: float = 0.0

    @property
    def agent_id(self) -> str:
        return self.profile.agent_id

    @property
    def skill_levels(self) -> Mapping[str, int]:
        return self.profile.skills

    def calls_answered_in(self, queue: str) -> int:
        return self.answered_by_queue.get(queue, 0)


@dataclass(slots=True, eq=False)
class QueueMembers:
    """One queue's members as the agent side sees them."""

    queue: str
    #: Member agent id -> member priority.
    priority: dict[str, int] = field(default_factory=dict)
    #: Member agent id -> position in member-list order (linear, round robin).
    positions: dict[str, int] = field(default_factory=dict)
    next_position: int = 0
    #: Members that may be offered a contact now, in the order they became routable.
    routable: dict[str, None] = field(default_factory=dict)
    logged_in: int = 0
    staffed: int = 0


def is_routable(agent: AgentRecord, now: float) -> bool:
    """Whether ``agent`` may be offered a contact at ``now``."""
    return agent.state is AgentState.AVAILABLE and agent.ready_at <= now and not agent.busy


class AgentRoster:
    """Every agent's record, and the per-queue and per-department indexes over them."""

    __slots__ = ("_timers", "agents", "members", "routable_by_department")

    def __init__(self, timers: TimerHeap) -> None:
        self._timers = timers
        self.agents: dict[str, AgentRecord] = {}
        #: Configured queue name -> its members (created with the queue).
        self.members: dict[str, QueueMembers] = {}
        #: Department -> its routable agents, for queues that pool the department.
        self.routable_by_department: dict[str, dict[str, None]] = {}

    # ------------------------------------------------------------------ registration

    def agent(self, agent_id: str) -> AgentRecord:
        try:
            return self.agents[agent_id]
        except KeyError:
            raise AcdError(f"unknown agent {agent_id!r}") from None

    def add_agent(self, profile: AgentProfile, now: float) -> None:
        if profile.agent_id in self.agents:
            raise AcdError(f"agent {profile.agent_id!r} already exists")
        agent = AgentRecord(
            profile=profile, times=AgentTimes(AgentState.LOGGED_OUT, now), order=len(self.agents)
        )
        self.agents[profile.agent_id] = agent
        for name in profile.queues:
            members = self.members.get(name)
            if members is not None:
                self._add_member(members, agent)

    def add_queue(self, name: str) -> QueueMembers:
        """A queue was configured: agents who already name it become its members."""
        members = QueueMembers(queue=name)
        self.members[name] = members
        for agent in self.agents.values():
            if name in agent.profile.queues:
                self._add_member(members, agent)
        return members

    def change_profile(self, agent: AgentRecord, profile: AgentProfile) -> None:
        """Move the agent's memberships from its old profile's queues to the new one's."""
        for members in self.member_queues(agent):
            self._remove_member(members, agent)
        agent.profile = profile
        for members in self.member_queues(agent):
            self._add_member(members, agent)

    def member_queues(self, agent: AgentRecord) -> Iterator[QueueMembers]:
        """The configured queues the agent is a member of, in the profile's order."""
        for name in agent.profile.queues:
            members = self.members.get(name)
            if members is not None:
                yield members

    def _add_member(self, members: QueueMembers, agent: AgentRecord) -> None:
        agent_id = agent.agent_id
        members.priority[agent_id] = agent.profile.queues[members.queue]
        members.positions[agent_id] = members.next_position
        members.next_position += 1
        if agent.state is not AgentState.LOGGED_OUT:
            members.logged_in += 1
        if agent.state in STAFFED_STATES:
            members.staffed += 1
        if agent_id in self.routable_by_department.get(agent.profile.department, {}):
            members.routable[agent_id] = None

    @staticmethod
    def _remove_member(members: QueueMembers, agent: AgentRecord) -> None:
        agent_id = agent.agent_id
        del members.priority[agent_id]
        del members.positions[agent_id]
        members.routable.pop(agent_id, None)
        if agent.state is not AgentState.LOGGED_OUT:
            members.logged_in -= 1
        if agent.state in STAFFED_STATES:
            members.staffed -= 1

    # ------------------------------------------------------------------ state

    def set_routable(self, agent: AgentRecord, routable: bool) -> None:
        agent_id = agent.agent_id
        department = self.routable_by_department.setdefault(agent.profile.department, {})
        if routable:
            department[agent_id] = None
            for members in self.member_queues(agent):
                members.routable[agent_id] = None
        else:
            department.pop(agent_id, None)
            for members in self.member_queues(agent):
                members.routable.pop(agent_id, None)

    def transition(
        self,
        now: float,
        agent: AgentRecord,
        agent_input: AgentInput,
        out: list[Event],
        *,
        reason: str = "",
        queue: str = "",
    ) -> None:
        """Apply one row of the transition table and keep every index in step with it."""
        previous = agent.state
        state = next_state(previous, agent_input)
        if previous is AgentState.AVAILABLE:
            self.set_routable(agent, False)
        agent.state = state
        agent.reason = reason if state is AgentState.BREAK else ""
        agent.token += 1
        agent.times.change(now, state)
        logged_in_change = (state is not AgentState.LOGGED_OUT) - (
            previous is not AgentState.LOGGED_OUT
        )
        staffed_change = (state in STAFFED_STATES) - (previous in STAFFED_STATES)
        if logged_in_change or staffed_change:
            for members in self.member_queues(agent):
                members.logged_in += logged_in_change
                members.staffed += staffed_change
        if state is AgentState.LOGGED_OUT:
            agent.pending_logout = False
            agent.pending_break = ""
            agent.no_answer_streak = 0
            agent.ready_at = 0.0
        if state is AgentState.AVAILABLE:
            if previous is not AgentState.RESERVED:
                agent.idle_since = now
            if agent.ready_at > now:
                self._timers.arm(agent.ready_at, TimerKind.REST_END, agent.agent_id, agent.token)
            elif not agent.busy:
                self.set_routable(agent, True)
        if state not in (AgentState.RESERVED, AgentState.ON_CALL, AgentState.WRAP_UP):
            agent.contact_id = ""
            agent.queue = ""
        out.append(
            AgentStateChanged(
                at=now,
                agent_id=agent.agent_id,
                previous=previous,
                state=state,
                reason=agent.reason,
                queue=queue or agent.queue,
            )
        )
