"""``/api/v1/events``: the bus's typed events as JSON over a WebSocket, filtered per caller.

Visibility follows the event's fields, a convention every layer's events keep: an event
with ``department_id`` is seen by callers whose scope includes that department; an agent
sees only events whose ``user_id`` is theirs; events without either are seen by unscoped
roles (admin, auditor, QA) only. A client that cannot keep up loses the oldest events of
its own queue and receives ``{"type": "events.dropped", "count": n}`` so it can re-fetch
state; the node itself never waits for a client.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
from datetime import datetime
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from fastapi.exceptions import WebSocketException

from hotline.api.deps import context_of, resolve_principal
from hotline.api.rbac import Permission, Principal
from hotline.events.base import Event

router = APIRouter(tags=["events"])


def visible(principal: Principal, event: Event) -> bool:
    if not principal.can(Permission.EVENTS):
        return False
    if principal.only_self:
        return getattr(event, "user_id", None) == principal.user_id
    scope = principal.departments
    if scope is None:
        return True
    department = getattr(event, "department_id", None)
    return department is not None and department in scope


def to_json(event: Event) -> dict[str, Any]:
    body: dict[str, Any] = {"type": event.type_name}
    for field in dataclasses.fields(event):
        body[field.name] = _plain(getattr(event, field.name))
    return body


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return str(value)


@router.websocket("/events")
async def events(websocket: WebSocket) -> None:
    """Optional query ``types``: comma-separated event type names to receive."""
    context = context_of(websocket)
    header = websocket.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" and token.strip() else None
    async with context.database.session() as session:
        principal = await resolve_principal(websocket, session, bearer)
    if principal is None:
        raise WebSocketException(status.WS_1008_POLICY_VIOLATION, "not authenticated")
    if not principal.can(Permission.EVENTS):
        raise WebSocketException(status.WS_1008_POLICY_VIOLATION, "permission 'events' required")
    wanted = {name for name in websocket.query_params.get("types", "").split(",") if name}
    subscription = context.bus.subscribe(
        Event, maxsize=context.websocket_queue_size, name="websocket"
    )
    await websocket.accept()
    context.websocket_clients += 1
    reported = 0

    async def send() -> None:
        nonlocal reported
        async for event in subscription:
            if subscription.dropped > reported:
                await websocket.send_json(
                    {"type": "events.dropped", "count": subscription.dropped - reported}
                )
                reported = subscription.dropped
            if wanted and event.type_name not in wanted:
                continue
            if visible(principal, event):
                await websocket.send_json(to_json(event))

    async def receive() -> None:
        # Clients do not send; reading is how a closed connection is noticed.
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return

    tasks = [asyncio.create_task(send()), asyncio.create_task(receive())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except WebSocketDisconnect:
        pass
    finally:
        subscription.close()
        context.websocket_clients -= 1
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
