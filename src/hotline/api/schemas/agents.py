"""Agents: a user's extension, skills, queue memberships and phone account (``/agents``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from hotline.api.schemas.base import Body, Id, ReadModel


class AgentSkillBody(Body):
    skill_id: Id
    level: int = Field(default=1, ge=1, le=10)


class AgentQueueBody(Body):
    queue_id: Id
    priority: int = Field(default=0, ge=0, le=1000, description="0 is offered calls first")


SipPassword = Annotated[
    str, StringConstraints(min_length=8, max_length=128, pattern=r"^[\x21-\x7e]*$")
]


class AgentCreate(Body):
    user_id: Id
    department_id: Id
    extension: Annotated[str, StringConstraints(pattern=r"^[0-9*#+]{1,32}$")]
    skills: list[AgentSkillBody] = Field(default_factory=list, max_length=100)
    queues: list[AgentQueueBody] = Field(
        default_factory=list, max_length=100, description="queues the agent takes calls from"
    )
    sip_password: SipPassword | None = Field(
        default=None,
        description="the phone's digest password (user: the extension); write-only, kept "
        "as HA1s in the node's realm. On update: absent keeps it, null removes the account",
    )

    @field_validator("skills")
    @classmethod
    def _unique_skills(cls, skills: list[AgentSkillBody]) -> list[AgentSkillBody]:
        if len({skill.skill_id for skill in skills}) != len(skills):
            raise ValueError("each skill at most once")
        return skills

    @field_validator("queues")
    @classmethod
    def _unique_queues(cls, queues: list[AgentQueueBody]) -> list[AgentQueueBody]:
        if len({queue.queue_id for queue in queues}) != len(queues):
            raise ValueError("each queue at most once")
        return queues


class AgentSkillRead(ReadModel):
    skill_id: int
    level: int


class AgentQueueRead(ReadModel):
    queue_id: int
    priority: int


class AgentRead(ReadModel):
    id: int
    user_id: int
    department_id: int
    extension: str
    skills: list[AgentSkillRead]
    queues: list[AgentQueueRead]
    has_sip_password: bool
    #: The realm the stored HA1s were computed in (a node with another realm cannot use them).
    sip_realm: str | None
