"""The admin console's "Modules" page: which optional modules this node has (its
settings) and which run; an administrator switches one off or on again (the API's
``PUT /api/v1/modules/{name}``: every node stops or starts its worker)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hotline.api.rbac import Permission
from hotline.api.services.errors import ServiceError
from hotline.api.services.modules import ModuleService
from hotline.web.pages import ADMIN_PREFIX, Page
from hotline.web.routes.admin import can_manage, menu_for

router = APIRouter(prefix=ADMIN_PREFIX, include_in_schema=False)
WritePage = Annotated[Page, Depends(can_manage(Permission.CONFIG_WRITE))]


def _service(page: Page) -> ModuleService:
    return ModuleService(page.session, page.user, page.context.modules)


@router.get("/modules", response_class=HTMLResponse)
async def modules_page(page: WritePage) -> HTMLResponse:
    modules = await _service(page).list()
    done = page.request.query_params.get("done")
    return page.render("admin/modules.html", menu=menu_for(page), modules=modules, done=done)


@router.post("/modules/{name}")
async def switch_module(name: str, page: WritePage, enabled: Annotated[bool, Form()]) -> Response:
    try:
        await _service(page).switch(name, enabled)
    except ServiceError as error:
        modules = await _service(page).list()
        return page.render(
            "admin/modules.html",
            error.status_code,
            menu=menu_for(page),
            modules=modules,
            error=str(error),
        )
    done = f"{name}.{'on' if enabled else 'off'}"
    return RedirectResponse(f"{ADMIN_PREFIX}/modules?done={done}", status_code=303)
