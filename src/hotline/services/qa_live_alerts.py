"""``LiveRiskAlerts``: the customer side of live calls in chosen queues listened to in short
chunks, and a ``RiskAlertRaised`` on the bus within seconds of a risk phrase
(docs/qa-live-alerts.md; the seed's "风险预警").

The tap is the media engine's caller capture (``media.StartCapture``, the one speech menus
and answering-machine detection use): the media worker decodes the customer's RTP and its
energy endpointer ends a chunk at a pause or after 3 s (``qa.live_chunks.CHUNK_RULES``);
the chunk comes back as an event and the next capture starts at once (a chunk cut in the
middle of speech lends its last second to the next one, so a word cut in two is heard
whole). The media path never
waits for us: captures are buffers the worker fills as packets pass, and when
transcription falls behind, chunks are dropped here (``ChunkBacklog``; counted in
``hotline_qa_live_chunks_total{outcome="dropped"}``), never queued.

Chunks are transcribed by faster-whisper in one worker process at nice 10, built by the QA
pipeline's own ``process_pool`` (spawned, Ctrl-C left to the node), with the same model
(``qa.model``, default the packaged base). Rules are matched in the node on the chunk's
text with the previous chunk's before it; one alert per category per call.

Which calls: those connected to an agent (``CallConnected``) after waiting in a queue of
``qa.live_alerts_queues`` (the last ``CallQueued``); listening stops when the agent leaves
or the call ends. With no queue chosen, or the ``qa`` module off, nothing is built: no
worker process, no capture.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from hotline.calls.events import CallAgentLeft, CallConnected, CallEnded, CallQueued
from hotline.events.base import Event
from hotline.events.bus import EventBus, Subscription
from hotline.media import engine as media
from hotline.media.capture import CaptureResult
from hotline.media.vad import EndpointingRules
from hotline.qa.asr import FasterWhisperEngine
from hotline.qa.audio import resample, to_float
from hotline.qa.events import RiskAlertRaised
from hotline.qa.live_chunks import (
    CHUNK_RULES,
    DEFAULT_BACKLOG,
    Chunk,
    ChunkBacklog,
    LiveCallWatch,
    TextRules,
)
from hotline.qa.models import packaged_base_model
from hotline.qa.rules_file import load_rules
from hotline.services.qa_pipeline import ExecutorFactory, _end, process_pool
from hotline.settings import QaSettings

log = logging.getLogger(__name__)

#: After the media engine refuses a capture (the IVR is capturing the same caller, the
#: endpoint is being replaced), try again this much later.
RETRY_CAPTURE_S = 1.0
#: Alert delays kept for the metrics' recent maximum.
RECENT_DELAYS = 100


class CustomerAudio(Protocol):
    """What live alerts need of telephony: the customer's media endpoint and captures."""

    def customer_endpoint(self, call_id: str) -> str | None: ...

    async def capture(self, command: media.StartCapture) -> CaptureResult: ...

    async def stop_capture(self, endpoint_id: str) -> None: ...


class TelephonyAudio:
    """``CustomerAudio`` on the node's telephony (``Telephony.customer_endpoint`` and its
    ``CallerAudio``)."""

    def __init__(self, telephony: Any) -> None:
        self.telephony = telephony

    def customer_endpoint(self, call_id: str) -> str | None:
        endpoint: str | None = self.telephony.customer_endpoint(call_id)
        return endpoint

    async def capture(self, command: media.StartCapture) -> CaptureResult:
        result: CaptureResult = await self.telephony.caller_audio.capture(command)
        return result

    async def stop_capture(self, endpoint_id: str) -> None:
        await self.telephony.caller_audio.stop_capture(endpoint_id)


# -- the worker process's side ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChunkRequest:
    """One chunk to transcribe, as the worker process receives it (picklable)."""

    pcm: bytes
    sample_rate: int
    language: str | None
    model_path: str | None
    models_dir: str


@dataclass(frozen=True, slots=True)
class ChunkHeard:
    text: str
    language: str | None
    #: CPU time the worker spent on the chunk (process time: its share of a core).
    cpu_seconds: float


Transcriber = Callable[[ChunkRequest], ChunkHeard]

_engine: dict[str, FasterWhisperEngine] = {}  # the worker process's loaded model


def _engine_for(model_path: str | None, models_dir: str) -> FasterWhisperEngine:
    path = Path(model_path) if model_path else packaged_base_model(Path(models_dir))
    engine = _engine.get("engine")
    if engine is None or engine.model_path != path:
        # A chunk is matched on its text: no word times, and no decoding again at higher
        # temperatures (the slow tail of the delay; docs/qa-live-alerts.md).
        engine = FasterWhisperEngine(path, word_timestamps=False, temperature_fallback=False)
        engine.load()
        _engine["engine"] = engine
    return engine


def warm_worker(model_path: str | None, models_dir: str) -> bool:
    """Load the model in the worker now, so the first chunk does not wait for it."""
    _engine_for(model_path, models_dir)
    return True


def transcribe_chunk(request: ChunkRequest) -> ChunkHeard:
    """Transcribe one chunk in the worker process (the default ``Transcriber``)."""
    started = time.process_time()
    engine = _engine_for(request.model_path, request.models_dir)
    pcm = np.frombuffer(request.pcm, dtype="<i2")
    samples = resample(to_float(pcm), request.sample_rate, 16_000)
    transcript = engine.transcribe(samples, request.language)
    return ChunkHeard(
        text=transcript.text,
        language=transcript.language,
        cpu_seconds=time.process_time() - started,
    )


# -- the node's side --------------------------------------------------------------------


@dataclass
class _Watch:
    state: LiveCallWatch
    task: asyncio.Task[None] | None = None
    endpoint: str | None = None
    capturing: bool = False


class LiveRiskAlerts:
    """See the module docstring. ``start()``, ``await stop()``; ``running``."""

    def __init__(
        self,
        bus: EventBus,
        settings: QaSettings,
        audio: CustomerAudio,
        models_dir: Path,
        *,
        rules: TextRules | None = None,
        transcriber: Transcriber = transcribe_chunk,
        executor_factory: ExecutorFactory | None = None,
        clock: Callable[[], float] = time.time,
        backlog: int = DEFAULT_BACKLOG,
        chunk_rules: EndpointingRules = CHUNK_RULES,
        warm_up: bool = True,
        queue_language: Callable[[str], str | None] = lambda queue: None,
    ) -> None:
        self.bus = bus
        self.settings = settings
        self.audio = audio
        self.models_dir = models_dir
        self.queues = frozenset(settings.live_alerts_queues)
        self.categories: Sequence[str] = tuple(settings.live_alerts_categories)
        self.rules = rules
        self.transcriber = transcriber
        self.executor_factory = executor_factory or process_pool(1)
        self.clock = clock
        self.backlog = ChunkBacklog(backlog)
        self.chunk_rules = chunk_rules
        self.warm_up = warm_up
        #: The language a queue forces (``Queue.qa_language``, from the live directory).
        self.queue_language = queue_language
        self.alerts_raised = 0
        self.cpu_seconds = 0.0
        self.audio_seconds = 0.0
        self.delays: deque[float] = deque(maxlen=RECENT_DELAYS)
        self._executor: Executor | None = None
        self._subscription: Subscription[Event] | None = None
        self._task: asyncio.Task[None] | None = None
        self._queued: dict[str, str] = {}  # call id -> the last queue it waited in
        self._watches: dict[str, _Watch] = {}
        self._hearing: set[asyncio.Task[None]] = set()

    @property
    def enabled(self) -> bool:
        """Whether any queue is listened to (else ``start`` does nothing)."""
        return bool(self.queues)

    @property
    def running(self) -> bool:
        return self._task is not None

    @property
    def monitored(self) -> int:
        return len(self._watches)

    def start(self) -> None:
        if self._task is not None or not self.enabled:
            return
        if self.rules is None:
            # Live alerts' own rules file, else the one the recordings' analysis uses; a
            # file that cannot be used raises: the node does not start with it.
            self.rules = load_rules(self.settings.live_alerts_rules or self.settings.rules)
        self._executor = self.executor_factory(None)
        if self.warm_up:
            self._executor.submit(warm_worker, self._model_path(), str(self.models_dir))
        self._subscription = self.bus.subscribe(
            CallQueued, CallConnected, CallAgentLeft, CallEnded, maxsize=10_000, name="qa-live"
        )
        self._task = asyncio.create_task(self._follow(self._subscription), name="qa-live")
        log.info("live risk alerts on", extra={"queues": sorted(self.queues)})

    async def stop(self) -> None:
        """Stop listening: captures ended, transcriptions in flight dropped, worker ended."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
        for call_id in list(self._watches):
            await self._unwatch(call_id)
        for hearing in list(self._hearing):
            hearing.cancel()
        await asyncio.gather(*self._hearing, return_exceptions=True)
        if self._executor is not None:
            _end(self._executor)
            self._executor = None
        self._queued.clear()

    # -- which calls ----------------------------------------------------------------------

    async def _follow(self, subscription: Subscription[Event]) -> None:
        async for event in subscription:
            try:
                await self.on_event(event)
            except Exception:
                log.exception("live risk alerts: event not handled", extra={"event": event})

    async def on_event(self, event: Event) -> None:
        if isinstance(event, CallQueued):
            self._queued[event.call_id] = event.queue
            watch = self._watches.get(event.call_id)
            if watch is not None:
                if event.queue in self.queues:
                    watch.state.queue = event.queue
                else:
                    await self._unwatch(event.call_id)
        elif isinstance(event, CallConnected):
            queue = self._queued.get(event.call_id)
            if queue is None or queue not in self.queues:
                return
            watch = self._watches.get(event.call_id)
            if watch is not None:
                watch.state.agent = event.agent
                return
            watch = _Watch(LiveCallWatch(event.call_id, queue, event.agent))
            forced = self.queue_language(queue)
            if forced is not None:
                watch.state.language = forced
            elif self.settings.language != "auto":
                watch.state.language = self.settings.language
            self._watches[event.call_id] = watch
            watch.task = asyncio.create_task(self._listen(watch), name=f"qa-live-{event.call_id}")
        elif isinstance(event, CallAgentLeft):
            await self._unwatch(event.call_id)
        elif isinstance(event, CallEnded):
            self._queued.pop(event.call_id, None)
            await self._unwatch(event.call_id)

    async def _unwatch(self, call_id: str) -> None:
        watch = self._watches.pop(call_id, None)
        if watch is None or watch.task is None:
            return
        if watch.capturing and watch.endpoint is not None:
            # Ours is the capture on this endpoint: end it, so the caller is free for
            # what comes next (a survey may listen to them).
            with contextlib.suppress(Exception):
                await self.audio.stop_capture(watch.endpoint)
        watch.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch.task

    # -- listening ------------------------------------------------------------------------

    async def _listen(self, watch: _Watch) -> None:
        call_id = watch.state.call_id
        extra = {"call_id": call_id, "queue": watch.state.queue}
        while True:
            endpoint = self.audio.customer_endpoint(call_id)
            if endpoint is None:
                log.info("live risk alerts: the customer has no media", extra=extra)
                return
            watch.endpoint = endpoint
            watch.capturing = True
            try:
                result = await self.audio.capture(media.StartCapture(endpoint, self.chunk_rules))
            except media.MediaEngineError as error:
                log.debug("live risk alerts: no capture: %s", error, extra=extra)
                await asyncio.sleep(RETRY_CAPTURE_S)
                continue
            finally:
                watch.capturing = False
            if result.reason in ("released", "stopped", "error"):
                return
            chunk = watch.state.chunk(
                result.pcm,
                speech=result.speech,
                reason=result.reason,
                now=self.clock(),
                rules=self.chunk_rules,
            )
            if chunk is None:
                continue
            if not self.backlog.admit():
                log.warning(
                    "live risk alerts: transcription behind, chunk dropped",
                    extra={**extra, "dropped": self.backlog.dropped},
                )
                continue
            hearing = asyncio.create_task(self._hear(watch.state, chunk))
            self._hearing.add(hearing)
            hearing.add_done_callback(self._hearing.discard)

    async def _hear(self, state: LiveCallWatch, chunk: Chunk) -> None:
        extra = {"call_id": state.call_id, "queue": state.queue}
        request = ChunkRequest(
            chunk.pcm, chunk.sample_rate, state.language, self._model_path(), str(self.models_dir)
        )
        heard: ChunkHeard | None = None
        try:
            assert self._executor is not None
            loop = asyncio.get_running_loop()
            heard = await loop.run_in_executor(self._executor, self.transcriber, request)
        except BrokenProcessPool:
            log.error("live risk alerts: the transcription process died; starting another")
            self._renew_executor()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("live risk alerts: chunk not transcribed", extra=extra)
            return
        finally:
            self.backlog.done(transcribed=heard is not None)
        self.cpu_seconds += heard.cpu_seconds
        self.audio_seconds += chunk.seconds
        text = heard.text.strip()
        if not text:
            return
        context = state.context(text)
        language = state.language or heard.language
        assert self.rules is not None
        hits = self.rules.match_text(context, "customer", language)
        state.heard(text, heard.language)
        for alert in state.new_alerts(hits, context, self.categories):
            now = self.clock()
            self.alerts_raised += 1
            self.delays.append(now - chunk.spoken_at)
            self.bus.publish(
                RiskAlertRaised(
                    at=now,
                    call_id=state.call_id,
                    queue=state.queue,
                    agent=state.agent,
                    category=alert.category,
                    text=alert.text,
                    spoken_at=chunk.spoken_at,
                    language=language,
                )
            )
            log.info(
                "risk alert",
                extra={
                    **extra,
                    "agent": state.agent,
                    "category": alert.category,
                    "delay": round(now - chunk.spoken_at, 2),
                },
            )

    def _model_path(self) -> str | None:
        return str(self.settings.model) if self.settings.model else None

    def _renew_executor(self) -> None:
        if self._executor is not None:
            _end(self._executor)
        self._executor = self.executor_factory(None)


class QaModule:
    """The ``qa`` module's parts, switched on and off together (``ModuleSwitches``): the
    recordings' pipeline and, when queues are chosen, live risk alerts."""

    def __init__(self, *parts: Any) -> None:
        self.parts = parts

    @property
    def running(self) -> bool:
        return any(part.running for part in self.parts)

    def start(self) -> None:
        for part in self.parts:
            part.start()

    async def stop(self) -> None:
        for part in reversed(self.parts):
            await part.stop()


class LiveAlertsCollector(Collector):
    """``/metrics``: chunks transcribed and dropped, alerts, calls listened to, CPU."""

    def __init__(self, alerts: LiveRiskAlerts) -> None:
        self.alerts = alerts

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        alerts = self.alerts
        chunks = CounterMetricFamily(
            "hotline_qa_live_chunks",
            "Chunks of live customer audio: transcribed, or dropped because transcription "
            "was behind",
            labels=["outcome"],
        )
        chunks.add_metric(["transcribed"], alerts.backlog.transcribed)
        chunks.add_metric(["dropped"], alerts.backlog.dropped)
        yield chunks
        yield CounterMetricFamily(
            "hotline_qa_live_alerts", "Risk alerts raised on live calls", value=alerts.alerts_raised
        )
        yield GaugeMetricFamily(
            "hotline_qa_live_calls",
            "Live calls listened to for risk alerts",
            value=alerts.monitored,
        )
        yield CounterMetricFamily(
            "hotline_qa_live_cpu_seconds",
            "CPU seconds the live transcription process spent on chunks",
            value=alerts.cpu_seconds,
        )
        yield CounterMetricFamily(
            "hotline_qa_live_audio_seconds",
            "Seconds of live customer audio transcribed",
            value=alerts.audio_seconds,
        )
        yield GaugeMetricFamily(
            "hotline_qa_live_alert_delay_max_seconds",
            "Longest delay from the end of the words to the alert, over the last 100 alerts",
            value=max(alerts.delays, default=0.0),
        )
