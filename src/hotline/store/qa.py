"""Speech analysis in the store: the durable queue of analysis jobs (one per recording) and
what each analysis found (docs/qa.md).

Like every repository, :class:`QaRepository` never commits: the QA pipeline commits its own
session after each step (``async with database.session() as s: ...; await s.commit()``), so
a job claimed, advanced or finished is durable before the pipeline acts on it. Datetimes are
aware UTC, as in every table.

Job states: ``queued`` (waiting for ``next_attempt_at``), ``running`` (claimed by a worker),
``done``, ``failed`` (the recording can never be analysed as it is: a broken WAV) and
``dead`` (every try failed). A node that restarts puts its ``running`` jobs back in the
queue (:meth:`QaRepository.recover`): a job is never lost, at worst analysed twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.store.models import Cdr, QaJob, QaResult, Queue, Recording
from hotline.store.qa_search import QaSearch
from hotline.store.types import utcnow

JOB_STATUSES = ("queued", "running", "done", "failed", "dead")


@dataclass(frozen=True, slots=True)
class QueuedRecording:
    """What a job needs to know of its recording."""

    recording_id: str
    path: str
    recorded_at: datetime
    call_id: str | None = None
    kind: str = "call"
    queue: str | None = None


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One analysis' findings, as :meth:`QaRepository.finish` stores them."""

    language: str | None
    segments: list[Any]
    metrics: dict[str, Any]
    engine: str
    model: str
    audio_seconds: float
    processing_seconds: float
    #: Sentiment, rule categories, personal data found, agitation (``Analysis.analytics``).
    analytics: dict[str, Any] = field(default_factory=dict)


class QaRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue(self, recording: QueuedRecording, now: datetime | None = None) -> bool:
        """Queue the recording's analysis unless it has a job already (in any state):
        True if a job was created. Safe against a concurrent enqueue of the same recording
        (the unique ``recording_id`` decides, inside a savepoint)."""
        if await self.job(recording.recording_id) is not None:
            return False
        now = now or utcnow()
        job = QaJob(
            recording_id=recording.recording_id,
            call_id=recording.call_id,
            queue=recording.queue,
            path=recording.path,
            kind=recording.kind,
            recorded_at=recording.recorded_at,
            status="queued",
            attempts=0,
            next_attempt_at=now,
            progress=0.0,
            created_at=now,
        )
        try:
            async with self.session.begin_nested():
                self.session.add(job)
        except IntegrityError:
            return False
        return True

    async def job(self, recording_id: str) -> QaJob | None:
        query = select(QaJob).where(QaJob.recording_id == recording_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def get(self, job_id: int) -> QaJob | None:
        return await self.session.get(QaJob, job_id)

    async def jobs(self, status: str | None = None, limit: int = 100) -> Sequence[QaJob]:
        query = select(QaJob).order_by(QaJob.id).limit(limit)
        if status is not None:
            query = query.where(QaJob.status == status)
        return (await self.session.execute(query)).scalars().all()

    async def counts(self) -> dict[str, int]:
        query = select(QaJob.status, func.count()).group_by(QaJob.status)
        found = {status: int(n) for status, n in (await self.session.execute(query)).all()}
        return {status: found.get(status, 0) for status in JOB_STATUSES}

    async def claim_due(self, now: datetime, limit: int) -> list[QaJob]:
        """Mark up to ``limit`` due queued jobs ``running`` (oldest due first) and return
        them; each try counts in ``attempts``. A job another node claimed meanwhile is
        skipped (the update is conditional on the job still being queued)."""
        query = (
            select(QaJob.id)
            .where(QaJob.status == "queued", QaJob.next_attempt_at <= now)
            .order_by(QaJob.next_attempt_at, QaJob.id)
            .limit(limit)
        )
        claimed: list[QaJob] = []
        for job_id in (await self.session.execute(query)).scalars().all():
            result = await self.session.execute(
                update(QaJob)
                .where(QaJob.id == job_id, QaJob.status == "queued")
                .values(
                    status="running",
                    attempts=QaJob.attempts + 1,
                    started_at=now,
                    finished_at=None,
                    progress=0.0,
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                job = await self.session.get(QaJob, job_id, populate_existing=True)
                assert job is not None
                claimed.append(job)
        return claimed

    async def set_progress(self, job_id: int, progress: float) -> None:
        await self.session.execute(
            update(QaJob)
            .where(QaJob.id == job_id, QaJob.status == "running")
            .values(progress=min(1.0, max(0.0, progress)))
        )

    async def finish(self, job_id: int, result: ResultRow, now: datetime) -> None:
        """The job is done: its findings replace any earlier ones for the recording, and
        its redacted transcript replaces the recording's rows in the search index."""
        job = await self.session.get(QaJob, job_id)
        if job is None:
            return
        stored = await self.result(job.recording_id)
        if stored is None:
            stored = QaResult(recording_id=job.recording_id)
            self.session.add(stored)
        stored.language = result.language
        stored.segments = result.segments
        stored.metrics = result.metrics
        stored.analytics = result.analytics
        stored.engine = result.engine
        stored.model = result.model
        stored.audio_seconds = result.audio_seconds
        stored.processing_seconds = result.processing_seconds
        stored.analysed_at = now
        # The search index follows in the same transaction (redacted text only).
        await QaSearch(self.session).index(
            job.recording_id, result.segments, redacted=result.analytics.get("redacted") is True
        )
        job.status = "done"
        job.progress = 1.0
        job.error = None
        job.finished_at = now

    async def fail(
        self, job_id: int, error: str, now: datetime, *, retry_at: datetime | None, final: str
    ) -> None:
        """A try failed with ``error``: queued again for ``retry_at``, or (None) ended in
        the ``final`` state (``failed`` or ``dead``)."""
        job = await self.session.get(QaJob, job_id)
        if job is None:
            return
        job.error = error[:4000]
        job.progress = 0.0
        if retry_at is not None:
            job.status = "queued"
            job.next_attempt_at = retry_at
        else:
            job.status = final
            job.finished_at = now

    async def recover(self, now: datetime) -> int:
        """At start: jobs left ``running`` by a node that stopped are queued again, due now
        (their try counts: a recording that crashes the worker every time ends dead)."""
        result = await self.session.execute(
            update(QaJob)
            .where(QaJob.status == "running")
            .values(status="queued", next_attempt_at=now, progress=0.0)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def requeue(self, recording_id: str, now: datetime) -> bool:
        """Analyse the recording again from scratch (``hotline qa reanalyze``)."""
        result = await self.session.execute(
            update(QaJob)
            .where(QaJob.recording_id == recording_id, QaJob.status != "running")
            .values(
                status="queued",
                attempts=0,
                next_attempt_at=now,
                error=None,
                progress=0.0,
                started_at=None,
                finished_at=None,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def requeue_since(self, since: datetime, now: datetime) -> int:
        """Queue again every recording started since ``since``: jobs that exist (except
        those running now) and recordings of the recordings table that have none (saved
        while the module was off). Returns how many jobs were queued."""
        queued = 0
        jobs = select(QaJob.recording_id).where(QaJob.recorded_at >= since)
        for recording_id in (await self.session.execute(jobs)).scalars().all():
            queued += await self.requeue(recording_id, now)
        return queued + await self.enqueue_unqueued(since, now)

    async def enqueue_unqueued(self, since: datetime, now: datetime) -> int:
        """Queue the recordings (of the recordings table) started since ``since`` that have
        no job: saved while the pipeline was not running (a node stopping, the module
        switched off). Returns how many were queued."""
        rows = (
            select(Recording, Queue.name)
            .outerjoin(Cdr, Cdr.call_id == Recording.call_id)
            .outerjoin(Queue, Queue.id == Cdr.queue_id)
            .where(
                Recording.started_at >= since,
                ~exists(select(QaJob.id).where(QaJob.path == Recording.path)),
            )
            .order_by(Recording.id)
        )
        queued = 0
        for row, queue in (await self.session.execute(rows)).all():
            recording_id = PurePosixPath(row.path).stem
            queued += await self.enqueue(
                QueuedRecording(
                    recording_id, row.path, row.started_at, row.call_id, row.kind, queue
                ),
                now,
            )
        return queued

    async def queue_languages(self, queues: Iterable[str | None]) -> dict[str, str]:
        """The analysis language set on each of these queues (``Queue.qa_language``), by
        name; queues without one (or unknown) are left out."""
        names = {name for name in queues if name}
        if not names:
            return {}
        query = select(Queue.name, Queue.qa_language).where(
            Queue.name.in_(names), Queue.qa_language.is_not(None)
        )
        return {name: str(language) for name, language in (await self.session.execute(query))}

    async def result(self, recording_id: str) -> QaResult | None:
        query = select(QaResult).where(QaResult.recording_id == recording_id)
        return (await self.session.execute(query)).scalar_one_or_none()
