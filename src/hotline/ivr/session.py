"""Runs a FlowRun for one live call: the thin asyncio side of the IVR.

The call layer implements :class:`CallPort` (play, stop, listen, record, enqueue, transfer,
hang up, store a survey score) and reports what happens on the call with
:meth:`IvrSession.feed`; look-ups into customers' systems run here, concurrently, so a slow
back end never blocks key presses. The port is a Protocol defined on the IVR's side because
``calls/`` must not import ``ivr/``: the call layer satisfies it structurally and the
composition root wires the two.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Protocol

import httpx

from hotline.events import Event
from hotline.ivr.io import Command, HttpRequest, Input
from hotline.ivr.lookups import perform_lookup
from hotline.ivr.run import FlowRun

log = logging.getLogger(__name__)


class CallPort(Protocol):
    """What the IVR needs from a live call. ``execute`` must not block: it starts the
    action and reports its end later through ``IvrSession.feed`` (PromptFinished,
    SpeechRecognized, RecordingFinished)."""

    def execute(self, command: Command) -> None: ...


class IvrSession:
    def __init__(
        self,
        run: FlowRun,
        port: CallPort,
        http: httpx.AsyncClient,
        publish: Callable[[Event], None],
        # Wall-clock time: business-hours nodes need it. A clock step moves a pending
        # timeout by the same amount, which for seconds-long IVR timeouts is harmless.
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._run = run
        self._port = port
        self._http = http
        self._publish = publish
        self._clock = clock
        self._inbox: asyncio.Queue[Input] = asyncio.Queue()
        self._lookups: set[asyncio.Task[None]] = set()

    def feed(self, event: Input) -> None:
        """Report something that happened on the call (a key, a prompt's end, a hang-up)."""
        self._inbox.put_nowait(event)

    async def run(self) -> None:
        """Drive the flow until it ends (queued, transferred, hung up, caller gone)."""
        run = self._run
        try:
            self._carry_out(run.start(self._clock()))
            while not run.finished:
                deadline = run.next_timer()
                timeout = None if deadline is None else max(0.0, deadline - self._clock())
                try:
                    async with asyncio.timeout(timeout):
                        event = await self._inbox.get()
                except TimeoutError:
                    self._carry_out(run.handle_timer(self._clock()))
                else:
                    self._carry_out(run.handle(event, self._clock()))
        finally:
            for task in self._lookups:
                task.cancel()
            self._flush_events()

    def _carry_out(self, commands: list[Command]) -> None:
        self._flush_events()
        for command in commands:
            if isinstance(command, HttpRequest):
                task = asyncio.create_task(self._lookup(command), name="ivr-lookup")
                self._lookups.add(task)
                task.add_done_callback(self._lookups.discard)
            else:
                self._port.execute(command)

    async def _lookup(self, request: HttpRequest) -> None:
        result = await perform_lookup(self._http, request)
        self.feed(result)

    def _flush_events(self) -> None:
        for event in self._run.drain_events():
            try:
                self._publish(event)
            except Exception:  # a failing subscriber must not take the caller's IVR down
                log.exception(
                    "publishing an IVR event failed", extra={"call_id": self._run.call_id}
                )
