"""One configuration resource's pages in the admin console, generated from its
:class:`Section`: the list, the create and edit forms, and the delete that asks first.

A section names the API resource, its create and read bodies, the columns of its list and
the inputs of its form; :func:`add_section_routes` adds its pages to a page module's router.
A posted form is spelled as the API's body (``web/admin_forms.py``), validated by the API's
schema and stored by the API's ``ConfigService``; a refusal comes back as problems shown
next to the inputs they concern.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from hotline.api.rbac import Permission
from hotline.api.schemas.base import update_model
from hotline.api.services.config import ConfigService, Resource
from hotline.api.services.errors import NotFoundError, ServiceError
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
from hotline.web.pages import ADMIN_PREFIX, Page
from hotline.web.routes.admin import LIST_LIMIT, can_manage, menu_for, not_found
from hotline.web.routes.admin_choices import CHOICES


@dataclass(frozen=True)
class Column:
    field: str
    #: Choices that turn the stored value into a name (department_id -> "sales").
    lookup: str | None = None


@dataclass(frozen=True)
class Section:
    """One configuration resource as the console shows it: its list's columns and its
    form's inputs, over the API's create and read bodies."""

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
    return update_model(create)


async def choices_for(page: Page, section: Section) -> dict[str, list[Choice]]:
    found = {key: await CHOICES[key](page) for key in sorted(section.choice_keys())}
    if section.slug == "inbound-routes":
        found["targets"] = await CHOICES["targets"](page)
    return found


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


def _add_section_routes(router: APIRouter, section: Section) -> None:
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


def add_section_routes(router: APIRouter, sections: Iterable[Section]) -> None:
    """Add each section's pages to ``router`` (a router under the admin prefix)."""
    for section in sections:
        _add_section_routes(router, section)
