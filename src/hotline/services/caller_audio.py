"""What live calls need to hear their callers: captures from the media engine and speech
recognition in a process of its own.

``capture`` starts a ``StartCapture`` on an endpoint and waits for its ``CaptureFinished``
(the engine's event stream is read by the telephony runtime, which hands those events to
``on_event``). Every way this can go wrong ends in ``MediaEngineError`` with a reason, never
in a hang: the engine refuses the command (unknown endpoint, a file that cannot be
written), the worker dies (its pending replies fail), or no event comes in time (the
capture is stopped, and its audio so far is returned).

Recognition is CPU work that holds the GIL (pocketsphinx does not release it: measured,
a recognition stalls every other thread for its whole length, tens of ms), so it runs in
a one-process pool, never on the event loop and never in a thread. The engine is built
once in that process (the ``whisper`` engine also warms its model there). A pool that
breaks (the process was killed) is replaced for the next call; the call that saw it
break gets an error and the flow's no-match path.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import multiprocessing
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool

from hotline.ivr.asr import SPEECH_ENGINES, Recognition, SpeechError, SpeechRecognizer
from hotline.media import engine as media
from hotline.media.capture import CaptureResult

# Registers the "whisper" engine, in the node and in the recogniser's process alike.
from hotline.services import speech_whisper  # noqa: F401

log = logging.getLogger(__name__)

#: How long past a capture's own limit we wait for its end before stopping it ourselves.
CAPTURE_GRACE_S = 3.0


class SpeechUnavailableError(Exception):
    """No recogniser can run this answer (none configured, its process broke)."""


class CallerAudio:
    def __init__(self, engine: media.MediaEngine, *, speech_engine: str | None) -> None:
        self.engine = engine
        self.speech_engine = speech_engine
        self._waiting: dict[str, asyncio.Future[CaptureResult]] = {}
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._warm: concurrent.futures.Future[bool] | None = None

    # ---- captures ----------------------------------------------------------------------------

    def on_event(self, event: media.CaptureFinished) -> None:
        waiting = self._waiting.pop(event.endpoint_id, None)
        if waiting is not None and not waiting.done():
            waiting.set_result(event.result)

    async def capture(self, command: media.StartCapture) -> CaptureResult:
        """Capture until the rules end it; raises MediaEngineError with the reason."""
        endpoint_id = command.endpoint_id
        if endpoint_id in self._waiting:
            raise media.MediaEngineError(f"endpoint {endpoint_id} is already being captured")
        finished: asyncio.Future[CaptureResult] = asyncio.get_running_loop().create_future()
        self._waiting[endpoint_id] = finished  # before the command: the event may come first
        try:
            reply = await self.engine.execute(command)
            if isinstance(reply, media.Failed):
                raise media.MediaEngineError(reply.reason)
            limit = command.rules.max_duration + CAPTURE_GRACE_S
            try:
                return await asyncio.wait_for(asyncio.shield(finished), limit)
            except TimeoutError:
                log.warning("capture on %s did not end by itself; stopping it", endpoint_id)
                stopped = await self.engine.execute(media.StopCapture(endpoint_id))
                if isinstance(stopped, CaptureResult):
                    return stopped
                raise media.MediaEngineError(f"capture on {endpoint_id} lost: {stopped}") from None
        finally:
            if self._waiting.get(endpoint_id) is finished:
                del self._waiting[endpoint_id]

    async def stop_capture(self, endpoint_id: str) -> None:
        """End a capture now (the node is stopping): its waiter gets the audio so far, as
        if the capture had ended by itself. Nothing happens if it has ended already."""
        waiting = self._waiting.get(endpoint_id)
        if waiting is None or waiting.done():
            return
        try:
            stopped = await self.engine.execute(media.StopCapture(endpoint_id))
        except media.MediaEngineError as error:
            log.warning("capture on %s not stopped: %s", endpoint_id, error)
            return
        if isinstance(stopped, CaptureResult) and not waiting.done():
            waiting.set_result(stopped)
        # Failed: it ended meanwhile, and its CaptureFinished is on its way to the waiter.

    # ---- speech ------------------------------------------------------------------------------

    def warm_up(self) -> None:
        """Start the recogniser's process and load its model ahead of the first answer (a
        flow with a speech node has started; its prompt plays meanwhile)."""
        if self.speech_engine is None or self._warm is not None:
            return
        self._warm = self._executor().submit(_ready)

    async def recognize(
        self, pcm: bytes, sample_rate: int, phrases: Sequence[str], language: str
    ) -> Recognition:
        """Recognise one answer in the recogniser's process. SpeechError: the engine cannot
        listen for these phrases or this language; SpeechUnavailableError: no engine."""
        if self.speech_engine is None:
            raise SpeechUnavailableError("no speech engine is configured")
        loop = asyncio.get_running_loop()
        pool = self._executor()
        try:
            return await loop.run_in_executor(
                pool, _recognize, pcm, sample_rate, tuple(phrases), language
            )
        except BrokenProcessPool:
            log.error("the speech recogniser's process died; starting a new one")
            if self._pool is pool:
                self._pool, self._warm = None, None
            pool.shutdown(wait=False, cancel_futures=True)
            raise SpeechUnavailableError("the recogniser's process died") from None

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            assert self.speech_engine is not None
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=1,
                # forkserver: the child must not inherit the node's loop, sockets or threads.
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_load_engine,
                initargs=(self.speech_engine,),
            )
        return self._pool

    async def close(self) -> None:
        for waiting in self._waiting.values():
            waiting.cancel()
        self._waiting.clear()
        pool, self._pool = self._pool, None
        if pool is not None:
            shutdown = functools.partial(pool.shutdown, wait=True, cancel_futures=True)
            await asyncio.get_running_loop().run_in_executor(None, shutdown)


# ---- inside the recogniser's process ---------------------------------------------------------

#: The engine of this recogniser process (set by the pool's initializer; never in the node).
_engine: SpeechRecognizer | None = None


def _load_engine(name: str) -> None:
    global _engine
    factory = SPEECH_ENGINES.get(name)
    if factory is None:
        raise SpeechError(f"no speech engine {name!r} (known: {', '.join(SPEECH_ENGINES)})")
    _engine = factory()


def _ready() -> bool:
    return _engine is not None


def _recognize(
    pcm: bytes, sample_rate: int, phrases: tuple[str, ...], language: str
) -> Recognition:
    if _engine is None:
        raise SpeechError("the speech engine did not load")
    return _engine.recognize(pcm, sample_rate, phrases, language)
