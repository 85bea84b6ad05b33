"""Business hours: weekly opening intervals and holidays in a time zone (``/business-hours``)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator

from hotline.api.schemas.base import Body, Name, ReadModel

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class OpeningInterval(Body):
    day: int = Field(ge=0, le=6, description="0 = Monday")
    start: str = Field(pattern=_HHMM.pattern, examples=["09:00"])
    end: str = Field(pattern=_HHMM.pattern, examples=["18:00"])

    @model_validator(mode="after")
    def _ordered(self) -> OpeningInterval:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class BusinessHoursCreate(Body):
    name: Name
    timezone: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_+/-]{1,64}$")] = "UTC"
    weekly: list[OpeningInterval] = Field(default_factory=list, max_length=100)
    holidays: list[date] = Field(default_factory=list, max_length=400)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class BusinessHoursRead(ReadModel):
    id: int
    name: str
    timezone: str
    weekly: list[OpeningInterval]
    holidays: list[date]
