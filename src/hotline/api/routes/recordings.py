"""Recordings' metadata and their audio, with HTTP range requests for players."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse

from hotline.api.deps import ContextDep, Limit, Offset, PrincipalDep, SessionDep
from hotline.api.schemas.base import MAX_INT
from hotline.api.schemas.recordings import RecordingRead
from hotline.api.services.recordings import RecordingService

router = APIRouter(prefix="/recordings", tags=["recordings"])
RecordingId = Annotated[int, Path(ge=1, le=MAX_INT)]


@router.get("")
async def list_recordings(
    session: SessionDep,
    principal: PrincipalDep,
    context: ContextDep,
    call_id: Annotated[str | None, Query(max_length=128, pattern=r"^[^\x00-\x1f]*$")] = None,
    kind: Annotated[
        Literal["call", "voicemail"] | None,
        Query(description="call recordings or voicemail messages"),
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[RecordingRead]:
    service = RecordingService(session, principal, context.recordings_dir)
    rows = await service.list(call_id=call_id, kind=kind, limit=limit, offset=offset)
    return [RecordingRead.model_validate(row) for row in rows]


@router.get("/{recording_id}")
async def get_recording(
    recording_id: RecordingId, session: SessionDep, principal: PrincipalDep, context: ContextDep
) -> RecordingRead:
    service = RecordingService(session, principal, context.recordings_dir)
    return RecordingRead.model_validate(await service.get(recording_id))


@router.get(
    "/{recording_id}/audio",
    response_class=FileResponse,
    responses={
        200: {"content": {"audio/wav": {}}, "description": "the whole file"},
        206: {"description": "the requested byte range"},
        416: {"description": "range not satisfiable"},
    },
)
async def play_recording(
    recording_id: RecordingId,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    context: ContextDep,
) -> FileResponse:
    """The audio; supports `Range` (players seek with it). Every request is audited."""
    service = RecordingService(session, principal, context.recordings_dir)
    recording, path = await service.open_audio(recording_id, request.headers.get("range"))
    return FileResponse(path, media_type=recording.media_type)
