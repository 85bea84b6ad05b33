"""A worker process: its entry point, its loop, and the serving of its pipe.

The pool starts ``worker_main`` in a fresh process (forkserver); it runs one ``WorkerCore``
on uvloop and serves the node's commands, each as its own task so that a slow one (an
``Allocate`` retrying ports, a ``PlayFile`` reading a file) does not hold back the others.
Every command answers; events go out as they happen. When the node says ``STOP`` or its end
of the pipe closes (the node died), the worker closes and hashes its recordings, says
goodbye and ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing.connection
from collections.abc import Callable

from hotline.media.engine import Command, Done
from hotline.transport.media_worker.channel import EVENT_ID, FINAL_ID, MessageChannel
from hotline.transport.media_worker.core import WorkerConfig, WorkerCore


def worker_main(
    connection: multiprocessing.connection.Connection, config: WorkerConfig, prefix: str
) -> None:
    """Entry point of a worker process: uvloop, the core, and the command pipe."""
    try:
        import uvloop

        runner: Callable[..., object] = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency; plain asyncio still works
        runner = asyncio.run
    runner(serve(connection, config, prefix))


async def serve(
    connection: multiprocessing.connection.Connection, config: WorkerConfig, prefix: str
) -> None:
    """Run one core behind the pipe until the node says stop or goes away."""
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    pending: set[asyncio.Task[None]] = set()

    def finish() -> None:
        if not done.done():
            done.set_result(None)  # the node went away or said stop: finish recordings

    async def run(request_id: int, command: Command) -> None:
        reply = await core.execute(command)
        with contextlib.suppress(OSError):
            channel.send((request_id, reply))

    def received(message: tuple[int, Command | None]) -> None:
        request_id, command = message
        if command is None:
            finish()
            return
        task = loop.create_task(run(request_id, command))
        pending.add(task)
        task.add_done_callback(pending.discard)

    channel = MessageChannel(connection, received, finish)
    # Events travel unsolicited with EVENT_ID; replies carry the request's own id.
    core = WorkerCore(config, prefix=prefix, emit=lambda event: channel.send((EVENT_ID, event)))
    core.start()
    await done
    await core.close()
    with contextlib.suppress(OSError):
        channel.send((FINAL_ID, Done()))
        channel.flush_blocking()
    channel.close()
