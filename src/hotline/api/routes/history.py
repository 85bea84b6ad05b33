"""CDRs (list, CSV export) and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse

from hotline.api.deps import Limit, Offset, PrincipalDep, SessionDep
from hotline.api.schemas.base import MAX_INT
from hotline.api.schemas.history import AuditRead, CdrRead
from hotline.api.schemas.webhooks import WebhookDeliveryRead
from hotline.api.services.audit import AuditService
from hotline.api.services.cdrs import CdrFilter, CdrService
from hotline.api.services.webhooks import WebhookLogService

router = APIRouter()
QueryId = Annotated[int | None, Query(ge=1, le=MAX_INT)]
QueryText = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f]*$")]


def _utc(value: datetime | None) -> datetime | None:
    # A time without an offset is taken as UTC, the zone every stored time is in.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def cdr_filter(
    since: Annotated[datetime | None, Query(description="started at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="started before (ISO 8601)")] = None,
    queue_id: QueryId = None,
    agent_id: QueryId = None,
    caller: QueryText = None,
    disposition: QueryText = None,
) -> CdrFilter:
    return CdrFilter(_utc(since), _utc(until), queue_id, agent_id, caller, disposition)


CdrFilterDep = Annotated[CdrFilter, Depends(cdr_filter)]


@router.get("/cdrs", tags=["cdrs"])
async def list_cdrs(
    where: CdrFilterDep,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[CdrRead]:
    rows = await CdrService(session, principal).list(where, limit=limit, offset=offset)
    return [CdrRead.model_validate(row) for row in rows]


@router.get(
    "/cdrs/export.csv",
    tags=["cdrs"],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV, one call per row"}},
)
async def export_cdrs(
    where: CdrFilterDep, session: SessionDep, principal: PrincipalDep
) -> StreamingResponse:
    """Export as CSV (UTF-8, header row). Audited before any data is sent."""
    lines = await CdrService(session, principal).export_csv(where)
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="cdrs.csv"'},
    )


webhooks_router = APIRouter(tags=["webhooks"])


@webhooks_router.get("/webhooks/{webhook_id}/deliveries")
async def list_webhook_deliveries(
    webhook_id: Annotated[int, Path(ge=1, le=MAX_INT)],
    session: SessionDep,
    principal: PrincipalDep,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[WebhookDeliveryRead]:
    """The delivery log of one webhook: one row per attempt, oldest first."""
    service = WebhookLogService(session, principal)
    rows = await service.deliveries(webhook_id, limit=limit, offset=offset)
    return [WebhookDeliveryRead.model_validate(row) for row in rows]


@router.get("/audit-log", tags=["audit"])
async def list_audit_log(
    session: SessionDep,
    principal: PrincipalDep,
    resource: QueryText = None,
    actor: QueryText = None,
    since: datetime | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[AuditRead]:
    entries = await AuditService(session, principal).list(
        resource=resource, actor=actor, since=_utc(since), limit=limit, offset=offset
    )
    return [AuditRead.model_validate(entry) for entry in entries]
