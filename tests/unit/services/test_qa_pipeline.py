"""The QA pipeline on a real store and bus: a saved recording queues one job, workers
analyse it, failures retry with exponential backoff until the job is dead, a broken WAV
fails at once without touching the file, a restart resumes the queue, and the module's
switch stops it. The analyser is injected (no speech model here); one test runs the real
process pool to check its workers' low priority."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hotline.calls.events import RecordingSaved
from hotline.events.bus import EventBus
from hotline.qa.rules import RulesError
from hotline.services.module_switches import ModuleSwitches
from hotline.services.qa_pipeline import (
    AnalysisRequest,
    QaPipeline,
    analyse_in_worker,
    init_worker,
    process_pool,
    report_progress,
    worker_rules,
)
from hotline.settings import QaSettings
from hotline.store.database import Database
from hotline.store.models import Department, QaJob, Queue, Recording
from hotline.store.qa import QaRepository, QueuedRecording, ResultRow
from hotline.store.repositories import ModuleRepository


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")
    await database.upgrade()
    yield database
    await database.close()


def saved(name: str, path: str | None = None) -> RecordingSaved:
    return RecordingSaved(
        at=0.0,
        call_id=f"call-{name}",
        recording_id=name,
        path=path or f"2026/12/07/{name}.wav",
        started_at=datetime(2026, 12, 7, 1, 0, tzinfo=UTC).timestamp(),
        duration_seconds=10.0,
        size_bytes=160_044,
        sha256="0" * 64,
    )


def row(language: str = "en", **metrics: Any) -> ResultRow:
    return ResultRow(language, [], dict(metrics), "fake", "fake-model", 10.0, 0.5)


def threads(progress: Any) -> Executor:
    return ThreadPoolExecutor(max_workers=1, initializer=init_worker, initargs=(progress, 0))


def pipeline(
    database: Database,
    bus: EventBus,
    analyser: Callable[[AnalysisRequest], ResultRow],
    tmp_path: Path,
    **settings: Any,
) -> QaPipeline:
    return QaPipeline(
        database,
        bus,
        QaSettings(**settings),
        tmp_path / "recordings",
        tmp_path / "models",
        analyser=analyser,
        executor_factory=threads,
        poll_interval=0.01,
        progress_interval=0.01,
    )


async def job(database: Database, recording_id: str) -> QaJob | None:
    async with database.session() as session:
        return await QaRepository(session).job(recording_id)


async def until(database: Database, recording_id: str, *statuses: str, within: float = 5) -> QaJob:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = await job(database, recording_id)
        if found is not None and found.status in statuses:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError(f"job {recording_id} not {statuses}: {found and found.status}")


async def test_a_saved_recording_is_analysed_once(database: Database, tmp_path: Path) -> None:
    bus, seen = EventBus(), []

    def analyser(request: AnalysisRequest) -> ResultRow:
        seen.append(request)
        return row(overtalk_seconds=1.5)

    qa = pipeline(database, bus, analyser, tmp_path, language="zh")
    qa.start()
    try:
        bus.publish(saved("r1"))
        bus.publish(saved("r1"))  # the same recording again: still one job
        done = await until(database, "r1", "done")
        assert await qa.queue(saved("r1")) is False
        await asyncio.sleep(0.05)
    finally:
        await qa.stop()
    assert (done.attempts, done.progress, done.error, done.call_id) == (1, 1.0, None, "call-r1")
    assert len(seen) == 1
    assert seen[0].path == str(tmp_path / "recordings" / "2026/12/07/r1.wav")
    assert seen[0].language == "zh"
    assert seen[0].model_path is None  # the packaged model
    async with database.session() as session:
        result = await QaRepository(session).result("r1")
    assert result is not None
    assert result.metrics == {"overtalk_seconds": 1.5}
    assert (result.engine, result.model) == ("fake", "fake-model")


async def test_failures_back_off_exponentially_then_the_job_is_dead(
    database: Database, tmp_path: Path
) -> None:
    bus, tries = EventBus(), []

    def analyser(request: AnalysisRequest) -> ResultRow:
        tries.append(time.monotonic())
        raise RuntimeError(f"model exploded on try {len(tries)}")

    qa = pipeline(database, bus, analyser, tmp_path, attempts=3, retry_delay=0.1)
    qa.start()
    try:
        await qa.queue(saved("r1"))
        dead = await until(database, "r1", "dead")
        await asyncio.sleep(0.3)
    finally:
        await qa.stop()
    assert len(tries) == 3
    first_gap, second_gap = tries[1] - tries[0], tries[2] - tries[1]
    assert 0.1 <= first_gap < 0.18
    assert 0.2 <= second_gap < 0.3
    assert dead.attempts == 3
    assert dead.error == "RuntimeError: model exploded on try 3"
    assert dead.finished_at is not None


async def test_a_try_that_fails_once_succeeds_on_the_retry(
    database: Database, tmp_path: Path
) -> None:
    bus, tries = EventBus(), []

    def analyser(request: AnalysisRequest) -> ResultRow:
        tries.append(request)
        if len(tries) == 1:
            raise OSError("disk hiccup")
        return row()

    qa = pipeline(database, bus, analyser, tmp_path, retry_delay=0.02)
    qa.start()
    try:
        await qa.queue(saved("r1"))
        done = await until(database, "r1", "done")
    finally:
        await qa.stop()
    assert (done.attempts, done.error) == (2, None)


async def test_a_broken_wav_fails_at_once_and_stays_as_it_was(
    database: Database, tmp_path: Path
) -> None:
    recording = tmp_path / "recordings" / "2026/12/07/broken.wav"
    recording.parent.mkdir(parents=True)
    recording.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00")  # cut off
    before = recording.read_bytes(), recording.stat().st_mtime_ns
    bus = EventBus()
    qa = pipeline(database, bus, analyse_in_worker, tmp_path, model=tmp_path / "no-model")
    qa.start()
    try:
        await qa.queue(saved("broken"))
        failed = await until(database, "broken", "failed", "dead")
        await qa.queue(saved("missing"))  # saved, then lost from the disk
        missing = await until(database, "missing", "failed", "dead")
    finally:
        await qa.stop()
    assert failed.status == "failed"
    assert failed.attempts == 1
    assert failed.error is not None
    assert "broken.wav" in failed.error
    assert "fmt chunk too short" in failed.error
    assert (recording.read_bytes(), recording.stat().st_mtime_ns) == before
    assert missing.status == "failed"
    assert missing.error is not None
    assert "cannot read" in missing.error


async def test_a_restart_resumes_queued_and_interrupted_jobs(
    database: Database, tmp_path: Path
) -> None:
    async with database.session() as session:
        repository = QaRepository(session)
        for name in ("interrupted", "waiting"):
            at = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
            await repository.enqueue(QueuedRecording(name, f"{name}.wav", at), at)
        await repository.claim_due(datetime(2026, 12, 7, 1, 0, tzinfo=UTC), 1)  # then a crash
        await session.commit()
    qa = pipeline(database, EventBus(), lambda request: row(), tmp_path)
    qa.start()
    try:
        interrupted = await until(database, "interrupted", "done")
        waiting = await until(database, "waiting", "done")
    finally:
        await qa.stop()
    assert interrupted.attempts == 2
    assert waiting.attempts == 1


async def test_progress_is_reported_while_a_job_runs(database: Database, tmp_path: Path) -> None:
    release = threading.Event()

    def analyser(request: AnalysisRequest) -> ResultRow:
        report_progress(request.job_id, 0.5)
        release.wait(5)
        return row()

    qa = pipeline(database, EventBus(), analyser, tmp_path)
    qa.start()
    try:
        await qa.queue(saved("r1"))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            running = await job(database, "r1")
            if running is not None and running.progress == 0.5:
                break
            await asyncio.sleep(0.01)
        assert running is not None
        assert (running.status, running.progress) == ("running", 0.5)
        release.set()
        await until(database, "r1", "done")
    finally:
        release.set()
        await qa.stop()


async def test_switched_off_it_has_no_workers_and_queues_nothing(
    database: Database, tmp_path: Path
) -> None:
    bus, built = EventBus(), []

    def factory(progress: Any) -> Executor:
        built.append(progress)
        return threads(progress)

    qa = pipeline(database, bus, lambda request: row(), tmp_path)
    qa.executor_factory = factory
    async with database.session() as session:
        await ModuleRepository(session).set("qa", False, "admin")
        await session.commit()
    switches = ModuleSwitches(database, bus, {"qa": qa})
    await switches.start()
    try:
        assert not qa.running
        bus.publish(saved("r1"))
        await asyncio.sleep(0.05)
        assert await job(database, "r1") is None
        assert built == []
        async with database.session() as session:
            await ModuleRepository(session).set("qa", True, "admin")
            await session.commit()
        await switches.apply()
        assert qa.running
        assert len(built) == 1
        bus.publish(saved("r2"))
        await until(database, "r2", "done")
    finally:
        await switches.stop()
    assert not qa.running


def niceness_of_the_worker(request: AnalysisRequest) -> ResultRow:
    return row(niceness=os.nice(0), pid=os.getpid())


async def test_the_process_pool_runs_at_low_priority(database: Database, tmp_path: Path) -> None:
    qa = pipeline(database, EventBus(), niceness_of_the_worker, tmp_path)
    qa.executor_factory = process_pool(1)
    qa.start()
    try:
        await qa.queue(saved("r1"))
        await until(database, "r1", "done", within=30)
    finally:
        await qa.stop()
    async with database.session() as session:
        result = await QaRepository(session).result("r1")
    assert result is not None
    assert result.metrics["pid"] != os.getpid()
    assert result.metrics["niceness"] == os.nice(0) + 10


async def test_recordings_saved_while_it_was_not_running_are_caught_up(
    database: Database, tmp_path: Path
) -> None:
    async with database.session() as session:
        session.add(
            Recording(call_id="c1", path="2026/12/07/late.wav", started_at=datetime.now(UTC))
        )
        await session.commit()
    qa = pipeline(database, EventBus(), lambda request: row(), tmp_path)
    qa.start()
    try:
        done = await until(database, "late", "done")
    finally:
        await qa.stop()
    assert done.call_id == "c1"


RULES = """
categories:
  - name: late_delivery
    labels: {zh: 物流延误, en: late delivery}
    speaker: customer
    keywords:
      zh: [快递没到]
      en: [parcel is late]
"""


async def test_the_rules_file_clear_text_and_denoise_settings_reach_the_workers(
    database: Database, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, "utf-8")
    bus, seen = EventBus(), []

    def analyser(request: AnalysisRequest) -> ResultRow:
        seen.append(request)
        return row()

    qa = pipeline(
        database, bus, analyser, tmp_path, rules=rules, keep_clear_text=False, denoise=True
    )
    qa.start()
    try:
        bus.publish(saved("r1"))
        await until(database, "r1", "done")
    finally:
        await qa.stop()
    assert (seen[0].rules_path, seen[0].keep_clear_text, seen[0].denoise) == (
        str(rules),
        False,
        True,
    )


async def test_a_rules_file_it_cannot_use_stops_the_start(
    database: Database, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("categories: [{name: x}]", "utf-8")  # no keywords
    qa = pipeline(database, EventBus(), lambda request: row(), tmp_path, rules=rules)
    with pytest.raises(RulesError, match=str(rules)):
        qa.start()
    assert not qa.running


def test_a_worker_rereads_the_rules_file_when_it_changed(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES, "utf-8")
    first = worker_rules(str(rules))
    assert worker_rules(str(rules)) is first  # read once per process
    assert "late_delivery" in {category.name for category in first.categories}
    rules.write_text(RULES.replace("late_delivery", "slow_delivery"), "utf-8")
    os.utime(rules, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))
    second = worker_rules(str(rules))
    assert "slow_delivery" in {category.name for category in second.categories}
    assert {category.name for category in worker_rules(None).categories} >= {"complaint"}


async def test_a_queue_that_forces_a_language_has_its_calls_transcribed_in_it(
    database: Database, tmp_path: Path
) -> None:
    """The queue the call was in when recorded travels with the job; the queue's language
    (read when the job is claimed) wins over the module's automatic detection."""
    async with database.session() as session:
        department = Department(name="sales")
        session.add(department)
        await session.flush()
        session.add_all(
            [
                Queue(name="export", department_id=department.id, qa_language="en"),
                Queue(name="domestic", department_id=department.id),
            ]
        )
        await session.commit()
    bus, seen = EventBus(), []

    def analyser(request: AnalysisRequest) -> ResultRow:
        seen.append(request)
        return row()

    qa = pipeline(database, bus, analyser, tmp_path)  # qa.language: auto
    qa.start()
    try:
        for name, queue in (("r1", "export"), ("r2", "domestic"), ("r3", None)):
            bus.publish(dataclasses.replace(saved(name), queue=queue))
            done = await until(database, name, "done")
            assert done.queue == queue
    finally:
        await qa.stop()
    assert {Path(r.path).stem: r.language for r in seen} == {"r1": "en", "r2": None, "r3": None}
