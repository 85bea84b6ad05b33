"""Inbound routes: which number goes to which queue, IVR flow or agent, open or closed
(``/inbound-routes``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from hotline.api.schemas.base import Body, Id, ReadModel


class InboundRouteCreate(Body):
    did: Annotated[str, StringConstraints(pattern=r"^\+?[0-9*#]{1,64}$")]
    trunk_id: Id | None = None
    target_type: Literal["queue", "ivr_flow", "agent"]
    target_id: Id
    business_hours_id: Id | None = None
    closed_target_type: Literal["queue", "ivr_flow", "agent", "hangup"] | None = Field(
        default=None, description="where calls go outside business hours"
    )
    closed_target_id: Id | None = None
    department_id: Id | None = Field(
        default=None, description="owner of the route's calls (IVR pilots, reports)"
    )

    @model_validator(mode="after")
    def _closed_target(self) -> InboundRouteCreate:
        needs_id = self.closed_target_type not in (None, "hangup")
        if needs_id != (self.closed_target_id is not None):
            raise ValueError("closed_target_id goes with a closed_target_type other than hangup")
        return self


class InboundRouteRead(ReadModel):
    id: int
    did: str
    trunk_id: int | None
    target_type: str
    target_id: int
    business_hours_id: int | None
    closed_target_type: str | None
    closed_target_id: int | None
    department_id: int | None
