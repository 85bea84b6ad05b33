"""Configuration of queues and agents, as frozen values the ACD is handed.

The store layer owns persistence; the ACD only sees these values, so that a configuration
change is an explicit call (``Acd.configure_queue``) and the core stays reproducible.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from hotline.acd.errors import AcdError
from hotline.acd.skills import SkillRequirement, check_level

#: Reason codes the ACD itself uses when it puts an agent on break.
NO_ANSWER_BREAK = "no_answer"
ON_DEMAND_BREAK = "on_demand"
#: "outbound call": the agent places a click-to-call (the contact centre sets and clears it).
DEFAULT_BREAK_REASONS = frozenset({"lunch", "training", "meeting", "personal", "outbound call"})

#: Member priority given to pooled agents (not members of the queue): after every member.
POOLED_PRIORITY = 1_000_000


class ExitKind(enum.Enum):
    """Where a contact goes when it leaves a queue without reaching an agent."""

    OVERFLOW = "overflow"  # into another queue (``ExitAction.target``)
    VOICEMAIL = "voicemail"  # to a voicemail box (``ExitAction.target``)
    CALLBACK_OFFER = "callback_offer"  # ask the caller whether to be called back
    BUSY = "busy"  # refuse: the caller hears busy
    HANG_UP = "hang_up"


@dataclass(frozen=True, slots=True)
class ExitAction:
    kind: ExitKind
    target: str = ""

    def __post_init__(self) -> None:
        needs_target = self.kind in (ExitKind.OVERFLOW, ExitKind.VOICEMAIL)
        if needs_target and not self.target:
            raise AcdError(f"exit {self.kind.value!r} needs a target")


BUSY = ExitAction(ExitKind.BUSY)


@dataclass(frozen=True, slots=True)
class Tier:
    """From ``after_seconds`` of waiting on, who may take the contact.

    Tiers widen the net for contacts that wait: members with a worse (higher) member
    priority, lower skill levels, then agents pooled from other departments.
    """

    after_seconds: float
    max_member_priority: int = 0
    relax_levels: int = 0
    include_pooled: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueConfig:
    name: str
    strategy: str = "longest-idle"
    department: str = ""
    required_skills: tuple[SkillRequirement, ...] = ()
    #: Tier 0 applies from the start; later tiers from their ``after_seconds``. Without tiers
    #: every member may take contacts and no level is relaxed.
    tiers: tuple[Tier, ...] = ()
    #: Departments whose agents may be drawn on (in a tier with ``include_pooled``), e.g. to
    #: share seats across departments in slack season.
    pooled_departments: frozenset[str] = frozenset()
    ring_timeout: float = 15.0
    wrap_up_seconds: float = 0.0
    max_wait: float | None = None
    on_max_wait: ExitAction = BUSY
    max_length: int | None = None
    on_full: ExitAction = BUSY
    #: Whether a contact may join while no member is logged in.
    join_empty: bool = True
    on_empty: ExitAction = BUSY
    #: Whether waiting contacts leave (``on_empty``) when the last member logs out.
    leave_when_empty: bool = False
    announce_every: float | None = None
    #: Handle time assumed for the estimated wait until the queue has history.
    expected_handle_seconds: float = 180.0
    service_level_seconds: float = 20.0

    def __post_init__(self) -> None:
        if not self.name:
            raise AcdError("a queue needs a name")
        if self.ring_timeout <= 0:
            raise AcdError(f"queue {self.name!r}: ring_timeout must be positive")
        if self.wrap_up_seconds < 0:
            raise AcdError(f"queue {self.name!r}: wrap_up_seconds must not be negative")
        if self.max_length is not None and self.max_length < 0:
            raise AcdError(f"queue {self.name!r}: max_length must not be negative")
        if self.announce_every is not None and self.announce_every <= 0:
            raise AcdError(f"queue {self.name!r}: announce_every must be positive")
        afters = [tier.after_seconds for tier in self.tiers]
        if afters != sorted(afters) or (afters and afters[0] != 0):
            raise AcdError(f"queue {self.name!r}: tiers must start at 0 s and be in order")
        if self.on_max_wait.target == self.name or self.on_full.target == self.name:
            raise AcdError(f"queue {self.name!r} cannot overflow into itself")

    @property
    def effective_tiers(self) -> tuple[Tier, ...]:
        return self.tiers or (Tier(0.0, max_member_priority=POOLED_PRIORITY - 1),)


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentProfile:
    agent_id: str
    department: str = ""
    skills: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    #: Queue name -> member priority (0 is served first, like a tier level in FreeSWITCH).
    queues: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    #: On-demand agents are offered a contact only after saying they are ready, each time.
    on_demand: bool = False
    #: Consecutive unanswered offers that put the agent on break (0 = never).
    max_no_answer: int = 3
    reject_delay: float = 10.0
    no_answer_delay: float = 10.0

    def __post_init__(self) -> None:
        if not self.agent_id:
            raise AcdError("an agent needs an id")
        for skill, level in self.skills.items():
            check_level(skill, level)
        for queue, priority in self.queues.items():
            if priority < 0 or priority >= POOLED_PRIORITY:
                raise AcdError(f"agent {self.agent_id!r}: bad priority {priority} in {queue!r}")
        # Frozen copies: a caller mutating its dict must not change the ACD behind its back.
        object.__setattr__(self, "skills", MappingProxyType(dict(self.skills)))
        object.__setattr__(self, "queues", MappingProxyType(dict(self.queues)))
