"""Carrier trunks: where calls go out and come in, with their digest credentials (``/trunks``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from hotline.api.schemas.base import Body, Name, ReadModel


class TrunkCreate(Body):
    name: Name
    host: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.:\[\]-]{1,255}$")]
    port: int = Field(default=5060, ge=1, le=65535)
    transport: Literal["udp", "tcp", "tls"] = "udp"
    username: Name | None = None
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="digest password towards the carrier; write-only"
    )
    max_channels: int = Field(default=30, ge=1, le=100000)
    enabled: bool = True
    priority: int = Field(default=0, ge=0, le=1000, description="lower is tried first")
    weight: int = Field(default=1, ge=1, le=1000, description="share in weighted round-robin")
    dial_format: Literal["e164", "national", "international"] = "national"
    caller_id: Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{1,32}$")] | None = Field(
        default=None, description="fixed presented number; none: the call's own"
    )


class TrunkRead(ReadModel):
    id: int
    name: str
    host: str
    port: int
    transport: str
    username: str | None
    has_password: bool
    max_channels: int
    enabled: bool
    priority: int
    weight: int
    dial_format: str
    caller_id: str | None
