"""The admin console's "Scorecards" section (质检评分表): list, create and edit the QA
scorecards, and grade the last days' calls again after an edit (docs/qa-scorecards.md).

A scorecard's items are a table in the form, one row per item (key, label, kind, weight,
critical and the parameters its kind uses); blank rows are added at the end for new items
and a row whose key is emptied is dropped. The form is saved through the same
``QaScoring`` the REST API uses (``/api/v1/qa/scorecards``): the same checks (an item's
problem shown next to its row), the same audit entry. Open to holders of ``qa:config``
(administrators and the ``qa`` role), on nodes with the ``qa`` module.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData

from hotline.api.rbac import Permission
from hotline.qa.scorecards import (
    CALL_METRICS,
    KINDS,
    SENTIMENT_CONDITIONS,
    SPEAKER_METRICS,
    ScorecardError,
)
from hotline.services.qa_scoring import Actor, QaScoring, ScoringError
from hotline.store.models import Queue
from hotline.store.qa_scorecards import QaScorecardRepository
from hotline.web.pages import ADMIN_PREFIX, Page
from hotline.web.routes.admin import can_manage, menu_for, not_found

router = APIRouter(prefix=ADMIN_PREFIX, include_in_schema=False)
ConfigPage = Annotated[Page, Depends(can_manage(Permission.QA_CONFIG))]
BASE = f"{ADMIN_PREFIX}/qa-scorecards"
BLANK_ROWS = 3
#: What the form offers per item (the values are ``hotline.qa.scorecards``' own).
OPTIONS: dict[str, tuple[str, ...]] = {
    "kind": KINDS,
    "speaker": ("", "agent", "customer"),
    "within": ("", "first", "last"),
    "metric": ("", *CALL_METRICS, *SPEAKER_METRICS),
    "condition": ("", *SENTIMENT_CONDITIONS),
}
ROW_FIELDS: tuple[str, ...] = (
    "key",
    "label",
    "kind",
    "weight",
    "critical",
    "category",
    "speaker",
    "within",
    "seconds",
    "metric",
    "min",
    "max",
    "condition",
)

#: Message keys the templates complete with one of these values (the i18n test checks them).
MESSAGE_PREFIXES: dict[str, tuple[str, ...]] = {
    "qa_scorecards.field.": ROW_FIELDS,
    "qa_scorecards.kind.": KINDS,
    "qa_scorecards.speaker.": ("any", "agent", "customer"),
    "qa_scorecards.within.": ("call", "first", "last"),
    "qa_scorecards.metric.": ("none", *CALL_METRICS, *SPEAKER_METRICS),
    "qa_scorecards.condition.": ("none", *SENTIMENT_CONDITIONS),
}


def _scoring(page: Page) -> QaScoring:
    return QaScoring(page.context.database, page.context.bus)


def _actor(page: Page) -> Actor:
    return Actor(page.user.user_id, page.user.username, page.user.client)


def row_of(item: dict[str, Any]) -> dict[str, str]:
    """A stored item as the form's row (every field a string)."""
    params = item.get("params") or {}
    within = params.get("within") or {}
    edge = next(iter(within), "")
    return {
        "key": str(item.get("key", "")),
        "label": str(item.get("label", "")),
        "kind": str(item.get("kind", "")),
        "weight": f"{item.get('weight', 1):g}",
        "critical": "on" if item.get("critical") else "",
        "category": str(params.get("category", "")),
        "speaker": str(params.get("speaker", "")),
        "within": edge,
        "seconds": f"{within[edge]:g}" if edge else "",
        "metric": str(params.get("metric", "")),
        "min": "" if params.get("min") is None else f"{params['min']:g}",
        "max": "" if params.get("max") is None else f"{params['max']:g}",
        "condition": str(params.get("condition", "")),
    }


def _number(text: str) -> float | str | None:
    text = text.strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text  # refused by the scorecard's check, naming the field


def item_of(row: dict[str, str]) -> dict[str, Any]:
    """A form row as an item: only the parameters its kind uses."""
    kind = row.get("kind", "")
    params: dict[str, Any] = {}
    if kind in ("category_present", "category_absent"):
        params["category"] = row.get("category", "").strip()
        if row.get("speaker"):
            params["speaker"] = row["speaker"]
        if row.get("within"):
            params["within"] = {row["within"]: _number(row.get("seconds", ""))}
    elif kind == "metric":
        params["metric"] = row.get("metric", "")
        if row.get("speaker"):
            params["speaker"] = row["speaker"]
        for bound in ("min", "max"):
            value = _number(row.get(bound, ""))
            if value is not None:
                params[bound] = value
    elif kind == "sentiment":
        params["condition"] = row.get("condition", "")
        params["speaker"] = row.get("speaker") or "customer"
    weight = _number(row.get("weight", "")) if row.get("weight", "").strip() else 1.0
    return {
        "key": row.get("key", "").strip(),
        "label": row.get("label", "").strip() or row.get("key", "").strip(),
        "kind": kind,
        "weight": weight,
        "critical": row.get("critical") == "on",
        "params": params,
    }


def rows_from(form: FormData) -> list[dict[str, str]]:
    """The item rows posted (``items-N-field``), in order, blank rows dropped."""
    numbers = sorted(
        {
            int(name.split("-")[1])
            for name in form
            if name.startswith("items-") and name.split("-")[1].isdigit()
        }
    )
    rows = []
    for n in numbers:
        row = {name: str(form.get(f"items-{n}-{name}", "")) for name in ROW_FIELDS}
        if row["key"].strip():
            rows.append(row)
    return rows


async def _queues(page: Page) -> list[Queue]:
    return list((await page.session.execute(select(Queue).order_by(Queue.name))).scalars())


async def _render_form(
    page: Page,
    *,
    scorecard_id: int | None,
    values: dict[str, Any],
    rows: list[dict[str, str]],
    problem: str | None = None,
    problem_row: int | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    blank = {name: "" for name in ROW_FIELDS} | {"kind": "category_present", "weight": "1"}
    return page.render(
        "admin/qa_scorecard_form.html",
        status_code,
        menu=menu_for(page),
        scorecard_id=scorecard_id,
        values=values,
        rows=[*rows, *([blank] * BLANK_ROWS)],
        options=OPTIONS,
        queues=await _queues(page),
        problem=problem,
        problem_row=problem_row,
        today=datetime.now(UTC).date() - timedelta(days=7),
    )


@router.get("/qa-scorecards", response_class=HTMLResponse)
async def scorecards_page(page: ConfigPage) -> HTMLResponse:
    rows = await QaScorecardRepository(page.session).scorecards()
    queues = {queue.id: queue.name for queue in await _queues(page)}
    params = page.request.query_params
    return page.render(
        "admin/qa_scorecards.html",
        menu=menu_for(page),
        scorecards=rows,
        queues=queues,
        done=params.get("done"),
        name=params.get("name", ""),
        scored=params.get("scored"),
        kept=params.get("kept"),
    )


@router.get("/qa-scorecards/new", response_class=HTMLResponse)
async def new_scorecard_page(page: ConfigPage) -> HTMLResponse:
    values = {"name": "", "active": True, "queue_ids": None}
    return await _render_form(page, scorecard_id=None, values=values, rows=[])


@router.get("/qa-scorecards/{scorecard_id}", response_class=HTMLResponse)
async def edit_scorecard_page(scorecard_id: int, page: ConfigPage) -> HTMLResponse:
    row = await QaScorecardRepository(page.session).scorecard(scorecard_id)
    if row is None:
        return not_found(page)
    values = {"name": row.name, "active": row.active, "queue_ids": row.queue_ids}
    return await _render_form(
        page, scorecard_id=scorecard_id, values=values, rows=[row_of(i) for i in row.items]
    )


async def _save(page: Page, scorecard_id: int | None) -> Response:
    form = await page.request.form()
    rows = rows_from(form)
    name = str(form.get("name", "")).strip()
    active = form.get("active") == "on"
    every_queue = form.get("all_queues") == "on"
    queue_ids = (
        None
        if every_queue
        else [int(str(q)) for q in form.getlist("queue_ids") if str(q).isdigit()]
    )
    values = {"name": name, "active": active, "queue_ids": queue_ids}
    problem: str | None = None
    problem_row: int | None = None
    if not name or len(name) > 100:
        problem = page.t("qa_scorecards.error.name")
    else:
        try:
            saved = await _scoring(page).save_scorecard(
                _actor(page),
                scorecard_id=scorecard_id,
                name=name,
                active=active,
                queue_ids=queue_ids,
                items=[item_of(row) for row in rows],
            )
        except ScorecardError as error:
            problem = str(error)
            parts = error.path.split(".")
            problem_row = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        except ScoringError as error:
            if error.kind == "not_found":
                return not_found(page)
            problem = str(error)
        else:
            done = "created" if scorecard_id is None else "saved"
            return RedirectResponse(f"{BASE}?{urlencode({'done': done, 'name': saved.name})}", 303)
    return await _render_form(
        page,
        scorecard_id=scorecard_id,
        values=values,
        rows=rows,
        problem=problem,
        problem_row=problem_row,
        status_code=422,
    )


@router.post("/qa-scorecards/new")
async def create_scorecard(page: ConfigPage) -> Response:
    return await _save(page, None)


@router.post("/qa-scorecards/{scorecard_id}")
async def update_scorecard(scorecard_id: int, page: ConfigPage) -> Response:
    return await _save(page, scorecard_id)


@router.post("/qa-scorecards/{scorecard_id}/rescore")
async def rescore_scorecard(scorecard_id: int, page: ConfigPage) -> Response:
    form = await page.request.form()
    try:
        since = date.fromisoformat(str(form.get("since", "")))
    except ValueError:
        since = datetime.now(UTC).date() - timedelta(days=7)
    try:
        report = await _scoring(page).rescore(
            scorecard_id, datetime.combine(since, time(), UTC), _actor(page)
        )
    except ScoringError:
        return not_found(page)
    query = urlencode({"done": "rescored", "scored": report.scored, "kept": report.kept})
    return RedirectResponse(f"{BASE}?{query}", 303)
