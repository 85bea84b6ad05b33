"""What the QA console reads from the store, scoped as the API scopes it.

The console's pages should show exactly what the QA REST API answers the same user (as the
wallboard calls ``api.routes.live``). Until that API is in the tree, this module is the one
place that reads analyses: ``qa_results`` through ``QaRepository``'s tables, joined to the
recording (its department), the CDR (queue, agent) and the job. The scope is the API's
rule (``api.rbac.Principal``): a supervisor sees the calls of their departments, an agent
only the calls they took (in any department), admins, auditors and the QA role every call.
A call outside the scope is "not found", never "forbidden".

Search here is a plain substring match over the newest analyses (``SCAN_LIMIT``) with the
filters in SQL: enough for a console until the API's indexed full-text search replaces it
behind the same :func:`search` signature.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.rbac import Permission, Principal
from hotline.store.models import Agent, Cdr, QaJob, QaResult, Queue, Recording, User
from hotline.store.qa import JOB_STATUSES

#: Analyses a search looks through, newest first, before the indexed search lands.
SCAN_LIMIT = 500
#: Results a search page shows.
RESULT_LIMIT = 50
#: Failed jobs the jobs strip lists with their error.
FAILED_SHOWN = 5

QueryT = TypeVar("QueryT", bound="Select[*tuple[Any, ...]]")


@dataclass(frozen=True)
class CallInfo:
    """One analysed (or queued) recording and the call around it."""

    recording_id: str
    call_id: str | None
    started_at: datetime | None
    duration: float | None
    department_id: int | None
    #: The id of the recordings row (its audio route), if the call history wrote it.
    recording_row: int | None
    path: str | None
    agent: str | None  # the agent's extension
    agent_name: str | None
    queue: str | None
    result: QaResult | None
    job: QaJob | None


@dataclass(frozen=True)
class SearchQuery:
    text: str = ""
    since: date | None = None
    until: date | None = None
    queue: str | None = None
    agent: str | None = None
    department: int | None = None
    category: str | None = None
    sentiment: str | None = None  # the customer's label at the end of the call


@dataclass(frozen=True)
class Match:
    segment: int
    speaker: str
    start: float
    text: str
    #: Where the query matched in ``text`` (start, end), for the snippet's mark.
    span: tuple[int, int] | None


@dataclass(frozen=True)
class SearchHit:
    call: CallInfo
    matches: list[Match] = field(default_factory=list)


@dataclass(frozen=True)
class JobStrip:
    counts: dict[str, int]
    failed: list[QaJob]


def _base(principal: Principal) -> Select[QaResult, QaJob, Recording, Cdr, Agent, User, Queue]:
    """Results with their job, recording, CDR, agent, user and queue, in the caller's scope."""
    query = (
        select(QaResult, QaJob, Recording, Cdr, Agent, User, Queue)
        .outerjoin(QaJob, QaJob.recording_id == QaResult.recording_id)
        .outerjoin(Recording, Recording.path == QaJob.path)
        .outerjoin(Cdr, Cdr.call_id == func.coalesce(QaJob.call_id, Recording.call_id))
        .outerjoin(Agent, Agent.id == Cdr.agent_id)
        .outerjoin(User, User.id == Agent.user_id)
        .outerjoin(Queue, Queue.id == Cdr.queue_id)
    )
    return _scoped(query, principal)


def _scoped(query: QueryT, principal: Principal) -> QueryT:
    if principal.only_self:
        own = select(Agent.id).where(Agent.user_id == principal.user_id)
        return query.where(Cdr.agent_id.in_(own.scalar_subquery()))
    departments = principal.departments
    if departments is not None:
        return query.where(Recording.department_id.in_(departments))
    return query


def _info(row: Sequence[Any]) -> CallInfo:
    result, job, recording, _cdr, agent, user, queue = row
    return CallInfo(
        recording_id=result.recording_id,
        call_id=(job.call_id if job else None) or (recording.call_id if recording else None),
        started_at=recording.started_at if recording else (job.recorded_at if job else None),
        duration=recording.duration_seconds if recording else result.audio_seconds,
        department_id=recording.department_id if recording else None,
        recording_row=recording.id if recording else None,
        path=job.path if job else (recording.path if recording else None),
        agent=agent.extension if agent else None,
        agent_name=(user.display_name or user.username) if user else None,
        queue=queue.name if queue else None,
        result=result,
        job=job,
    )


async def call(session: AsyncSession, principal: Principal, recording_id: str) -> CallInfo | None:
    """The analysed call, or None when it does not exist or is outside the caller's scope."""
    principal.require(Permission.QA_READ)
    query = _base(principal).where(QaResult.recording_id == recording_id).limit(1)
    row = (await session.execute(query)).first()
    return _info(row) if row else None


async def search(
    session: AsyncSession, principal: Principal, where: SearchQuery
) -> list[SearchHit]:
    """Calls whose transcript contains ``where.text`` (every call when it is empty) and
    that pass the filters, newest first, each with the segments that matched."""
    principal.require(Permission.QA_READ)
    query = _base(principal)
    if where.since is not None:
        query = query.where(Recording.started_at >= _day_start(where.since))
    if where.until is not None:
        query = query.where(Recording.started_at < _day_start(where.until + timedelta(days=1)))
    if where.queue:
        query = query.where(Queue.name == where.queue)
    if where.agent:
        query = query.where(Agent.extension == where.agent)
    if where.department is not None:
        query = query.where(Recording.department_id == where.department)
    query = query.order_by(QaResult.analysed_at.desc(), QaResult.id.desc()).limit(SCAN_LIMIT)
    hits: list[SearchHit] = []
    for row in (await session.execute(query)).all():
        info = _info(row)
        result = info.result
        assert result is not None
        if where.category and where.category not in categories_of(result):
            continue
        if where.sentiment and customer_end_label(result) != where.sentiment:
            continue
        matches = find_in_segments(result.segments, where.text)
        if where.text.strip() and not matches:
            continue
        hits.append(SearchHit(info, matches))
        if len(hits) >= RESULT_LIMIT:
            break
    return hits


async def my_calls(session: AsyncSession, principal: Principal, limit: int = 100) -> list[CallInfo]:
    """The caller's own analysed calls (an agent's), newest first."""
    principal.require(Permission.QA_READ)
    own = select(Agent.id).where(Agent.user_id == principal.user_id).scalar_subquery()
    query = (
        _base(principal)
        .where(Cdr.agent_id.in_(own))
        .order_by(QaResult.analysed_at.desc(), QaResult.id.desc())
        .limit(limit)
    )
    return [_info(row) for row in (await session.execute(query)).all()]


async def jobs(session: AsyncSession, principal: Principal) -> JobStrip:
    """Jobs per state and the latest that failed, with their error, in the caller's scope
    (a supervisor's: the recordings of their departments)."""
    principal.require(Permission.QA_READ)
    counted = (
        select(QaJob.status, func.count())
        .select_from(QaJob)
        .outerjoin(Recording, Recording.path == QaJob.path)
        .outerjoin(Cdr, Cdr.call_id == func.coalesce(QaJob.call_id, Recording.call_id))
        .group_by(QaJob.status)
    )
    found = {s: int(n) for s, n in (await session.execute(_scoped(counted, principal))).all()}
    failed = (
        select(QaJob)
        .outerjoin(Recording, Recording.path == QaJob.path)
        .outerjoin(Cdr, Cdr.call_id == func.coalesce(QaJob.call_id, Recording.call_id))
        .where(QaJob.status.in_(("failed", "dead")))
        .order_by(QaJob.finished_at.desc(), QaJob.id.desc())
        .limit(FAILED_SHOWN)
    )
    rows = (await session.execute(_scoped(failed, principal))).scalars().all()
    return JobStrip({s: found.get(s, 0) for s in JOB_STATUSES}, list(rows))


def audio_file(recordings_dir: Path | None, info: CallInfo) -> Path | None:
    """The call's WAV under the node's recordings directory; None when the node keeps no
    recordings, the file is gone, or its stored path would leave the directory."""
    if recordings_dir is None or not info.path:
        return None
    root = recordings_dir.resolve()
    path = (root / info.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def categories_of(result: QaResult) -> list[str]:
    found = (result.analytics or {}).get("categories") or []
    return [str(entry.get("category")) for entry in found if isinstance(entry, dict)]


def customer_end_label(result: QaResult) -> str | None:
    sentiment = (result.analytics or {}).get("sentiment") or {}
    customer = sentiment.get("customer") if isinstance(sentiment, dict) else None
    label = customer.get("label_end") if isinstance(customer, dict) else None
    return str(label) if label else None


def find_in_segments(segments: Sequence[Any], text: str) -> list[Match]:
    """Segments containing ``text`` (case-insensitive; Chinese matched as written)."""
    needle = text.strip().lower()
    if not needle:
        return []
    matches: list[Match] = []
    for index, segment in enumerate(segments):
        if not isinstance(segment, dict):
            continue
        said = str(segment.get("text") or "").strip()
        at = said.lower().find(needle)
        if at < 0:
            continue
        matches.append(
            Match(
                segment=index,
                speaker=str(segment.get("speaker") or ""),
                start=float(segment.get("start") or 0.0),
                text=said,
                span=(at, at + len(needle)),
            )
        )
    return matches


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)
