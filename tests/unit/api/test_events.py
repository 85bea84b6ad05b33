"""The WebSocket event stream on a real uvicorn server: authentication, typed JSON,
permission filtering, and a slow client that cannot hold up the bus."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from hotline.api.server import HttpServer
from hotline.events.base import Event
from tests.unit.api.conftest import PASSWORD, World


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueChanged(Event):
    type_name: ClassVar[str] = "test.queue_changed"
    department_id: int | None
    user_id: int | None
    waiting: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Unscoped(Event):
    type_name: ClassVar[str] = "test.unscoped"
    note: str


async def _serve(world: World) -> HttpServer:
    server = HttpServer(world.app, "127.0.0.1", 0)  # type: ignore[arg-type]
    await server.start()
    return server


async def _cookie(base: str, username: str) -> str:
    async with httpx.AsyncClient(base_url=base) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert response.status_code == 200
        return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


async def _wait_for_clients(world: World, count: int) -> None:
    async with asyncio.timeout(10):
        while world.context.websocket_clients != count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def receive_events(
    world: World, username: str, events: Sequence[Event], count: int, query: str = ""
) -> list[dict[str, Any]]:
    """Connect as ``username``, publish ``events``, return the first ``count`` received;
    then publish a marker to prove that nothing else was waiting before it."""
    server = await _serve(world)
    assert server.address is not None
    host, port = server.address
    try:
        cookie = await _cookie(f"http://{host}:{port}", username)
        url = f"ws://{host}:{port}/api/v1/events{query}"
        async with connect(url, additional_headers={"Cookie": cookie}) as websocket:
            await _wait_for_clients(world, 1)
            for event in events:
                world.context.bus.publish(event)
            received = []
            async with asyncio.timeout(10):
                for _ in range(count):
                    received.append(json.loads(await websocket.recv()))
            return received
    finally:
        await server.stop()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: the stream's behaviour does not depend on the database dialect."""
    return f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"


async def test_events_arrive_as_typed_json(world: World) -> None:
    event = QueueChanged(at=12.5, department_id=world.ids["dept_A"], user_id=None, waiting=4)
    [received] = await receive_events(world, "admin", [event], count=1)
    assert received == {
        "type": "test.queue_changed",
        "at": 12.5,
        "department_id": world.ids["dept_A"],
        "user_id": None,
        "waiting": 4,
    }


async def test_type_filter_and_unscoped_events(world: World) -> None:
    events: list[Event] = [
        Unscoped(at=1, note="node-wide"),
        QueueChanged(at=2, department_id=world.ids["dept_A"], user_id=None, waiting=1),
    ]
    only_queues = await receive_events(
        world, "admin", events, count=1, query="?types=test.queue_changed"
    )
    assert only_queues[0]["type"] == "test.queue_changed"
    # A supervisor does not see node-wide events: the first thing it gets is its queue's.
    supervisor = await receive_events(world, "supervisor", events, count=1)
    assert supervisor[0]["type"] == "test.queue_changed"


async def test_unauthenticated_and_unpermitted_clients_are_refused(world: World) -> None:
    server = await _serve(world)
    assert server.address is not None
    host, port = server.address
    try:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"ws://{host}:{port}/api/v1/events"):
                pass
        assert refused.value.response.status_code == 403
        cookie = await _cookie(f"http://{host}:{port}", "qa")  # QA has no live events
        with pytest.raises(InvalidStatus):
            async with connect(
                f"ws://{host}:{port}/api/v1/events", additional_headers={"Cookie": cookie}
            ):
                pass
        assert world.context.websocket_clients == 0
    finally:
        await server.stop()


async def test_slow_client_gets_a_drop_notice_and_the_bus_never_waits(world: World) -> None:
    world.context.websocket_queue_size = 4
    server = await _serve(world)
    assert server.address is not None
    host, port = server.address
    try:
        cookie = await _cookie(f"http://{host}:{port}", "admin")
        async with connect(
            f"ws://{host}:{port}/api/v1/events", additional_headers={"Cookie": cookie}
        ) as websocket:
            await _wait_for_clients(world, 1)
            # Published in one go, without yielding to the sender: the client's queue of 4
            # overflows, publish() still returns at once for every event.
            for n in range(50):
                world.context.bus.publish(
                    QueueChanged(at=n, department_id=None, user_id=None, waiting=n)
                )
            [subscription] = world.context.bus.subscriptions
            assert subscription.dropped == 46
            async with httpx.AsyncClient() as client:
                metrics = (await client.get(f"http://{host}:{port}/metrics")).text
            assert 'hotline_events_dropped_total{subscriber="websocket"} 46.0' in metrics
            assert "hotline_websocket_clients 1.0" in metrics
            messages: list[dict[str, Any]] = []
            async with asyncio.timeout(10):
                while len(messages) < 5:
                    messages.append(json.loads(await websocket.recv()))
        assert messages[0] == {"type": "events.dropped", "count": 46}
        assert [m["waiting"] for m in messages[1:]] == [46, 47, 48, 49]
    finally:
        await server.stop()
    assert world.context.websocket_clients == 0
