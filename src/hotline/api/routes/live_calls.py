"""Call controls of the live contact centre: one set for every kind of call.

Hold, resume, hang-up, blind and attended transfer, conference, recording on demand and
supervision, and click-to-call. Every control checks that the caller may act on the call
(``live_access.visible_call``: an agent only on the call it talks on), carries it out, and
is audited.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from fastapi import APIRouter, HTTPException, Response, status
from sqlalchemy import select

from hotline.api.deps import ContextDep, PrincipalDep, SessionDep
from hotline.api.rbac import Permission, Principal
from hotline.api.routes.live_access import (
    ERROR_CODES,
    CallId,
    live_operations,
    run_operation,
    visible_agent,
    visible_call,
)
from hotline.api.schemas.live import (
    OriginateBody,
    OriginatedCall,
    PartyBody,
    SuperviseBody,
    TransferBody,
)
from hotline.api.services.audit import AuditService
from hotline.services.operations import LiveOperations, OperationError
from hotline.store.models import Agent

router = APIRouter(prefix="/live", tags=["live"])


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
    operations = live_operations(context)
    # An agent controls only the call it is talking on.
    await visible_call(call_id, session, principal, operations, ringing=False)
    await run_operation(change(operations))
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
    operations = live_operations(context)
    await visible_agent(body.agent, session, principal, operations)
    try:
        call_id = operations.originate(body.agent, body.number, body.trunk_group, body.caller_id)
    except OperationError as error:
        code = ERROR_CODES.get(error.kind, status.HTTP_409_CONFLICT)
        raise HTTPException(code, str(error)) from None
    detail = {"agent": body.agent, "number": body.number}
    if body.trunk_group:
        detail["trunk_group"] = body.trunk_group
    await AuditService(session, principal).record("originate", "call", call_id, detail=detail)
    await session.commit()
    return OriginatedCall(call_id=call_id)


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
