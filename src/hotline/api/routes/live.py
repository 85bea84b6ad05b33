"""The live contact centre's views and agents: queues, agents and calls in progress, agent
states, the desktop's screen pop and wrap-up. Call controls are ``live_calls.py``; who may
see what is ``live_access.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, HTTPException, Response, status

from hotline.api.deps import ContextDep, PrincipalDep, SessionDep
from hotline.api.rbac import Permission, Principal
from hotline.api.routes.live_access import (
    AgentId,
    CallId,
    live_operations,
    live_scope,
    run_operation,
    visible_agent,
    visible_call,
)
from hotline.api.schemas.live import (
    BreakBody,
    LiveAgent,
    LiveCall,
    LiveParty,
    LiveQueue,
    LiveTrunk,
    ScreenPop,
    WrapUpBody,
)
from hotline.api.services.audit import AuditService
from hotline.api.services.desk import DeskService
from hotline.services.operations import LiveOperations
from hotline.store.models import Role

router = APIRouter(prefix="/live", tags=["live"])


# ---- views -------------------------------------------------------------------------------


@router.get("/queues")
async def live_queues(
    session: SessionDep, principal: PrincipalDep, context: ContextDep
) -> list[LiveQueue]:
    """Per queue: callers waiting, longest wait, today's counts, service level, agents."""
    principal.require(Permission.LIVE_READ)
    scope = await live_scope(session, principal)
    operations = live_operations(context)
    return [
        LiveQueue(**dataclasses.asdict(view))
        for view in operations.queues()
        if scope.sees_department(view.department)
    ]


@router.get("/agents")
async def live_agents(
    session: SessionDep, principal: PrincipalDep, context: ContextDep
) -> list[LiveAgent]:
    """Every agent's state, its reason (break), time in state and current call."""
    principal.require(Permission.LIVE_READ)
    scope = await live_scope(session, principal)
    operations = live_operations(context)
    return [
        LiveAgent(**dataclasses.asdict(view))
        for view in operations.agents()
        if scope.sees_department(view.department)
        and (principal.role is not Role.AGENT or view.agent_id == scope.agent_id)
    ]


@router.get("/calls")
async def live_calls(
    session: SessionDep, principal: PrincipalDep, context: ContextDep
) -> list[LiveCall]:
    """Calls in progress: in the IVR, waiting, ringing an agent or connected."""
    principal.require(Permission.LIVE_READ)
    scope = await live_scope(session, principal)
    operations = live_operations(context)
    return [
        LiveCall(
            **{
                **dataclasses.asdict(view),
                "ringing": list(view.ringing),
                "parties": [LiveParty(**dataclasses.asdict(p)) for p in view.parties],
            }
        )
        for view in operations.calls()
        if scope.sees_department(view.department)
        and (principal.role is not Role.AGENT or scope.agent_id in (view.agent, *view.ringing))
    ]


# ---- agent states ------------------------------------------------------------------------


async def _change_agent(
    agent_id: str,
    action: str,
    session: SessionDep,
    principal: Principal,
    context: ContextDep,
    change: Callable[[LiveOperations], Awaitable[None]],
    detail: dict[str, str] | None = None,
) -> Response:
    principal.require(Permission.AGENT_STATE)
    operations = live_operations(context)
    scope = await visible_agent(agent_id, session, principal, operations)
    await run_operation(change(operations))
    if agent_id != scope.agent_id:  # someone else changed the agent's state: audit it
        await AuditService(session, principal).record(
            action, "agent_state", agent_id, detail=detail or {}
        )
        await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/agents/{agent_id}/login", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def agent_login(
    agent_id: AgentId, session: SessionDep, principal: PrincipalDep, context: ContextDep
) -> Response:
    """Log the agent in: available at once (an on-demand agent starts on break and is
    offered calls only after saying it is ready)."""
    return await _change_agent(
        agent_id, "login", session, principal, context, lambda op: op.agent_login(agent_id)
    )


@router.post(
    "/agents/{agent_id}/ready", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def agent_ready(
    agent_id: AgentId, session: SessionDep, principal: PrincipalDep, context: ContextDep
) -> Response:
    """The agent takes calls (ends a break or wrap-up)."""
    return await _change_agent(
        agent_id, "ready", session, principal, context, lambda op: op.agent_ready(agent_id)
    )


@router.post(
    "/agents/{agent_id}/break", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def agent_break(
    agent_id: AgentId,
    body: BreakBody,
    session: SessionDep,
    principal: PrincipalDep,
    context: ContextDep,
) -> Response:
    """A break with a reason code (after the current call, if on one)."""
    return await _change_agent(
        agent_id,
        "break",
        session,
        principal,
        context,
        lambda op: op.agent_break(agent_id, body.reason),
        {"reason": body.reason},
    )


@router.post(
    "/agents/{agent_id}/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def agent_logout(
    agent_id: AgentId, session: SessionDep, principal: PrincipalDep, context: ContextDep
) -> Response:
    """Log the agent out (after the current call, if on one)."""
    return await _change_agent(
        agent_id, "logout", session, principal, context, lambda op: op.agent_logout(agent_id)
    )


@router.get("/trunks")
async def live_trunks(principal: PrincipalDep, context: ContextDep) -> list[LiveTrunk]:
    """Each carrier trunk: health by OPTIONS (up/down, last probe), channels in use."""
    principal.require(Permission.CONFIG_READ)
    operations = live_operations(context)
    return [
        LiveTrunk(**{**dataclasses.asdict(view), "groups": list(view.groups)})
        for view in operations.trunks()
    ]


# ---- agent desktop: screen pop and wrap-up -------------------------------------------------


@router.get("/calls/{call_id}/screen-pop")
async def screen_pop(
    call_id: CallId, session: SessionDep, principal: PrincipalDep, context: ContextDep
) -> ScreenPop:
    """The caller's CRM profile, their latest contacts with the call's department, and what
    they told the IVR: for the agent whose phone rings or who talks on the call."""
    principal.require(Permission.LIVE_READ)
    principal.require(Permission.CUSTOMERS_READ)
    view = await visible_call(call_id, session, principal, live_operations(context), ringing=True)
    return await DeskService(session, principal).screen_pop(view)


@router.post(
    "/agents/{agent_id}/wrapup", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def agent_wrapup(
    agent_id: AgentId,
    body: WrapUpBody,
    session: SessionDep,
    principal: PrincipalDep,
    context: ContextDep,
) -> Response:
    """Store the wrap-up (code of the agent's department, notes) on the CDR of a call the
    agent handled; once per call (409 after). Audited. The agent's state is not changed:
    it becomes available when its wrap-up time ends or it says it is ready."""
    principal.require(Permission.AGENT_STATE)
    scope = await live_scope(session, principal)
    service = DeskService(session, principal)
    agent = await service.agent(agent_id)
    visible = agent is not None
    if principal.role is Role.AGENT and agent_id != scope.agent_id:
        visible = False
    if agent is not None and principal.departments is not None:
        visible = visible and agent.department_id in principal.departments
    if not visible or agent is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no agent {agent_id}")
    await service.wrap_up(agent, body.call_id, body.code, body.notes)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
