"""The admin console's IVR flows: the YAML editor, versions, publishing.

Every save goes through the API's ``IvrService`` (the IVR's own validator, versions,
audit); a refused flow comes back with each problem next to its line in an annotated
listing of the text, and the "check" button asks the same validator without saving
(htmx swaps the result in). Supervisors manage the flows of their departments.

The flow page also pilots a version in one department (``IvrService.start_pilot``): start,
promote (publish it for everyone) and end, each applied to the live node by the directory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

import yaml
from fastapi import APIRouter, Depends, File, Form, HTTPException, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from hotline.api.rbac import Permission
from hotline.api.schemas.base import MAX_INT
from hotline.api.schemas.ivr import IvrFlowCreate, IvrFlowUpdate
from hotline.api.services.errors import FieldError, NotFoundError, ServiceError
from hotline.api.services.ivr import IvrService
from hotline.ivr.problems import FlowProblem, check_flow_text
from hotline.store.models import IvrFlow, IvrFlowVersion
from hotline.web.admin_forms import Choice
from hotline.web.pages import ADMIN_PREFIX, Page
from hotline.web.routes.admin import can_manage, menu_for, not_found
from hotline.web.routes.admin_choices import CHOICES

router = APIRouter(prefix=ADMIN_PREFIX + "/ivr-flows", include_in_schema=False)
IvrPage = Annotated[Page, Depends(can_manage(Permission.DEPARTMENT_WRITE))]
MAX_UPLOAD = 200_000  # bytes; the API's limit on a flow's text
NameField = Annotated[str, Form(max_length=200)]

#: What a new flow starts from: the smallest flow that passes the validator.
STARTER = """\
# A flow: named nodes, each with a type and where to go next; calls start at `start`.
# Node types and fields: docs/ivr.md.
start: welcome
nodes:
  welcome:
    type: menu
    prompt:
      text:
        zh-CN: "您好，请按1转人工服务。"
        en: "Hello, press 1 to talk to us."
    options:
      "1": agents
    on_failure: goodbye
  agents:
    type: queue
    queue: sales
  goodbye:
    type: hangup
"""


@dataclass(frozen=True)
class Line:
    number: int
    text: str
    problems: list[FlowProblem]


def annotated(text: str, problems: list[FlowProblem]) -> list[Line]:
    """The YAML text line by line, each with the problems that point at it."""
    lines = text.splitlines() or [""]
    at: dict[int, list[FlowProblem]] = {}
    for problem in problems:
        if problem.line is not None:
            at.setdefault(min(problem.line, len(lines)), []).append(problem)
    return [Line(n, line, at.get(n, [])) for n, line in enumerate(lines, start=1)]


def problems_of(error: FieldError) -> list[FlowProblem]:
    """The validator's problems back from the API's 422 (they carry node and line)."""
    found = []
    for problem in error.problems:
        extra = problem.extra
        found.append(
            FlowProblem(
                location=str(extra.get("location", "flow")),
                message=problem.msg,
                node=extra.get("node"),
                line=extra.get("line"),
            )
        )
    return found


async def _uploaded(page: Page, file: UploadFile | None) -> str | FlowProblem | None:
    """The text of an uploaded YAML file (it replaces the editor's text), or why not."""
    if file is None or not file.filename:
        return None
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return FlowProblem("flow", page.t("admin.ivr.too_large", size=MAX_UPLOAD // 1000))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return FlowProblem("flow", page.t("admin.ivr.not_utf8"))


def _text_of(version: IvrFlowVersion) -> str:
    if version.source is not None:
        return version.source
    return yaml.safe_dump(version.definition, allow_unicode=True, sort_keys=False)


async def _departments(page: Page) -> list[Choice]:
    return await CHOICES["departments"](page)


@router.get("", response_class=HTMLResponse)
async def flows_page(page: IvrPage) -> HTMLResponse:
    flows = await IvrService(page.session, page.user).list(limit=1000, offset=0)
    departments = {c.value: c.label for c in await CHOICES["departments"](page)}
    return page.render(
        "admin/ivr_flows.html",
        menu=menu_for(page),
        flows=[(flow, latest) for flow, latest in flows],
        departments=departments,
        done=page.request.query_params.get("done"),
    )


@router.get("/new", response_class=HTMLResponse)
async def new_flow_page(page: IvrPage) -> HTMLResponse:
    return await _render_new(page, {"name": "", "department_id": "", "yaml": STARTER}, {}, [])


async def _render_new(
    page: Page,
    values: dict[str, Any],
    errors: dict[str, list[str]],
    problems: list[FlowProblem],
    status_code: int = 200,
) -> HTMLResponse:
    return page.render(
        "admin/ivr_new.html",
        status_code,
        menu=menu_for(page),
        values=values,
        errors=errors,
        problems=problems,
        listing=annotated(values["yaml"], problems) if problems else [],
        departments=await _departments(page),
    )


@router.post("/new", response_model=None)
async def create_flow(
    page: IvrPage,
    name: NameField = "",
    department_id: Annotated[str, Form(max_length=20)] = "",
    source: Annotated[str, Form(alias="yaml", max_length=200_000)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    values = {"name": name.strip(), "department_id": department_id, "yaml": source}
    errors: dict[str, list[str]] = {}
    uploaded = await _uploaded(page, file)
    if isinstance(uploaded, FlowProblem):
        return await _render_new(page, values, errors, [uploaded], 422)
    if uploaded is not None:
        values["yaml"] = source = uploaded
    try:
        body = IvrFlowCreate.model_validate(
            {
                "name": values["name"],
                "department_id": int(department_id) if department_id.isdigit() else None,
                "yaml": source or None,
            }
        )
    except ValidationError as error:
        for problem in error.errors():
            field = str(problem["loc"][0]) if problem["loc"] else "yaml"
            errors.setdefault(field if field in values else "yaml", []).append(
                page.t("admin.error.invalid_field")
            )
        return await _render_new(page, values, errors, [], 422)
    try:
        flow, _ = await IvrService(page.session, page.user).create(
            body.name, body.department_id, None, body.yaml
        )
    except FieldError as error:
        await page.session.rollback()
        return await _render_new(page, values, {}, problems_of(error), 422)
    except (ServiceError, HTTPException) as error:
        await page.session.rollback()
        field = "department_id" if isinstance(error, HTTPException) else "name"
        detail = error.detail if isinstance(error, HTTPException) else str(error)
        errors[field] = [f"{page.t('admin.error.conflict')}: {detail}"]
        return await _render_new(page, values, errors, [], 422)
    return RedirectResponse(f"{ADMIN_PREFIX}/ivr-flows/{flow.id}?done=created", 303)


@router.post("/check", response_class=HTMLResponse)
async def check_flow(
    page: IvrPage, source: Annotated[str, Form(alias="yaml")] = ""
) -> HTMLResponse:
    """The validator's verdict on the editor's text, for htmx to swap in; nothing saved."""
    problems = check_flow_text(source)[1] if source.strip() else []
    return page.fragment(
        "admin/fragments/ivr_problems.html",
        problems=problems,
        listing=annotated(source, list(problems)) if problems else [],
        checked=True,
    )


async def _flow(page: Page, flow_id: int) -> tuple[IvrFlow, int, list[IvrFlowVersion]]:
    service = IvrService(page.session, page.user)
    flow, latest = await service.get(flow_id)
    versions = list(await service.versions_of(flow_id))
    return flow, latest, versions


async def _render_flow(
    page: Page,
    flow_id: int,
    text: str | None = None,
    problems: list[FlowProblem] | None = None,
    status_code: int = 200,
    settings_error: str | None = None,
    pilot_error: str | None = None,
) -> HTMLResponse:
    try:
        flow, latest, versions = await _flow(page, flow_id)
        pilots = list(await IvrService(page.session, page.user).pilots_of(flow_id))
    except NotFoundError:
        return not_found(page)
    shown = page.request.query_params.get("version")
    if text is None:
        base = next((v for v in versions if str(v.version) == shown), versions[-1])
        text = _text_of(base)
    problems = problems or []
    return page.render(
        "admin/ivr_flow.html",
        status_code,
        menu=menu_for(page),
        flow=flow,
        latest=latest,
        versions=list(reversed(versions)),
        text=text,
        problems=problems,
        listing=annotated(text, problems) if problems else [],
        departments=await _departments(page),
        done=page.request.query_params.get("done"),
        settings_error=settings_error,
        pilots=pilots,
        pilot_error=pilot_error,
    )


@router.get("/{flow_id:int}", response_class=HTMLResponse)
async def flow_page(flow_id: int, page: IvrPage) -> HTMLResponse:
    return await _render_flow(page, flow_id)


@router.post("/{flow_id:int}", response_model=None)
async def save_version(
    flow_id: int,
    page: IvrPage,
    source: Annotated[str, Form(alias="yaml", max_length=200_000)] = "",
    publish: Annotated[str | None, Form()] = None,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    uploaded = await _uploaded(page, file)
    if isinstance(uploaded, FlowProblem):
        return await _render_flow(page, flow_id, source, [uploaded], 422)
    if uploaded is not None:
        source = uploaded
    if not source.strip():
        problem = FlowProblem("flow", page.t("admin.ivr.empty"), line=1)
        return await _render_flow(page, flow_id, source, [problem], 422)
    try:
        version = await IvrService(page.session, page.user).add_version(
            flow_id, None, source, publish=publish is not None
        )
    except NotFoundError:
        return not_found(page)
    except FieldError as error:
        await page.session.rollback()
        return await _render_flow(page, flow_id, source, problems_of(error), 422)
    query = urlencode({"done": "published" if publish else "saved", "n": version.version})
    return RedirectResponse(f"{ADMIN_PREFIX}/ivr-flows/{flow_id}?{query}", 303)


@router.post("/{flow_id:int}/publish", response_model=None)
async def publish_version(
    flow_id: int, page: IvrPage, version: Annotated[int, Form(ge=1, le=MAX_INT)]
) -> Response:
    try:
        await IvrService(page.session, page.user).publish(flow_id, version)
    except NotFoundError:
        return not_found(page)
    query = urlencode({"done": "published", "n": version})
    return RedirectResponse(f"{ADMIN_PREFIX}/ivr-flows/{flow_id}?{query}", 303)


async def _pilot_action(
    page: Page, flow_id: int, done: str, action: Callable[[IvrService], Awaitable[int]]
) -> Response:
    """Run one pilot action; a refusal is shown on the flow page, next to the pilots."""
    try:
        number = await action(IvrService(page.session, page.user))
    except NotFoundError as error:
        await page.session.rollback()
        if "no pilot" not in str(error):
            return not_found(page)
        return await _render_flow(page, flow_id, status_code=404, pilot_error=str(error))
    except (ServiceError, HTTPException) as error:
        await page.session.rollback()
        detail = error.detail if isinstance(error, HTTPException) else str(error)
        code = error.status_code
        return await _render_flow(page, flow_id, status_code=code, pilot_error=str(detail))
    query = urlencode({"done": done, "n": number})
    return RedirectResponse(f"{ADMIN_PREFIX}/ivr-flows/{flow_id}?{query}", 303)


@router.post("/{flow_id:int}/pilots", response_model=None)
async def start_pilot(
    flow_id: int,
    page: IvrPage,
    department_id: Annotated[int, Form(ge=1, le=MAX_INT)],
    version: Annotated[int, Form(ge=1, le=MAX_INT)],
) -> Response:
    async def start(service: IvrService) -> int:
        return (await service.start_pilot(flow_id, department_id, version)).version

    return await _pilot_action(page, flow_id, "pilot_started", start)


@router.post("/{flow_id:int}/pilots/{department_id:int}/promote", response_model=None)
async def promote_pilot(flow_id: int, department_id: int, page: IvrPage) -> Response:
    async def promote(service: IvrService) -> int:
        flow, _ = await service.promote_pilot(flow_id, department_id)
        return flow.published_version or 0

    return await _pilot_action(page, flow_id, "pilot_promoted", promote)


@router.post("/{flow_id:int}/pilots/{department_id:int}/end", response_model=None)
async def end_pilot(flow_id: int, department_id: int, page: IvrPage) -> Response:
    async def end(service: IvrService) -> int:
        await service.end_pilot(flow_id, department_id)
        return 0

    return await _pilot_action(page, flow_id, "pilot_ended", end)


@router.post("/{flow_id:int}/settings", response_model=None)
async def flow_settings(
    flow_id: int,
    page: IvrPage,
    name: NameField = "",
    department_id: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    try:
        body = IvrFlowUpdate.model_validate(
            {
                "name": name.strip(),
                "department_id": int(department_id) if department_id.isdigit() else None,
            }
        )
        values = body.model_dump(mode="json", exclude_none=True)
        await IvrService(page.session, page.user).update(flow_id, values)
    except NotFoundError:
        return not_found(page)
    except (ValidationError, ServiceError, HTTPException) as error:
        await page.session.rollback()
        detail = error.detail if isinstance(error, HTTPException) else str(error)
        if isinstance(error, ValidationError):
            detail = page.t("admin.error.invalid_field")
        return await _render_flow(page, flow_id, status_code=422, settings_error=str(detail))
    return RedirectResponse(f"{ADMIN_PREFIX}/ivr-flows/{flow_id}?done=saved_settings", 303)


@router.get("/{flow_id:int}/delete", response_class=HTMLResponse)
async def confirm_delete(flow_id: int, page: IvrPage) -> HTMLResponse:
    try:
        flow, _, _ = await _flow(page, flow_id)
    except NotFoundError:
        return not_found(page)
    return page.render("admin/ivr_delete.html", menu=menu_for(page), flow=flow, error=None)


@router.post("/{flow_id:int}/delete", response_model=None)
async def delete_flow(flow_id: int, page: IvrPage) -> Response:
    service = IvrService(page.session, page.user)
    try:
        flow, _ = await service.get(flow_id)
        name = flow.name
        await service.delete(flow_id)
    except NotFoundError:
        return not_found(page)
    except ServiceError as error:
        await page.session.rollback()
        flow, _ = await service.get(flow_id)
        return page.render(
            "admin/ivr_delete.html",
            409,
            menu=menu_for(page),
            flow=flow,
            error=f"{page.t('admin.error.conflict')}: {error}",
        )
    return RedirectResponse(
        f"{ADMIN_PREFIX}/ivr-flows?" + urlencode({"done": "deleted", "name": name}), 303
    )
