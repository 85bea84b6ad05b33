"""The live contact centre: queues, agents and calls in progress, agent states, call controls.

Access follows the rest of the API: agents act on and see themselves and their own calls,
supervisors their departments, admins everything, auditors may look. What is out of scope is
"not found" (404), as for stored rows, so that the existence of another department's agent
or call does not leak. A node without telephony answers 503.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Response, status
from sqlalchemy import select

from hotline.api.deps import ContextDep, PrincipalDep, SessionDep
from hotline.api.rbac import Permission, Principal
from hotline.api.schemas.live import (
    BreakBody,
    LiveAgent,
    LiveCall,
    LiveParty,
    LiveQueue,
    LiveTrunk,
    OriginateBody,
    OriginatedCall,
    PartyBody,
    ScreenPop,
    SuperviseBody,
    TransferBody,
    WrapUpBody,
)
from hotline.api.services.audit import AuditService
from hotline.api.services.desk import DeskService
from hotline.services.operations import CallView, LiveOperations, OperationError
from hotline.store.models import Agent, Department, Role

router = APIRouter(prefix="/live", tags=["live"])

AgentId = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_.+-]+$")]
CallId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[0-9A-Za-z_.@+-]+$")]
UNAVAILABLE = "live operations are not available on this node"


@dataclasses.dataclass(frozen=True)
class _Scope:
    """What one caller may see of the live centre."""

    departments: frozenset[str] | None  # None: every department
    agent_id: str | None  # an agent's own extension (agents see only themselves)

    def sees_department(self, department: str | None) -> bool:
        return self.departments is None or (department or "") in self.departments


async def _scope(session: SessionDep, principal: Principal) -> _Scope:
    agent_id = None
    if principal.role is Role.AGENT:
        agent_id = await session.scalar(
            select(Agent.extension).where(Agent.user_id == principal.user_id)
        )
    ids = principal.departments
    if ids is None:
        return _Scope(None, agent_id)
    names = await session.scalars(select(Department.name).where(Department.id.in_(ids)))
    return _Scope(frozenset(names), agent_id)


def _operations(context: ContextDep) -> LiveOperations:
    if context.operations is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, UNAVAILABLE)
    return context.operations


_ERROR_CODES = {
    "not_found": status.HTTP_404_NOT_FOUND,
    "invalid": 422,
    "unavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
    "forbidden": status.HTTP_403_FORBIDDEN,
}


async def _run(action: Awaitable[None]) -> None:
    try:
        await action
    except OperationError as error:
        code = _ERROR_CODES.get(error.kind, status.HTTP_409_CONFLICT)
        raise HTTPException(code, str(error)) from None


# ---- views -------------------------------------------------------------------------------


@router.get("/queues")
async def live_queues(
    session: SessionDep, principal: PrincipalDep, context: ContextDep
) -> list[LiveQueue]:
    """Per queue: callers waiting, longest wait, today's counts, service level, agents."""
    principal.require(Permission.LIVE_READ)
    scope = await _scope(session, principal)
    operations = _operations(context)
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
    scope = await _scope(session, principal)
    operations = _operations(context)
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
    scope = await _scope(session, principal)
    operations = _operations(context)
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
    scope = await _scope(session, principal)
    operations = _operations(context)
    try:
        department = operations.agent_department(agent_id)
    except OperationError:
        department = None
    visible = department is not None and scope.sees_department(department)
    if principal.role is Role.AGENT and agent_id != scope.agent_id:
        visible = False
    if not visible:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no agent {agent_id}")
    await _run(change(operations))
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


# ---- call controls -----------------------------------------------------------------------


async def _visible_call(
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
    scope = await _scope(session, principal)
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


async def _control(
    call_id: str,
    action: str,
    session: SessionDep,
    principal: Principal,
    context: ContextDep,
    change: Callable[[LiveOperations], Awaitable[None]],
    detail: dict[str, str] | None = None,
    permission: Permission = Permission.CALLS_CONTROL,
) -> Response:
    principal.require(permission)
    operations = _operations(context)
    # An agent controls only the call it is talking on.
    await _visible_call(call_id, session, principal, operations, ringing=False)
    await _run(change(operations))
    await AuditService(session, principal).record(action, "call", call_id, detail=detail or {})
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/calls/{call_id}/hold", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def hold_call(
    call_id: CallId, session: SessionDep, principal: PrincipalDep, context: ContextDep
) -> Response:
    """The caller hears music on hold, the agent nothing."""
    return await _control(call_id, "hold", session, principal, context, lambda op: op.hold(call_id))


@router.post(
    "/calls/{call_id}/resume", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def resume_call(
    call_id: CallId, session: SessionDep, principal: PrincipalDep, context: ContextDep
) -> Response:
    return await _control(
        call_id, "resume", session, principal, context, lambda op: op.resume(call_id)
    )


@router.post(
    "/calls/{call_id}/hangup", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def hang_up_call(
    call_id: CallId, session: SessionDep, principal: PrincipalDep, context: ContextDep
) -> Response:
    """End the call for everyone on it."""
    return await _control(
        call_id, "hangup", session, principal, context, lambda op: op.hangup(call_id)
    )


@router.post(
    "/calls/{call_id}/transfer", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def transfer_call(
    call_id: CallId,
    body: TransferBody,
    session: SessionDep,
    principal: PrincipalDep,
    context: ContextDep,
) -> Response:
    """Blind transfer: into a queue, to a user (rung directly), or to an outside number
    through a carrier trunk (403: the transfer rules do not allow that number; 503: no
    usable trunk; the caller stays with the agent when refused)."""
    if body.queue is not None:
        queue = body.queue
        return await _control(
            call_id,
            "transfer",
            session,
            principal,
            context,
            lambda op: op.transfer_to_queue(call_id, queue),
            {"queue": queue},
        )
    target = body.target or ""
    return await _control(
        call_id,
        "transfer",
        session,
        principal,
        context,
        lambda op: op.transfer_to_user(call_id, target),
        {"target": target},
    )


# ---- outbound calls and trunks -------------------------------------------------------------


@router.post("/calls", status_code=status.HTTP_201_CREATED)
async def originate_call(
    body: OriginateBody, session: SessionDep, principal: PrincipalDep, context: ContextDep
) -> OriginatedCall:
    """Click-to-call: ring the agent's phone; when it answers, dial ``number`` through the
    trunk group (default: the node's first) and bridge. Agents call as themselves,
    supervisors for agents of their departments. 404: no such agent or group; 409: the
    agent has no registered phone or is on a call; 422: a number or caller ID that cannot
    be used; 503: no usable trunk (the reason names each trunk's state)."""
    principal.require(Permission.CALLS_CONTROL)
    scope = await _scope(session, principal)
    operations = _operations(context)
    try:
        department = operations.agent_department(body.agent)
    except OperationError:
        department = None
    visible = department is not None and scope.sees_department(department)
    if principal.role is Role.AGENT and body.agent != scope.agent_id:
        visible = False
    if not visible:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no agent {body.agent}")
    try:
        call_id = operations.originate(body.agent, body.number, body.trunk_group, body.caller_id)
    except OperationError as error:
        code = _ERROR_CODES.get(error.kind, status.HTTP_409_CONFLICT)
        raise HTTPException(code, str(error)) from None
    detail = {"agent": body.agent, "number": body.number}
    if body.trunk_group:
        detail["trunk_group"] = body.trunk_group
    await AuditService(session, principal).record("originate", "call", call_id, detail=detail)
    await session.commit()
    return OriginatedCall(call_id=call_id)


@router.get("/trunks")
async def live_trunks(principal: PrincipalDep, context: ContextDep) -> list[LiveTrunk]:
    """Each carrier trunk: health by OPTIONS (up/down, last probe), channels in use."""
    principal.require(Permission.CONFIG_READ)
    operations = _operations(context)
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
    view = await _visible_call(call_id, session, principal, _operations(context), ringing=True)
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
    scope = await _scope(session, principal)
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


# ---- attended transfer, conference -----------------------------------------------------------


def _call_action(
    path: str, action: str, doc: str, change: Callable[[LiveOperations, str], Awaitable[None]]
) -> None:
    """Register ``POST /calls/{call_id}/<path>`` without a body: one call control."""

    async def endpoint(
        call_id: CallId, session: SessionDep, principal: PrincipalDep, context: ContextDep
    ) -> Response:
        return await _control(
            call_id, action, session, principal, context, lambda op: change(op, call_id)
        )

    endpoint.__doc__ = doc
    endpoint.__name__ = action.replace("-", "_")
    router.add_api_route(
        f"/calls/{{call_id}}/{path}",
        endpoint,
        methods=["POST"],
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
    )


@router.post(
    "/calls/{call_id}/consult", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def consult(
    call_id: CallId,
    body: PartyBody,
    session: SessionDep,
    principal: PrincipalDep,
    context: ContextDep,
) -> Response:
    """Attended transfer, step one: the caller is held (music) while ``target`` is rung and
    talks to the agent. Then ``consult/complete`` or ``consult/cancel``."""
    target = body.target
    return await _control(
        call_id,
        "consult",
        session,
        principal,
        context,
        lambda op: op.consult(call_id, target),
        {"target": target},
    )


_call_action(
    "consult/complete",
    "consult-complete",
    "The consulted party takes the caller over; the agent goes to wrap-up.",
    lambda op, call_id: op.complete_transfer(call_id),
)
_call_action(
    "consult/cancel",
    "consult-cancel",
    "The consulted party is let go; the agent is back with the caller.",
    lambda op, call_id: op.cancel_consult(call_id),
)


@router.post(
    "/calls/{call_id}/conference",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def add_to_conference(
    call_id: CallId,
    body: PartyBody,
    session: SessionDep,
    principal: PrincipalDep,
    context: ContextDep,
) -> Response:
    """Ring ``target`` into a three-way call with the caller and the agent."""
    target = body.target
    return await _control(
        call_id,
        "conference",
        session,
        principal,
        context,
        lambda op: op.add_party(call_id, target),
        {"target": target},
    )


_call_action(
    "conference/drop",
    "conference-drop",
    "End the conference's third party; caller and agent go on.",
    lambda op, call_id: op.drop_party(call_id),
)

# ---- recording on demand ---------------------------------------------------------------------

for _action in ("start", "stop", "pause", "resume"):
    _call_action(
        f"recording/{_action}",
        f"recording-{_action}",
        f"Recording: {_action} (start and stop per the queue's policy; a pause leaves "
        "what follows out of the file).",
        lambda op, call_id, action=_action: op.recording(call_id, action),  # type: ignore[misc]
    )


async def recording_control(
    call_id: str,
    action: Literal["start", "stop", "pause", "resume"],
    session: SessionDep,
    principal: Principal,
    context: ContextDep,
) -> Response:
    """What ``POST /calls/{call_id}/recording/<action>`` does, for the agent desktop's
    buttons (same checks, same audit entry)."""
    return await _control(
        call_id,
        f"recording-{action}",
        session,
        principal,
        context,
        lambda op: op.recording(call_id, action),
    )


# ---- supervisors -----------------------------------------------------------------------------


@router.post(
    "/calls/{call_id}/supervise", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def supervise(
    call_id: CallId,
    body: SuperviseBody,
    session: SessionDep,
    principal: PrincipalDep,
    context: ContextDep,
) -> Response:
    """A supervisor (of the call's department) or an admin listens, whispers to the agent or
    barges in; their phone is rung into the call. Posting again switches the mode."""
    principal.require(Permission.CALLS_SUPERVISE)
    phone = body.phone or await session.scalar(
        select(Agent.extension).where(Agent.user_id == principal.user_id)
    )
    if phone is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, "give the phone (extension) to ring"
        )
    mode = body.mode
    return await _control(
        call_id,
        "supervise",
        session,
        principal,
        context,
        lambda op: op.supervise(call_id, phone, mode),
        {"mode": mode, "phone": phone},
        Permission.CALLS_SUPERVISE,
    )


@router.post(
    "/calls/{call_id}/supervise/stop",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def end_supervision(
    call_id: CallId, session: SessionDep, principal: PrincipalDep, context: ContextDep
) -> Response:
    """The supervisor's leg is hung up; caller and agent go on."""
    return await _control(
        call_id,
        "supervise-stop",
        session,
        principal,
        context,
        lambda op: op.end_supervision(call_id),
        None,
        Permission.CALLS_SUPERVISE,
    )
