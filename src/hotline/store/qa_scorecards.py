"""QA scorecards, the scores they gave and the reviews of those scores, in the store
(docs/qa-scorecards.md).

Like every repository this one never commits: the scoring service commits a score with
its review row and audit entry in one transaction. A score is keyed on (recording,
scorecard): scoring a call again replaces the machine's part of its row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.store.models import (
    Agent,
    Cdr,
    Department,
    QaJob,
    QaResult,
    QaReview,
    QaScore,
    QaScorecard,
    Queue,
    Recording,
    User,
)
from hotline.store.types import utcnow

SCORE_STATUSES = ("auto", "reviewed", "disputed", "resolved")


@dataclass(frozen=True, slots=True)
class CallContext:
    """Who took a call and where it came in: what a score is filtered and grouped by."""

    call_id: str | None
    started_at: datetime
    agent_id: int | None = None
    agent_username: str | None = None
    queue_id: int | None = None
    queue: str | None = None
    department_id: int | None = None
    #: "call" or "voicemail" (a caller's message: nothing for an agent's scorecard).
    kind: str = "call"


@dataclass(frozen=True, slots=True)
class ScoreFilter:
    agent_id: int | None = None
    agent_username: str | None = None
    queue_id: int | None = None
    queue: str | None = None
    scorecard_id: int | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    recording_id: str | None = None
    #: Departments the caller may see (None: all).
    departments: frozenset[int] | None = None


class QaScorecardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- scorecards ---------------------------------------------------------------------

    async def scorecards(self, *, active_only: bool = False) -> Sequence[QaScorecard]:
        query = select(QaScorecard).order_by(QaScorecard.id)
        if active_only:
            query = query.where(QaScorecard.active.is_(True))
        return (await self.session.execute(query)).scalars().all()

    async def scorecard(self, scorecard_id: int) -> QaScorecard | None:
        return await self.session.get(QaScorecard, scorecard_id)

    async def scorecard_named(self, name: str) -> QaScorecard | None:
        query = select(QaScorecard).where(QaScorecard.name == name)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def count_scorecards(self) -> int:
        return int((await self.session.execute(select(func.count(QaScorecard.id)))).scalar_one())

    async def add_scorecard(self, scorecard: QaScorecard) -> QaScorecard:
        self.session.add(scorecard)
        await self.session.flush()
        return scorecard

    async def has_scores(self, scorecard_id: int) -> bool:
        query = select(exists().where(QaScore.scorecard_id == scorecard_id))
        return bool((await self.session.execute(query)).scalar_one())

    async def delete_scorecard(self, scorecard: QaScorecard) -> None:
        await self.session.delete(scorecard)
        await self.session.flush()

    # -- what a score is made of ----------------------------------------------------------

    async def result(self, recording_id: str) -> QaResult | None:
        query = select(QaResult).where(QaResult.recording_id == recording_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def call_context(self, recording_id: str, call_id: str | None) -> CallContext:
        """The call's agent, queue and department from its CDR; its start from the
        recording's job (or the CDR). A call whose CDR is not written yet gets what the
        job and the recordings table know (rescoring later fills in the rest)."""
        job = (
            await self.session.execute(select(QaJob).where(QaJob.recording_id == recording_id))
        ).scalar_one_or_none()
        call_id = call_id or (job.call_id if job is not None else None)
        started_at = job.recorded_at if job is not None else None
        kind = job.kind if job is not None else "call"
        department_id: int | None = None
        if job is not None:
            recording = (
                await self.session.execute(
                    select(Recording).where(Recording.path == job.path).limit(1)
                )
            ).scalar_one_or_none()
            if recording is not None:
                department_id = recording.department_id
        row = None
        if call_id is not None:
            query = (
                select(Cdr, User.username, Queue.name)
                .outerjoin(Agent, Agent.id == Cdr.agent_id)
                .outerjoin(User, User.id == Agent.user_id)
                .outerjoin(Queue, Queue.id == Cdr.queue_id)
                .where(Cdr.call_id == call_id)
            )
            row = (await self.session.execute(query)).first()
        if row is None:
            return CallContext(
                call_id, started_at or utcnow(), department_id=department_id, kind=kind
            )
        cdr, username, queue_name = row
        return CallContext(
            call_id=call_id,
            started_at=started_at or cdr.started_at,
            agent_id=cdr.agent_id,
            agent_username=username,
            queue_id=cdr.queue_id,
            queue=queue_name,
            department_id=cdr.department_id if cdr.department_id is not None else department_id,
            kind=kind,
        )

    async def analysed_since(self, since: datetime) -> Sequence[tuple[str, str | None]]:
        """(recording_id, call_id) of every analysis of a recording started since then."""
        query = (
            select(QaResult.recording_id, QaJob.call_id)
            .join(QaJob, QaJob.recording_id == QaResult.recording_id)
            .where(QaJob.recorded_at >= since)
            .order_by(QaJob.recorded_at)
        )
        return [(r, c) for r, c in (await self.session.execute(query)).all()]

    # -- scores -------------------------------------------------------------------------

    async def score_for(self, recording_id: str, scorecard_id: int) -> QaScore | None:
        query = select(QaScore).where(
            QaScore.recording_id == recording_id, QaScore.scorecard_id == scorecard_id
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def score(self, score_id: int) -> QaScore | None:
        return await self.session.get(QaScore, score_id)

    async def add_score(self, score: QaScore) -> QaScore:
        self.session.add(score)
        await self.session.flush()
        return score

    def _filtered(self, query: Select[Any], where: ScoreFilter) -> Select[Any]:
        if where.agent_id is not None:
            query = query.where(QaScore.agent_id == where.agent_id)
        if where.agent_username is not None:
            query = query.where(QaScore.agent_username == where.agent_username)
        if where.queue_id is not None:
            query = query.where(QaScore.queue_id == where.queue_id)
        if where.queue is not None:
            query = query.where(QaScore.queue == where.queue)
        if where.scorecard_id is not None:
            query = query.where(QaScore.scorecard_id == where.scorecard_id)
        if where.status is not None:
            query = query.where(QaScore.status == where.status)
        if where.since is not None:
            query = query.where(QaScore.started_at >= where.since)
        if where.until is not None:
            query = query.where(QaScore.started_at < where.until)
        if where.recording_id is not None:
            query = query.where(QaScore.recording_id == where.recording_id)
        if where.departments is not None:
            query = query.where(QaScore.department_id.in_(where.departments))
        return query

    async def scores(
        self, where: ScoreFilter, *, limit: int = 100, offset: int = 0
    ) -> tuple[int, Sequence[QaScore]]:
        """The matching scores, newest call first, and how many match in all."""
        count = self._filtered(select(func.count(QaScore.id)), where)
        total = int((await self.session.execute(count)).scalar_one())
        query = (
            self._filtered(select(QaScore), where)
            .order_by(QaScore.started_at.desc(), QaScore.id.desc())
            .limit(limit)
            .offset(offset)
        )
        found: Sequence[QaScore] = (await self.session.execute(query)).scalars().all()
        return total, found

    async def all_scores(self, where: ScoreFilter) -> Sequence[QaScore]:
        """Every matching score (for reports: one period of one team at a time)."""
        query = self._filtered(select(QaScore), where).order_by(QaScore.started_at)
        found: Sequence[QaScore] = (await self.session.execute(query)).scalars().all()
        return found

    async def department_names(self) -> dict[int, str]:
        rows = await self.session.execute(select(Department.id, Department.name))
        return {department_id: name for department_id, name in rows.all()}

    # -- reviews ------------------------------------------------------------------------

    async def add_review(self, review: QaReview) -> QaReview:
        self.session.add(review)
        await self.session.flush()
        return review

    async def reviews(self, score_id: int) -> Sequence[QaReview]:
        query = select(QaReview).where(QaReview.score_id == score_id).order_by(QaReview.id)
        return (await self.session.execute(query)).scalars().all()

    async def delete_scores_of(self, scorecard_id: int) -> None:
        await self.session.execute(delete(QaScore).where(QaScore.scorecard_id == scorecard_id))
