"""The admin console: lists, create, edit and delete (with confirmation) for each
configuration resource, under the ``/admin`` prefix the web foundation reserves.

Each section is a configuration resource of the REST API (``api/services/resources.py``):
a posted form is turned into the API's body (``web/admin_forms.py``), validated by the
API's own schema and stored by the API's own ``ConfigService``: the same permissions,
department scope, checks and audit entries as a REST call, and no business logic or SQL
here. A page is open to whoever holds the section's write permission (an admin for all;
a supervisor for queues, agents, wrap-up codes and IVR flows of their departments); anyone
else gets the 403 page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from hotline.api import schemas as s
from hotline.api.rbac import ROLE_PERMISSIONS, Permission
from hotline.api.services import resources as r
from hotline.api.services.config import ConfigService, Resource
from hotline.api.services.errors import NotFoundError, ServiceError
from hotline.api.services.ivr import IvrService
from hotline.store.models import Role
from hotline.web.admin_forms import (
    Choice,
    FormError,
    FormState,
    Input,
    Problem,
    form_values,
    problems_from,
    raw_values,
    values_from,
)
from hotline.web.pages import ADMIN_PREFIX, AnyPage, LoginRequiredError, Page, PageForbiddenError

router = APIRouter(prefix=ADMIN_PREFIX, include_in_schema=False)
LIST_LIMIT = 1000  # the API's page size limit; a console list beyond it would need paging


def can_manage(permission: Permission) -> Callable[[Page], Awaitable[Page]]:
    """A page for users holding ``permission`` (the guard of one admin section)."""

    async def guard(page: AnyPage) -> Page:
        if page.principal is None:
            url = page.request.url
            raise LoginRequiredError(url.path + ("?" + url.query if url.query else ""))
        if not page.principal.can(permission):
            raise PageForbiddenError(page)
        return page

    return guard


#: Who may open the console's index: anyone who may manage at least one section.
CONSOLE_PERMISSIONS = (Permission.CONFIG_WRITE, Permission.DEPARTMENT_WRITE, Permission.USERS_WRITE)


async def _console_page(page: AnyPage) -> Page:
    if page.principal is None:
        raise LoginRequiredError(page.request.url.path)
    if not any(page.principal.can(p) for p in CONSOLE_PERMISSIONS):
        raise PageForbiddenError(page)
    return page


ConsolePage = Annotated[Page, Depends(_console_page)]


@dataclass(frozen=True)
class Column:
    field: str
    #: Choices that turn the stored value into a name (department_id -> "sales").
    lookup: str | None = None


@dataclass(frozen=True)
class Section:
    resource: Resource[Any]
    create: type[BaseModel]
    read: type[BaseModel]
    columns: tuple[Column, ...]
    inputs: tuple[Input, ...]
    #: Shown as a row's name in titles and the delete confirmation.
    label_field: str = "name"

    @property
    def slug(self) -> str:
        return self.resource.name

    @property
    def permission(self) -> Permission:
        return self.resource.write

    @property
    def update(self) -> type[BaseModel]:
        return _update_model(self.create)

    def choice_keys(self) -> set[str]:
        keys = {spec.choices for spec in self.inputs if spec.choices}
        keys |= {column.lookup for column in self.columns if column.lookup}
        return keys


@cache
def _update_model(create: type[BaseModel]) -> type[BaseModel]:
    """The API's PATCH body for ``create`` (built once: it is a new pydantic class)."""
    return s.update_model(create)


DEPARTMENT = Input("department_id", "select", required=True, choices="departments")
SECTIONS: tuple[Section, ...] = (
    Section(
        r.QUEUES,
        s.QueueCreate,
        s.QueueRead,
        (
            Column("name"),
            Column("department_id", "departments"),
            Column("strategy", "queue_strategies"),
            Column("service_level_seconds"),
            Column("max_wait_seconds"),
            Column("required_skills"),
        ),
        (
            Input("name", required=True),
            DEPARTMENT,
            Input("strategy", "select", choices="queue_strategies", integer=False),
            Input("service_level_seconds", "number", hint=True),
            Input("max_wait_seconds", "number"),
            Input("required_skills", "levels", choices="skill_names", integer=False, hint=True),
            Input("pooled_department_ids", "checkboxes", choices="departments", hint=True),
            Input("ring_timeout_seconds", "number"),
            Input("wrap_up_seconds", "number"),
            Input("announce_every_seconds", "number", blank="null", hint=True),
            Input("max_length", "number", blank="null", hint=True),
            Input("on_max_wait", "select", choices="max_wait_actions", integer=False),
            Input("overflow_queue_id", "select", blank="null", choices="queues"),
            Input("recording", "select", choices="recording_modes", integer=False),
            Input("survey_flow", "select", blank="null", choices="flow_names", integer=False),
        ),
    ),
    Section(
        r.SKILLS,
        s.SkillCreate,
        s.SkillRead,
        (Column("name"),),
        (Input("name", required=True),),
    ),
    Section(
        r.AGENTS,
        s.AgentCreate,
        s.AgentRead,
        (
            Column("extension"),
            Column("user_id", "users"),
            Column("department_id", "departments"),
            Column("skills"),
        ),
        (
            Input("extension", required=True, hint=True),
            Input("user_id", "select", required=True, choices="users"),
            DEPARTMENT,
            Input("skills", "levels", choices="skills", hint=True),
            Input("sip_password", "password", hint=True),
        ),
        label_field="extension",
    ),
    Section(
        r.USERS,
        s.UserCreate,
        s.UserRead,
        (
            Column("username"),
            Column("display_name"),
            Column("role", "roles"),
            Column("department_id", "departments"),
            Column("active"),
        ),
        (
            Input("username", required=True),
            Input("display_name", blank="empty"),
            # Required when a user is created (marked so); left empty on edit: kept.
            Input("password", "password", required=True, hint=True),
            Input("role", "select", required=True, choices="roles", integer=False),
            Input("department_id", "select", blank="null", choices="departments", hint=True),
            Input("active", "checkbox"),
        ),
        label_field="username",
    ),
    Section(
        r.DEPARTMENTS,
        s.DepartmentCreate,
        s.DepartmentRead,
        (Column("name"),),
        (Input("name", required=True),),
    ),
    Section(
        r.TRUNKS,
        s.TrunkCreate,
        s.TrunkRead,
        (
            Column("name"),
            Column("host"),
            Column("port"),
            Column("transport"),
            Column("max_channels"),
            Column("priority"),
            Column("enabled"),
        ),
        (
            Input("name", required=True),
            Input("host", required=True),
            Input("port", "number"),
            Input("transport", "select", choices="transports", integer=False),
            Input("username", blank="null"),
            Input("password", "password", hint=True),
            Input("max_channels", "number"),
            Input("priority", "number", hint=True),
            Input("weight", "number"),
            Input("dial_format", "select", choices="dial_formats", integer=False),
            Input("caller_id", blank="null", hint=True),
            Input("enabled", "checkbox"),
        ),
    ),
    Section(
        r.TRUNK_GROUPS,
        s.TrunkGroupCreate,
        s.TrunkGroupRead,
        (Column("name"), Column("strategy", "trunk_strategies"), Column("trunk_ids", "trunks")),
        (
            Input("name", required=True),
            Input("strategy", "select", choices="trunk_strategies", integer=False),
            Input("trunk_ids", "order", required=True, choices="trunks", hint=True),
            Input("failover_on", "csv", hint=True),
        ),
    ),
    Section(
        r.INBOUND_ROUTES,
        s.InboundRouteCreate,
        s.InboundRouteRead,
        (
            Column("did"),
            Column("trunk_id", "trunks"),
            Column("target"),
            Column("business_hours_id", "business_hours"),
        ),
        (
            Input("did", required=True, hint=True),
            Input(
                "target",
                "target",
                required=True,
                choices="targets",
                covers=("target_type", "target_id"),
            ),
            Input("trunk_id", "select", blank="null", choices="trunks"),
            Input("business_hours_id", "select", blank="null", choices="business_hours"),
        ),
        label_field="did",
    ),
    Section(
        r.BUSINESS_HOURS,
        s.BusinessHoursCreate,
        s.BusinessHoursRead,
        (Column("name"), Column("timezone"), Column("weekly"), Column("holidays")),
        (
            Input("name", required=True),
            Input("timezone", hint=True),
            Input("weekly", "weekly", hint=True),
            Input("holidays", "lines", hint=True),
        ),
    ),
    Section(
        r.WRAPUP_CODES,
        s.WrapUpCodeCreate,
        s.WrapUpCodeRead,
        (Column("code"), Column("label"), Column("department_id", "departments")),
        (Input("code", required=True, hint=True), Input("label", required=True), DEPARTMENT),
        label_field="code",
    ),
)
BY_SLUG: Mapping[str, Section] = {section.slug: section for section in SECTIONS}
#: The console's menu, in order; IVR flows have their own pages (routes/admin_ivr.py).
MENU: tuple[tuple[str, Permission], ...] = (
    ("queues", Permission.DEPARTMENT_WRITE),
    ("agents", Permission.DEPARTMENT_WRITE),
    ("skills", Permission.CONFIG_WRITE),
    ("users", Permission.USERS_WRITE),
    ("roles", Permission.USERS_WRITE),
    ("departments", Permission.CONFIG_WRITE),
    ("trunks", Permission.CONFIG_WRITE),
    ("trunk-groups", Permission.CONFIG_WRITE),
    ("inbound-routes", Permission.CONFIG_WRITE),
    ("business-hours", Permission.CONFIG_WRITE),
    ("ivr-flows", Permission.DEPARTMENT_WRITE),
    ("wrapup-codes", Permission.DEPARTMENT_WRITE),
)


def menu_for(page: Page) -> list[str]:
    return [slug for slug, permission in MENU if page.user.can(permission)]


# --- choices: what selects offer, read through the same services -------------------------


async def _listed(page: Page, resource: Resource[Any], read: type[BaseModel]) -> list[Any]:
    service = ConfigService(
        page.session, page.user, resource, page.context.passwords, page.context.bus
    )
    return [read.model_validate(row) for row in await service.list(limit=LIST_LIMIT, offset=0)]


async def _departments(page: Page) -> list[Choice]:
    scope = page.user.departments
    rows = await _listed(page, r.DEPARTMENTS, s.DepartmentRead)
    return [Choice(str(d.id), d.name) for d in rows if scope is None or d.id in scope]


async def _skills(page: Page) -> list[Choice]:
    return [Choice(str(x.id), x.name) for x in await _listed(page, r.SKILLS, s.SkillRead)]


async def _skill_names(page: Page) -> list[Choice]:
    return [Choice(x.name, x.name) for x in await _listed(page, r.SKILLS, s.SkillRead)]


async def _queues(page: Page) -> list[Choice]:
    return [Choice(str(q.id), q.name) for q in await _listed(page, r.QUEUES, s.QueueRead)]


async def _flow_names(page: Page) -> list[Choice]:
    flows = await IvrService(page.session, page.user).list(limit=LIST_LIMIT, offset=0)
    return [Choice(f.name, f.name) for f, _ in flows]


async def _users(page: Page) -> list[Choice]:
    rows = await _listed(page, r.USERS, s.UserRead)
    return [Choice(str(u.id), u.username) for u in rows]


async def _trunks(page: Page) -> list[Choice]:
    return [Choice(str(x.id), x.name) for x in await _listed(page, r.TRUNKS, s.TrunkRead)]


async def _business_hours(page: Page) -> list[Choice]:
    rows = await _listed(page, r.BUSINESS_HOURS, s.BusinessHoursRead)
    return [Choice(str(x.id), x.name) for x in rows]


async def _targets(page: Page) -> list[Choice]:
    queues = await _listed(page, r.QUEUES, s.QueueRead)
    agents = await _listed(page, r.AGENTS, s.AgentRead)
    flows = await IvrService(page.session, page.user).list(limit=LIST_LIMIT, offset=0)
    queue_word, flow_word, agent_word = (
        page.t("admin.target.queue"),
        page.t("admin.target.ivr_flow"),
        page.t("admin.target.agent"),
    )
    return (
        [Choice(f"queue:{q.id}", f"{queue_word} · {q.name}") for q in queues]
        + [Choice(f"ivr_flow:{f.id}", f"{flow_word} · {f.name}") for f, _ in flows]
        + [Choice(f"agent:{a.id}", f"{agent_word} · {a.extension}") for a in agents]
    )


def _fixed(prefix: str, values: list[str]) -> Callable[[Page], Awaitable[list[Choice]]]:
    async def choices(page: Page) -> list[Choice]:
        return [Choice(v, page.t(f"{prefix}.{v}")) for v in values]

    return choices


CHOICES: Mapping[str, Callable[[Page], Awaitable[list[Choice]]]] = {
    "departments": _departments,
    "skills": _skills,
    "skill_names": _skill_names,
    "users": _users,
    "trunks": _trunks,
    "business_hours": _business_hours,
    "targets": _targets,
    "queues": _queues,
    "flow_names": _flow_names,
    "max_wait_actions": _fixed("admin.on_max_wait", ["busy", "hang_up", "overflow"]),
    "recording_modes": _fixed("admin.recording", ["always", "on_demand", "never"]),
    "queue_strategies": _fixed("admin.strategy", [x.value for x in s.Strategy]),
    "trunk_strategies": _fixed(
        "admin.trunk_strategy", ["priority", "weighted_round_robin", "least_used"]
    ),
    "transports": _fixed("admin.transport", ["udp", "tcp", "tls"]),
    "dial_formats": _fixed("admin.dial_format", ["national", "e164", "international"]),
    "roles": _fixed("role", [role.value for role in Role]),
}


async def choices_for(page: Page, section: Section) -> dict[str, list[Choice]]:
    found = {key: await CHOICES[key](page) for key in sorted(section.choice_keys())}
    if section.slug == "inbound-routes":
        found["targets"] = await _targets(page)
    return found


# --- pages -------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
async def admin_index(page: ConsolePage) -> HTMLResponse:
    return page.render("admin/index.html", menu=menu_for(page))


@router.get("/roles", response_class=HTMLResponse)
async def roles_page(
    page: Annotated[Page, Depends(can_manage(Permission.USERS_WRITE))],
) -> HTMLResponse:
    """The role table of ``api/rbac.py``, read-only: roles are code, users get one."""
    return page.render(
        "admin/roles.html",
        menu=menu_for(page),
        roles=[role.value for role in Role],
        permissions=[p.value for p in Permission],
        granted={role.value: {p.value for p in ROLE_PERMISSIONS[role]} for role in Role},
    )


def not_found(page: Page) -> HTMLResponse:
    """A row that does not exist, or is in another department (same answer: no leak)."""
    return page.render("error.html", 404, code=404, message=page.t("error.not_found"))


def _service(page: Page, section: Section) -> ConfigService[Any]:
    return ConfigService(
        page.session, page.user, section.resource, page.context.passwords, page.context.bus
    )


def _url(section: Section, item_id: int | None = None, suffix: str = "") -> str:
    base = f"{ADMIN_PREFIX}/{section.slug}"
    return base + (f"/{item_id}" if item_id is not None else "") + suffix


async def _render_list(page: Page, section: Section) -> HTMLResponse:
    rows = [
        section.read.model_validate(row).model_dump(mode="json")
        for row in await _service(page, section).list(limit=LIST_LIMIT, offset=0)
    ]
    choices = await choices_for(page, section)
    return page.render(
        "admin/list.html",
        menu=menu_for(page),
        section=section,
        rows=rows,
        lookups={key: {c.value: c.label for c in found} for key, found in choices.items()},
        done=page.request.query_params.get("done"),
    )


async def _render_form(
    page: Page,
    section: Section,
    state: FormState,
    item_id: int | None,
    status_code: int = 200,
) -> HTMLResponse:
    return page.render(
        "admin/form.html",
        status_code,
        menu=menu_for(page),
        section=section,
        state=state,
        item_id=item_id,
        choices=await choices_for(page, section),
        action=_url(section, item_id) if item_id is not None else _url(section, None, "/new"),
    )


def _state_with(
    problems: list[Problem], section: Section, page: Page, shown: dict[str, Any]
) -> FormState:
    state = FormState(values=shown)
    names = {spec.name for spec in section.inputs}
    for problem in problems:
        text = _message(page, problem)
        owner = next(
            (spec.name for spec in section.inputs if problem.field and spec.owns(problem.field)),
            None,
        )
        if owner is None and problem.field in names:
            owner = problem.field
        if owner is None:
            state.general.append(text)
        else:
            state.errors.setdefault(owner, []).append(text)
    return state


def _message(page: Page, problem: Problem) -> str:
    """The translated message when the catalog has one for this kind of problem; the
    API's own words otherwise (they name values the catalog cannot know)."""
    if page.t.has(problem.key):
        translated = page.t(problem.key, **problem.params)
        if problem.key in ("admin.error.rule", "admin.error.conflict", "admin.error.value_error"):
            return f"{translated}: {problem.detail}"
        return translated
    return problem.detail


async def _save(page: Page, section: Section, item_id: int | None) -> Response:
    form = await page.request.form()
    creating = item_id is None
    try:
        values = values_from(section.inputs, form, creating=creating)
        model = section.create if creating else section.update
        body = model.model_validate(values)
        service = _service(page, section)
        if creating:
            item = await service.create(body.model_dump(mode="json"))
        else:
            assert item_id is not None
            sent = body.model_dump(mode="json", include=body.model_fields_set)
            item = await service.update(item_id, sent)
    except NotFoundError:
        return not_found(page)
    except (FormError, ValidationError, ServiceError, HTTPException) as error:
        if isinstance(error, HTTPException):
            if error.status_code != 403 or "department" not in str(error.detail):
                raise
            problems = [Problem("department_id", "admin.error.department_scope", str(error.detail))]
        else:
            problems = problems_from(error)
        await page.session.rollback()
        state = _state_with(problems, section, page, raw_values(section.inputs, form))
        return await _render_form(page, section, state, item_id, 422)
    label = getattr(item, section.label_field, "")
    return RedirectResponse(
        _url(section)
        + "?"
        + urlencode({"done": "created" if creating else "saved", "name": label}),
        303,
    )


def _add_section_routes(section: Section) -> None:
    # A default, not an Annotated alias: annotations are strings here (PEP 563) and a
    # local alias could not be resolved by FastAPI.
    guard = Depends(can_manage(section.permission))
    base = f"/{section.slug}"

    async def list_page(page: Page = guard) -> HTMLResponse:
        return await _render_list(page, section)

    async def new_page(page: Page = guard) -> HTMLResponse:
        defaults = {
            name: info.get_default(call_default_factory=True)
            for name, info in section.create.model_fields.items()
            if not info.is_required()
        }
        state = FormState(values=form_values(section.inputs, defaults))
        return await _render_form(page, section, state, None)

    async def create(page: Page = guard) -> Response:
        return await _save(page, section, None)

    async def edit_page(item_id: int, page: Page = guard) -> HTMLResponse:
        try:
            item = await _service(page, section).get(item_id)
        except NotFoundError:
            return not_found(page)
        shown = form_values(
            section.inputs, section.read.model_validate(item).model_dump(mode="json")
        )
        return await _render_form(page, section, FormState(values=shown), item_id)

    async def update(item_id: int, page: Page = guard) -> Response:
        return await _save(page, section, item_id)

    async def confirm_page(item_id: int, page: Page = guard) -> HTMLResponse:
        try:
            item = await _service(page, section).get(item_id)
        except NotFoundError:
            return not_found(page)
        return page.render(
            "admin/delete.html",
            menu=menu_for(page),
            section=section,
            item_id=item_id,
            label=getattr(item, section.label_field, item_id),
            error=None,
        )

    async def delete(item_id: int, page: Page = guard) -> Response:
        service = _service(page, section)
        try:
            item = await service.get(item_id)
        except NotFoundError:
            return not_found(page)
        label = getattr(item, section.label_field, item_id)
        try:
            await service.delete(item_id)
        except ServiceError as error:
            await page.session.rollback()
            return page.render(
                "admin/delete.html",
                409,
                menu=menu_for(page),
                section=section,
                item_id=item_id,
                label=label,
                error=_message(page, problems_from(error)[0]),
            )
        return RedirectResponse(
            _url(section) + "?" + urlencode({"done": "deleted", "name": label}), 303
        )

    item_path = base + "/{item_id:int}"
    router.add_api_route(base, list_page, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route(base + "/new", new_page, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route(base + "/new", create, methods=["POST"])
    router.add_api_route(item_path, edit_page, methods=["GET"], response_class=HTMLResponse)
    router.add_api_route(item_path, update, methods=["POST"])
    router.add_api_route(
        item_path + "/delete", confirm_page, methods=["GET"], response_class=HTMLResponse
    )
    router.add_api_route(item_path + "/delete", delete, methods=["POST"])


for _section in SECTIONS:
    _add_section_routes(_section)
