"""Recordings: metadata for whoever may read them, and audited access to the audio.

Every request for audio is audited (including each range request a player makes while
seeking) and the entry is committed before a byte is sent. Files are looked up under the
node's recordings directory only: a stored path that escapes it is treated as missing.
Without ``recordings:unredacted`` the audio is the speech analysis's redacted copy when
personal data was found in it (``hotline.api.services.qa.audio_to_serve``: the same rule
as the QA console's player, so that this route is no way around it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.rbac import Permission, Principal
from hotline.api.services.audit import AuditService
from hotline.api.services.errors import NotFoundError
from hotline.api.services.qa import audio_to_serve, redacted_audio_cache
from hotline.store.models import Recording
from hotline.store.qa import QaRepository
from hotline.store.repositories import HistoryRepository


class RecordingService:
    def __init__(
        self, session: AsyncSession, principal: Principal, recordings_dir: Path | None
    ) -> None:
        self.session = session
        self.principal = principal
        self.recordings_dir = recordings_dir
        self.history = HistoryRepository(session)
        self.audit = AuditService(session, principal)

    async def list(
        self, *, call_id: str | None, limit: int, offset: int, kind: str | None = None
    ) -> Sequence[Recording]:
        self.principal.require(Permission.RECORDINGS_READ)
        return await self.history.recordings(
            department_ids=self.principal.departments,
            call_id=call_id,
            kind=kind,
            limit=limit,
            offset=offset,
        )

    async def get(self, recording_id: int) -> Recording:
        self.principal.require(Permission.RECORDINGS_READ)
        found = await self.history.recordings(
            department_ids=self.principal.departments, recording_id=recording_id, limit=1
        )
        if not found:
            raise NotFoundError(f"recording {recording_id} not found")
        return found[0]

    async def open_audio(self, recording_id: int, byte_range: str | None) -> tuple[Recording, Path]:
        recording = await self.get(recording_id)
        source = self._file(recording)
        key = Path(recording.path).stem  # the speech analysis's id of the recording
        qa = QaRepository(self.session)
        path = await audio_to_serve(
            self.principal,
            key,
            source,
            await qa.job(key),
            await qa.result(key),
            redacted_audio_cache(self.recordings_dir),
        )
        await self.audit.record(
            "play",
            "recordings",
            recording.id,
            detail={"call_id": recording.call_id, "range": byte_range, "redacted": path != source},
            department_id=recording.department_id,
        )
        await self.session.commit()
        return recording, path

    def _file(self, recording: Recording) -> Path:
        if self.recordings_dir is None:
            raise NotFoundError("this node keeps no recordings")
        root = self.recordings_dir.resolve()
        path = (root / recording.path).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise NotFoundError(f"recording {recording.id} has no audio file on this node")
        return path
