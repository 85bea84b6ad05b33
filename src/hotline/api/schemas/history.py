"""Call history and the audit log as the API answers them (``routes/history.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hotline.api.schemas.base import ReadModel


class CdrRead(ReadModel):
    id: int
    call_id: str
    direction: str
    caller: str
    callee: str
    department_id: int | None
    queue_id: int | None
    agent_id: int | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    wait_seconds: float
    talk_seconds: float
    hold_seconds: float
    disposition: str
    wrapup_code: str | None
    notes: str | None
    details: dict[str, Any] | None = None


class AuditRead(ReadModel):
    id: int
    at: datetime
    actor_id: int | None
    actor: str
    action: str
    resource: str
    resource_id: str | None
    department_id: int | None
    detail: dict[str, Any]
    client: str | None
