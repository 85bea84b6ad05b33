"""QA scorecards, the scores of calls, their review and dispute, and QA reports
(docs/qa-scorecards.md). Mounted with the ``qa`` module.

Who may do what: scorecards and rescoring need ``qa:config``; scores and reports
``qa:read`` (an agent sees only their own calls, a supervisor their departments'); an
override or a resolution ``qa:review``; a dispute ``qa:dispute``, on one's own call only.
A score outside the caller's view is "not found", as everywhere in the API.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, Field

from hotline.api.deps import ContextDep, Limit, Offset, PrincipalDep, SessionDep
from hotline.api.rbac import Permission, Principal
from hotline.api.schemas.base import MAX_INT, Body, Name, ReadModel
from hotline.api.services.errors import ConflictError, FieldError, FieldProblem, NotFoundError
from hotline.qa.reports import GROUPS, to_csv
from hotline.qa.scorecards import ScorecardError
from hotline.services.qa_scoring import Actor, QaScoring, ScoringError
from hotline.store.qa_scorecards import SCORE_STATUSES, QaScorecardRepository, ScoreFilter

router = APIRouter(prefix="/qa", tags=["qa"])
ItemId = Annotated[int, Path(ge=1, le=MAX_INT)]
Comment = Annotated[str, Field(min_length=1, max_length=2000)]
Outcome = Literal["passed", "failed", "not_applicable"]
QueueIds = Annotated[list[Annotated[int, Field(ge=1, le=MAX_INT)]], Field(max_length=500)]


class ScorecardBody(Body):
    name: Name
    active: bool = True
    #: Queue ids; null or absent: every call.
    queue_ids: QueueIds | None = None
    items: list[dict[str, Any]] = Field(min_length=1, max_length=50)


class ScorecardPatch(Body):
    name: Name | None = None
    active: bool | None = None
    queue_ids: QueueIds | None = None
    items: list[dict[str, Any]] | None = Field(default=None, min_length=1, max_length=50)


class ScorecardRead(ReadModel):
    id: int
    name: str
    active: bool
    queue_ids: list[int] | None
    items: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    updated_by: str | None


class RescoreBody(Body):
    #: Calls started on or after this day (UTC) are graded again.
    since: date


class RescoreRead(BaseModel):
    scored: int
    kept: int
    skipped: int


class ReviewRead(ReadModel):
    id: int
    at: datetime
    actor: str
    action: str
    item_key: str | None
    before: dict[str, Any]
    after: dict[str, Any]
    comment: str


class ScoreRead(ReadModel):
    id: int
    recording_id: str
    call_id: str | None
    scorecard_id: int
    scorecard_name: str
    auto_score: float | None
    final_score: float | None
    items: list[dict[str, Any]]
    status: str
    reviewer: str | None
    agent_id: int | None
    agent_username: str | None
    queue_id: int | None
    queue: str | None
    department_id: int | None
    started_at: datetime
    scored_at: datetime
    reviewed_at: datetime | None


class ScoreDetail(ScoreRead):
    reviews: list[ReviewRead]


class ScorePage(BaseModel):
    count: int
    items: list[ScoreRead]
    #: The ``offset`` of the next page; null on the last.
    next: int | None


class OverrideBody(Body):
    """One item's outcome (the total is recomputed) or the total itself."""

    comment: Comment
    item: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    outcome: Outcome | None = None
    total: Annotated[float, Field(ge=0, le=100)] | None = None


class DisputeBody(Body):
    comment: Comment
    #: The item contested; absent: the whole score.
    item: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class ReportLineRead(BaseModel):
    group: str
    count: int
    scored: int
    average: float | None
    previous_average: float | None
    trend: float | None
    pass_rates: dict[str, float]


class ReportRead(BaseModel):
    group: str
    since: date
    until: date
    lines: list[ReportLineRead]


def _scoring(context: ContextDep) -> QaScoring:
    return QaScoring(context.database, context.bus)


def _actor(principal: Principal) -> Actor:
    return Actor(principal.user_id, principal.username, principal.client)


def _raise(error: ScoringError | ScorecardError) -> None:
    if isinstance(error, ScorecardError):
        loc: tuple[str | int, ...] = ("body", *error.path.split("."))
        raise FieldError([FieldProblem(loc, error.message)]) from None
    if error.kind == "not_found":
        raise NotFoundError(str(error)) from None
    if error.kind == "conflict":
        raise ConflictError(str(error), field=error.field) from None
    raise FieldError([FieldProblem(("body", error.field or "body"), str(error))]) from None


def _view(principal: Principal, where: ScoreFilter) -> ScoreFilter:
    """The caller's part of the scores: an agent's own calls, a supervisor's departments."""
    if principal.only_self:
        return ScoreFilter(**{**_fields(where), "agent_username": principal.username})
    departments = principal.departments
    if departments is not None:
        return ScoreFilter(**{**_fields(where), "departments": departments})
    return where


def _fields(where: ScoreFilter) -> dict[str, Any]:
    return {name: getattr(where, name) for name in ScoreFilter.__dataclass_fields__}


def _day(value: date) -> datetime:
    return datetime.combine(value, time(), UTC)


# -- scorecards ------------------------------------------------------------------------


@router.get("/scorecards")
async def list_scorecards(session: SessionDep, principal: PrincipalDep) -> list[ScorecardRead]:
    principal.require(Permission.QA_CONFIG)
    rows = await QaScorecardRepository(session).scorecards()
    return [ScorecardRead.model_validate(row) for row in rows]


@router.post("/scorecards", status_code=status.HTTP_201_CREATED)
async def create_scorecard(
    body: ScorecardBody, principal: PrincipalDep, context: ContextDep
) -> ScorecardRead:
    principal.require(Permission.QA_CONFIG)
    try:
        row = await _scoring(context).save_scorecard(
            _actor(principal),
            scorecard_id=None,
            name=body.name,
            active=body.active,
            queue_ids=body.queue_ids,
            items=body.items,
        )
    except (ScoringError, ScorecardError) as error:
        _raise(error)
    return ScorecardRead.model_validate(row)


@router.get("/scorecards/{scorecard_id}")
async def get_scorecard(
    scorecard_id: ItemId, session: SessionDep, principal: PrincipalDep
) -> ScorecardRead:
    principal.require(Permission.QA_CONFIG)
    row = await QaScorecardRepository(session).scorecard(scorecard_id)
    if row is None:
        raise NotFoundError(f"scorecard {scorecard_id} not found")
    return ScorecardRead.model_validate(row)


@router.patch("/scorecards/{scorecard_id}")
async def update_scorecard(
    scorecard_id: ItemId,
    body: ScorecardPatch,
    session: SessionDep,
    principal: PrincipalDep,
    context: ContextDep,
) -> ScorecardRead:
    """Scores already given stay as they are until ``/rescore``."""
    principal.require(Permission.QA_CONFIG)
    row = await QaScorecardRepository(session).scorecard(scorecard_id)
    if row is None:
        raise NotFoundError(f"scorecard {scorecard_id} not found")
    given = body.model_fields_set
    try:
        saved = await _scoring(context).save_scorecard(
            _actor(principal),
            scorecard_id=scorecard_id,
            name=body.name if body.name is not None else row.name,
            active=body.active if body.active is not None else row.active,
            queue_ids=body.queue_ids if "queue_ids" in given else row.queue_ids,
            items=body.items if body.items is not None else row.items,
        )
    except (ScoringError, ScorecardError) as error:
        _raise(error)
    return ScorecardRead.model_validate(saved)


@router.delete("/scorecards/{scorecard_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_scorecard(
    scorecard_id: ItemId, principal: PrincipalDep, context: ContextDep
) -> Response:
    """409 for a scorecard that has scored calls: deactivate it instead."""
    principal.require(Permission.QA_CONFIG)
    try:
        await _scoring(context).delete_scorecard(_actor(principal), scorecard_id)
    except ScoringError as error:
        _raise(error)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/scorecards/{scorecard_id}/rescore")
async def rescore(
    scorecard_id: ItemId, body: RescoreBody, principal: PrincipalDep, context: ContextDep
) -> RescoreRead:
    """Grade again with this scorecard every call analysed that started since ``since``;
    reviewed, disputed or resolved scores keep their final score (``kept``)."""
    principal.require(Permission.QA_CONFIG)
    try:
        report = await _scoring(context).rescore(scorecard_id, _day(body.since), _actor(principal))
    except ScoringError as error:
        _raise(error)
    return RescoreRead(scored=report.scored, kept=report.kept, skipped=report.skipped)


# -- scores ----------------------------------------------------------------------------


@router.get("/scores")
async def list_scores(
    session: SessionDep,
    principal: PrincipalDep,
    agent: Annotated[str | None, Query(max_length=64, description="agent's username")] = None,
    queue: Annotated[str | None, Query(max_length=100, description="queue's name")] = None,
    scorecard_id: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
    status_: Annotated[
        Literal["auto", "reviewed", "disputed", "resolved"] | None, Query(alias="status")
    ] = None,
    recording_id: Annotated[str | None, Query(max_length=128)] = None,
    from_: Annotated[date | None, Query(alias="from", description="calls from this day")] = None,
    to: Annotated[date | None, Query(description="calls up to this day, included")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ScorePage:
    principal.require(Permission.QA_READ)
    assert status_ is None or status_ in SCORE_STATUSES
    where = _view(
        principal,
        ScoreFilter(
            agent_username=agent,
            queue=queue,
            scorecard_id=scorecard_id,
            status=status_,
            recording_id=recording_id,
            since=_day(from_) if from_ else None,
            until=_day(to) + timedelta(days=1) if to else None,
        ),
    )
    count, rows = await QaScorecardRepository(session).scores(where, limit=limit, offset=offset)
    more = offset + len(rows) < count
    return ScorePage(
        count=count,
        items=[ScoreRead.model_validate(row) for row in rows],
        next=offset + len(rows) if more else None,
    )


async def _visible(session: SessionDep, principal: Principal, score_id: int) -> ScoreDetail:
    repository = QaScorecardRepository(session)
    row = await repository.score(score_id)
    view = _view(principal, ScoreFilter())
    if (
        row is None
        or (view.agent_username is not None and row.agent_username != view.agent_username)
        or (view.departments is not None and row.department_id not in view.departments)
    ):
        raise NotFoundError(f"score {score_id} not found")
    reviews = [ReviewRead.model_validate(r) for r in await repository.reviews(score_id)]
    return ScoreDetail(**ScoreRead.model_validate(row).model_dump(), reviews=reviews)


@router.get("/scores/{score_id}")
async def get_score(score_id: ItemId, session: SessionDep, principal: PrincipalDep) -> ScoreDetail:
    """The score with its items (outcome, reason, moment) and its review history."""
    principal.require(Permission.QA_READ)
    return await _visible(session, principal, score_id)


@router.post("/scores/{score_id}/override")
async def override_score(
    score_id: ItemId,
    body: OverrideBody,
    session: SessionDep,
    principal: PrincipalDep,
    context: ContextDep,
) -> ScoreDetail:
    principal.require(Permission.QA_REVIEW)
    try:
        await _scoring(context).override(
            _actor(principal),
            score_id,
            comment=body.comment,
            item=body.item,
            outcome=body.outcome,
            total=body.total,
            departments=principal.departments,
        )
    except ScoringError as error:
        _raise(error)
    return await _visible(session, principal, score_id)


@router.post("/scores/{score_id}/dispute")
async def dispute_score(
    score_id: ItemId,
    body: DisputeBody,
    session: SessionDep,
    principal: PrincipalDep,
    context: ContextDep,
) -> ScoreDetail:
    """The agent of the call contests its score: 404 for another agent's call, 403 for
    anyone but an agent (a reviewer overrides instead)."""
    principal.require(Permission.QA_DISPUTE)
    if not principal.only_self:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the agent of the call disputes it")
    try:
        await _scoring(context).dispute(
            _actor(principal), score_id, comment=body.comment, item=body.item
        )
    except ScoringError as error:
        _raise(error)
    return await _visible(session, principal, score_id)


@router.post("/scores/{score_id}/resolve")
async def resolve_score(
    score_id: ItemId,
    body: OverrideBody,
    session: SessionDep,
    principal: PrincipalDep,
    context: ContextDep,
) -> ScoreDetail:
    """Settle a dispute (409 for a score not disputed), changing the score or not."""
    principal.require(Permission.QA_REVIEW)
    try:
        await _scoring(context).resolve(
            _actor(principal),
            score_id,
            comment=body.comment,
            item=body.item,
            outcome=body.outcome,
            total=body.total,
            departments=principal.departments,
        )
    except ScoringError as error:
        _raise(error)
    return await _visible(session, principal, score_id)


# -- reports ---------------------------------------------------------------------------


@router.get(
    "/reports",
    response_model=ReportRead,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}},
)
async def qa_report(
    principal: PrincipalDep,
    context: ContextDep,
    group: Literal["agent", "team", "queue", "day"] = "agent",
    from_: Annotated[date | None, Query(alias="from", description="first day (UTC)")] = None,
    to: Annotated[date | None, Query(description="last day, included")] = None,
    queue: Annotated[str | None, Query(max_length=100)] = None,
    agent: Annotated[str | None, Query(max_length=64)] = None,
    scorecard_id: Annotated[int | None, Query(ge=1, le=MAX_INT)] = None,
    format_: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Any:
    """Average final score, count and pass rate per item for each agent, team
    (department), queue or day of the period (default: the last 7 days), with the trend
    against the period of the same length just before."""
    principal.require(Permission.QA_READ)
    assert group in GROUPS
    until = to or datetime.now(UTC).date()
    since = from_ or until - timedelta(days=6)
    if since > until:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, "'from' is after 'to'")
    where = _view(
        principal, ScoreFilter(queue=queue, agent_username=agent, scorecard_id=scorecard_id)
    )
    try:
        lines = await _scoring(context).report(
            group, _day(since), _day(until) + timedelta(days=1), where
        )
    except ScoringError as error:
        _raise(error)
    if format_ == "csv":
        name = f"qa-report-{group}-{since}-{until}.csv"
        return Response(
            to_csv(lines, group),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )
    return ReportRead(
        group=group,
        since=since,
        until=until,
        lines=[ReportLineRead(**line.to_dict()) for line in lines],
    )
