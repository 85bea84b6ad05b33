"""Outbound campaigns: CRUD by name, start/pause/stop, contact list import (multipart),
contacts and attempts (paged by id), statistics, and do-not-call lists (global and per
campaign). Mounted only when the dialer module is on (``settings.modules.dialer``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile, status
from pydantic import BaseModel, ValidationError

from hotline.api.deps import Limit, Offset, PrincipalDep, SessionDep
from hotline.api.schemas.base import MAX_INT
from hotline.api.schemas.campaigns import (
    AttemptPage,
    AttemptRead,
    CampaignCreate,
    CampaignName,
    CampaignRead,
    CampaignStats,
    CampaignUpdate,
    ContactImportRead,
    ContactMapping,
    ContactPage,
    ContactRead,
    ContactStatus,
    DoNotCallAdd,
    DoNotCallAdded,
    DoNotCallPage,
    DoNotCallRead,
    InvalidNumberRead,
    ListHeaderRead,
    ListProblemRead,
)
from hotline.api.services.campaigns import CampaignService, DoNotCallResult
from hotline.api.services.errors import FieldError, FieldProblem, ServiceError
from hotline.dialer.contact_lists import ColumnMapping

router = APIRouter(tags=["campaigns"])
NamePath = Annotated[CampaignName, Path(description="the campaign's name")]
After = Annotated[int | None, Query(ge=0, le=MAX_INT, description="ids above this (paging)")]
EntryId = Annotated[int, Path(ge=1, le=MAX_INT)]
#: Uploads above this are refused (413) before they are parsed: 200 000 rows of a dozen
#: short columns fit in well under it.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class PayloadTooLargeError(ServiceError):
    status_code = status.HTTP_413_CONTENT_TOO_LARGE


@router.get("/campaigns")
async def list_campaigns(
    session: SessionDep, principal: PrincipalDep, limit: Limit = 100, offset: Offset = 0
) -> list[CampaignRead]:
    campaigns = await CampaignService(session, principal).list(limit=limit, offset=offset)
    return [CampaignRead.model_validate(campaign) for campaign in campaigns]


@router.post("/campaigns", status_code=status.HTTP_201_CREATED)
async def create_campaign(
    body: CampaignCreate, session: SessionDep, principal: PrincipalDep
) -> CampaignRead:
    """A new campaign, in ``draft``: import its contacts, then start it."""
    campaign = await CampaignService(session, principal).create(body.model_dump(mode="json"))
    return CampaignRead.model_validate(campaign)


@router.get("/campaigns/{name}")
async def get_campaign(
    name: NamePath, session: SessionDep, principal: PrincipalDep
) -> CampaignRead:
    return CampaignRead.model_validate(await CampaignService(session, principal).get(name))


async def update_campaign(
    name: NamePath, body: BaseModel, session: SessionDep, principal: PrincipalDep
) -> CampaignRead:
    """Change fields of a campaign (a running one too: the runner follows)."""
    values = body.model_dump(mode="json", include=body.model_fields_set)
    campaign = await CampaignService(session, principal).update(name, values)
    return CampaignRead.model_validate(campaign)


# The PATCH body is derived from the create body at import time (every field optional);
# FastAPI reads it from the annotation, which a static type cannot name.
update_campaign.__annotations__["body"] = CampaignUpdate
router.add_api_route(
    "/campaigns/{name}",
    update_campaign,
    methods=["PATCH"],
    response_model=CampaignRead,
    operation_id="update_campaign",
    summary="Update Campaign",
)


@router.delete("/campaigns/{name}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_campaign(name: NamePath, session: SessionDep, principal: PrincipalDep) -> Response:
    """With its contacts, attempts and do-not-call list (not while it runs: 409)."""
    await CampaignService(session, principal).delete(name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/campaigns/{name}/start")
async def start_campaign(
    name: NamePath, session: SessionDep, principal: PrincipalDep
) -> CampaignRead:
    """From draft, paused, stopped or completed to running."""
    campaign = await CampaignService(session, principal).change_status(name, "start")
    return CampaignRead.model_validate(campaign)


@router.post("/campaigns/{name}/pause")
async def pause_campaign(
    name: NamePath, session: SessionDep, principal: PrincipalDep
) -> CampaignRead:
    """Running to paused: no new call is placed; calls in progress go on."""
    campaign = await CampaignService(session, principal).change_status(name, "pause")
    return CampaignRead.model_validate(campaign)


@router.post("/campaigns/{name}/stop")
async def stop_campaign(
    name: NamePath, session: SessionDep, principal: PrincipalDep
) -> CampaignRead:
    """Any status (but stopped) to stopped."""
    campaign = await CampaignService(session, principal).change_status(name, "stop")
    return CampaignRead.model_validate(campaign)


async def _read_upload(file: UploadFile) -> bytes:
    content = await file.read(MAX_UPLOAD_BYTES + 1)
    if len(content) > MAX_UPLOAD_BYTES:
        raise PayloadTooLargeError(
            f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB: split the list"
        )
    return content


def _mapping(text: str) -> ColumnMapping:
    try:
        mapping = ContactMapping.model_validate(json.loads(text))
    except json.JSONDecodeError as error:
        raise FieldError.one("mapping", f"not JSON: {error.msg}") from None
    except ValidationError as error:
        raise FieldError(
            [
                FieldProblem(("body", "mapping", *problem["loc"]), problem["msg"])
                for problem in error.errors()
            ]
        ) from None
    return ColumnMapping(
        phone=tuple(mapping.phone),
        name=mapping.name,
        time_zone=mapping.time_zone,
        external_id=mapping.external_id,
        priority=mapping.priority,
        fields=tuple(mapping.fields),
    )


@router.post("/campaigns/{name}/contacts")
async def import_campaign_contacts(
    name: NamePath,
    session: SessionDep,
    principal: PrincipalDep,
    file: Annotated[UploadFile, File(description="CSV or XLSX")],
    mapping: Annotated[
        str,
        Form(
            max_length=20_000,
            description='JSON: {"phone": ["mobile", "home"], "name": "name", '
            '"time_zone": null, "external_id": "id", "priority": null, "fields": ["plan"]}',
        ),
    ],
    dry_run: Annotated[bool, Form()] = False,
) -> ContactImportRead:
    """Import a list: new contacts are added, those sharing a number with a contact of the
    campaign merged into it; every row that could not be used is listed with its line."""
    column_mapping = _mapping(mapping)
    content = await _read_upload(file)
    outcome = await CampaignService(session, principal).import_contacts(
        name, content, file.filename or "list.csv", column_mapping, dry_run=dry_run
    )
    return ContactImportRead(
        rows=outcome.rows,
        imported=outcome.imported,
        merged=outcome.merged,
        merged_in_file=outcome.merged_in_file,
        dry_run=outcome.dry_run,
        problems=[
            ListProblemRead(line=p.line, column=p.column, message=p.message)
            for p in outcome.problems
        ],
        problems_truncated=outcome.problems_truncated,
    )


@router.post("/campaigns/{name}/contacts/header")
async def campaign_list_header(
    name: NamePath,
    session: SessionDep,
    principal: PrincipalDep,
    file: Annotated[UploadFile, File(description="CSV or XLSX")],
) -> ListHeaderRead:
    """A list's column names, for choosing the mapping of an import."""
    content = await _read_upload(file)
    columns = await CampaignService(session, principal).header(
        name, content, file.filename or "list.csv"
    )
    return ListHeaderRead(columns=list(columns))


@router.get("/campaigns/{name}/contacts")
async def list_campaign_contacts(
    name: NamePath,
    session: SessionDep,
    principal: PrincipalDep,
    status: ContactStatus | None = None,
    limit: Limit = 100,
    after: After = None,
) -> ContactPage:
    page = await CampaignService(session, principal).contacts(
        name, status=status, limit=limit, after=after
    )
    return ContactPage(
        count=page.count,
        items=[ContactRead.model_validate(item) for item in page.items],
        next=page.next,
    )


@router.get("/campaigns/{name}/attempts")
async def list_campaign_attempts(
    name: NamePath,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Limit = 100,
    after: After = None,
) -> AttemptPage:
    """Every call placed, oldest first; ``call_id`` finds its CDR (``/cdrs``)."""
    page = await CampaignService(session, principal).attempts(name, limit=limit, after=after)
    return AttemptPage(
        count=page.count,
        items=[AttemptRead.model_validate(item) for item in page.items],
        next=page.next,
    )


@router.get("/campaigns/{name}/stats")
async def campaign_stats(
    name: NamePath, session: SessionDep, principal: PrincipalDep
) -> CampaignStats:
    stats = await CampaignService(session, principal).stats(name)
    return CampaignStats(
        contacts=stats.contacts,
        attempts=stats.attempts,
        in_progress=stats.in_progress,
        abandon_rate=stats.abandon_rate,
    )


def _dnc_page(page: Any) -> DoNotCallPage:
    return DoNotCallPage(
        count=page.count,
        items=[DoNotCallRead.model_validate(item) for item in page.items],
        next=page.next,
    )


def _dnc_added(result: DoNotCallResult) -> DoNotCallAdded:
    return DoNotCallAdded(
        added=[DoNotCallRead.model_validate(entry) for entry in result.added],
        already_listed=list(result.already_listed),
        invalid=[InvalidNumberRead(number=raw, message=why) for raw, why in result.invalid],
    )


def _numbers(body: DoNotCallAdd) -> list[str]:
    return ([body.number] if body.number is not None else []) + list(body.numbers)


@router.get("/do-not-call", tags=["do-not-call"])
async def list_do_not_call(
    session: SessionDep, principal: PrincipalDep, limit: Limit = 100, after: After = None
) -> DoNotCallPage:
    """The global list: numbers no campaign dials."""
    page = await CampaignService(session, principal).do_not_call(None, limit=limit, after=after)
    return _dnc_page(page)


@router.post("/do-not-call", tags=["do-not-call"])
async def add_do_not_call(
    body: DoNotCallAdd, session: SessionDep, principal: PrincipalDep
) -> DoNotCallAdded:
    """Add numbers to the global list; those that are not numbers are listed, not stored."""
    result = await CampaignService(session, principal).add_do_not_call(
        None, _numbers(body), reason=body.reason, default_region=body.default_region
    )
    return _dnc_added(result)


@router.delete(
    "/do-not-call/{entry_id}",
    tags=["do-not-call"],
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def delete_do_not_call(
    entry_id: EntryId, session: SessionDep, principal: PrincipalDep
) -> Response:
    """Take an entry off its list (global entries: admins only)."""
    await CampaignService(session, principal).delete_do_not_call(entry_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/campaigns/{name}/do-not-call", tags=["do-not-call"])
async def list_campaign_do_not_call(
    name: NamePath,
    session: SessionDep,
    principal: PrincipalDep,
    limit: Limit = 100,
    after: After = None,
) -> DoNotCallPage:
    page = await CampaignService(session, principal).do_not_call(name, limit=limit, after=after)
    return _dnc_page(page)


@router.post("/campaigns/{name}/do-not-call", tags=["do-not-call"])
async def add_campaign_do_not_call(
    name: NamePath, body: DoNotCallAdd, session: SessionDep, principal: PrincipalDep
) -> DoNotCallAdded:
    """Add numbers to the campaign's own list (read with the campaign's default region)."""
    result = await CampaignService(session, principal).add_do_not_call(
        name, _numbers(body), reason=body.reason, default_region=body.default_region
    )
    return _dnc_added(result)
