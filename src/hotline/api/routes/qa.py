"""Speech analytics over REST: search the transcripts, read a call's analysis, play its
audio (redacted unless the caller may hear personal data), follow the analysis jobs and
queue re-analyses (docs/qa-search.md). Mounted with the ``qa`` module.

Recordings are named here by the id the analysis knows them by: the stem of the
recording's file name (``qa_jobs.recording_id``), as ``RecordingAnalysed`` carries it.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, model_validator

from hotline.api.deps import ContextDep, PrincipalDep, SessionDep
from hotline.api.schemas.base import MAX_INT, Body
from hotline.api.services.errors import FieldError, FieldProblem
from hotline.api.services.qa import QaService, redacted_audio_cache
from hotline.store.qa_search import SearchFilters, SearchHit

router = APIRouter(prefix="/qa", tags=["qa"])

RecordingKey = Annotated[
    str,
    Path(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="the recording's id: its file name without `.wav`",
    ),
]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_INT)]
Score = Annotated[float | None, Query(ge=0, le=100)]
Cursor = Annotated[
    str | None,
    Query(min_length=1, max_length=400, description="`next` of the previous page"),
]
PageSize = Annotated[int, Query(ge=1, le=100, description="items per page")]
JobStatus = Literal["queued", "running", "done", "failed", "dead"]


# -- response and request bodies ------------------------------------------------------


class SegmentMatch(BaseModel):
    """A transcript segment that matched: where to jump to in the call."""

    segment: int = Field(description="index in the analysis' `segments`")
    speaker: str
    start: float = Field(description="seconds from the start of the recording")
    end: float
    text: str = Field(description="the segment's redacted text")
    snippet: str = Field(
        description="the text around the match, HTML-escaped, matches in `<mark>` tags"
    )


class CallRead(BaseModel):
    recording_id: str
    call_id: str | None
    started_at: datetime
    language: str | None
    department_id: int | None
    agent_id: int | None
    agent: str | None = Field(description="the agent's extension")
    agent_name: str | None
    queue_id: int | None
    queue: str | None


class SearchItem(CallRead):
    matches: list[SegmentMatch] = Field(description="the first matching segments (≤ 5)")
    match_count: int = Field(description="matching segments in all")


class SearchPageRead(BaseModel):
    count: int = Field(description="calls matching, over every page")
    items: list[SearchItem]
    next: str | None = Field(description="cursor of the next page; null on the last")


class AnalysisRead(BaseModel):
    call: CallRead
    language: str | None
    engine: str
    model: str
    audio_seconds: float
    processing_seconds: float
    analysed_at: datetime
    metrics: dict[str, Any]
    analytics: dict[str, Any] = Field(
        description="sentiment, categories, pii, agitation; `clear_segments` only with "
        "`recordings:unredacted`"
    )
    segments: list[dict[str, Any]] = Field(description="the redacted transcript, in time order")


class JobRead(BaseModel):
    recording_id: str
    call_id: str | None
    queue: str | None = Field(description="the queue the call was in when recorded")
    kind: str
    recorded_at: datetime
    status: JobStatus
    attempts: int
    progress: float
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    next_attempt_at: datetime


class JobPageRead(BaseModel):
    count: int = Field(description="jobs matching `status`, over every page")
    counts: dict[str, int] = Field(description="jobs per state (in the caller's scope)")
    items: list[JobRead]
    next: str | None


class ReanalyzeBody(Body):
    """Either ``since`` (every recording started on or after that day, UTC) or one
    ``recording_id``."""

    since: date | None = None
    recording_id: Annotated[
        str | None, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._-]+$")
    ] = None

    @model_validator(mode="after")
    def _one_of(self) -> ReanalyzeBody:
        if (self.since is None) == (self.recording_id is None):
            raise ValueError("give either `since` (a date) or `recording_id`, not both")
        return self


class ReanalyzeRead(BaseModel):
    queued: int


def _call(hit: SearchHit) -> dict[str, Any]:
    return {
        "recording_id": hit.recording_id,
        "call_id": hit.call_id,
        "started_at": hit.started_at,
        "language": hit.language,
        "department_id": hit.department_id,
        "agent_id": hit.agent_id,
        "agent": hit.agent,
        "agent_name": hit.agent_name,
        "queue_id": hit.queue_id,
        "queue": hit.queue,
    }


def _instant(field: str, raw: str | None, *, end: bool) -> datetime | None:
    """A day (``2026-12-07``) means the whole day (``to`` a day includes it); a time
    (ISO 8601) without an offset is UTC, the zone every stored time is in."""
    if raw is None:
        return None
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime.combine(day + timedelta(days=1) if end else day, time(), UTC)
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise _problem(
            field, f"`{field}` must be a date (2026-12-07) or an ISO 8601 time"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _problem(field: str, message: str) -> FieldError:
    return FieldError([FieldProblem(("query", field), message)])


# -- routes ---------------------------------------------------------------------------


@router.get("/search")
async def search_calls(
    session: SessionDep,
    principal: PrincipalDep,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=r"^[^\x00-\x1f\x7f]*$",
            description="words to find (Chinese or English); all of them must match",
        ),
    ] = None,
    since: Annotated[
        str | None,
        Query(alias="from", max_length=40, description="started at or after (date or ISO 8601)"),
    ] = None,
    until: Annotated[
        str | None,
        Query(alias="to", max_length=40, description="started before (a date: up to its end)"),
    ] = None,
    queue: QueryId = None,
    agent: QueryId = None,
    department: QueryId = None,
    category: Annotated[
        str | None,
        Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$", description="rule"),
    ] = None,
    sentiment: Annotated[
        Literal["negative", "neutral", "positive"] | None,
        Query(description="the customer's sentiment at the end of the call"),
    ] = None,
    min_score: Score = None,
    max_score: Score = None,
    cursor: Cursor = None,
    limit: PageSize = 20,
) -> SearchPageRead:
    """Analysed calls, newest first, with the transcript segments that matched `q`."""
    start, stop = _instant("from", since, end=False), _instant("to", until, end=True)
    if start is not None and stop is not None and stop <= start:
        raise _problem("to", "`to` must be after `from`")
    if min_score is not None and max_score is not None and max_score < min_score:
        raise _problem("max_score", "`max_score` must not be below `min_score`")
    filters = SearchFilters(
        query=q,
        since=start,
        until=stop,
        queue_id=queue,
        agent_id=agent,
        department_id=department,
        category=category,
        sentiment=sentiment,
        min_score=min_score,
        max_score=max_score,
    )
    page = await QaService(session, principal).search(filters, limit=limit, cursor=cursor)
    return SearchPageRead(
        count=page.count,
        items=[
            SearchItem(
                **_call(hit),
                matches=[SegmentMatch(**asdict(match)) for match in hit.matches],
                match_count=hit.match_count,
            )
            for hit in page.items
        ],
        next=page.next,
    )


@router.get("/recordings/{recording_id}")
async def get_analysis(
    recording_id: RecordingKey, session: SessionDep, principal: PrincipalDep
) -> AnalysisRead:
    """One call's analysis: transcript per speaker (redacted), metrics and analytics."""
    found = await QaService(session, principal).analysis(recording_id)
    result = found.result
    return AnalysisRead(
        call=CallRead(**_call(found.call)),
        language=result.language,
        engine=result.engine,
        model=result.model,
        audio_seconds=result.audio_seconds,
        processing_seconds=result.processing_seconds,
        analysed_at=result.analysed_at,
        metrics=result.metrics,
        analytics=found.analytics,
        segments=result.segments,
    )


@router.get(
    "/recordings/{recording_id}/audio",
    response_class=FileResponse,
    responses={
        200: {
            "content": {"audio/wav": {}},
            "description": "the WAV (a redacted copy, "
            "beeped over personal data, without `recordings:unredacted`)",
        },
        206: {"description": "the requested byte range"},
        416: {"description": "range not satisfiable"},
    },
)
async def play_analysed_recording(
    recording_id: RecordingKey,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    context: ContextDep,
) -> FileResponse:
    """The call's audio; supports `Range`. Every request is audited."""
    recordings = context.recordings_dir
    service = QaService(session, principal, recordings, redacted_audio_cache(recordings))
    path = await service.audio(recording_id, request.headers.get("range"))
    return FileResponse(path, media_type="audio/wav")


@router.get("/jobs")
async def list_jobs(
    session: SessionDep,
    principal: PrincipalDep,
    status: Annotated[JobStatus | None, Query(description="only jobs in this state")] = None,
    cursor: Cursor = None,
    limit: PageSize = 50,
) -> JobPageRead:
    """Analysis jobs, newest first, and how many are in each state."""
    count, jobs, counts, next_cursor = await QaService(session, principal).jobs(
        status=status, limit=limit, cursor=cursor
    )
    return JobPageRead(
        count=count,
        counts=counts,
        items=[JobRead.model_validate(job, from_attributes=True) for job in jobs],
        next=next_cursor,
    )


@router.get("/jobs/{recording_id}")
async def get_job(
    recording_id: RecordingKey, session: SessionDep, principal: PrincipalDep
) -> JobRead:
    """One recording's analysis job: state, tries, progress, the last error."""
    job = await QaService(session, principal).job(recording_id)
    return JobRead.model_validate(job, from_attributes=True)


@router.post("/reanalyze")
async def reanalyze(
    body: ReanalyzeBody, session: SessionDep, principal: PrincipalDep
) -> ReanalyzeRead:
    """Queue recordings for analysis again (`qa:config`): since a day, or one recording.
    A job being analysed now is left to finish (one recording: 409)."""
    queued = await QaService(session, principal).reanalyze(
        since=body.since, recording_id=body.recording_id
    )
    return ReanalyzeRead(queued=queued)
