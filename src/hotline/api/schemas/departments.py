"""Departments: the unit of scope of supervisors, agents, queues and reports (``/departments``)."""

from __future__ import annotations

from datetime import datetime

from hotline.api.schemas.base import Body, Name, ReadModel


class DepartmentCreate(Body):
    name: Name


class DepartmentRead(ReadModel):
    id: int
    name: str
    created_at: datetime
