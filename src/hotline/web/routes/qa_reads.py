"""What the QA console reads, scoped as the API scopes it: through the QA API's own
route functions (``api.routes.qa``: search, a call's analysis, the jobs), so a page shows
exactly what the API answers the same user (a supervisor the calls of their departments,
an agent only the calls they took, admins, auditors and the QA role every call) with the
same redaction (``clear_segments`` only for ``recordings:unredacted``). A call outside the
scope is "not found", never "forbidden".

What the API does not say and a page needs (the recordings row behind the audio route,
the file for the waveform, an agent's own analysed calls for ``/qa/mine``) is read from
the store here, and only for a call the API has just shown this user.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from markupsafe import Markup
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.rbac import Permission, Principal
from hotline.api.routes import qa as qa_api
from hotline.api.services.errors import NotFoundError
from hotline.store.models import Agent, Cdr, QaJob, QaResult, Queue, Recording, User
from hotline.store.qa import JOB_STATUSES

#: Results a search page shows (the API's page size at most).
RESULT_LIMIT = 50
#: Failed jobs the jobs strip lists with their error.
FAILED_SHOWN = 5

QueryT = TypeVar("QueryT", bound="Select[*tuple[Any, ...]]")


class Analysis(Protocol):
    """What a page reads of an analysis: the API's ``AnalysisRead`` or a stored row."""

    language: str | None
    segments: list[Any]
    metrics: dict[str, Any]
    analytics: dict[str, Any]
    audio_seconds: float


@dataclass(frozen=True)
class CallInfo:
    """One analysed recording and the call around it."""

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
    result: Analysis | None
    job: QaJob | None


@dataclass(frozen=True)
class SearchQuery:
    """The search form, as the API's query parameters (ids for queue and agent)."""

    text: str = ""
    since: str | None = None  # a day, 2026-12-07
    until: str | None = None
    queue: int | None = None
    agent: int | None = None
    category: str | None = None
    sentiment: str | None = None  # the customer's label at the end of the call
    min_score: float | None = None
    max_score: float | None = None


@dataclass(frozen=True)
class Match:
    speaker: str
    start: float
    #: The API's snippet: the text around the match, HTML-escaped, the match in <mark>.
    snippet: Markup


@dataclass(frozen=True)
class SearchHit:
    call: CallInfo
    matches: list[Match] = field(default_factory=list)
    match_count: int = 0


@dataclass(frozen=True)
class JobStrip:
    counts: dict[str, int]
    failed: list[qa_api.JobRead]


def _located(
    principal: Principal | None,
) -> Select[QaResult, QaJob, Recording, Cdr, Agent, User, Queue]:
    """Results with their job, recording, CDR, agent, user and queue; in the caller's
    scope when a principal is given (an agent's own calls, a supervisor's departments)."""
    query = (
        select(QaResult, QaJob, Recording, Cdr, Agent, User, Queue)
        .outerjoin(QaJob, QaJob.recording_id == QaResult.recording_id)
        .outerjoin(Recording, Recording.path == QaJob.path)
        .outerjoin(Cdr, Cdr.call_id == func.coalesce(QaJob.call_id, Recording.call_id))
        .outerjoin(Agent, Agent.id == Cdr.agent_id)
        .outerjoin(User, User.id == Agent.user_id)
        .outerjoin(Queue, Queue.id == Cdr.queue_id)
    )
    return query if principal is None else _scoped(query, principal)


def _scoped(query: QueryT, principal: Principal) -> QueryT:
    if principal.only_self:
        own = select(Agent.id).where(Agent.user_id == principal.user_id)
        return query.where(Cdr.agent_id.in_(own.scalar_subquery()))
    departments = principal.departments
    if departments is not None:
        return query.where(Recording.department_id.in_(departments))
    return query


def _info(row: Sequence[Any], analysis: Analysis | None = None) -> CallInfo:
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
        result=analysis if analysis is not None else result,
        job=job,
    )


async def call(session: AsyncSession, principal: Principal, recording_id: str) -> CallInfo | None:
    """The analysed call as the API shows it to this caller (``GET /qa/recordings/{id}``),
    with where its audio is; None when it does not exist or is outside the scope."""
    try:
        analysis = await qa_api.get_analysis(recording_id, session, principal)
    except NotFoundError:
        return None
    query = _located(None).where(QaResult.recording_id == recording_id).limit(1)
    row = (await session.execute(query)).first()
    if row is None:
        return None
    info = _info(row, analysis)
    call = analysis.call
    return CallInfo(
        **{
            **info.__dict__,
            "call_id": call.call_id,
            "started_at": call.started_at,
            "agent": call.agent,
            "agent_name": call.agent_name,
            "queue": call.queue,
        }
    )


async def search(
    session: AsyncSession, principal: Principal, where: SearchQuery
) -> list[SearchHit]:
    """The API's search (``GET /qa/search``), newest first, with the segments that matched
    and, for the list, each call's length and categories."""
    page = await qa_api.search_calls(
        session,
        principal,
        q=where.text.strip() or None,
        since=where.since,
        until=where.until,
        queue=where.queue,
        agent=where.agent,
        category=where.category,
        sentiment=where.sentiment,  # type: ignore[arg-type]  # checked by the form
        min_score=where.min_score,
        max_score=where.max_score,
        limit=RESULT_LIMIT,
    )
    ids = [item.recording_id for item in page.items]
    stored = {
        row.recording_id: row
        for row in (
            await session.execute(select(QaResult).where(QaResult.recording_id.in_(ids)))
        ).scalars()
    }
    hits = []
    for item in page.items:
        result = stored.get(item.recording_id)
        info = CallInfo(
            recording_id=item.recording_id,
            call_id=item.call_id,
            started_at=item.started_at,
            duration=result.audio_seconds if result else None,
            department_id=item.department_id,
            recording_row=None,
            path=None,
            agent=item.agent,
            agent_name=item.agent_name,
            queue=item.queue,
            result=result,
            job=None,
        )
        matches = [Match(m.speaker, m.start, Markup(m.snippet)) for m in item.matches]
        hits.append(SearchHit(info, matches, item.match_count))
    return hits


async def my_calls(session: AsyncSession, principal: Principal, limit: int = 100) -> list[CallInfo]:
    """The caller's own analysed calls (an agent's), newest first."""
    principal.require(Permission.QA_READ)
    own = select(Agent.id).where(Agent.user_id == principal.user_id).scalar_subquery()
    query = (
        _located(principal)
        .where(Cdr.agent_id.in_(own))
        .order_by(QaResult.analysed_at.desc(), QaResult.id.desc())
        .limit(limit)
    )
    return [_info(row) for row in (await session.execute(query)).all()]


async def jobs(session: AsyncSession, principal: Principal) -> JobStrip:
    """Jobs per state and the latest that failed, with their error, in the caller's scope
    (``GET /qa/jobs``)."""
    page = await qa_api.list_jobs(session, principal, limit=1)
    failed: list[qa_api.JobRead] = []
    for status in ("failed", "dead"):
        failed += (
            await qa_api.list_jobs(session, principal, status=status, limit=FAILED_SHOWN)
        ).items
    failed.sort(key=lambda job: job.finished_at or job.created_at, reverse=True)
    return JobStrip({s: page.counts.get(s, 0) for s in JOB_STATUSES}, failed[:FAILED_SHOWN])


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


def categories_of(result: Analysis | None) -> list[str]:
    found = ((result.analytics if result else None) or {}).get("categories") or []
    return [str(entry.get("category")) for entry in found if isinstance(entry, dict)]


def customer_end_label(result: Analysis | None) -> str | None:
    sentiment = ((result.analytics if result else None) or {}).get("sentiment") or {}
    customer = sentiment.get("customer") if isinstance(sentiment, dict) else None
    label = customer.get("label_end") if isinstance(customer, dict) else None
    return str(label) if label else None


async def queue_id(session: AsyncSession, name: str) -> int | None:
    """The id of the queue a search form names (the API filters by id)."""
    return await session.scalar(select(Queue.id).where(Queue.name == name))


async def agent_id(session: AsyncSession, extension: str) -> int | None:
    """The id of the agent a search form names by extension."""
    return await session.scalar(select(Agent.id).where(Agent.extension == extension))
