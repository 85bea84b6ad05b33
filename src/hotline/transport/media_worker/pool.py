"""The node's side of the worker processes: ``MediaWorkerPool``, the engine for production
on one machine.

It starts one worker process per core (``process.py``), shards calls over them by
``crc32(call_id)`` and routes every later command to the worker that holds its endpoint or
call, so all endpoints of a call share one worker and bridges and recordings never cross
processes. It matches replies to requests, queues the workers' events for
``next_event()``, fails the commands a dead worker leaves waiting and starts a new worker
on its shard. Nothing here runs per packet: packets go straight to the worker's sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import multiprocessing.connection
import os
import zlib
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from typing import Any

from hotline.media.engine import (
    Allocate,
    Bridge,
    Command,
    Done,
    EndpointDescription,
    EndpointStats,
    Failed,
    GetStats,
    MediaEngineError,
    MediaEvent,
    Release,
    Reply,
    StartRecording,
)
from hotline.transport.media_worker.channel import EVENT_ID, STOP, MessageChannel
from hotline.transport.media_worker.core import WorkerConfig
from hotline.transport.media_worker.process import worker_main

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _WorkerHandle:
    process: BaseProcess
    channel: MessageChannel | None = None
    index: int = 0
    generation: int = 0
    futures: dict[int, asyncio.Future[Reply]] = field(default_factory=dict)


class MediaWorkerPool:
    """The engine for production on one machine: ``workers`` processes, calls sharded by id."""

    def __init__(self, workers: int | None = None, config: WorkerConfig | None = None) -> None:
        self.size = workers or os.cpu_count() or 1
        self.config = config or WorkerConfig()
        self._workers: list[_WorkerHandle] = []
        self._ids = itertools.count(1)
        self._endpoint_worker: dict[str, int] = {}
        self._call_worker: dict[str, int] = {}
        self._events: asyncio.Queue[MediaEvent] = asyncio.Queue()
        self._closing = False

    async def start(self) -> None:
        for index in range(self.size):
            self._workers.append(self._spawn(index, 0))

    def _spawn(self, index: int, generation: int) -> _WorkerHandle:
        # forkserver: workers must not inherit the node's loop, sockets or threads.
        context = multiprocessing.get_context("forkserver")
        parent, child = context.Pipe()
        process = context.Process(
            target=worker_main,
            # The generation keeps a restarted worker's endpoint ids distinct from the dead's.
            args=(child, self.config, f"w{index}g{generation}"),
            name=f"hotline-media-{index}",
            daemon=True,
        )
        process.start()
        child.close()
        handle = _WorkerHandle(process, index=index, generation=generation)
        handle.channel = MessageChannel(
            parent,
            lambda message: self._on_reply(handle, message),
            lambda: self._on_exit(handle),
        )
        return handle

    def _on_exit(self, handle: _WorkerHandle) -> None:
        for waiting in handle.futures.values():
            if not waiting.done():
                waiting.set_exception(MediaEngineError("media worker exited"))
        handle.futures.clear()
        if not self._closing and self._workers[handle.index] is handle:
            self._replace(handle)

    def _on_reply(self, handle: _WorkerHandle, message: tuple[int, Any]) -> None:
        request_id, reply = message
        if request_id == EVENT_ID:
            self._events.put_nowait(reply)
            return
        future = handle.futures.pop(request_id, None)
        if future is not None and not future.done():
            future.set_result(reply)

    async def next_event(self) -> MediaEvent:
        """The next DTMF or playback event from any worker."""
        return await self._events.get()

    def _replace(self, dead: _WorkerHandle) -> None:
        """A worker died: its calls are lost (as on any PBX crash; their recordings are on
        disk up to the last flush), but its shard must keep taking new calls."""
        log.error(
            "media worker died; starting a new one",
            extra={"worker": dead.index, "exitcode": dead.process.exitcode},
        )
        dead.process.join(0)
        if dead.channel is not None:
            dead.channel.close()
        for table in (self._endpoint_worker, self._call_worker):
            for key in [k for k, v in table.items() if v == dead.index]:
                del table[key]
        self._workers[dead.index] = self._spawn(dead.index, dead.generation + 1)

    def worker_for_call(self, call_id: str) -> int:
        """Stable sharding (crc32, not ``hash()`` which differs per process)."""
        return zlib.crc32(call_id.encode()) % self.size

    def _worker_of(self, command: Command) -> int:
        call_id = getattr(command, "call_id", None)
        if isinstance(command, Allocate | StartRecording):
            return self.worker_for_call(command.call_id)
        if isinstance(call_id, str) and call_id in self._call_worker:
            return self._call_worker[call_id]
        for name in ("endpoint_id", "a"):
            endpoint_id = getattr(command, name, None)
            if isinstance(endpoint_id, str) and endpoint_id in self._endpoint_worker:
                return self._endpoint_worker[endpoint_id]
        raise MediaEngineError(f"no worker holds the target of {command!r}")

    async def execute(self, command: Command) -> Reply:
        if not self._workers:
            raise MediaEngineError("media worker pool is not started")
        index = self._worker_of(command)
        if isinstance(command, Bridge) and self._endpoint_worker.get(command.b) != index:
            return Failed("bridged endpoints must belong to the same call's worker")
        handle = self._workers[index]
        request_id = next(self._ids)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        handle.futures[request_id] = future
        try:
            assert handle.channel is not None
            handle.channel.send((request_id, command))
        except OSError as exc:  # the worker died (its calls are lost, as on any PBX crash)
            handle.futures.pop(request_id, None)
            raise MediaEngineError(f"media worker {index} is gone: {exc}") from exc
        reply = await future
        if isinstance(command, Allocate) and isinstance(reply, EndpointDescription):
            self._endpoint_worker[reply.endpoint_id] = index
        elif isinstance(command, StartRecording) and isinstance(reply, Done):
            self._call_worker[command.call_id] = index
        elif isinstance(command, Release):
            self._endpoint_worker.pop(command.endpoint_id, None)
        return reply

    async def allocate(self, command: Allocate) -> EndpointDescription:
        reply = await self.execute(command)
        if not isinstance(reply, EndpointDescription):
            raise MediaEngineError(str(reply))
        return reply

    async def stats(self, endpoint_id: str) -> EndpointStats:
        reply = await self.execute(GetStats(endpoint_id))
        if not isinstance(reply, EndpointStats):
            raise MediaEngineError(str(reply))
        return reply

    async def close(self) -> None:
        """Stop every worker; each finishes (closes and hashes) its recordings first."""
        self._closing = True
        loop = asyncio.get_running_loop()
        for handle in self._workers:
            with contextlib.suppress(OSError):
                if handle.channel is not None:
                    handle.channel.send(STOP)
        for handle in self._workers:
            await loop.run_in_executor(None, handle.process.join, 10.0)
            if handle.process.is_alive():
                handle.process.kill()
            if handle.channel is not None:
                handle.channel.close()
        self._workers.clear()
