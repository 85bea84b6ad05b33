"""Queue state: the contacts in the ACD, each queue's line, and how a contact joins or leaves.

``QueueLines`` owns every contact record and every queue's line of waiting contacts. It
puts a contact in line (or sends it to the exit for a full or empty queue), takes it out,
applies the exits (overflow, callback offer, voicemail, busy, hang-up), arms the contact's
own timers (max wait, announcements, tier widening) and announces positions with an
estimated wait. It decides nothing about agents: when a contact is ready to be routed, the
method that put it there returns True and the caller (:mod:`hotline.acd.offering`) routes it,
so this module never has to import routing.

Ordering of waiting contacts: a strict priority class first, then the FreeSWITCH-style score
``base_score + seconds waited``. Because every contact ages at the same rate, ordering by
``arrived_at - base_score`` is the same ordering at every instant, so each line is a list
sorted once at insertion (``bisect``) and never re-sorted.
"""

from __future__ import annotations

import enum
from bisect import bisect_right, insort
from collections.abc import Iterable
from dataclasses import dataclass, field

from hotline.acd.agents import QueueMembers
from hotline.acd.config import ExitAction, ExitKind, QueueConfig, Tier
from hotline.acd.errors import AcdError
from hotline.acd.events import CallbackOffered, ContactExited, ContactQueued, PositionAnnounced
from hotline.acd.skills import SkillRequirement, merge_requirements
from hotline.acd.statistics import QueueCounters
from hotline.acd.strategies import Strategy, create
from hotline.acd.timers import TimerHeap, TimerKind
from hotline.events import Event

#: Seconds within which two moments count as the same (float rounding of ``now - t``).
TIME_TOLERANCE = 1e-6

#: Sort key of a waiting contact: (-priority class, arrived_at - base_score, arrival number).
ContactKey = tuple[int, float, int]


class ContactState(enum.Enum):
    __hash__ = object.__hash__  # see AgentState

    WAITING = "waiting"
    RINGING = "ringing"
    CONNECTED = "connected"


@dataclass(slots=True, eq=False)
class ContactRecord:
    contact_id: str
    queue: str
    priority: int
    base_score: float
    needs: tuple[SkillRequirement, ...]
    requirements: tuple[SkillRequirement, ...]
    arrived_at: float
    joined_at: float
    key: ContactKey
    state: ContactState = ContactState.WAITING
    ringing: dict[str, None] = field(default_factory=dict)
    agent_id: str = ""
    callback: bool = False
    callback_offered: bool = False
    #: Bumped when the contact changes queue, so the old queue's timers are ignored.
    token: int = 0


@dataclass(slots=True, eq=False)
class QueueRecord:
    config: QueueConfig
    strategy: Strategy
    counters: QueueCounters
    #: The agent side of the queue, kept by ``AgentRoster``.
    members: QueueMembers
    waiting: list[tuple[ContactKey, str]] = field(default_factory=list)
    ringing: dict[str, None] = field(default_factory=dict)
    #: Derived from ``config`` by ``use_config``, once: routing reads them on every decision.
    tiers: tuple[Tier, ...] = ()
    tier_starts: list[float] = field(default_factory=list)
    worst_member_priority: int = 0
    ever_pools: bool = False

    def use_config(self, config: QueueConfig) -> None:
        self.config = config
        self.counters.service_level_seconds = config.service_level_seconds
        tiers = config.effective_tiers
        self.tiers = tiers
        self.tier_starts = [tier.after_seconds for tier in tiers]
        self.worst_member_priority = max(tier.max_member_priority for tier in tiers)
        self.ever_pools = any(tier.include_pooled for tier in tiers)

    def tier_at(self, waited: float) -> Tier:
        # A tier timer fires at joined_at + start, and now - joined_at can land a rounding
        # error below start: without the tolerance the widening would be missed.
        return self.tiers[bisect_right(self.tier_starts, waited + TIME_TOLERANCE) - 1]


def position(queue: QueueRecord, contact: ContactRecord) -> int:
    """1-based place of a waiting contact in line (where it would go, if it is not there)."""
    return bisect_right(queue.waiting, (contact.key, contact.contact_id))


def remove_waiting(queue: QueueRecord, contact: ContactRecord) -> None:
    entry = (contact.key, contact.contact_id)
    index = bisect_right(queue.waiting, entry) - 1
    if index >= 0 and queue.waiting[index] == entry:
        del queue.waiting[index]


def is_waiting_in(queue: QueueRecord, contact: ContactRecord) -> bool:
    index = position(queue, contact) - 1
    return index >= 0 and queue.waiting[index][1] == contact.contact_id


class QueueLines:
    """Every queue's configuration, counters and line, and every contact in the ACD."""

    __slots__ = ("_arrivals", "_timers", "contacts", "queues")

    def __init__(self, timers: TimerHeap) -> None:
        self._timers = timers
        self._arrivals = 0
        self.queues: dict[str, QueueRecord] = {}
        self.contacts: dict[str, ContactRecord] = {}

    def queue(self, name: str) -> QueueRecord:
        try:
            return self.queues[name]
        except KeyError:
            raise AcdError(f"unknown queue {name!r}") from None

    # ------------------------------------------------------------------ configuration

    def add_queue(self, config: QueueConfig, members: QueueMembers) -> QueueRecord:
        queue = QueueRecord(
            config=config,
            strategy=create(config.strategy),
            counters=QueueCounters(service_level_seconds=config.service_level_seconds),
            members=members,
        )
        queue.use_config(config)
        self.queues[config.name] = queue
        return queue

    def reconfigure(self, now: float, queue: QueueRecord, config: QueueConfig) -> None:
        """Give a running queue a new configuration. Waiting and ringing contacts get the
        new skill requirements and timers; routing them again is the caller's part."""
        if queue.config.strategy != config.strategy:
            queue.strategy = create(config.strategy)
        queue.use_config(config)
        for _, contact_id in list(queue.waiting):
            self._restart(now, self.contacts[contact_id], queue)
        for contact_id in list(queue.ringing):
            self._restart(now, self.contacts[contact_id], queue)

    def _restart(self, now: float, contact: ContactRecord, queue: QueueRecord) -> None:
        contact.requirements = merge_requirements(queue.config.required_skills, contact.needs)
        contact.token += 1
        self.arm_contact_timers(now, contact, queue)

    # ------------------------------------------------------------------ joining and leaving

    def new_contact(
        self,
        now: float,
        contact_id: str,
        queue: str,
        priority: int,
        base_score: float,
        needs: Iterable[SkillRequirement],
    ) -> ContactRecord:
        """The record of a contact arriving at ``queue`` (not in line yet: see ``join``)."""
        if contact_id in self.contacts:
            raise AcdError(f"contact {contact_id!r} is already in the ACD")
        target = self.queue(queue)
        self._arrivals += 1
        needs = tuple(needs)
        return ContactRecord(
            contact_id=contact_id,
            queue=queue,
            priority=priority,
            base_score=base_score,
            needs=needs,
            requirements=merge_requirements(target.config.required_skills, needs),
            arrived_at=now,
            joined_at=now,
            key=(-priority, now - base_score, self._arrivals),
        )

    def join(
        self,
        now: float,
        contact: ContactRecord,
        queue: QueueRecord,
        out: list[Event],
        visited: set[str],
    ) -> bool:
        """Put ``contact`` in ``queue``'s line, or send it to the queue's exit for a full or
        empty queue. True if the contact now waits (in ``queue`` or, by overflow, in another)
        and must be routed. ``visited`` stops overflow chains that loop within one instant."""
        config = queue.config
        visited.add(config.name)
        contact.queue = config.name
        contact.joined_at = now
        contact.token += 1
        contact.state = ContactState.WAITING
        contact.requirements = merge_requirements(config.required_skills, contact.needs)
        contact.callback_offered = False
        self.contacts[contact.contact_id] = contact
        queue.counters.record_offered()
        if not config.join_empty and queue.members.logged_in == 0:
            return self.exit(now, contact, queue, config.on_empty, "empty", out, visited)
        in_queue = len(queue.waiting) + len(queue.ringing)
        if config.max_length is not None and in_queue >= config.max_length:
            return self.exit(now, contact, queue, config.on_full, "full", out, visited)
        insort(queue.waiting, (contact.key, contact.contact_id))
        place = position(queue, contact)
        out.append(
            ContactQueued(
                at=now,
                contact_id=contact.contact_id,
                queue=config.name,
                priority=contact.priority,
                position=place,
                estimated_wait=self.estimated_wait(queue, place),
            )
        )
        self.arm_contact_timers(now, contact, queue)
        return True

    def requeue(self, contact: ContactRecord) -> QueueRecord:
        """Nobody rings for the contact any more: back to its place in line."""
        queue = self.queues[contact.queue]
        queue.ringing.pop(contact.contact_id, None)
        contact.state = ContactState.WAITING
        insort(queue.waiting, (contact.key, contact.contact_id))
        return queue

    def leave(self, contact: ContactRecord) -> None:
        """Take the contact out of its queue (line or ringing) and void its timers."""
        queue = self.queues[contact.queue]
        if contact.state is ContactState.WAITING:
            remove_waiting(queue, contact)
        queue.ringing.pop(contact.contact_id, None)
        contact.ringing.clear()
        contact.token += 1

    def exit(
        self,
        now: float,
        contact: ContactRecord,
        queue: QueueRecord,
        action: ExitAction,
        reason: str,
        out: list[Event],
        visited: set[str],
    ) -> bool:
        """Apply ``action`` to a contact leaving ``queue`` by a rule. True if it overflowed
        into a queue where it now waits (route it there); a callback offer leaves it in line.
        """
        if (
            action.kind is ExitKind.CALLBACK_OFFER
            and contact.contact_id in self.contacts
            and (contact.state is ContactState.WAITING and is_waiting_in(queue, contact))
        ):
            if not contact.callback_offered and not contact.callback:
                contact.callback_offered = True
                place = position(queue, contact)
                out.append(
                    CallbackOffered(
                        at=now,
                        contact_id=contact.contact_id,
                        queue=queue.config.name,
                        position=place,
                        estimated_wait=self.estimated_wait(queue, place),
                    )
                )
            return False
        waited = now - contact.joined_at
        self.leave(contact)
        queue.counters.record_exited()
        kind = ExitKind.BUSY if action.kind is ExitKind.CALLBACK_OFFER else action.kind
        target_queue = self.queues.get(action.target) if kind is ExitKind.OVERFLOW else None
        if kind is ExitKind.OVERFLOW and (target_queue is None or action.target in visited):
            kind = ExitKind.BUSY  # a missing or looping overflow target: refuse, never lose
        out.append(
            ContactExited(
                at=now,
                contact_id=contact.contact_id,
                queue=queue.config.name,
                kind=kind,
                target=action.target if kind is action.kind else "",
                reason=reason,
                waited=waited,
            )
        )
        if kind is ExitKind.OVERFLOW and target_queue is not None:
            return self.join(now, contact, target_queue, out, visited)
        del self.contacts[contact.contact_id]
        return False

    # ------------------------------------------------------------------ time

    def arm_contact_timers(self, now: float, contact: ContactRecord, queue: QueueRecord) -> None:
        """Max wait and tier widening count from joining; announcements from ``now``."""
        config = queue.config
        cid, token, joined = contact.contact_id, contact.token, contact.joined_at
        arm = self._timers.arm
        if config.max_wait is not None:
            arm(max(now, joined + config.max_wait), TimerKind.MAX_WAIT, cid, token)
        if config.announce_every is not None:
            arm(now + config.announce_every, TimerKind.ANNOUNCE, cid, token)
        for start in queue.tier_starts[1:]:
            if joined + start > now:
                arm(joined + start, TimerKind.TIER, cid, token)

    def announce(self, now: float, contact: ContactRecord, out: list[Event]) -> None:
        """The announcement timer: tell a waiting caller their position and wait, and keep
        announcing until the contact is connected."""
        queue = self.queues[contact.queue]
        every = queue.config.announce_every
        if every is None:
            return
        if contact.state is ContactState.WAITING and not contact.callback:
            place = position(queue, contact)
            out.append(
                PositionAnnounced(
                    at=now,
                    contact_id=contact.contact_id,
                    queue=contact.queue,
                    position=place,
                    estimated_wait=self.estimated_wait(queue, place),
                )
            )
        if contact.state is not ContactState.CONNECTED:
            self._timers.arm(now + every, TimerKind.ANNOUNCE, contact.contact_id, contact.token)

    @staticmethod
    def estimated_wait(queue: QueueRecord, place: int) -> float:
        """EWT for the ``place``-th in line: that many recent handle times shared among
        the staffed members (at least one, so a queue with nobody staffed still gets a
        finite, if optimistic, figure)."""
        aht = queue.counters.recent_average_handle_time()
        if aht is None:
            aht = queue.config.expected_handle_seconds
        return place * aht / max(1, queue.members.staffed)
