"""``/api/v1/events``: the bus's typed events as JSON over a WebSocket, filtered per caller.

Visibility follows the event's fields, a convention every layer's events keep: an event
with ``department_id`` is seen by callers whose scope includes that department; an agent
sees only events whose ``user_id`` is theirs. The live contact centre's events (ACD, calls)
name queues, agents and calls instead: the node's live operations say which department
and agents each concerns (a call's parties are remembered for its later events, which may
come after the call has left the live centre), so a supervisor sees their departments'
live events and an agent those of its own state and calls. Events that resolve to nothing
are seen by unscoped roles (admin, auditor, QA) only. A client that cannot keep up loses
the oldest events of its own queue and receives ``{"type": "events.dropped", "count": n}``
so it can re-fetch state; the node itself never waits for a client.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
from datetime import datetime
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from fastapi.exceptions import WebSocketException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.deps import context_of, resolve_principal
from hotline.api.rbac import Permission, Principal
from hotline.events.base import Event
from hotline.services.operations import EventParties, LiveOperations
from hotline.store.models import Agent, Department

router = APIRouter(tags=["events"])

#: Calls whose parties one connection remembers (oldest forgotten first).
REMEMBERED_CALLS = 10_000


@dataclasses.dataclass
class LiveAudience:
    """What one connection needs to place live events: its departments by name, its own
    extension (agents), and the parties of the calls it has seen."""

    department_names: frozenset[str] | None
    extension: str | None
    operations: LiveOperations | None
    calls: dict[str, EventParties] = dataclasses.field(default_factory=dict)

    def parties(self, event: Event) -> EventParties | None:
        if self.operations is None:
            return None
        call_id = getattr(event, "call_id", None) or getattr(event, "contact_id", None)
        found = self.operations.event_parties(event)
        if isinstance(call_id, str) and call_id:
            known = self.calls.get(call_id)
            if found is None:
                return known
            if known is not None:  # a call's department stays; its agents accumulate
                found = EventParties(
                    known.department or found.department, known.agents | found.agents
                )
            self.calls.pop(call_id, None)
            self.calls[call_id] = found
            if len(self.calls) > REMEMBERED_CALLS:
                del self.calls[next(iter(self.calls))]
        return found


async def live_audience(
    session: AsyncSession, principal: Principal, operations: LiveOperations | None
) -> LiveAudience:
    extension = None
    if principal.only_self:
        extension = await session.scalar(
            select(Agent.extension).where(Agent.user_id == principal.user_id)
        )
    names = None
    if principal.departments is not None:
        rows = await session.scalars(
            select(Department.name).where(Department.id.in_(principal.departments))
        )
        names = frozenset(rows)
    return LiveAudience(names, extension, operations)


def visible(principal: Principal, event: Event, audience: LiveAudience | None = None) -> bool:
    """Whether ``principal`` may see ``event``; ``audience`` places live events (and learns
    their calls' parties, so it must see every event of the connection)."""
    if not principal.can(Permission.EVENTS):
        return False
    if principal.only_self:
        if getattr(event, "user_id", None) == principal.user_id:
            return True
        if audience is None or audience.extension is None:
            return False
        parties = audience.parties(event)
        return parties is not None and audience.extension in parties.agents
    scope = principal.departments
    if scope is None:
        return True
    department = getattr(event, "department_id", None)
    if department is not None:
        return department in scope
    if audience is None or audience.department_names is None:
        return False
    parties = audience.parties(event)
    return (
        parties is not None
        and parties.department is not None
        and parties.department in audience.department_names
    )


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
            raise WebSocketException(
                status.WS_1008_POLICY_VIOLATION, "permission 'events' required"
            )
        audience = await live_audience(session, principal, context.operations)
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
            # Placed before the type filter: a call's parties are learnt from all its events.
            shown = visible(principal, event, audience)
            if wanted and event.type_name not in wanted:
                continue
            if shown:
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
