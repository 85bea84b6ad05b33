"""Outgoing webhooks (``/webhooks``) and their delivery log (``/webhooks/{id}/deliveries``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AnyHttpUrl, Field, StringConstraints, UrlConstraints

from hotline.api.schemas.base import Body, Name, ReadModel, Text128


class WebhookCreate(Body):
    name: Name
    url: Annotated[AnyHttpUrl, UrlConstraints(max_length=2000)]
    secret: Annotated[str, StringConstraints(min_length=16, max_length=200)] = Field(
        description="signs every body (HMAC-SHA256); write-only"
    )
    event_types: list[Text128] = Field(
        min_length=1, max_length=100, description='event type names, or "*" for all'
    )
    active: bool = True


class WebhookRead(ReadModel):
    id: int
    name: str
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime


class WebhookDeliveryRead(ReadModel):
    id: int
    delivery_id: str
    event_type: str
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    succeeded: bool
