"""The admin console's outbound campaigns (``/admin/campaigns``) and the global do-not-call
list (``/admin/do-not-call``).

A campaign is the REST API's ``/api/v1/campaigns/{name}``, so its pages are addressed by
name: the list (status, mode, contacts per status, abandon rate against the target), the
settings form, start / pause / stop, the contact list import (upload, choose what each
column holds, a dry run that lists problems by line, the import), the contacts and
attempts (paged by id, as the API), the campaign's own do-not-call list and the lendings
of a department's agents to the campaign for a period.

Everything goes through the API's ``CampaignService`` and schemas: the same permissions
(``campaigns:read`` to look, ``campaigns:write`` to change; a supervisor has their
departments' campaigns), the same checks and audit entries. A role that may only read
(the auditor) sees the pages without their buttons. With the dialer module off
(``ApiContext.dialer``) ``mount_web`` leaves this router out, as the API leaves out its
routes, and the menu leaves out its entries.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from hotline.api.rbac import Permission
from hotline.api.routes.campaigns import MAX_UPLOAD_BYTES
from hotline.api.schemas.base import MAX_INT
from hotline.api.schemas.campaigns import (
    CampaignCreate,
    CampaignName,
    CampaignRead,
    CampaignUpdate,
    ContactMapping,
    DoNotCallAdd,
    LendingCreate,
)
from hotline.api.services.campaigns import CampaignService, ImportOutcome
from hotline.api.services.errors import NotFoundError, ServiceError
from hotline.dialer.contact_lists import ColumnMapping
from hotline.dialer.retry_rules import RETRIED_OUTCOMES, RetryRules
from hotline.store.campaigns import CONTACT_STATUSES
from hotline.web.admin_forms import (
    Choice,
    FormError,
    FormState,
    Input,
    Problem,
    form_values,
    hours_by_day,
    problems_from,
    raw_values,
    values_from,
)
from hotline.web.pages import ADMIN_PREFIX, Page, local_path
from hotline.web.routes.admin import can_manage, menu_for, not_found
from hotline.web.routes.admin_choices import CHOICES

router = APIRouter(prefix=ADMIN_PREFIX, include_in_schema=False)
BASE = ADMIN_PREFIX + "/campaigns"
PAGE_SIZE = 50
#: Campaign names as the API takes them (the URL is the name).
NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}"
After = Annotated[int | None, Query(ge=0, le=MAX_INT)]
MODES = ("preview", "progressive", "predictive", "robot")
STATUSES = ("draft", "running", "paused", "stopped", "completed")
#: What a status change is called in the catalog, and from which statuses it is offered
#: (the API's ``TRANSITIONS``; the API refuses the others with 409 anyway).
ACTIONS = {
    "start": ("draft", "paused", "stopped", "completed"),
    "pause": ("running",),
    "stop": ("draft", "running", "paused", "completed"),
}
#: What a column of an imported list may hold (``role.<n>`` of the mapping form).
ROLES = ("phone", "name", "time_zone", "external_id", "priority", "data", "ignore")
#: Column names the mapping form guesses a role from (lower case, spaces dropped).
GUESSES: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "mobile", "tel", "telephone", "number", "cell", "手机", "电话", "号码"),
    "name": ("name", "fullname", "customer", "姓名", "名字", "客户", "客户名称"),
    "time_zone": ("timezone", "tz", "zone", "时区"),
    "external_id": ("id", "externalid", "customerid", "crmid", "编号", "客户编号"),
    "priority": ("priority", "优先级"),
}
TABS = ("overview", "settings", "contacts", "attempts", "import", "do-not-call", "lendings")
#: The settings form: every field of the API's campaign body.
INPUTS: tuple[Input, ...] = (
    Input("name", required=True, hint=True),
    Input("department_id", "select", required=True, choices="departments"),
    Input("mode", "select", choices="campaign_modes", integer=False, hint=True),
    Input("queue_id", "select", blank="null", choices="queues", hint=True),
    Input("flow", "select", blank="null", choices="flow_names", integer=False, hint=True),
    Input("robot_lines", "number", hint=True),
    Input("trunk_group", "select", blank="null", choices="trunk_group_names", integer=False),
    Input("caller_id", blank="null", hint=True),
    Input("abandon_target", "decimal", hint=True),
    Input("max_ratio", "decimal", hint=True),
    Input("priority", "number", hint=True),
    Input("calling_hours", "hours", hint=True),
    Input("default_region", hint=True),
    Input("default_time_zone", hint=True),
    Input("retry_rules", "retries", hint=True),
    Input("amd_enabled", "checkbox"),
    Input("machine_action", "select", choices="machine_actions", integer=False),
    Input("machine_message", "message", blank="null", hint=True),
    Input("abandon_message", "message", blank="null", hint=True),
    Input("recording_notice", "message", blank="null", hint=True),
)
LENDING_INPUTS: tuple[Input, ...] = (
    Input("department_id", "select", required=True, choices="departments"),
    Input("starts_at", required=True),
    Input("ends_at", required=True),
    Input("member_priority", "number", hint=True),
    Input("note", blank="null"),
)


@dataclass(frozen=True)
class FormSection:
    """What the shared ``input`` macro needs of a form: the prefix of its hint keys."""

    slug: str
    inputs: tuple[Input, ...]


CAMPAIGN_FORM = FormSection("campaigns", INPUTS)
LENDING_FORM = FormSection("lendings", LENDING_INPUTS)


ReadPage = Annotated[Page, Depends(can_manage(Permission.CAMPAIGNS_READ))]
WritePage = Annotated[Page, Depends(can_manage(Permission.CAMPAIGNS_WRITE))]


def _service(page: Page) -> CampaignService:
    return CampaignService(page.session, page.user)


def _url(name: str, suffix: str = "") -> str:
    return f"{BASE}/{name}{suffix}"


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(value: datetime | None, zone: ZoneInfo) -> str:
    """A stored instant as the campaign's wall clock (``2026-05-04 17:00``)."""
    if value is None:
        return "\u2013"  # an en dash, as the templates show a missing value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _message(page: Page, problem: Problem) -> str:
    """As the other sections: the translated kind of problem, and the API's own words
    where they name a value."""
    if page.t.has(problem.key):
        translated = page.t(problem.key, **problem.params)
        if problem.key in ("admin.error.rule", "admin.error.conflict", "admin.error.value_error"):
            return f"{translated}: {problem.detail}"
        return translated
    return problem.detail


def _state_with(
    page: Page, form: FormSection, problems: Sequence[Problem], shown: dict[str, Any]
) -> FormState:
    state = FormState(values=shown)
    for problem in problems:
        text = _message(page, problem)
        owner = next(
            (spec.name for spec in form.inputs if problem.field and spec.owns(problem.field)),
            None,
        )
        if owner is None:
            state.general.append(text)
        else:
            state.errors.setdefault(owner, []).append(text)
    return state


def _refusal(page: Page, error: Exception) -> str:
    return "; ".join(_message(page, problem) for problem in problems_from(error))


async def _choices(page: Page, keys: Sequence[str]) -> dict[str, list[Choice]]:
    found: dict[str, list[Choice]] = {}
    for key in keys:
        try:
            found[key] = await CHOICES[key](page)
        except (HTTPException, ServiceError):  # a list this role may not read: none offered
            found[key] = []
    return found


def _can_write(page: Page) -> bool:
    return page.user.can(Permission.CAMPAIGNS_WRITE)


# ---- the list ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    campaign: CampaignRead
    contacts: dict[str, int]
    abandon_rate: float | None
    in_progress: int


@router.get("/campaigns", response_class=HTMLResponse)
async def campaign_list(page: ReadPage) -> HTMLResponse:
    service = _service(page)
    rows = []
    for campaign in await service.list(limit=1000, offset=0):
        stats = await service.stats(campaign.name)
        rows.append(
            Listed(
                CampaignRead.model_validate(campaign),
                stats.contacts,
                stats.abandon_rate,
                stats.in_progress,
            )
        )
    departments = {c.value: c.label for c in (await _choices(page, ["departments"]))["departments"]}
    return page.render(
        "admin/campaigns.html",
        menu=menu_for(page),
        rows=rows,
        departments=departments,
        statuses=CONTACT_STATUSES,
        actions=ACTIONS,
        can_write=_can_write(page),
        done=page.request.query_params.get("done"),
        done_name=page.request.query_params.get("name", ""),
    )


# ---- one campaign: overview and status changes --------------------------------------------


async def _campaign(page: Page, name: str) -> CampaignRead:
    return CampaignRead.model_validate(await _service(page).get(name))


def _frame(page: Page, campaign: CampaignRead, tab: str, **values: Any) -> dict[str, Any]:
    """What every tab of a campaign's page shows around its content."""
    return {
        "menu": menu_for(page),
        "campaign": campaign,
        "tab": tab,
        "tabs": TABS,
        "actions": ACTIONS,
        "can_write": _can_write(page),
        "zone": campaign.default_time_zone,
        "when": lambda value: local_time(value, _zone(campaign.default_time_zone)),
        **values,
    }


async def _overview(
    page: Page, campaign: CampaignRead, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    stats = await _service(page).stats(campaign.name)
    choices = await _choices(page, ["departments", "queues", "trunk_group_names"])
    lookups = {key: {c.value: c.label for c in found} for key, found in choices.items()}
    return page.render(
        "admin/campaign_overview.html",
        status_code,
        **_frame(
            page,
            campaign,
            "overview",
            stats=stats,
            statuses=CONTACT_STATUSES,
            lookups=lookups,
            hours=hours_by_day(campaign.calling_hours),
            error=error,
            done=page.request.query_params.get("done"),
        ),
    )


@router.get("/campaigns/new", response_class=HTMLResponse)
async def new_campaign(page: WritePage) -> HTMLResponse:
    defaults = {
        name: info.get_default(call_default_factory=True)
        for name, info in CampaignCreate.model_fields.items()
        if not info.is_required()
    }
    defaults["retry_rules"] = {}
    return await _render_form(page, FormState(values=form_values(INPUTS, defaults)), None)


@router.post("/campaigns/new")
async def create_campaign(page: WritePage) -> Response:
    return await _save(page, None)


@router.get("/campaigns/{name}", response_class=HTMLResponse)
async def campaign_page(name: CampaignName, page: ReadPage) -> HTMLResponse:
    try:
        campaign = await _campaign(page, name)
    except NotFoundError:
        return not_found(page)
    return await _overview(page, campaign)


@router.post("/campaigns/{name}/start")
async def start_campaign(name: CampaignName, page: WritePage) -> Response:
    return await _change_status(page, name, "start")


@router.post("/campaigns/{name}/pause")
async def pause_campaign(name: CampaignName, page: WritePage) -> Response:
    return await _change_status(page, name, "pause")


@router.post("/campaigns/{name}/stop")
async def stop_campaign(name: CampaignName, page: WritePage) -> Response:
    return await _change_status(page, name, "stop")


async def _change_status(page: Page, name: str, action: str) -> Response:
    try:
        await _service(page).change_status(name, action)
    except NotFoundError:
        return not_found(page)
    except ServiceError as error:  # 409: not from this status
        await page.session.rollback()
        campaign = await _campaign(page, name)
        return await _overview(page, campaign, _refusal(page, error), 409)
    form = await page.request.form()
    back = local_path(str(form.get("next") or ""), _url(name))
    separator = "&" if "?" in back else "?"
    return RedirectResponse(back + separator + urlencode({"done": action, "name": name}), 303)


# ---- the settings form ---------------------------------------------------------------------

FORM_CHOICES = (
    "departments",
    "campaign_modes",
    "queues",
    "flow_names",
    "trunk_group_names",
    "machine_actions",
)


async def _render_form(
    page: Page,
    state: FormState,
    campaign: CampaignRead | None,
    status_code: int = 200,
) -> HTMLResponse:
    values = {
        "menu": menu_for(page),
        "form": CAMPAIGN_FORM,
        "state": state,
        "choices": await _choices(page, FORM_CHOICES),
        "outcomes": RETRIED_OUTCOMES,
        "retry_defaults": RetryRules(),
        "creating": campaign is None,
        "action": _url(campaign.name, "/settings") if campaign else BASE + "/new",
    }
    if campaign is not None:
        values = {**_frame(page, campaign, "settings"), **values}
    else:
        values["can_write"] = True
    return page.render("admin/campaign_form.html", status_code, **values)


@router.get("/campaigns/{name}/settings", response_class=HTMLResponse)
async def campaign_settings(name: CampaignName, page: ReadPage) -> HTMLResponse:
    try:
        campaign = await _campaign(page, name)
    except NotFoundError:
        return not_found(page)
    shown = form_values(INPUTS, campaign.model_dump(mode="json"))
    return await _render_form(page, FormState(values=shown), campaign)


@router.post("/campaigns/{name}/settings")
async def update_campaign(name: CampaignName, page: WritePage) -> Response:
    try:
        campaign = await _campaign(page, name)
    except NotFoundError:
        return not_found(page)
    return await _save(page, campaign)


async def _save(page: Page, campaign: CampaignRead | None) -> Response:
    form = await page.request.form()
    creating = campaign is None
    try:
        values = values_from(INPUTS, form, creating=creating)
        if creating:
            body = CampaignCreate.model_validate(values)
            saved = await _service(page).create(body.model_dump(mode="json"))
        else:
            assert campaign is not None
            update = CampaignUpdate.model_validate(values)
            sent = update.model_dump(mode="json", include=update.model_fields_set)
            saved = await _service(page).update(campaign.name, sent)
    except (FormError, ValidationError, ServiceError, HTTPException) as error:
        if isinstance(error, HTTPException):
            if error.status_code != 403 or "department" not in str(error.detail):
                raise
            problems = [Problem("department_id", "admin.error.department_scope", str(error.detail))]
        else:
            problems = problems_from(error)
        await page.session.rollback()
        state = _state_with(page, CAMPAIGN_FORM, problems, raw_values(INPUTS, form))
        return await _render_form(page, state, campaign, 422)
    done = "created" if creating else "saved"
    return RedirectResponse(
        _url(saved.name) + "?" + urlencode({"done": done, "name": saved.name}), 303
    )


# ---- delete -------------------------------------------------------------------------------


@router.get("/campaigns/{name}/delete", response_class=HTMLResponse)
async def confirm_delete(name: CampaignName, page: WritePage) -> HTMLResponse:
    try:
        campaign = await _campaign(page, name)
    except NotFoundError:
        return not_found(page)
    return page.render("admin/campaign_delete.html", **_frame(page, campaign, "overview"))


@router.post("/campaigns/{name}/delete")
async def delete_campaign(name: CampaignName, page: WritePage) -> Response:
    try:
        campaign = await _campaign(page, name)
        await _service(page).delete(name)
    except NotFoundError:
        return not_found(page)
    except ServiceError as error:  # 409: it runs
        await page.session.rollback()
        return page.render(
            "admin/campaign_delete.html",
            409,
            **_frame(page, campaign, "overview", error=_refusal(page, error)),
        )
    return RedirectResponse(BASE + "?" + urlencode({"done": "deleted", "name": name}), 303)


# ---- contacts and attempts ---------------------------------------------------------------


@router.get("/campaigns/{name}/contacts", response_class=HTMLResponse)
async def contacts_page(
    name: CampaignName,
    page: ReadPage,
    after: After = None,
    status: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    try:
        campaign = await _campaign(page, name)
        chosen = status if status in CONTACT_STATUSES else None
        found = await _service(page).contacts(name, status=chosen, limit=PAGE_SIZE, after=after)
    except NotFoundError:
        return not_found(page)
    return page.render(
        "admin/campaign_contacts.html",
        **_frame(page, campaign, "contacts", found=found, status=chosen, statuses=CONTACT_STATUSES),
        after=after,
    )


@router.get("/campaigns/{name}/attempts", response_class=HTMLResponse)
async def attempts_page(name: CampaignName, page: ReadPage, after: After = None) -> HTMLResponse:
    try:
        campaign = await _campaign(page, name)
        found = await _service(page).attempts(name, limit=PAGE_SIZE, after=after)
    except NotFoundError:
        return not_found(page)
    values = _frame(page, campaign, "attempts", found=found)
    return page.render("admin/campaign_attempts.html", **values, after=after)


# ---- importing a contact list ----------------------------------------------------------------


@dataclass(frozen=True)
class MappedColumn:
    index: int
    name: str
    role: str


def guess_role(column: str) -> str:
    """What a column probably holds, from its name; "data" (kept with the contact) else."""
    key = re.sub(r"[\s_\-]+", "", column).lower()
    for role, names in GUESSES.items():
        if key in names:
            return role
    return "data"


def _mapped(form: Mapping[str, Any]) -> list[MappedColumn]:
    columns = []
    for key in form:
        match = re.fullmatch(r"column\.(\d{1,3})", key)
        if match:
            index = int(match[1])
            role = str(form.get(f"role.{index}", "data"))
            columns.append(MappedColumn(index, str(form[key]), role if role in ROLES else "data"))
    return sorted(columns, key=lambda c: c.index)


def mapping_of(columns: Sequence[MappedColumn]) -> dict[str, Any]:
    """The API's mapping body (``ContactMapping``) for the roles chosen: phones in column
    order (the first is the primary), one column for each single field."""
    mapping: dict[str, Any] = {"phone": [], "fields": []}
    for column in columns:
        if column.role == "phone":
            mapping["phone"].append(column.name)
        elif column.role == "data":
            mapping["fields"].append(column.name)
        elif column.role != "ignore":
            mapping.setdefault(column.role, column.name)
    return mapping


def _import_values(
    page: Page,
    campaign: CampaignRead,
    *,
    columns: Sequence[MappedColumn] = (),
    outcome: ImportOutcome | None = None,
    problem: str | None = None,
    filename: str = "",
) -> dict[str, Any]:
    return _frame(
        page,
        campaign,
        "import",
        columns=columns,
        roles=ROLES,
        outcome=outcome,
        problem=problem,
        filename=filename,
    )


@router.get("/campaigns/{name}/import", response_class=HTMLResponse)
async def import_page(name: CampaignName, page: WritePage) -> HTMLResponse:
    try:
        campaign = await _campaign(page, name)
    except NotFoundError:
        return not_found(page)
    return page.render("admin/campaign_import.html", **_import_values(page, campaign))


@router.post("/campaigns/{name}/import", response_class=HTMLResponse)
async def import_step(name: CampaignName, page: WritePage) -> HTMLResponse:
    """One step of the import, by the button pressed (``step``): ``header`` reads the
    file's columns and offers a role for each, ``dry_run`` and ``import`` send the list and
    the mapping to the API's import. The browser keeps the chosen file in the form between
    steps (htmx posts the whole form each time), so the node keeps nothing between them."""
    try:
        campaign = await _campaign(page, name)
    except NotFoundError:
        return not_found(page)
    form = await page.request.form()
    step = str(form.get("step") or "header")
    upload = form.get("file")
    template = "admin/fragments/campaign_import_step.html"
    if not page.request.headers.get("hx-request"):
        template = "admin/campaign_import.html"  # no JavaScript: the whole page
    columns = _mapped(form)
    if not isinstance(upload, UploadFile) or not upload.filename:
        problem = page.t("campaign.import.no_file")
        values = _import_values(page, campaign, columns=columns, problem=problem)
        return page.render(template, 422, **values)
    content = await upload.read(MAX_UPLOAD_BYTES + 1)
    filename = upload.filename
    if len(content) > MAX_UPLOAD_BYTES:
        problem = page.t("campaign.import.too_large", mib=MAX_UPLOAD_BYTES // (1024 * 1024))
        return page.render(template, 413, **_import_values(page, campaign, problem=problem))
    service = _service(page)
    try:
        if step == "header" or not columns:
            names = await service.header(name, content, filename)
            columns = [MappedColumn(i, col, guess_role(col)) for i, col in enumerate(names)]
            return page.render(
                template, **_import_values(page, campaign, columns=columns, filename=filename)
            )
        mapping = ContactMapping.model_validate(mapping_of(columns))
        outcome = await service.import_contacts(
            name,
            content,
            filename,
            ColumnMapping(
                phone=tuple(mapping.phone),
                name=mapping.name,
                time_zone=mapping.time_zone,
                external_id=mapping.external_id,
                priority=mapping.priority,
                fields=tuple(mapping.fields),
            ),
            dry_run=step != "import",
        )
    except ValidationError as error:
        phone_missing = any(p["loc"][:1] == ("phone",) for p in error.errors())
        problem = page.t("campaign.import.no_phone") if phone_missing else _refusal(page, error)
        values = _import_values(page, campaign, columns=columns, problem=problem, filename=filename)
        return page.render(template, 422, **values)
    except ServiceError as error:  # the file cannot be used (422), a concurrent import (409)
        await page.session.rollback()
        problem = page.t("campaign.import.refused", reason=str(error))
        values = _import_values(page, campaign, columns=columns, problem=problem, filename=filename)
        return page.render(template, error.status_code, **values)
    values = _import_values(page, campaign, columns=columns, outcome=outcome, filename=filename)
    return page.render(template, **values)


# ---- do-not-call lists -----------------------------------------------------------------------


@dataclass(frozen=True)
class AddedNumbers:
    added: int
    already_listed: Sequence[str]
    invalid: Sequence[tuple[str, str]]


def _numbers(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[\n,;]+", text) if part.strip()]


async def _dnc_values(
    page: Page, name: str | None, after: int | None, **extra: Any
) -> dict[str, Any]:
    found = await _service(page).do_not_call(name, limit=PAGE_SIZE, after=after)
    removable = name is not None or page.user.departments is None  # global: admins only
    return {"found": found, "after": after, "removable": removable and _can_write(page), **extra}


async def _add_numbers(page: Page, name: str | None) -> tuple[AddedNumbers | None, str | None]:
    form = await page.request.form()
    reason = str(form.get("reason") or "").strip() or None
    try:
        body = DoNotCallAdd(numbers=_numbers(str(form.get("numbers") or "")), reason=reason)
        result = await _service(page).add_do_not_call(
            name, body.numbers, reason=body.reason, default_region=None
        )
    except ValidationError as error:
        if any(problem["loc"] == () for problem in error.errors()):
            return None, page.t("dnc.no_numbers")
        return None, _refusal(page, error)
    except ServiceError as error:
        await page.session.rollback()
        return None, _refusal(page, error)
    return AddedNumbers(len(result.added), result.already_listed, result.invalid), None


@router.get("/campaigns/{name}/do-not-call", response_class=HTMLResponse)
async def campaign_dnc(name: CampaignName, page: ReadPage, after: After = None) -> HTMLResponse:
    try:
        campaign = await _campaign(page, name)
        values = await _dnc_values(page, name, after, done=page.request.query_params.get("done"))
    except NotFoundError:
        return not_found(page)
    return page.render("admin/campaign_dnc.html", **_frame(page, campaign, "do-not-call"), **values)


@router.post("/campaigns/{name}/do-not-call", response_class=HTMLResponse)
async def campaign_dnc_add(name: CampaignName, page: WritePage) -> HTMLResponse:
    try:
        campaign = await _campaign(page, name)
    except NotFoundError:
        return not_found(page)
    result, problem = await _add_numbers(page, name)
    values = await _dnc_values(page, name, None, result=result, problem=problem)
    return page.render(
        "admin/campaign_dnc.html",
        422 if problem else 200,
        **_frame(page, campaign, "do-not-call"),
        **values,
    )


@router.get("/do-not-call", response_class=HTMLResponse)
async def global_dnc(page: ReadPage, after: After = None) -> HTMLResponse:
    values = await _dnc_values(page, None, after, done=page.request.query_params.get("done"))
    return page.render(
        "admin/dnc.html", menu=menu_for(page), can_write=_can_write(page), zone="UTC", **values
    )


@router.post("/do-not-call", response_class=HTMLResponse)
async def global_dnc_add(page: WritePage) -> HTMLResponse:
    result, problem = await _add_numbers(page, None)
    values = await _dnc_values(page, None, None, result=result, problem=problem)
    return page.render(
        "admin/dnc.html",
        422 if problem else 200,
        menu=menu_for(page),
        can_write=True,
        zone="UTC",
        **values,
    )


@router.post("/do-not-call/{entry_id:int}/delete")
async def dnc_remove(entry_id: int, page: WritePage) -> Response:
    """Take a number off its list (a campaign's, or the global one: admins only), then
    back to the list it was on."""
    form = await page.request.form()
    back = local_path(str(form.get("next") or ""), ADMIN_PREFIX + "/do-not-call")
    try:
        await _service(page).delete_do_not_call(entry_id)
    except NotFoundError:
        return not_found(page)
    except HTTPException as error:
        if error.status_code != 403:
            raise
        return page.render("error.html", 403, code=403, message=page.t("dnc.global_admins_only"))
    return RedirectResponse(back + "?" + urlencode({"done": "removed"}), 303)


# ---- lendings of agents -----------------------------------------------------------------------


def _lending_time(text: str, zone: ZoneInfo) -> str:
    """A ``datetime-local`` input (no zone) read in the campaign's time zone, as the API's
    aware ISO 8601; anything else is left for the schema to refuse."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat()


async def _lendings_page(
    page: Page,
    campaign: CampaignRead,
    state: FormState | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    lendings = await _service(page).lendings(campaign.name)
    choices = await _choices(page, ["departments"])
    state = state or FormState(values={"member_priority": "1"})
    return page.render(
        "admin/campaign_lendings.html",
        status_code,
        **_frame(
            page,
            campaign,
            "lendings",
            lendings=lendings,
            departments={c.value: c.label for c in choices["departments"]},
            choices=choices,
            form=LENDING_FORM,
            state=state,
            done=page.request.query_params.get("done"),
        ),
    )


@router.get("/campaigns/{name}/lendings", response_class=HTMLResponse)
async def lendings_page(name: CampaignName, page: ReadPage) -> HTMLResponse:
    try:
        campaign = await _campaign(page, name)
    except NotFoundError:
        return not_found(page)
    return await _lendings_page(page, campaign)


@router.post("/campaigns/{name}/lendings")
async def add_lending(name: CampaignName, page: WritePage) -> Response:
    try:
        campaign = await _campaign(page, name)
    except NotFoundError:
        return not_found(page)
    form = await page.request.form()
    zone = _zone(campaign.default_time_zone)
    try:
        values = values_from(LENDING_INPUTS, form, creating=True)
        for key in ("starts_at", "ends_at"):
            if key in values:
                values[key] = _lending_time(str(values[key]), zone)
        body = LendingCreate.model_validate(values)
        await _service(page).add_lending(name, body.model_dump())
    except (FormError, ValidationError, ServiceError, HTTPException) as error:
        if isinstance(error, HTTPException):
            if error.status_code != 403:
                raise
            problems = [Problem("department_id", "admin.error.department_scope", str(error.detail))]
        else:
            problems = problems_from(error)
        await page.session.rollback()
        state = _state_with(page, LENDING_FORM, problems, raw_values(LENDING_INPUTS, form))
        return await _lendings_page(page, campaign, state, 422)
    return RedirectResponse(_url(name, "/lendings") + "?done=lent", 303)


@router.post("/campaigns/{name}/lendings/{lending_id:int}/delete")
async def delete_lending(name: CampaignName, lending_id: int, page: WritePage) -> Response:
    try:
        await _service(page).delete_lending(name, lending_id)
    except NotFoundError:
        return not_found(page)
    return RedirectResponse(_url(name, "/lendings") + "?done=ended", 303)
