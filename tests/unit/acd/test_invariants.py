"""Random sequences of everything that can happen, checked against the ACD's promises:
no contact is lost or invented, a contact is never offered to two agents (outside ring-all)
or connected to two, nobody who is not available (or still resting) is offered anything,
and no eligible agent stays idle while a contact waits."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from hotline.acd import Acd, AgentState, ContactState, QueueConfig, SkillRequirement, Tier
from hotline.acd.config import ExitAction, ExitKind
from hotline.acd.events import (
    AgentBusyChanged,
    AgentStateChanged,
    ContactAbandoned,
    ContactEnded,
    ContactExited,
    ContactOffered,
    OfferWithdrawn,
)
from hotline.acd.skills import meets, merge_requirements
from hotline.events import Event

from .support import agent

REST = 5.0
QUEUES = [
    QueueConfig(name="q0", strategy="longest-idle", wrap_up_seconds=3.0, ring_timeout=4.0),
    QueueConfig(
        name="q1",
        strategy="round-robin",
        ring_timeout=6.0,
        max_wait=20.0,
        on_max_wait=ExitAction(ExitKind.OVERFLOW, "q0"),
        max_length=4,
    ),
    QueueConfig(name="q2", strategy="ring-all", ring_timeout=5.0, announce_every=7.0),
    QueueConfig(
        name="q3",
        strategy="skills-best-match",
        max_wait=15.0,
        on_max_wait=ExitAction(ExitKind.CALLBACK_OFFER),
    ),
    # Tiers widen to backup members, lower levels, then agents pooled from department d1.
    QueueConfig(
        name="q4",
        strategy="weighted-random",
        required_skills=(SkillRequirement("en", 6),),
        pooled_departments=frozenset({"d1"}),
        tiers=(
            Tier(0.0, max_member_priority=0),
            Tier(8.0, max_member_priority=1, relax_levels=3),
            Tier(16.0, max_member_priority=1, relax_levels=3, include_pooled=True),
        ),
    ),
]
AGENTS = [
    replace(profile, reject_delay=REST, no_answer_delay=REST)
    for profile in (
        agent("a0", {"q0": 0, "q1": 0}, skills={"zh": 5}, department="d1"),
        agent("a1", {"q0": 1, "q2": 0}, skills={"en": 5}, department="d1"),
        agent("a2", {"q1": 0, "q2": 0, "q3": 0, "q4": 0}, skills={"zh": 2, "en": 7}),
        agent("a3", {"q3": 0, "q4": 1}, skills={"zh": 9, "en": 4}, on_demand=True),
        agent("a4", {"q0": 0, "q1": 1, "q2": 0, "q3": 1}, skills={"en": 3}, max_no_answer=2),
    )
]
NEEDS = [(), (SkillRequirement("zh", 3),), (SkillRequirement("en", 5),)]

pick = st.integers(min_value=0, max_value=1000)


class AcdMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.acd = Acd(seed=1)
        for queue in QUEUES:
            self.acd.configure_queue(queue)
        for profile in AGENTS:
            self.acd.add_agent(profile)
        self.profiles = {profile.agent_id: profile for profile in AGENTS}
        self.queue_configs = {queue.name: queue for queue in QUEUES}
        self.now = 0.0
        self.next_id = 0
        self.live: set[str] = set()
        self.needs: dict[str, tuple[SkillRequirement, ...]] = {}
        self.states = {profile.agent_id: AgentState.LOGGED_OUT for profile in AGENTS}
        self.rest_until = {profile.agent_id: 0.0 for profile in AGENTS}
        self.busy = {profile.agent_id: False for profile in AGENTS}  # on a direct call

    # ---------------------------------------------------------------- applying events

    def apply(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, ContactOffered):
                assert event.contact_id in self.live
                assert self.states[event.agent_id] is AgentState.AVAILABLE, event
                assert event.at >= self.rest_until[event.agent_id], event
                assert not self.busy[event.agent_id], event
            elif isinstance(event, AgentBusyChanged):
                assert self.busy[event.agent_id] is not event.busy, event
                self.busy[event.agent_id] = event.busy
            elif isinstance(event, AgentStateChanged):
                assert self.states[event.agent_id] is event.previous, event
                self.states[event.agent_id] = event.state
                if event.state is AgentState.LOGGED_OUT:
                    self.rest_until[event.agent_id] = 0.0  # a new login starts afresh
            elif isinstance(event, OfferWithdrawn) and event.reason in ("rejected", "no_answer"):
                self.rest_until[event.agent_id] = event.at + REST
            elif isinstance(event, ContactAbandoned | ContactEnded) or (
                isinstance(event, ContactExited) and event.kind is not ExitKind.OVERFLOW
            ):
                self.live.remove(event.contact_id)

    # ---------------------------------------------------------------- rules

    @rule(index=pick)
    def login(self, index: int) -> None:
        agent_id = AGENTS[index % len(AGENTS)].agent_id
        if self.states[agent_id] is AgentState.LOGGED_OUT:
            self.apply(self.acd.agent_login(self.now, agent_id))

    @rule(index=pick)
    def logout(self, index: int) -> None:
        agent_id = AGENTS[index % len(AGENTS)].agent_id
        if self.states[agent_id] is not AgentState.LOGGED_OUT:
            self.apply(self.acd.agent_logout(self.now, agent_id))

    @rule(index=pick, reason=st.sampled_from(["lunch", "training", "meeting"]))
    def take_break(self, index: int, reason: str) -> None:
        agent_id = AGENTS[index % len(AGENTS)].agent_id
        if self.states[agent_id] is not AgentState.LOGGED_OUT:
            self.apply(self.acd.agent_break(self.now, agent_id, reason))

    @rule(index=pick)
    def ready(self, index: int) -> None:
        agent_id = AGENTS[index % len(AGENTS)].agent_id
        if self.states[agent_id] is not AgentState.LOGGED_OUT:
            # "Ready" ends a reject or no-answer delay.
            self.rest_until[agent_id] = min(self.rest_until[agent_id], self.now)
            self.apply(self.acd.agent_ready(self.now, agent_id))

    @rule(
        queue=st.sampled_from([q.name for q in QUEUES]),
        priority=st.integers(0, 2),
        needs=st.sampled_from(NEEDS),
    )
    def arrive(self, queue: str, priority: int, needs: tuple[SkillRequirement, ...]) -> None:
        contact_id = f"c{self.next_id}"
        self.next_id += 1
        self.live.add(contact_id)
        self.needs[contact_id] = needs
        self.apply(
            self.acd.contact_arrived(self.now, contact_id, queue, priority=priority, needs=needs)
        )

    def _some_contact(self, index: int, state: ContactState | None = None) -> str | None:
        contacts = sorted(
            c for c in self.live if state is None or self.acd.contact_state(c) is state
        )
        return contacts[index % len(contacts)] if contacts else None

    @rule(index=pick)
    def abandon(self, index: int) -> None:
        contact_id = self._some_contact(index)
        if contact_id is not None and self.acd.contact_state(contact_id) is not (
            ContactState.CONNECTED
        ):
            self.apply(self.acd.contact_abandoned(self.now, contact_id))

    @rule(index=pick, which=pick)
    def answer(self, index: int, which: int) -> None:
        contact_id = self._some_contact(index, ContactState.RINGING)
        if contact_id is not None:
            ringing = self.acd.ringing_agents(contact_id)
            self.apply(self.acd.offer_answered(self.now, contact_id, ringing[which % len(ringing)]))

    @rule(index=pick, which=pick)
    def reject(self, index: int, which: int) -> None:
        contact_id = self._some_contact(index, ContactState.RINGING)
        if contact_id is not None:
            ringing = self.acd.ringing_agents(contact_id)
            self.apply(self.acd.offer_rejected(self.now, contact_id, ringing[which % len(ringing)]))

    @rule(index=pick)
    def late_answer(self, index: int) -> None:
        """A phone answers an offer that is no longer there: must change nothing."""
        agent_id = AGENTS[index % len(AGENTS)].agent_id
        self.apply(self.acd.offer_answered(self.now, f"c{self.next_id + 5}", agent_id))

    @rule(index=pick)
    def end(self, index: int) -> None:
        contact_id = self._some_contact(index, ContactState.CONNECTED)
        if contact_id is not None:
            self.apply(self.acd.contact_ended(self.now, contact_id))

    @rule(index=pick)
    def callback(self, index: int) -> None:
        contact_id = self._some_contact(index, ContactState.WAITING)
        if contact_id is not None:
            self.apply(self.acd.callback_accepted(self.now, contact_id))

    @rule(
        index=pick,
        skill=st.sampled_from(["zh", "en"]),
        level=st.integers(1, 10),
        queue=st.sampled_from([q.name for q in QUEUES]),
        priority=st.integers(-1, 1),
    )
    def change_agent(self, index: int, skill: str, level: int, queue: str, priority: int) -> None:
        """Skills and memberships change while agents work (priority -1 leaves the queue)."""
        old = self.profiles[AGENTS[index % len(AGENTS)].agent_id]
        queues = dict(old.queues)
        if priority < 0:
            queues.pop(queue, None)
        else:
            queues[queue] = priority
        new = replace(old, skills={**old.skills, skill: level}, queues=queues)
        self.profiles[new.agent_id] = new
        self.apply(self.acd.update_agent(self.now, new))

    @rule(pooling=st.booleans(), relax=st.integers(0, 4))
    def reconfigure_pooled_queue(self, pooling: bool, relax: int) -> None:
        """Slack season starts or ends: q4 draws on department d1 or stops, live."""
        old = self.queue_configs["q4"]
        tiers = (*old.tiers[:2], replace(old.tiers[2], include_pooled=pooling, relax_levels=relax))
        new = replace(old, tiers=tiers)
        self.queue_configs["q4"] = new
        self.apply(self.acd.configure_queue(new, self.now))

    @rule(index=pick, busy=st.booleans())
    def direct_call(self, index: int, busy: bool) -> None:
        """The agent's phone starts or stops being busy on a call outside the ACD."""
        agent_id = AGENTS[index % len(AGENTS)].agent_id
        self.apply(self.acd.agent_direct_call(self.now, agent_id, busy))
        assert self.acd.agent_busy(agent_id) is busy

    @rule(seconds=st.floats(min_value=0.0, max_value=12.0, allow_nan=False))
    def advance(self, seconds: float) -> None:
        target = self.now + seconds
        while (timer := self.acd.next_timer()) is not None and timer <= target:
            self.now = max(self.now, timer)
            self.apply(self.acd.handle_timer(self.now))
            # Between two timers the state must already be sound, not only at the end.
            self.no_eligible_agent_idles_while_a_contact_waits()
            self.every_contact_is_in_exactly_one_place()
        self.now = target

    # ---------------------------------------------------------------- invariants

    @invariant()
    def no_contact_lost_or_invented(self) -> None:
        assert set(self.acd.contact_ids()) == self.live

    @invariant()
    def every_contact_is_in_exactly_one_place(self) -> None:
        waiting: dict[str, str] = {}
        for queue in QUEUES:
            for contact_id in self.acd.waiting_contacts(queue.name):
                assert contact_id not in waiting, contact_id
                waiting[contact_id] = queue.name
        ringing_on: dict[str, str] = {}
        for contact_id in self.live:
            state = self.acd.contact_state(contact_id)
            ringing = self.acd.ringing_agents(contact_id)
            if state is ContactState.WAITING:
                assert waiting.get(contact_id) == self.acd.contact_queue(contact_id)
                assert ringing == []
            else:
                assert contact_id not in waiting
            if state is ContactState.RINGING:
                assert ringing, contact_id
                if self.acd.contact_queue(contact_id) != "q2":  # only ring-all rings several
                    assert len(ringing) == 1
                for agent_id in ringing:
                    assert agent_id not in ringing_on, "one agent rings for two contacts"
                    ringing_on[agent_id] = contact_id
                    assert self.acd.agent_state(agent_id) is AgentState.RESERVED
            if state is ContactState.CONNECTED:
                assert ringing == []
        reserved = {a for a, s in self.states.items() if s is AgentState.RESERVED}
        assert reserved == set(ringing_on)

    @invariant()
    def event_stream_agrees_with_the_acd(self) -> None:
        for agent_id, state in self.states.items():
            assert self.acd.agent_state(agent_id) is state
            assert self.acd.agent_busy(agent_id) is self.busy[agent_id]
            if self.busy[agent_id]:
                assert not self.acd.is_routable(agent_id, self.now)

    @invariant()
    def no_eligible_agent_idles_while_a_contact_waits(self) -> None:
        """Written from the configuration, independently of the ACD's routing code."""
        for queue in self.queue_configs.values():
            tiers = queue.effective_tiers
            for contact_id in self.acd.waiting_contacts(queue.name):
                joined_at = self.acd.contact_joined_at(contact_id)
                assert joined_at is not None
                waited = self.now - joined_at
                tier = [t for t in tiers if t.after_seconds <= waited][-1]
                needs = merge_requirements(queue.required_skills, self.needs[contact_id])
                for profile in self.profiles.values():
                    if not self.acd.is_routable(profile.agent_id, self.now):
                        continue
                    if queue.name in profile.queues:
                        allowed = profile.queues[queue.name] <= tier.max_member_priority
                    else:
                        allowed = tier.include_pooled and (
                            profile.department in queue.pooled_departments
                        )
                    assert not (allowed and meets(profile.skills, needs, tier.relax_levels)), (
                        f"{profile.agent_id} idles while {contact_id} waits in {queue.name}"
                    )


AcdMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestAcdInvariants = AcdMachine.TestCase
