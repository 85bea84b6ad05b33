"""Optional modules (the dialer, ...): which a node has and which run; an administrator
switches one off (it stops its worker at once, on every node) or on again."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from hotline.api.deps import ContextDep, PrincipalDep, SessionDep
from hotline.api.schemas.base import Body
from hotline.api.services.modules import ModuleService, ModuleState

router = APIRouter(prefix="/modules", tags=["modules"])


class ModuleRead(BaseModel):
    name: str
    description: str
    installed: bool
    enabled: bool
    changed_at: datetime | None
    changed_by: str | None


class ModuleSwitchBody(Body):
    enabled: bool


def _read(state: ModuleState) -> ModuleRead:
    return ModuleRead(**state.__dict__)


@router.get("")
async def list_modules(
    session: SessionDep, principal: PrincipalDep, context: ContextDep
) -> list[ModuleRead]:
    states = await ModuleService(session, principal, context.modules).list()
    return [_read(state) for state in states]


@router.put("/{name}")
async def switch_module(
    name: str,
    body: ModuleSwitchBody,
    session: SessionDep,
    principal: PrincipalDep,
    context: ContextDep,
) -> ModuleRead:
    """409 for a module switched off in the node's settings (restart needed)."""
    service = ModuleService(session, principal, context.modules)
    return _read(await service.switch(name, body.enabled))
