"""Trunk groups: trunks in the order calls try them, and which answers fail over
(``/trunk-groups``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from hotline.api.schemas.base import Body, Id, Name, ReadModel

SipStatusRule = Annotated[str, StringConstraints(pattern=r"^[3-6]([0-9]{2}|xx)$")]


class TrunkGroupCreate(Body):
    name: Name
    strategy: Literal["priority", "weighted_round_robin", "least_used"] = "priority"
    trunk_ids: list[Id] = Field(min_length=1, max_length=100, description="in priority order")
    failover_on: list[SipStatusRule] = Field(
        default_factory=lambda: ["408", "5xx", "604", "606"],
        max_length=50,
        description="SIP answers that move the attempt to the next trunk ('503' or '5xx')",
    )

    @field_validator("trunk_ids")
    @classmethod
    def _unique_trunks(cls, trunk_ids: list[int]) -> list[int]:
        if len(set(trunk_ids)) != len(trunk_ids):
            raise ValueError("each trunk at most once")
        return trunk_ids


class TrunkGroupRead(ReadModel):
    id: int
    name: str
    strategy: str
    trunk_ids: list[int]
    failover_on: list[str]
