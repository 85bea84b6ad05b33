"""Users: people who log in, with their role and department (``/users``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints

from hotline.api.schemas.base import Body, Id, OptionalText200, ReadModel
from hotline.store.models import Role


class UserCreate(Body):
    username: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")]
    display_name: OptionalText200 = ""
    password: Annotated[str, StringConstraints(min_length=8, max_length=256)]
    role: Role
    # Supervisors and agents need a department: checked against the row's whole state
    # by the service (services/integrity.py), so that a PATCH of the role alone works.
    department_id: Id | None = None
    active: bool = True


class UserRead(ReadModel):
    id: int
    username: str
    display_name: str
    role: Role
    department_id: int | None
    active: bool
    created_at: datetime
