"""``GET /api/v1/agents``: the agents, each with its live status, filtered for scripts.

The one list that joins the configuration with the live contact centre, because it is
what an operator's monitoring asks ("how many agents are online?", docs/ops.md). Each item
is the agent as configured (``AgentRead``) plus ``status``: its ACD state now
(``logged_out``, ``available``, ``reserved``, ``on_call``, ``wrap_up``, ``break``), or
null when this process runs no contact centre. ``status=online`` keeps the agents logged
in, in any state but ``logged_out``; ``status=<state>`` one state.

Who may list: ``department:read`` (the configuration), or ``live:read`` alone, so that a
read-only monitoring token (scopes ``["live:read"]``, docs/ops.md) can run the check; both
see only their departments' agents, as everywhere. An agent (``live:read`` for its own
state) does not list the others.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status

from hotline.acd.states import AgentState
from hotline.api.deps import ContextDep, Limit, Offset, PrincipalDep, SessionDep
from hotline.api.rbac import Permission
from hotline.api.routes.live_access import UNAVAILABLE
from hotline.api.schemas.agents import AgentRead
from hotline.api.schemas.base import Page, next_page
from hotline.store.models import Agent
from hotline.store.repositories import Repository

router = APIRouter(prefix="/agents", tags=["agents"])

ONLINE = "online"
LOGGED_OUT = AgentState.LOGGED_OUT.value
#: A state of ``hotline.acd.AgentState``, or online (a test keeps the two in step).
AgentStatus = Literal[
    "online", "logged_out", "available", "reserved", "on_call", "wrap_up", "break"
]
#: More agents than this in one department-scoped list is not a call centre this lists.
MAX_AGENTS = 100_000


class AgentStatusRead(AgentRead):
    status: str | None = None


@router.get("", operation_id="list_agents", summary="List agents")
async def list_agents(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    context: ContextDep,
    status_filter: Annotated[
        AgentStatus | None,
        Query(
            alias="status",
            description="online: logged in, in any state but logged_out; or one state",
        ),
    ] = None,
    department_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[AgentStatusRead]:
    """The agents (``count``, a page of ``items``, ``next``), each with its live ``status``."""
    monitoring = principal.can(Permission.LIVE_READ) and not principal.only_self
    if not monitoring:  # an agent reads its own state in the live views, not this list
        principal.require(Permission.DEPARTMENT_READ)
    operations = context.operations
    if status_filter is not None and operations is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE)
    states = {view.agent_id: view.state for view in operations.agents()} if operations else {}
    equals = {} if department_id is None else {"department_id": department_id}
    rows = await Repository(session, Agent).list(
        principal.departments, limit=MAX_AGENTS, offset=0, **equals
    )
    agents = [
        AgentStatusRead.model_validate(row).model_copy(
            update={"status": states.get(row.extension, LOGGED_OUT) if operations else None}
        )
        for row in rows
    ]
    if status_filter == ONLINE:
        agents = [a for a in agents if a.status != LOGGED_OUT]
    elif status_filter is not None:
        agents = [a for a in agents if a.status == status_filter]
    page = agents[offset : offset + limit]
    return Page[AgentStatusRead](
        count=len(agents), items=page, next=next_page(request, offset, len(page), len(agents))
    )
