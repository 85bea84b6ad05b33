"""The in-process event bus: publishers never wait, each subscriber has its own bounded queue.

A node has one bus, built by the composition root. ``publish`` is synchronous and never
blocks: a call-control task must not stall because a browser on a slow link is behind on
its WebSocket. Each :class:`Subscription` owns a bounded queue; when it is full the
*oldest* queued event is dropped to make room for the newest (a live dashboard cares
about now, not about the backlog) and the subscription's ``dropped`` counter grows, so the
consumer can tell its client that it missed events and should re-fetch state.
Consumers that must see every event (CDR writer, webhooks) subscribe with a queue large
enough for their burst and watch ``dropped`` in metrics.

Subscriptions filter by event class: subscribing to a base class receives its subclasses.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

from hotline.events.base import Event

E = TypeVar("E", bound=Event)

DEFAULT_QUEUE_SIZE = 1000


class Subscription(Generic[E]):
    """Events of the chosen classes, in publication order, until :meth:`close`."""

    def __init__(self, bus: EventBus, types: tuple[type[E], ...], maxsize: int, name: str) -> None:
        if maxsize < 1:
            raise ValueError("a subscription's queue holds at least one event")
        self._bus = bus
        self.types = types
        self.name = name
        self._queue: asyncio.Queue[E | None] = asyncio.Queue(maxsize)
        self.dropped = 0
        self.delivered = 0
        self.closed = False

    def wants(self, event: Event) -> bool:
        return isinstance(event, self.types)

    def _offer(self, event: E) -> None:
        if self.closed:
            return
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(event)
        self.delivered += 1

    def pending(self) -> int:
        return self._queue.qsize()

    async def get(self) -> E:
        """The next event; raises :class:`SubscriptionClosedError` once closed and drained."""
        if self.closed and self._queue.empty():
            raise SubscriptionClosedError(self.name)
        event = await self._queue.get()
        if event is None:
            raise SubscriptionClosedError(self.name)
        return event

    def get_nowait(self) -> E | None:
        """The next queued event, or ``None`` when nothing is waiting."""
        try:
            event = self._queue.get_nowait()
        except asyncio.QueueEmpty:
            return None
        return event

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._bus._remove(self)
        # Wake a consumer blocked in get(): make room for the sentinel if needed.
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[E]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[E]:
        while True:
            try:
                yield await self.get()
            except SubscriptionClosedError:
                return


class SubscriptionClosedError(Exception):
    """The subscription was closed while or before its consumer waited."""


class EventBus:
    """Fan-out of typed events to subscriptions, in one event loop."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription[Event]] = []
        self.published = 0

    def subscribe(
        self,
        *types: type[E],
        maxsize: int = DEFAULT_QUEUE_SIZE,
        name: str = "subscriber",
    ) -> Subscription[E]:
        """Receive events that are instances of any of ``types`` (all events if none)."""
        chosen: tuple[type[E], ...] = types or (Event,)  # type: ignore[assignment]
        subscription = Subscription(self, chosen, maxsize, name)
        self._subscriptions.append(subscription)  # type: ignore[arg-type]
        return subscription

    def publish(self, event: Event) -> None:
        """Queue ``event`` for every interested subscriber; never blocks, never raises."""
        self.published += 1
        for subscription in tuple(self._subscriptions):
            if subscription.wants(event):
                subscription._offer(event)

    @property
    def subscriptions(self) -> tuple[Subscription[Event], ...]:
        return tuple(self._subscriptions)

    def _remove(self, subscription: Subscription[E]) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)  # type: ignore[arg-type]
