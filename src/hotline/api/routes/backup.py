"""Configuration backup: export as YAML, import YAML with a dry-run diff."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from hotline.api.deps import PrincipalDep, SessionDep
from hotline.api.services.backup import BackupService
from hotline.api.services.backup_document import ImportResult, parse_document

router = APIRouter(prefix="/config", tags=["config"])
MAX_DOCUMENT_BYTES = 1_000_000


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"content": {"application/yaml": {}}, "description": "the configuration"}},
)
async def export_config(session: SessionDep, principal: PrincipalDep) -> Response:
    """The whole configuration as YAML (names, not ids). Audited."""
    text = await BackupService(session, principal).export()
    return Response(
        text,
        media_type="application/yaml",
        headers={"Content-Disposition": 'attachment; filename="hotline-config.yaml"'},
    )


@router.post(
    "/import",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/yaml": {"schema": {"type": "string"}}},
        }
    },
)
async def import_config(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    dry_run: Annotated[bool, Query(description="report the diff, change nothing")] = True,
) -> ImportResult:
    """Create and update from a YAML export; never deletes. ``dry_run`` defaults to true."""
    body = await request.body()
    if len(body) > MAX_DOCUMENT_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "document larger than 1 MB")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "document is not UTF-8"
        ) from None
    service = BackupService(session, principal)
    service.require_permission()  # before parsing: an unauthorised caller learns nothing
    return await service.import_(parse_document(text), dry_run=dry_run)
