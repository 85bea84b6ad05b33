"""Webhooks out: events from the bus POSTed to subscribers, HMAC-signed, retried with
exponential backoff, every attempt written to the delivery log.

The dispatcher owns one bus subscription (a large queue: webhooks feed CRMs and ticketing
systems, which should see every event; drops are counted in metrics like any other
subscriber's). Each (event, webhook) delivery runs in its own task, bounded by a
semaphore, so one slow or dead endpoint delays nobody else.

Signature: ``X-Hotline-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`` with
the webhook's secret, and ``X-Hotline-Timestamp`` in Unix seconds, so receivers can reject
replays. ``X-Hotline-Delivery`` is the same across retries of one delivery (idempotency).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from hotline.api.routes.events import to_json
from hotline.events.base import Event
from hotline.events.bus import EventBus, Subscription
from hotline.store.database import Database
from hotline.store.models import Webhook, WebhookDelivery
from hotline.store.repositories import Repository

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
FIRST_BACKOFF_S = 1.0
TIMEOUT_S = 10.0
CONCURRENCY = 20
QUEUE_SIZE = 10_000


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class WebhookDispatcher:
    def __init__(
        self,
        database: Database,
        bus: EventBus,
        client: httpx.AsyncClient | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.database = database
        self.bus = bus
        self.client = client or httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False)
        self.sleep = sleep
        self.clock = clock
        self.max_attempts = max_attempts
        self._subscription: Subscription[Event] | None = None
        self._task: asyncio.Task[None] | None = None
        self._deliveries: set[asyncio.Task[None]] = set()
        self._semaphore = asyncio.Semaphore(CONCURRENCY)
        self._handling = False

    def start(self) -> None:
        self._subscription = self.bus.subscribe(Event, maxsize=QUEUE_SIZE, name="webhooks")
        self._task = asyncio.create_task(self._run(self._subscription), name="webhooks")

    async def stop(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
        if self._task is not None:
            await self._task
        for task in list(self._deliveries):
            task.cancel()
        await asyncio.gather(*self._deliveries, return_exceptions=True)
        await self.client.aclose()

    async def idle(self) -> None:
        """Wait until every queued event has been handed out and every delivery ended."""
        while (
            (self._subscription is not None and self._subscription.pending())
            or self._handling
            or self._deliveries
        ):
            await asyncio.gather(*list(self._deliveries), return_exceptions=True)
            await asyncio.sleep(0)

    async def _run(self, subscription: Subscription[Event]) -> None:
        async for event in subscription:
            self._handling = True
            try:
                hooks = await self._subscribers(event.type_name)
            except Exception:
                log.exception("cannot read webhooks; event %s not delivered", event.type_name)
                continue
            finally:
                self._handling = False
            body = json.dumps(to_json(event), separators=(",", ":")).encode()
            for hook_id, url, secret in hooks:
                task = asyncio.create_task(self._deliver(hook_id, url, secret, event, body))
                self._deliveries.add(task)
                task.add_done_callback(self._deliveries.discard)

    async def _subscribers(self, event_type: str) -> list[tuple[int, str, str]]:
        async with self.database.session() as session:
            hooks = await Repository(session, Webhook).list(limit=10_000, active=True)
        return [
            (hook.id, hook.url, hook.secret)
            for hook in hooks
            if event_type in hook.event_types or "*" in hook.event_types
        ]

    async def _deliver(
        self, hook_id: int, url: str, secret: str, event: Event, body: bytes
    ) -> None:
        delivery_id = secrets.token_hex(16)
        delay = FIRST_BACKOFF_S
        async with self._semaphore:
            for attempt in range(1, self.max_attempts + 1):
                timestamp = str(int(self.clock()))
                headers = {
                    "Content-Type": "application/json",
                    "X-Hotline-Event": event.type_name,
                    "X-Hotline-Delivery": delivery_id,
                    "X-Hotline-Timestamp": timestamp,
                    "X-Hotline-Signature": sign(secret, timestamp, body),
                }
                status: int | None = None
                error: str | None = None
                try:
                    response = await self.client.post(url, content=body, headers=headers)
                    status = response.status_code
                except httpx.HTTPError as failure:
                    error = f"{type(failure).__name__}: {failure}"[:500]
                succeeded = status is not None and 200 <= status < 300
                await self._log(hook_id, delivery_id, event, attempt, status, error, succeeded)
                if succeeded:
                    return
                if attempt < self.max_attempts:
                    await self.sleep(delay)
                    delay *= 2
            log.warning(
                "webhook delivery failed after %d attempts",
                self.max_attempts,
                extra={"webhook": hook_id, "event": event.type_name},
            )

    async def _log(
        self,
        hook_id: int,
        delivery_id: str,
        event: Event,
        attempt: int,
        status: int | None,
        error: str | None,
        succeeded: bool,
    ) -> None:
        values: dict[str, Any] = {
            "webhook_id": hook_id,
            "delivery_id": delivery_id,
            "event_type": event.type_name,
            "attempt": attempt,
            "status_code": status,
            "error": error,
            "succeeded": succeeded,
        }
        try:
            async with self.database.session() as session:
                session.add(WebhookDelivery(**values))
                await session.commit()
        except Exception:
            log.exception("cannot write webhook delivery log", extra=values)
