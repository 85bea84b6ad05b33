"""Who may see and act on what in the live contact centre, shared by its route modules.

Access follows the rest of the API: agents act on and see themselves and their own calls,
supervisors their departments, admins everything, auditors may look. What is out of scope is
"not found" (404), as for stored rows, so that the existence of another department's agent
or call does not leak. A node without telephony answers 503.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable
from typing import Annotated

from fastapi import HTTPException, Path, status
from sqlalchemy import select

from hotline.api.deps import ContextDep, SessionDep
from hotline.api.rbac import Principal
from hotline.services.operations import CallView, LiveOperations, OperationError
from hotline.store.models import Agent, Department, Role

AgentId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_.+-]+$")]
CallId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[0-9A-Za-z_.@+-]+$")]
UNAVAILABLE = "live operations are not available on this node"


@dataclasses.dataclass(frozen=True)
class LiveScope:
    """What one caller may see of the live centre."""

    departments: frozenset[str] | None  # None: every department
    agent_id: str | None  # an agent's own extension (agents see only themselves)

    def sees_department(self, department: str | None) -> bool:
        return self.departments is None or (department or "") in self.departments


async def live_scope(session: SessionDep, principal: Principal) -> LiveScope:
    agent_id = None
    if principal.role is Role.AGENT:
        agent_id = await session.scalar(
            select(Agent.extension).where(Agent.user_id == principal.user_id)
        )
    ids = principal.departments
    if ids is None:
        return LiveScope(None, agent_id)
    names = await session.scalars(select(Department.name).where(Department.id.in_(ids)))
    return LiveScope(frozenset(names), agent_id)


def live_operations(context: ContextDep) -> LiveOperations:
    if context.operations is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE)
    return context.operations


ERROR_CODES = {
    "not_found": status.HTTP_404_NOT_FOUND,
    "invalid": 422,
    "unavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
    "forbidden": status.HTTP_403_FORBIDDEN,
}


async def run_operation(action: Awaitable[None]) -> None:
    try:
        await action
    except OperationError as error:
        code = ERROR_CODES.get(error.kind, status.HTTP_409_CONFLICT)
        raise HTTPException(code, str(error)) from None


async def visible_call(
    call_id: str,
    session: SessionDep,
    principal: Principal,
    operations: LiveOperations,
    *,
    ringing: bool,
) -> CallView:
    """The live call, if the caller may see it: a call of its departments, and for an agent
    only the call it talks on (or, with ``ringing``, whose offer rings its phone); else 404,
    as for a call that does not exist."""
    scope = await live_scope(session, principal)
    try:
        view = operations.call(call_id)
    except OperationError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no call {call_id}") from None
    visible = scope.sees_department(view.department)
    agents = (view.agent, *view.ringing) if ringing else (view.agent,)
    if principal.role is Role.AGENT and scope.agent_id not in agents:
        visible = False
    if not visible:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no call {call_id}")
    return view


async def visible_agent(
    agent_id: str, session: SessionDep, principal: Principal, operations: LiveOperations
) -> LiveScope:
    """404 unless the caller may act on ``agent_id``: an agent of its departments, and for
    an agent only itself. Returns the caller's scope."""
    scope = await live_scope(session, principal)
    try:
        department = operations.agent_department(agent_id)
    except OperationError:
        department = None
    visible = department is not None and scope.sees_department(department)
    if principal.role is Role.AGENT and agent_id != scope.agent_id:
        visible = False
    if not visible:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no agent {agent_id}")
    return scope
