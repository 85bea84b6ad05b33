"""Skills with levels: what an agent can do, what a queue requires, what a contact needs.

Levels run 1 (barely) to 10 (expert). A queue requires some skills at a minimum level; the
IVR or CRM may add needs to one contact (language, VIP handling). Tiers may relax the minimum
levels as a contact waits, so eligibility takes the relaxation as a parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from hotline.acd.errors import AcdError

MIN_LEVEL = 1
MAX_LEVEL = 10


def check_level(skill: str, level: int) -> int:
    if not MIN_LEVEL <= level <= MAX_LEVEL:
        raise AcdError(f"skill {skill!r}: level {level} is outside {MIN_LEVEL}..{MAX_LEVEL}")
    return level


@dataclass(frozen=True, slots=True)
class SkillRequirement:
    """A skill needed at ``min_level`` or better."""

    skill: str
    min_level: int = MIN_LEVEL

    def __post_init__(self) -> None:
        check_level(self.skill, self.min_level)


def merge_requirements(
    *groups: Iterable[SkillRequirement],
) -> tuple[SkillRequirement, ...]:
    """One requirement per skill, the strictest level wins (a queue's and a contact's needs)."""
    strictest: dict[str, int] = {}
    for group in groups:
        for need in group:
            strictest[need.skill] = max(strictest.get(need.skill, MIN_LEVEL), need.min_level)
    return tuple(SkillRequirement(skill, level) for skill, level in strictest.items())


def meets(
    levels: Mapping[str, int], requirements: Iterable[SkillRequirement], relaxation: int = 0
) -> bool:
    """Whether an agent with ``levels`` satisfies every requirement, each lowered by
    ``relaxation`` (never below level 1: a missing skill is never acceptable)."""
    for need in requirements:
        if levels.get(need.skill, 0) < max(MIN_LEVEL, need.min_level - relaxation):
            return False
    return True


def proficiency(levels: Mapping[str, int], requirements: Iterable[SkillRequirement]) -> int:
    """Combined proficiency on the skills that matter for this contact."""
    return sum(levels.get(need.skill, 0) for need in requirements)
