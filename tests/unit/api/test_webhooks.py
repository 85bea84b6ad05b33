"""Webhooks out: signed bodies, retries with doubling backoff, a delivery log per attempt,
secrets never shown back, through the real dispatcher and database (the receiving side is
an httpx mock transport)."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import ClassVar

import httpx

from hotline.api.webhooks import WebhookDispatcher
from hotline.events.base import Event
from tests.unit.api.conftest import World

SECRET = "whsec-0123456789abcdef"


@dataclass(frozen=True, slots=True, kw_only=True)
class TicketWorthy(Event):
    type_name: ClassVar[str] = "test.ticket_worthy"
    caller: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Ignored(Event):
    type_name: ClassVar[str] = "test.ignored"


class Receiver:
    """Fails the first ``failures`` requests with 503, then accepts."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if len(self.requests) <= self.failures:
            return httpx.Response(503)
        return httpx.Response(204)


async def _dispatcher(world: World, receiver: Receiver, delays: list[float]) -> WebhookDispatcher:
    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    return WebhookDispatcher(
        world.context.database,
        world.context.bus,
        httpx.AsyncClient(transport=httpx.MockTransport(receiver)),
        sleep=sleep,
        clock=lambda: 1_700_000_000.0,
        max_attempts=4,
    )


async def test_signed_delivery_with_retries_and_log(world: World, clients) -> None:
    admin = clients["admin"]
    created = await admin.post(
        "/api/v1/webhooks",
        json={
            "name": "crm",
            "url": "https://crm.example/hooks/hotline",
            "secret": SECRET,
            "event_types": ["test.ticket_worthy"],
        },
    )
    assert created.status_code == 201, created.text
    assert "secret" not in created.json()
    receiver = Receiver(failures=2)
    delays: list[float] = []
    dispatcher = await _dispatcher(world, receiver, delays)
    dispatcher.start()
    try:
        world.context.bus.publish(Ignored(at=1.0))
        world.context.bus.publish(TicketWorthy(at=2.0, caller="+8613800000000"))
        await dispatcher.idle()
    finally:
        await dispatcher.stop()
    assert len(receiver.requests) == 3
    assert delays == [1.0, 2.0]
    request = receiver.requests[-1]
    body = request.content
    assert json.loads(body) == {"type": "test.ticket_worthy", "at": 2.0, "caller": "+8613800000000"}
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert request.headers["x-hotline-signature"] == f"sha256={expected}"
    assert request.headers["x-hotline-timestamp"] == "1700000000"
    assert len({r.headers["x-hotline-delivery"] for r in receiver.requests}) == 1
    log = (await admin.get(f"/api/v1/webhooks/{created.json()['id']}/deliveries")).json()
    assert [(d["attempt"], d["status_code"], d["succeeded"]) for d in log] == [
        (1, 503, False),
        (2, 503, False),
        (3, 204, True),
    ]
    audit = str((await admin.get("/api/v1/audit-log", params={"resource": "webhooks"})).json())
    assert SECRET not in audit


async def test_gives_up_after_max_attempts_and_logs_transport_errors(world: World, clients) -> None:
    await clients["admin"].post(
        "/api/v1/webhooks",
        json={
            "name": "all",
            "url": "http://ticketing.example/",
            "secret": SECRET,
            "event_types": ["*"],
        },
    )

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    dispatcher = WebhookDispatcher(
        world.context.database,
        world.context.bus,
        httpx.AsyncClient(transport=httpx.MockTransport(refuse)),
        sleep=sleep,
        max_attempts=4,
    )
    dispatcher.start()
    try:
        world.context.bus.publish(Ignored(at=1.0))
        await dispatcher.idle()
    finally:
        await dispatcher.stop()
    assert delays == [1.0, 2.0, 4.0]
    log = (await clients["admin"].get("/api/v1/webhooks/1/deliveries")).json()
    assert [d["succeeded"] for d in log] == [False] * 4
    assert log[0]["error"].startswith("ConnectError")


async def test_webhook_urls_are_validated(clients) -> None:
    response = await clients["admin"].post(
        "/api/v1/webhooks",
        json={"name": "x", "url": "ftp://nope", "secret": SECRET, "event_types": ["*"]},
    )
    assert response.status_code == 422
    short = await clients["admin"].post(
        "/api/v1/webhooks",
        json={"name": "x", "url": "https://a.example", "secret": "short", "event_types": ["*"]},
    )
    assert short.status_code == 422
