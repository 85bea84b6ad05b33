"""Login, the caller's identity and API tokens (``routes/auth.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from hotline.api.schemas.base import Body, Name, ReadModel, Text64
from hotline.store.models import Role


class LoginBody(Body):
    username: Text64
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class Me(BaseModel):
    id: int
    username: str
    role: Role
    department_id: int | None
    permissions: list[str]
    via: str


class TokenCreate(Body):
    name: Name
    scopes: list[str] = Field(min_length=1, max_length=20)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenRead(ReadModel):
    id: int
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="shown once; only its hash is stored")
