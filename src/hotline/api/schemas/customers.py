"""Customers: the CRM profile cache a screen pop shows (``/customers``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from hotline.api.schemas.base import (
    Body,
    OptionalText200,
    OptionalText1000,
    ReadModel,
    Text64,
    Text128,
    Text254,
)


class CustomerCreate(Body):
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{1,64}$")]
    name: OptionalText200 = ""
    email: Text254 | None = None
    external_id: Text128 | None = None
    data: dict[Text64, OptionalText1000] = Field(default_factory=dict, max_length=50)


class CustomerRead(ReadModel):
    id: int
    phone: str
    name: str
    email: str | None
    external_id: str | None
    data: dict[str, str]
    updated_at: datetime
