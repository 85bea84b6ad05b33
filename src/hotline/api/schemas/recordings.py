"""Recordings' metadata (``routes/recordings.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from hotline.api.schemas.base import ReadModel


class RecordingRead(ReadModel):
    id: int
    call_id: str
    department_id: int | None
    media_type: str
    started_at: datetime
    duration_seconds: float
    size_bytes: int
    sha256: str | None
    kind: Literal["call", "voicemail"] = "call"
    mailbox: str | None = None
