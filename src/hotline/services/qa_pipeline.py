"""``QaPipeline``: every saved recording analysed offline, in worker processes that never
take the CPU from live calls (docs/qa.md).

The node's bus says when a recording's file is closed (``RecordingSaved``); the pipeline
queues one job per recording in the store (``qa_jobs``, idempotent) and a worker loop
claims due jobs as worker slots free up. Each analysis (``hotline.qa.analysis``: read the
WAV, transcribe each speaker, measure the call) runs in a ``ProcessPoolExecutor`` of
``qa.workers`` processes started at low priority (nice 10): the media and SIP work of the
node's own process always comes first. Workers report progress through a queue that the
node writes to the job every second.

A failed try is retried with exponential backoff (``qa.retry_delay`` doubling) until
``qa.attempts`` tries have failed, then the job is ``dead`` with the last error shown; a
recording that cannot be read (``RecordingError``: a broken, truncated or non-WAV file)
ends ``failed`` at once, since trying again cannot help. The file is only ever read. A node
that starts again (or a module switched back on) resumes queued jobs, queues again those
left running and queues the last day's recordings that have no job. One node runs the
pipeline per database: recovery takes every ``running`` job as its own.

It is an optional module (``modules.qa``): built only when the settings say so, started and
stopped by ``ModuleSwitches`` as the admin console's switch says; stopped, it has no worker
process and queues nothing (when it starts again it catches up on the last day; ``hotline
qa reanalyze --since`` on anything older).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import queue
import signal
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hotline.calls.events import RecordingSaved
from hotline.events.bus import EventBus, Subscription
from hotline.media.speexdsp import load_speexdsp
from hotline.qa.analysis import analyse
from hotline.qa.asr import FasterWhisperEngine
from hotline.qa.audio import RecordingError, read_recording
from hotline.qa.events import RecordingAnalysed
from hotline.qa.models import packaged_base_model
from hotline.qa.rules import RuleSet
from hotline.qa.rules_file import load_rules
from hotline.settings import QaSettings
from hotline.store.database import Database
from hotline.store.qa import QaRepository, QueuedRecording, ResultRow
from hotline.store.types import utcnow

log = logging.getLogger(__name__)

WORKER_NICENESS = 10
#: At start, recordings saved this long ago or less without a job are queued: those that
#: ended while the node was stopping (the pipeline stops before telephony) or while the
#: module was off. Older ones wait for ``hotline qa reanalyze --since``.
CATCH_UP = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class AnalysisRequest:
    """One try of one job, as a worker process receives it (picklable)."""

    job_id: int
    path: str
    language: str | None
    #: A model directory, or None: the packaged base model joined into ``models_dir``.
    model_path: str | None
    models_dir: str
    #: ``qa.rules``: a file of categories added to the packaged ones, or None.
    rules_path: str | None = None
    #: ``qa.keep_clear_text``: keep the unredacted transcript beside the redacted one.
    keep_clear_text: bool = True
    #: ``qa.denoise``: speex noise suppression on the ASR input.
    denoise: bool = False


Analyser = Callable[[AnalysisRequest], ResultRow]
ProgressQueue = Any  # a multiprocessing queue of (job_id, fraction)
ExecutorFactory = Callable[[ProgressQueue], Executor]


# -- the worker processes' side ---------------------------------------------------------
# What a worker process keeps between jobs: its progress queue and its loaded model (a
# model loads once per process, not once per call). Set by the pool's initializer.
_worker: dict[str, Any] = {}


def init_worker(progress: ProgressQueue, niceness: int = WORKER_NICENESS) -> None:
    """A worker process starts: lower its priority, leave Ctrl-C to the node (which ends
    its workers as it stops) and remember where progress goes."""
    if niceness:
        os.nice(niceness)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker["progress"] = progress


def report_progress(job_id: int, fraction: float) -> None:
    progress = _worker.get("progress")
    if progress is not None:
        with contextlib.suppress(Exception):  # progress is nice to have, never a failure
            progress.put_nowait((job_id, fraction))


def worker_rules(path: str | None) -> RuleSet:
    """The rule set of ``path``, read once per worker process (and again when the file
    changed: an operator's edit applies to the next call without a restart)."""
    stamp = Path(path).stat().st_mtime_ns if path else None
    cached = _worker.get("rules")
    if cached is None or cached[0] != (path, stamp):
        cached = ((path, stamp), load_rules(Path(path) if path else None))
        _worker["rules"] = cached
    rules: RuleSet = cached[1]
    return rules


def analyse_in_worker(request: AnalysisRequest) -> ResultRow:
    """Analyse one recording in a worker process (the default ``Analyser``)."""
    model_path = (
        Path(request.model_path)
        if request.model_path
        else packaged_base_model(Path(request.models_dir))
    )
    engine = _worker.get("engine")
    if not isinstance(engine, FasterWhisperEngine) or engine.model_path != model_path:
        engine = FasterWhisperEngine(model_path)
        _worker["engine"] = engine
    audio = read_recording(request.path)  # a broken file fails before any model loads
    engine.load()
    analysis = analyse(
        audio,
        engine,
        request.language,
        progress=lambda fraction: report_progress(request.job_id, fraction),
        rules=worker_rules(request.rules_path),
        keep_clear_text=request.keep_clear_text,
        denoise=request.denoise,
    )
    return ResultRow(
        language=analysis.language,
        segments=analysis.segments(),
        metrics=analysis.metrics.to_dict(),
        engine=analysis.engine,
        model=analysis.model,
        audio_seconds=analysis.audio_seconds,
        processing_seconds=analysis.processing_seconds,
        analytics=analysis.analytics,
    )


def process_pool(workers: int) -> ExecutorFactory:
    """Worker processes, spawned (not forked from a node with threads and sockets)."""

    def build(progress: ProgressQueue) -> Executor:
        return ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
            initargs=(progress,),
        )

    return build


# -- the node's side --------------------------------------------------------------------


class QaPipeline:
    def __init__(
        self,
        database: Database,
        bus: EventBus,
        settings: QaSettings,
        recordings_dir: Path,
        models_dir: Path,
        *,
        analyser: Analyser = analyse_in_worker,
        executor_factory: ExecutorFactory | None = None,
        clock: Callable[[], datetime] = utcnow,
        poll_interval: float = 1.0,
        progress_interval: float = 1.0,
    ) -> None:
        self.database = database
        self.bus = bus
        self.settings = settings
        self.recordings_dir = recordings_dir
        self.models_dir = models_dir
        self.analyser = analyser
        self.executor_factory = executor_factory or process_pool(settings.workers)
        self.clock = clock
        self.poll_interval = poll_interval
        self.progress_interval = progress_interval
        self._subscription: Subscription[RecordingSaved] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._jobs: dict[int, asyncio.Task[None]] = {}
        self._executor: Executor | None = None
        self._progress: ProgressQueue | None = None
        self._wake = asyncio.Event()

    def language(self, queue: str | None, languages: Mapping[str, str]) -> str | None:
        """The language a job's recording is transcribed in: its queue's when the queue
        forces one, else the module's setting; None lets the engine detect it per call."""
        if queue is not None and queue in languages:
            return languages[queue]
        return None if self.settings.language == "auto" else self.settings.language

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def start(self) -> None:
        if self._tasks:
            return
        load_rules(self.settings.rules)  # a rules file it cannot use stops the start, named
        if self.settings.denoise:
            load_speexdsp()  # without libspeexdsp1 the start says what to install
        self._subscription = self.bus.subscribe(RecordingSaved, maxsize=100_000, name="qa")
        # A spawn-context queue: it can be handed to spawned workers (and works in threads).
        self._progress = multiprocessing.get_context("spawn").Queue()
        self._executor = self.executor_factory(self._progress)
        self._wake = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._queue_recordings(self._subscription), name="qa-queue"),
            asyncio.create_task(self._work(), name="qa-work"),
            asyncio.create_task(self._record_progress(), name="qa-progress"),
        ]

    async def stop(self) -> None:
        """Stop queueing and working. A job being analysed stays ``running`` in the store
        and is queued again when the pipeline next starts; its worker process is ended."""
        tasks = [*self._tasks, *self._jobs.values()]
        self._tasks, self._jobs = [], {}
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
        if self._executor is not None:
            _end(self._executor)
            self._executor = None
        if self._progress is not None:
            self._progress.close()
            self._progress.join_thread()
            self._progress = None

    async def queue(self, event: RecordingSaved) -> bool:
        """Queue the recording's analysis (no-op if it has a job): True if queued."""
        recording = QueuedRecording(
            recording_id=event.recording_id,
            path=event.path,
            recorded_at=datetime.fromtimestamp(event.started_at, UTC),
            call_id=event.call_id,
            kind=event.kind,
            queue=event.queue,
        )
        async with self.database.session() as session:
            created = await QaRepository(session).enqueue(recording, self.clock())
            await session.commit()
        if created:
            log.info("recording queued for analysis", extra={"recording": event.recording_id})
            self._wake.set()
        return created

    async def _queue_recordings(self, subscription: Subscription[RecordingSaved]) -> None:
        while True:
            event = await subscription.get()
            for delay in (0.5, 2.0, 10.0, None):
                try:
                    await self.queue(event)
                    break
                except Exception:
                    if delay is None:
                        log.exception(
                            "recording not queued for analysis; "
                            "`hotline qa reanalyze --since` queues it",
                            extra={"recording": event.recording_id},
                        )
                        break
                    await asyncio.sleep(delay)

    async def _work(self) -> None:
        now = self.clock()
        async with self.database.session() as session:
            repository = QaRepository(session)
            resumed = await repository.recover(now)
            missed = await repository.enqueue_unqueued(now - CATCH_UP, now)
            counts = await repository.counts()
            await session.commit()
        if resumed or counts["queued"]:
            log.info(
                "analysis jobs resumed",
                extra={"queued": counts["queued"], "interrupted": resumed, "missed": missed},
            )
        while True:
            free = self.settings.workers - len(self._jobs)
            if free > 0:
                try:
                    async with self.database.session() as session:
                        repository = QaRepository(session)
                        claimed = await repository.claim_due(self.clock(), free)
                        languages = await repository.queue_languages(j.queue for j in claimed)
                        await session.commit()
                except Exception:
                    log.exception("analysis jobs not claimed; trying again")
                    claimed, languages = [], {}
                for job in claimed:
                    request = AnalysisRequest(
                        job_id=job.id,
                        path=str(self.recordings_dir / job.path),
                        language=self.language(job.queue, languages),
                        model_path=str(self.settings.model) if self.settings.model else None,
                        models_dir=str(self.models_dir),
                        rules_path=str(self.settings.rules) if self.settings.rules else None,
                        keep_clear_text=self.settings.keep_clear_text,
                        denoise=self.settings.denoise,
                    )
                    task = asyncio.create_task(
                        self._run(job.id, job.recording_id, job.attempts, request),
                        name=f"qa-job-{job.id}",
                    )
                    self._jobs[job.id] = task
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    async def _run(
        self, job_id: int, recording_id: str, attempt: int, request: AnalysisRequest
    ) -> None:
        extra = {"recording": recording_id, "job": job_id, "attempt": attempt}
        try:
            if attempt > self.settings.attempts:  # its worker died with the node, each time
                await self._fail(
                    job_id, f"gave up after {attempt - 1} tries that never finished", "dead"
                )
                return
            loop = asyncio.get_running_loop()
            assert self._executor is not None
            try:
                result = await loop.run_in_executor(self._executor, self.analyser, request)
            except RecordingError as error:
                log.warning("recording cannot be analysed", extra={**extra, "error": str(error)})
                await self._fail(job_id, str(error), "failed")
                return
            except BrokenProcessPool:
                log.error("analysis worker process died", extra=extra)
                self._renew_executor()
                await self._retry(job_id, attempt, "the analysis worker process died", extra)
                return
            except Exception as error:
                await self._retry(job_id, attempt, f"{type(error).__name__}: {error}", extra)
                return
            async with self.database.session() as session:
                repository = QaRepository(session)
                await repository.finish(job_id, result, self.clock())
                job = await repository.get(job_id)
                await session.commit()
            self.bus.publish(
                RecordingAnalysed(
                    at=self.clock().timestamp(),
                    recording_id=recording_id,
                    call_id=job.call_id if job is not None else None,
                    language=result.language,
                    categories=tuple(
                        str(hit.get("category"))
                        for hit in result.analytics.get("categories", [])
                        if isinstance(hit, dict)
                    ),
                )
            )
            log.info(
                "recording analysed",
                extra={
                    **extra,
                    "language": result.language,
                    "audio_seconds": result.audio_seconds,
                    "processing_seconds": result.processing_seconds,
                },
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("analysis job not recorded; queued again at the next start", extra=extra)
        finally:
            self._jobs.pop(job_id, None)
            self._wake.set()

    async def _retry(self, job_id: int, attempt: int, error: str, extra: dict[str, Any]) -> None:
        if attempt >= self.settings.attempts:
            log.error("analysis failed for good", extra={**extra, "error": error})
            await self._fail(job_id, error, "dead")
            return
        delay = self.settings.retry_delay * 2 ** (attempt - 1)
        log.warning("analysis failed; will retry", extra={**extra, "error": error, "in": delay})
        now = self.clock()
        async with self.database.session() as session:
            await QaRepository(session).fail(
                job_id, error, now, retry_at=now + timedelta(seconds=delay), final="dead"
            )
            await session.commit()

    async def _fail(self, job_id: int, error: str, final: str) -> None:
        async with self.database.session() as session:
            await QaRepository(session).fail(
                job_id, error, self.clock(), retry_at=None, final=final
            )
            await session.commit()

    def _renew_executor(self) -> None:
        if self._executor is not None:
            _end(self._executor)
        assert self._progress is not None
        self._executor = self.executor_factory(self._progress)

    async def _record_progress(self) -> None:
        while True:
            await asyncio.sleep(self.progress_interval)
            latest: dict[int, float] = {}
            while self._progress is not None:
                try:
                    job_id, fraction = self._progress.get_nowait()
                except queue.Empty:
                    break
                latest[job_id] = fraction
            if not latest:
                continue
            try:
                async with self.database.session() as session:
                    repository = QaRepository(session)
                    for job_id, fraction in latest.items():
                        await repository.set_progress(job_id, fraction)
                    await session.commit()
            except Exception:
                log.exception("analysis progress not recorded")


def _end(executor: Executor) -> None:
    executor.shutdown(wait=False, cancel_futures=True)
    # A process pool keeps running the analysis it has started; end it now (Python 3.14
    # has ProcessPoolExecutor.terminate_workers for this).
    processes = getattr(executor, "_processes", None) or {}
    for process in list(processes.values()):
        with contextlib.suppress(Exception):
            process.terminate()
