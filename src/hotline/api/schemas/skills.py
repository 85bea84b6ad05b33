"""Skills agents have and queues require (``/skills``)."""

from __future__ import annotations

from hotline.api.schemas.base import Body, Name, ReadModel


class SkillCreate(Body):
    name: Name


class SkillRead(ReadModel):
    id: int
    name: str
