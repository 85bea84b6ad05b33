"""The QA job queue and results in the store, on SQLite and PostgreSQL: one job per
recording, due jobs claimed oldest first and only once, retries, final states, recovery
after a restart, re-analysis since a date, and results replaced on a second analysis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hotline.store.database import Database
from hotline.store.models import Recording
from hotline.store.qa import QaRepository, QueuedRecording, ResultRow

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def recording(name: str, at: datetime = NOW) -> QueuedRecording:
    return QueuedRecording(name, f"2026/12/07/{name}.wav", at, call_id=f"call-{name}")


def result(language: str = "en", metrics: dict[str, Any] | None = None) -> ResultRow:
    return ResultRow(
        language=language,
        segments=[{"speaker": "agent", "start": 0.0, "end": 1.0, "text": "hello", "words": []}],
        metrics=metrics or {"overtalk_seconds": 0.0},
        engine="faster-whisper",
        model="whisper-base",
        audio_seconds=10.0,
        processing_seconds=1.0,
    )


async def test_enqueue_is_idempotent(database: Database) -> None:
    async with database.session() as session:
        repo = QaRepository(session)
        assert await repo.enqueue(recording("r1"), NOW)
        assert not await repo.enqueue(recording("r1"), NOW)
        await session.commit()
    async with database.session() as session:
        repo = QaRepository(session)
        assert not await repo.enqueue(recording("r1"), NOW)
        job = await repo.job("r1")
        assert job is not None
        assert (job.status, job.attempts, job.progress, job.call_id) == (
            "queued",
            0,
            0.0,
            "call-r1",
        )
        assert (await repo.counts())["queued"] == 1


async def test_due_jobs_are_claimed_oldest_first_and_once(database: Database) -> None:
    async with database.session() as session:
        repo = QaRepository(session)
        await repo.enqueue(recording("late"), NOW + timedelta(seconds=5))
        await repo.enqueue(recording("first"), NOW - timedelta(seconds=5))
        await repo.enqueue(recording("second"), NOW)
        await session.commit()
    async with database.session() as session:
        repo = QaRepository(session)
        claimed = await repo.claim_due(NOW, limit=5)
        await session.commit()
        assert [job.recording_id for job in claimed] == ["first", "second"]
        assert all(job.status == "running" and job.attempts == 1 for job in claimed)
        assert claimed[0].started_at == NOW
        assert await repo.claim_due(NOW, limit=5) == []
        assert [j.recording_id for j in await repo.claim_due(NOW + timedelta(seconds=5), 5)] == [
            "late"
        ]


async def test_progress_done_and_results_replaced(database: Database) -> None:
    async with database.session() as session:
        repo = QaRepository(session)
        await repo.enqueue(recording("r1"), NOW)
        (job,) = await repo.claim_due(NOW, 1)
        await repo.set_progress(job.id, 0.4)
        await session.commit()
    async with database.session() as session:
        repo = QaRepository(session)
        stored = await repo.job("r1")
        assert stored is not None
        assert stored.progress == 0.4
        await repo.finish(job.id, result(), NOW)
        await session.commit()
    async with database.session() as session:
        repo = QaRepository(session)
        assert await repo.requeue("r1", NOW)
        (job,) = await repo.claim_due(NOW, 1)
        await repo.finish(job.id, result("zh", {"overtalk_seconds": 2.5}), NOW)
        await session.commit()
    async with database.session() as session:
        repo = QaRepository(session)
        done = await repo.job("r1")
        found = await repo.result("r1")
        assert done is not None
        assert found is not None
        assert (done.status, done.progress, done.error, done.finished_at) == (
            "done",
            1.0,
            None,
            NOW,
        )
        assert (found.language, found.metrics) == ("zh", {"overtalk_seconds": 2.5})
        assert found.segments[0]["text"] == "hello"


async def test_failures_retry_then_end(database: Database) -> None:
    async with database.session() as session:
        repo = QaRepository(session)
        await repo.enqueue(recording("r1"), NOW)
        await repo.enqueue(recording("r2"), NOW)
        one, two = await repo.claim_due(NOW, 2)
        await repo.fail(one.id, "boom", NOW, retry_at=NOW + timedelta(seconds=30), final="dead")
        await repo.fail(two.id, "r2.wav: not a RIFF/WAVE file", NOW, retry_at=None, final="failed")
        await session.commit()
    async with database.session() as session:
        repo = QaRepository(session)
        assert await repo.claim_due(NOW + timedelta(seconds=29), 5) == []
        (again,) = await repo.claim_due(NOW + timedelta(seconds=30), 5)
        assert (again.recording_id, again.attempts, again.error) == ("r1", 2, "boom")
        failed = await repo.job("r2")
        assert failed is not None
        assert (failed.status, failed.error) == ("failed", "r2.wav: not a RIFF/WAVE file")
        assert failed.finished_at == NOW


async def test_running_jobs_are_queued_again_after_a_restart(database: Database) -> None:
    async with database.session() as session:
        repo = QaRepository(session)
        await repo.enqueue(recording("r1"), NOW)
        await repo.claim_due(NOW, 1)
        await session.commit()
    later = NOW + timedelta(minutes=5)
    async with database.session() as session:
        repo = QaRepository(session)
        assert await repo.recover(later) == 1
        await session.commit()
        (job,) = await repo.claim_due(later, 1)
        assert job.attempts == 2


async def test_reanalyse_since_a_date(database: Database) -> None:
    old, new = NOW - timedelta(days=10), NOW - timedelta(days=1)
    async with database.session() as session:
        repo = QaRepository(session)
        await repo.enqueue(recording("old", old), old)
        await repo.enqueue(recording("new", new), new)
        for job in await repo.claim_due(NOW, 5):
            await repo.finish(job.id, result(), NOW)
        # Saved while the module was off: a recordings row without a job.
        session.add(
            Recording(call_id="c9", path="2026/12/06/unseen.wav", started_at=new, kind="call")
        )
        session.add(Recording(call_id="c8", path="2026/11/20/ancient.wav", started_at=old))
        await session.commit()
    async with database.session() as session:
        repo = QaRepository(session)
        assert await repo.requeue_since(NOW - timedelta(days=2), NOW) == 2
        await session.commit()
    async with database.session() as session:
        repo = QaRepository(session)
        statuses = {job.recording_id: job.status for job in await repo.jobs()}
        assert statuses == {"old": "done", "new": "queued", "unseen": "queued"}
        unseen = await repo.job("unseen")
        assert unseen is not None
        assert unseen.path == "2026/12/06/unseen.wav"
        assert unseen.call_id == "c9"


async def test_recordings_without_a_job_are_queued_once(database: Database) -> None:
    async with database.session() as session:
        repo = QaRepository(session)
        await repo.enqueue(recording("known"), NOW)
        session.add(Recording(call_id="c1", path="2026/12/07/known.wav", started_at=NOW))
        session.add(Recording(call_id="c2", path="2026/12/07/missed.wav", started_at=NOW))
        old = NOW - timedelta(days=3)
        session.add(Recording(call_id="c3", path="2026/12/04/old.wav", started_at=old))
        await session.commit()
    async with database.session() as session:
        repo = QaRepository(session)
        assert await repo.enqueue_unqueued(NOW - timedelta(days=1), NOW) == 1
        assert await repo.enqueue_unqueued(NOW - timedelta(days=1), NOW) == 0
        await session.commit()
        assert sorted(job.recording_id for job in await repo.jobs()) == ["known", "missed"]
