"""The QA console: search over analysed calls (``/qa``), the call page with its player,
waveform, synchronised transcript, rule hits, sentiment curve and metrics
(``/qa/calls/{recording_id}``), an agent's own analysed calls (``/qa/mine``) and the
analysis jobs strip (``/qa/jobs``).

Open to the roles that hold ``qa:read``; what each sees is scoped as the API scopes it
(``qa_reads``): a supervisor their departments' calls, an agent the calls they took. A
call outside the scope is the 404 page. The audio is the API's: the QA audio route
(redacted for roles without ``recordings:unredacted``) when the node serves it, else the
recordings route for roles that may read recordings; the page never serves audio itself.
Mounted only with the qa module (``settings.modules.qa``), as the API's QA routes.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from hotline.api.rbac import ROLE_PERMISSIONS, Permission
from hotline.api.schemas.base import MAX_INT
from hotline.api.services.errors import ServiceError
from hotline.qa.audio import MONO_SPEAKER, STEREO_SPEAKERS, RecordingError
from hotline.qa.waveform import DEFAULT_SLICES, MAX_SLICES, waveform
from hotline.store.models import Role
from hotline.store.qa import JOB_STATUSES
from hotline.web.pages import Page, guarded
from hotline.web.routes import qa_reads, qa_scores, qa_transcript
from hotline.web.routes.qa_reads import SearchQuery

log = logging.getLogger(__name__)

router = APIRouter(prefix="/qa", include_in_schema=False)

#: Who may open the console: every role with ``qa:read`` (agents: their own calls).
QA_ROLES = frozenset(
    role for role, granted in ROLE_PERMISSIONS.items() if Permission.QA_READ in granted
)
#: Who sees the jobs strip (queue health is the QA staff's and supervisors' business).
JOBS_ROLES = QA_ROLES - {Role.AGENT}
QaPage = Annotated[Page, Depends(guarded(QA_ROLES))]
JobsPage = Annotated[Page, Depends(guarded(JOBS_ROLES))]
AgentQaPage = Annotated[Page, Depends(guarded({Role.AGENT}))]

SENTIMENT_LABELS = ("negative", "neutral", "positive")
SCORE_ACTIONS = ("override", "dispute", "resolve")
#: The default rule categories (``qa/default_rules``); an operator's own categories are
#: shown by the label their rule file gives them.
DEFAULT_CATEGORIES = (
    "greeting",
    "identity_verified",
    "forbidden_words",
    "complaint",
    "cancellation",
    "refund",
    "legal_threat",
    "thanks",
)
#: Message keys the templates build from a prefix and a value of a closed set (the i18n
#: tests check each exists in every language).
MESSAGE_PREFIXES: dict[str, tuple[str, ...]] = {
    "qa.language.": ("zh", "en"),
    "qa.speaker.": (*STEREO_SPEAKERS, MONO_SPEAKER),
    "qa.category.": DEFAULT_CATEGORIES,
    "qa.sentiment.": SENTIMENT_LABELS,
    "qa.jobs.": JOB_STATUSES,
    "qa.agitation.": qa_transcript.AGITATION_LABELS,
    "qa.score.": SCORE_ACTIONS,  # the review forms' buttons
    "qa.score.done.": SCORE_ACTIONS,
    "qa.score.status.": qa_scores.SCORE_STATUSES,
    "qa.score.outcome.": qa_scores.OUTCOMES,
}
#: How often the jobs strip is fetched again (seconds).
JOBS_REFRESH_SECONDS = 5
#: The API's own audio routes, as mounted by ``api.app`` (the QA one only with its module).
QA_AUDIO_ROUTE = "/api/v1/qa/recordings/{recording_id}/audio"
RECORDING_AUDIO_ROUTE = "/api/v1/recordings/{recording_id}/audio"

Text = Annotated[str, Query(max_length=200)]


def _mounted(page: Page, path: str) -> bool:
    return any(getattr(route, "path", None) == path for route in page.request.app.routes)


def audio_url(page: Page, info: qa_reads.CallInfo) -> str | None:
    """Where the player fetches the call's audio, or None when this user may not hear it."""
    if _mounted(page, QA_AUDIO_ROUTE):
        return QA_AUDIO_ROUTE.format(recording_id=info.recording_id)
    if info.recording_row is not None and page.user.can(Permission.RECORDINGS_READ):
        return RECORDING_AUDIO_ROUTE.format(recording_id=info.recording_row)
    return None


def _day(value: str, field: str, problems: list[str], page: Page) -> str | None:
    if not value:
        return None
    try:
        date.fromisoformat(value)
    except ValueError:
        problems.append(page.t("qa.search.bad_date", field=page.t(field), value=value))
        return None
    return value


def _score(value: str, field: str, problems: list[str], page: Page) -> float | None:
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number <= 100:
        problems.append(page.t("qa.search.bad_score", field=page.t(field), value=value))
        return None
    return number


@router.get("")
async def search_page(
    page: QaPage,
    q: Text = "",
    since: Annotated[str, Query(alias="from", max_length=10)] = "",
    until: Annotated[str, Query(alias="to", max_length=10)] = "",
    queue: Text = "",
    agent: Text = "",
    category: Text = "",
    sentiment: Text = "",
    min_score: Annotated[str, Query(max_length=6)] = "",
    max_score: Annotated[str, Query(max_length=6)] = "",
) -> HTMLResponse:
    problems: list[str] = []
    where = SearchQuery(
        text=q,
        since=_day(since, "qa.search.from", problems, page),
        until=_day(until, "qa.search.to", problems, page),
        category=category.strip() or None,
        sentiment=sentiment if sentiment in SENTIMENT_LABELS else None,
        min_score=_score(min_score, "qa.search.min_score", problems, page),
        max_score=_score(max_score, "qa.search.max_score", problems, page),
    )
    unknown = False  # a queue or agent the form names that does not exist: no call matches
    if queue.strip():
        found_queue = await qa_reads.queue_id(page.session, queue.strip())
        unknown |= found_queue is None
        where = replace(where, queue=found_queue)
    if agent.strip():
        found_agent = await qa_reads.agent_id(page.session, agent.strip())
        unknown |= found_agent is None
        where = replace(where, agent=found_agent)
    found: list[qa_reads.SearchHit] = []
    if not problems and not unknown:
        try:
            found = await qa_reads.search(page.session, page.user, where)
        except ServiceError as error:  # the API's 422: a query it cannot read, to before from
            problems.append(str(error))
    query = {
        "q": q,
        "from": since,
        "to": until,
        "queue": queue,
        "agent": agent,
        "category": category,
        "sentiment": sentiment,
        "min_score": min_score,
        "max_score": max_score,
    }
    return page.render(
        "qa_search.html",
        query=query,
        searched=any(value.strip() for value in query.values()),
        hits=found,
        problems=problems,
        clock=qa_transcript.clock,
        sentiments=SENTIMENT_LABELS,
        categories=DEFAULT_CATEGORIES,
        show_jobs=page.user.role in JOBS_ROLES,
        jobs_refresh=JOBS_REFRESH_SECONDS,
        strip=await qa_reads.jobs(page.session, page.user)
        if page.user.role in JOBS_ROLES
        else None,
    )


@router.get("/jobs")
async def jobs_strip(page: JobsPage) -> HTMLResponse:
    return page.fragment(
        "fragments/qa_jobs.html", strip=await qa_reads.jobs(page.session, page.user)
    )


@router.get("/mine")
async def my_calls(page: AgentQaPage) -> HTMLResponse:
    """The agent's scores with their trend per day, and their analysed calls."""
    scores = await qa_scores.my_scores(page.session, page.user)
    trend = qa_scores.daily_average(scores)
    return page.render(
        "qa_mine.html",
        scores=scores,
        calls=await qa_reads.my_calls(page.session, page.user),
        clock=qa_transcript.clock,
        categories_of=qa_reads.categories_of,
        customer_end=qa_reads.customer_end_label,
        trend=[{"day": day, "average": average, "calls": n} for day, average, n in trend],
        average=(
            round(sum(s.final_score for s in scores if s.final_score is not None) / scored, 1)
            if (scored := sum(1 for s in scores if s.final_score is not None))
            else None
        ),
    )


@router.get("/calls/{recording_id}")
async def call_page(page: QaPage, recording_id: str, done: Text = "") -> HTMLResponse:
    notice = page.t(f"qa.score.done.{done}") if done in SCORE_ACTIONS else None
    return await render_call(page, recording_id, notice=notice)


async def render_call(
    page: Page,
    recording_id: str,
    *,
    notice: str | None = None,
    problem: str | None = None,
    problem_score: int | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    info = await qa_reads.call(page.session, page.user, recording_id[:128])
    if info is None or info.result is None:
        return page.render("error.html", 404, code=404, message=page.t("qa.call.not_found"))
    result = info.result
    analytics = result.analytics or {}
    curve = qa_transcript.sentiment_curve(analytics)
    return page.render(
        "qa_call.html",
        status_code,
        info=info,
        result=result,
        turns=qa_transcript.turns(result.segments or [], analytics),
        joiner=qa_transcript.joiner(result.language),
        hits=qa_transcript.hits(analytics),
        metrics=qa_transcript.metric_rows(result.metrics, analytics),
        sentiment=qa_transcript.sentiment_summary(analytics),
        curve=curve,
        has_curve=bool(curve),
        pii_count=len(analytics.get("pii") or []),
        audio_url=audio_url(page, info),
        clock=qa_transcript.clock,
        duration=result.audio_seconds or info.duration or 0.0,
        panel=await qa_scores.panel(page, info.recording_id),
        outcomes=qa_scores.OUTCOMES,
        notice=notice,
        problem=problem,
        problem_score=problem_score,
    )


@router.post("/calls/{recording_id}/scores/{score_id}/{action}")
async def score_action(
    page: QaPage,
    recording_id: str,
    score_id: Annotated[int, Path(ge=1, le=MAX_INT)],
    action: Annotated[qa_scores.Action, Path()],
) -> Response:
    """An override or a resolution (``qa:review``) or an agent's dispute, from the panel's
    forms: the API's action; refused, the page again with the API's reason by the form."""
    panel = await qa_scores.panel(page, recording_id[:128])
    if score_id not in {score.id for score in panel.scores}:  # not this call's, or not yours
        return page.render("error.html", 404, code=404, message=page.t("qa.call.not_found"))
    form = await page.request.form()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    problem = await qa_scores.act(page, action, score_id, fields)
    if problem is not None:
        return await render_call(
            page, recording_id, problem=problem, problem_score=score_id, status_code=422
        )
    url = f"/qa/calls/{quote(recording_id)}?done={action}#scorecard"
    return RedirectResponse(url, status_code=303)


@router.get("/calls/{recording_id}/waveform")
async def call_waveform(
    page: QaPage,
    recording_id: str,
    slices: Annotated[int, Query(ge=1, le=MAX_SLICES)] = DEFAULT_SLICES,
) -> Response:
    """The call's peaks per speaker (``qa.waveform``) for the player's canvas."""
    info = await qa_reads.call(page.session, page.user, recording_id[:128])
    if info is None:
        return JSONResponse({"detail": "not found"}, status_code=404)
    path = qa_reads.audio_file(page.context.recordings_dir, info)
    if path is None:
        return JSONResponse({"detail": "no audio file on this node"}, status_code=404)
    try:
        data = await asyncio.to_thread(path.read_bytes)
        shape = await asyncio.to_thread(waveform, data, slices, info.recording_id)
    except (OSError, RecordingError) as error:
        log.warning(
            "waveform unreadable", extra={"recording_id": info.recording_id, "error": str(error)}
        )
        return JSONResponse({"detail": "the recording cannot be read"}, status_code=422)
    return JSONResponse(shape.to_dict(), headers={"Cache-Control": "private, max-age=300"})
