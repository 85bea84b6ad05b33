"""The admin console's pages for who works here and what they may do: users, the role
table (read-only: roles are code) and departments (``/admin/users``, ``/roles``,
``/departments``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from hotline.api.rbac import ROLE_PERMISSIONS, Permission
from hotline.api.schemas.departments import DepartmentCreate, DepartmentRead
from hotline.api.schemas.users import UserCreate, UserRead
from hotline.api.services import resources as r
from hotline.store.models import Role
from hotline.web.admin_forms import Input
from hotline.web.pages import ADMIN_PREFIX, Page
from hotline.web.routes.admin import can_manage, menu_for
from hotline.web.routes.admin_sections import Column, Section, add_section_routes

router = APIRouter(prefix=ADMIN_PREFIX, include_in_schema=False)


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


SECTIONS: tuple[Section, ...] = (
    Section(
        r.USERS,
        UserCreate,
        UserRead,
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
        DepartmentCreate,
        DepartmentRead,
        (Column("name"),),
        (Input("name", required=True),),
    ),
)
add_section_routes(router, SECTIONS)
