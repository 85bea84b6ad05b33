"""Live risk alerts on the bus: which calls are listened to, one alert per category per
call, drops when transcription is behind, captures ended when the agent leaves, nothing
built or started when no queue is chosen; and one slow test with real speech at real-time
pace through the media capture, the worker process and Whisper (the measured delay)."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from hotline.api.routes.events import to_json
from hotline.calls.events import CallAgentLeft, CallConnected, CallEnded, CallQueued
from hotline.events.bus import EventBus, Subscription
from hotline.media import engine as media
from hotline.media.capture import CallerCapture, CaptureReason, CaptureResult
from hotline.qa.events import RiskAlertRaised
from hotline.qa.live_chunks import CHUNK_RULES
from hotline.services.qa_live_alerts import (
    ChunkHeard,
    ChunkRequest,
    LiveAlertsCollector,
    LiveRiskAlerts,
    QaModule,
)
from hotline.services.qa_pipeline import process_pool
from hotline.settings import QaSettings

SPEECH = (b"\x00\x10" * 8000) * 1  # one second of "speech" (the fake transcriber reads text)


class FakeRules:
    """A tiny local rule set: a category per keyword, as ``RuleSet.match_text`` answers."""

    KEYWORDS: ClassVar[dict[str, str]] = {
        "complain": "complaint",
        "lawyer": "legal_threat",
        "cancel my": "cancellation",
    }

    def match_text(self, text: str, speaker: str, language: str | None) -> list[dict[str, Any]]:
        return [
            {"category": category, "speaker": speaker}
            for word, category in self.KEYWORDS.items()
            if word in text.lower()
        ]


class ScriptedAudio:
    """The customer's side as a script of captures; then the leg is released."""

    def __init__(
        self, captures: list[tuple[bytes, CaptureReason, bool]], endpoint: str = "ep-1"
    ) -> None:
        self.captures = list(captures)
        self.endpoint = endpoint
        self.started: list[media.StartCapture] = []
        self.stopped: list[str] = []
        self._stop = asyncio.Event()
        self.hold_last = False

    def customer_endpoint(self, call_id: str) -> str | None:
        return self.endpoint

    async def capture(self, command: media.StartCapture) -> CaptureResult:
        self.started.append(command)
        await asyncio.sleep(0)
        if not self.captures:
            if self.hold_last:  # an open line: the capture runs until stopped
                await self._stop.wait()
                return CaptureResult("c", command.endpoint_id, "stopped", 1.0, False)
            return CaptureResult("c", command.endpoint_id, "released", 0.0, False)
        pcm, reason, speech = self.captures.pop(0)
        return CaptureResult("c", command.endpoint_id, reason, len(pcm) / 16000, speech, pcm=pcm)

    async def stop_capture(self, endpoint_id: str) -> None:
        self.stopped.append(endpoint_id)
        self._stop.set()


class ScriptedTranscriber:
    """Texts in the order chunks arrive (a one-thread executor keeps that order)."""

    def __init__(self, texts: list[str], gate: threading.Event | None = None) -> None:
        self.texts = list(texts)
        self.gate = gate
        self.requests: list[ChunkRequest] = []

    def __call__(self, request: ChunkRequest) -> ChunkHeard:
        if self.gate is not None:
            self.gate.wait(5)
        self.requests.append(request)
        return ChunkHeard(self.texts.pop(0) if self.texts else "", "en", 0.01)


def threads(_progress: Any) -> Executor:
    return ThreadPoolExecutor(1)


def service(
    audio: ScriptedAudio,
    transcriber: ScriptedTranscriber,
    *,
    queues: tuple[str, ...] = ("complaints",),
    clock: Any = time.time,
    backlog: int = 4,
    **options: Any,
) -> tuple[LiveRiskAlerts, EventBus]:
    bus = EventBus()
    alerts = LiveRiskAlerts(
        bus,
        QaSettings(live_alerts_queues=list(queues)),
        audio,
        Path("/nonexistent"),
        rules=FakeRules(),
        transcriber=transcriber,
        executor_factory=threads,
        clock=clock,
        backlog=backlog,
        warm_up=False,
        **options,
    )
    return alerts, bus


def drain(raised: Subscription[RiskAlertRaised]) -> list[RiskAlertRaised]:
    """Every alert raised so far, in order."""
    alerts = []
    while (alert := raised.get_nowait()) is not None:
        alerts.append(alert)
    return alerts


async def connect(alerts: LiveRiskAlerts, queue: str = "complaints") -> None:
    await alerts.on_event(CallQueued(at=1.0, call_id="c1", queue=queue))
    await alerts.on_event(CallConnected(at=2.0, call_id="c1", leg_id="agent-leg", agent="1002"))


async def settle(alerts: LiveRiskAlerts) -> None:
    for _ in range(200):
        await asyncio.sleep(0.01)
        watch = alerts._watches.get("c1")
        if (watch is None or watch.task is None or watch.task.done()) and not alerts._hearing:
            return


async def one_call(alerts: LiveRiskAlerts, queue: str = "complaints") -> None:
    """Start the service, let one call in ``queue`` talk until its captures are done, stop."""
    alerts.start()
    try:
        await connect(alerts, queue)
        await settle(alerts)
    finally:
        await alerts.stop()


async def test_a_phrase_over_two_chunks_raises_one_alert_with_its_words() -> None:
    audio = ScriptedAudio([(SPEECH, "max_duration", True), (SPEECH, "end_of_speech", True)] * 2)
    transcriber = ScriptedTranscriber(
        ["I want to cancel", "my account.", "Cancel my account now!", "Thanks."]
    )
    alerts, bus = service(audio, transcriber, clock=lambda: 1000.0)
    raised = bus.subscribe(RiskAlertRaised)
    await one_call(alerts)
    assert len(transcriber.requests) == 4
    events = drain(raised)
    assert len(events) == 1  # "Cancel my account now!" again: no second alert
    alert = events[0]
    assert (alert.call_id, alert.queue, alert.agent, alert.category) == (
        "c1",
        "complaints",
        "1002",
        "cancellation",
    )
    assert alert.text == "I want to cancel my account."
    assert alert.spoken_at == pytest.approx(1000.0 - CHUNK_RULES.trailing_silence)
    assert audio.started[0].rules == CHUNK_RULES
    assert to_json(alert)["type"] == "qa.risk_alert_raised"  # the body webhooks post


async def test_a_queue_that_forces_a_language_is_transcribed_in_it() -> None:
    audio = ScriptedAudio([(SPEECH, "end_of_speech", True)])
    transcriber = ScriptedTranscriber(["I will complain"])
    alerts, _ = service(
        audio, transcriber, queue_language={"complaints": "en"}.get
    )  # qa.language: auto
    await one_call(alerts)
    assert [request.language for request in transcriber.requests] == ["en"]


async def test_each_category_alerts_once() -> None:
    audio = ScriptedAudio([(SPEECH, "end_of_speech", True)] * 4)
    transcriber = ScriptedTranscriber(
        ["I will complain", "I complain again", "my lawyer hears of it", "a complaint!"]
    )
    alerts, bus = service(audio, transcriber)
    raised = bus.subscribe(RiskAlertRaised)
    await one_call(alerts)
    categories = [alert.category for alert in drain(raised)]
    assert categories == ["complaint", "legal_threat"]
    assert alerts.alerts_raised == 2


async def test_calls_of_other_queues_are_not_listened_to() -> None:
    audio = ScriptedAudio([(SPEECH, "end_of_speech", True)])
    alerts, _ = service(audio, ScriptedTranscriber(["I complain"]))
    await one_call(alerts, queue="sales")
    assert audio.started == []


async def test_silence_is_not_transcribed() -> None:
    audio = ScriptedAudio([(b"", "no_input", False), (SPEECH, "end_of_speech", False)])
    transcriber = ScriptedTranscriber([])
    alerts, _ = service(audio, transcriber)
    await one_call(alerts)
    assert len(audio.started) == 3  # two chunks, then the release
    assert transcriber.requests == []


async def test_chunks_are_dropped_and_counted_when_transcription_is_behind() -> None:
    gate = threading.Event()  # the worker is stuck until the gate opens
    audio = ScriptedAudio([(SPEECH, "end_of_speech", True)] * 6)
    transcriber = ScriptedTranscriber(["one", "two", "three", "four", "five", "six"], gate)
    alerts, _ = service(audio, transcriber, backlog=2)
    alerts.start()
    await connect(alerts)
    for _ in range(100):  # the capture loop goes on: it never waits for the worker
        await asyncio.sleep(0.01)
        if not audio.captures:
            break
    assert audio.captures == []
    assert (alerts.backlog.pending, alerts.backlog.dropped) == (2, 4)
    gate.set()
    await settle(alerts)
    await alerts.stop()
    assert len(transcriber.requests) == 2
    metrics = {m.name: m for m in LiveAlertsCollector(alerts).collect()}
    chunks = {s.labels["outcome"]: s.value for s in metrics["hotline_qa_live_chunks"].samples}
    assert chunks == {"transcribed": 2, "dropped": 4}


async def test_the_capture_ends_when_the_agent_leaves() -> None:
    audio = ScriptedAudio([])
    audio.hold_last = True
    alerts, _ = service(audio, ScriptedTranscriber([]))
    alerts.start()
    await connect(alerts)
    await asyncio.sleep(0.05)
    assert alerts.monitored == 1
    await alerts.on_event(
        CallAgentLeft(at=3.0, call_id="c1", leg_id="agent-leg", agent="1002", survey_flow="s")
    )
    assert audio.stopped == ["ep-1"]
    assert alerts.monitored == 0
    await alerts.on_event(CallEnded(at=4.0, call_id="c1", side="customer", cause="bye"))
    await alerts.stop()


async def test_no_queue_chosen_starts_nothing() -> None:
    built: list[Any] = []

    def recording_factory(progress: Any) -> Executor:
        built.append(progress)
        return ThreadPoolExecutor(1)

    bus = EventBus()
    alerts = LiveRiskAlerts(
        bus,
        QaSettings(),
        ScriptedAudio([]),
        Path("/nonexistent"),
        executor_factory=recording_factory,
    )
    module = QaModule(alerts)
    module.start()
    assert not alerts.enabled
    assert not module.running
    assert built == []  # no worker process
    assert bus._subscriptions == []
    await module.stop()


def test_the_node_builds_no_live_alerts_without_queues(tmp_path: Path) -> None:
    from hotline.app import Node
    from hotline.settings import Settings

    settings = Settings(demo=True, data_dir=tmp_path)
    node = Node(settings)
    assert node.live_alerts is None
    on = Node(Settings(demo=True, data_dir=tmp_path / "b", qa={"live_alerts_queues": ["sales"]}))
    assert on.live_alerts is not None
    off = Settings(
        demo=True,
        data_dir=tmp_path / "c",
        qa={"live_alerts_queues": ["sales"]},
        modules={"qa": False},
    )
    assert Node(off).live_alerts is None


# -- real speech, real time ------------------------------------------------------------


class RealTimeCustomer:
    """A caller who says a WAV's audio at real-time pace into the media engine's own
    ``CallerCapture`` (the tap the node uses), 20 ms frames."""

    def __init__(self, pcm: np.ndarray) -> None:
        self.pcm = pcm
        self.position = 0
        self.started = time.time()
        self.words_end: float | None = None

    def customer_endpoint(self, call_id: str) -> str | None:
        return "ep-1"

    async def capture(self, command: media.StartCapture) -> CaptureResult:
        frame = 160
        capture = CallerCapture("c1", command.endpoint_id, time.time(), rules=command.rules)
        while True:
            if self.position >= self.pcm.size:
                return capture.finish("released", time.time())
            due = self.started + self.position / 8000
            await asyncio.sleep(max(0.0, due - time.time()))
            chunk = self.pcm[self.position : self.position + frame]
            self.position += frame
            result = capture.add(chunk, time.time())
            if result is not None:
                return result

    async def stop_capture(self, endpoint_id: str) -> None:
        pass


#: Ends on the risk word, so the alert's delay is measured from the end of the words.
PHRASE = (
    "Hello. I ordered a washing machine two weeks ago and it still has not arrived. "
    "If it does not come tomorrow, I will call my lawyer."
)


def _speech_wav(tmp_path: Path) -> tuple[np.ndarray, float]:
    from tests.unit.qa.speech import espeak

    leading = np.zeros(8000, dtype=np.float32)  # 1 s before the words
    words = espeak(PHRASE, tmp_path)
    trailing = np.zeros(3 * 8000, dtype=np.float32)
    samples = np.concatenate([leading, words, trailing])
    pcm = (np.clip(samples, -1, 1) * 32767 * 0.7).astype(np.int16)
    level = np.abs(pcm[8000 : 8000 + words.size].astype(np.int32))
    voiced = np.flatnonzero(level > 300)
    return pcm, (8000 + voiced[-1]) / 8000  # seconds into the call when the words end


@pytest.fixture
def live_model() -> Iterator[str | None]:
    """tiny.en by default (fast); HOTLINE_TEST_LIVE_MODEL=base measures the packaged base."""
    if os.environ.get("HOTLINE_TEST_LIVE_MODEL") == "base":
        yield None
        return
    from tests.unit.qa.speech import tiny_en

    yield str(tiny_en())


@pytest.mark.slow
async def test_a_spoken_risk_phrase_alerts_within_five_seconds(
    tmp_path: Path, live_model: str | None
) -> None:
    pcm, words_end = _speech_wav(tmp_path)
    customer = RealTimeCustomer(pcm)
    bus = EventBus()
    settings = QaSettings(
        live_alerts_queues=["complaints"],
        model=Path(live_model) if live_model else None,
        language="en",
    )
    from hotline.qa.models import default_cache_dir

    alerts = LiveRiskAlerts(
        bus, settings, customer, default_cache_dir(), executor_factory=process_pool(1)
    )
    raised = bus.subscribe(RiskAlertRaised)
    alerts.start()
    assert alerts._executor is not None  # the model loads before the call starts talking
    alerts._executor.submit(int).result(timeout=60)
    await asyncio.sleep(3)
    try:
        customer.started = time.time()
        await connect(alerts)
        alert = await asyncio.wait_for(raised.get(), timeout=30)
        delay = alert.at - (customer.started + words_end)
        await settle(alerts)
        call_seconds = pcm.size / 8000
        logging.getLogger(__name__).warning(  # shown with -s -o log_cli=true
            f"live alert: {alert.category!r} {alert.text!r} {delay:.2f} s after the words "
            f"(estimated {alert.at - (alert.spoken_at or 0):.2f} s); worker CPU "
            f"{alerts.cpu_seconds:.2f} s for {alerts.audio_seconds:.1f} s of speech chunks in a "
            f"{call_seconds:.1f} s call ({alerts.backlog.transcribed} chunks, "
            f"{alerts.backlog.dropped} dropped)"
        )
        assert alert.category == "legal_threat"
        assert delay < 5.0
        assert alerts.backlog.dropped == 0
    finally:
        await alerts.stop()


async def test_a_failed_transcription_loses_the_chunk_not_the_call() -> None:
    calls = 0

    def flaky(request: ChunkRequest) -> ChunkHeard:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("model file unreadable")
        return ChunkHeard("I will complain", "en", 0.01)

    audio = ScriptedAudio([(SPEECH, "end_of_speech", True)] * 2)
    alerts, bus = service(audio, ScriptedTranscriber([]))
    alerts.transcriber = flaky
    raised = bus.subscribe(RiskAlertRaised)
    await one_call(alerts)
    assert [alert.category for alert in drain(raised)] == ["complaint"]
    assert (alerts.backlog.transcribed, alerts.backlog.pending) == (1, 0)
