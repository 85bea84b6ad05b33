"""Queues and how they run: routing strategy, required skills, tiers, limits (``/queues``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator

from hotline.api.schemas.base import Body, Id, Name, ReadModel


class Strategy(StrEnum):
    """The ACD's routing strategies (``hotline.acd.strategies``, docs/acd.md)."""

    LONGEST_IDLE = "longest-idle"
    ROUND_ROBIN = "round-robin"
    FEWEST_CALLS = "fewest-calls"
    LEAST_TALK_TIME = "least-talk-time"
    RING_ALL = "ring-all"
    LINEAR = "linear"
    RANDOM = "random"
    WEIGHTED_RANDOM = "weighted-random"
    SKILLS_BEST_MATCH = "skills-best-match"


class SkillNeed(Body):
    skill: Name
    level: int = Field(default=1, ge=1, le=10, description="the lowest level that will do")


def _skill_need(value: object) -> object:
    # A bare skill name (the API's first form) means level 1.
    return {"skill": value} if isinstance(value, str) else value


class QueueTier(Body):
    """From ``after_seconds`` of waiting on, who else may take the call (docs/acd.md)."""

    after_seconds: int = Field(ge=0, le=86400)
    max_member_priority: int = Field(default=0, ge=0, le=1000)
    relax_levels: int = Field(default=0, ge=0, le=10)
    include_pooled: bool = False


class QueueSettings(Body):
    """How a queue runs (``hotline.acd.QueueConfig``), without its references to other rows."""

    strategy: Strategy = Strategy.LONGEST_IDLE
    service_level_seconds: int = Field(default=20, ge=1, le=3600)
    max_wait_seconds: int | None = Field(
        default=600, ge=1, le=86400, description="null: callers wait as long as they like"
    )
    required_skills: list[Annotated[SkillNeed, BeforeValidator(_skill_need)]] = Field(
        default_factory=list, max_length=50
    )
    ring_timeout_seconds: int = Field(default=15, ge=1, le=600)
    wrap_up_seconds: int = Field(default=0, ge=0, le=3600)
    announce_every_seconds: int | None = Field(
        default=None, ge=10, le=3600, description="position announcements; null: none"
    )
    max_length: int | None = Field(default=None, ge=0, le=100000)
    on_max_wait: Literal["busy", "hang_up", "overflow"] = "busy"
    tiers: list[QueueTier] = Field(default_factory=list, max_length=20)
    recording: Literal["always", "on_demand", "never"] = "always"
    survey_flow: Name | None = Field(
        default=None, description="IVR flow that scores the call after the agent hangs up"
    )
    qa_language: Literal["zh", "en"] | None = Field(
        default=None,
        description="the language its recorded calls are transcribed in; "
        "null: the QA module's setting (qa.language)",
    )

    @model_validator(mode="after")
    def _consistent_settings(self) -> QueueSettings:
        # Fields may be None in a PATCH body (derived from this one): absent, not empty.
        afters = [tier.after_seconds for tier in self.tiers or []]
        if afters and (afters[0] != 0 or afters != sorted(afters)):
            raise ValueError("tiers start at 0 s and are in order of after_seconds")
        needs = [need.skill for need in self.required_skills or []]
        if len(set(needs)) != len(needs):
            raise ValueError("each required skill at most once")
        return self


class QueueCreate(QueueSettings):
    name: Name
    department_id: Id
    overflow_queue_id: Id | None = Field(
        default=None, description="where callers go after max wait (on_max_wait overflow)"
    )
    pooled_department_ids: list[Id] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _overflow_target(self) -> QueueCreate:
        if self.on_max_wait == "overflow" and self.overflow_queue_id is None:
            raise ValueError("on_max_wait overflow needs overflow_queue_id")
        return self


class QueueRead(ReadModel):
    id: int
    name: str
    department_id: int
    strategy: Strategy
    service_level_seconds: int
    max_wait_seconds: int | None
    required_skills: list[SkillNeed]
    ring_timeout_seconds: int
    wrap_up_seconds: int
    announce_every_seconds: int | None
    max_length: int | None
    on_max_wait: str
    overflow_queue_id: int | None
    tiers: list[QueueTier]
    pooled_department_ids: list[int]
    recording: str
    survey_flow: str | None
    qa_language: str | None
