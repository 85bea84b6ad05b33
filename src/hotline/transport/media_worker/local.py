"""The built-in engine in the caller's own loop: one ``WorkerCore``, no process, no pipe.

For the demo, tests and small sites (``media.workers: 0``): the same commands and events as
``MediaWorkerPool``, run by the same core, so what is tested here is what the workers run.
"""

from __future__ import annotations

import asyncio

from hotline.media.engine import (
    Allocate,
    Command,
    EndpointDescription,
    EndpointStats,
    GetStats,
    MediaEngineError,
    MediaEvent,
    Reply,
)
from hotline.transport.media_worker.core import WorkerConfig, WorkerCore


class LocalMediaEngine:
    """The engine in the caller's own loop: the demo, tests, and small sites."""

    def __init__(self, config: WorkerConfig | None = None) -> None:
        self._events: asyncio.Queue[MediaEvent] = asyncio.Queue()
        self.core = WorkerCore(config or WorkerConfig(), emit=self._events.put_nowait)
        self._started = False

    async def next_event(self) -> MediaEvent:
        return await self._events.get()

    async def _ensure_started(self) -> None:
        if not self._started:
            self.core.start()
            self._started = True

    async def allocate(self, command: Allocate) -> EndpointDescription:
        reply = await self.execute(command)
        if not isinstance(reply, EndpointDescription):
            raise MediaEngineError(str(reply))
        return reply

    async def execute(self, command: Command) -> Reply:
        await self._ensure_started()
        return await self.core.execute(command)

    async def stats(self, endpoint_id: str) -> EndpointStats:
        reply = await self.execute(GetStats(endpoint_id))
        if not isinstance(reply, EndpointStats):
            raise MediaEngineError(str(reply))
        return reply

    async def close(self) -> None:
        await self.core.close()
