"""The QA scorecard routes in the RBAC matrix (test_rbac_matrix.py): their cases and the
fresh scorecards and scores they act on. Scores are of agent ``agent``'s call ``call-A-0``
(department A), graded with the default scorecard's items."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from hotline.qa.scorecards import DEFAULT_ITEMS, DEFAULT_SCORECARD_NAME
from hotline.services.qa_scoring import Actor, QaScoring
from hotline.store.qa import QaRepository, QueuedRecording, ResultRow
from hotline.store.qa_scorecards import QaScorecardRepository
from tests.unit.api.conftest import World

ALL = frozenset({"admin", "supervisor", "agent", "qa", "auditor"})
QA_CONFIG = frozenset({"admin", "qa"})
QA_REVIEW = frozenset({"admin", "supervisor", "qa"})
DISPUTE = frozenset({"agent"})  # the call's own agent; reviewers override instead

_recordings = itertools.count(1)
_names = itertools.count(1)

ANALYTICS: dict[str, Any] = {
    "categories": [
        {"category": "greeting", "speaker": "agent", "hits": [{"start": 1.0, "end": 2.0}]}
    ]
}


async def analysed_score(world: World, call_id: str = "call-A-0") -> int:
    """A freshly analysed recording of ``call_id``, scored: the default scorecard's id."""
    database = world.context.database
    recording_id = f"rec-{next(_recordings)}"
    async with database.session() as session:
        repository = QaRepository(session)
        cdr_start = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
        await repository.enqueue(
            QueuedRecording(recording_id, f"{recording_id}.wav", cdr_start, call_id)
        )
        job = await repository.job(recording_id)
        assert job is not None
        metrics = {"duration_seconds": 60.0, "longest_silence_seconds": 25.0}
        row = ResultRow("zh", [], metrics, "fake", "m", 60.0, 1.0, ANALYTICS)
        await repository.finish(job.id, row, cdr_start)
        await session.commit()
    scoring = QaScoring(database, world.context.bus)
    async with database.session() as session:
        default = await QaScorecardRepository(session).scorecard_named(DEFAULT_SCORECARD_NAME)
    if default is None:
        default = await scoring.save_scorecard(
            Actor(None, "test"),
            scorecard_id=None,
            name=DEFAULT_SCORECARD_NAME,
            active=True,
            queue_ids=None,
            items=list(DEFAULT_ITEMS),
        )
    (score,) = await scoring.score_recording(recording_id, call_id, only=default.id)
    return score.id


async def fresh_scorecard(world: World) -> int:
    response = await world.clients["admin"].post(
        "/api/v1/qa/scorecards", json=scorecard_body(next(_names))
    )
    assert response.status_code == 201, response.text
    scorecard_id: int = response.json()["id"]
    return scorecard_id


def scorecard_body(n: int) -> dict[str, Any]:
    return {"name": f"card {n}", "queue_ids": [999_999], "items": list(DEFAULT_ITEMS[:2])}


async def disputed(world: World, score_id: int) -> None:
    response = await world.clients["agent"].post(
        f"/api/v1/qa/scores/{score_id}/dispute", json={"comment": "I did greet"}
    )
    assert response.status_code == 200, response.text


QA_RESOURCES: dict[str, Callable[[World], Awaitable[int]]] = {
    "qa-scorecards": fresh_scorecard,
    "qa-scores": analysed_score,
}


def qa_cases(case: Callable[..., Any], simple: Callable[..., Any]) -> list[Any]:
    cards = "/api/v1/qa/scorecards"
    one = cards + "/{id}"
    scores = "/api/v1/qa/scores"
    comment = simple(lambda w, n: {"comment": "checked the recording", "total": 90})
    return [
        case("GET", cards, QA_CONFIG),
        case("POST", cards, QA_CONFIG, 201, body=simple(lambda w, n: scorecard_body(1000 + n))),
        case("GET", one, QA_CONFIG, resource="qa-scorecards"),
        case(
            "PATCH",
            one,
            QA_CONFIG,
            resource="qa-scorecards",
            body=simple(lambda w, n: {"active": False}),
        ),
        case("DELETE", one, QA_CONFIG, 204, resource="qa-scorecards"),
        case(
            "POST",
            one + "/rescore",
            QA_CONFIG,
            resource="qa-scorecards",
            body=simple(lambda w, n: {"since": "2026-05-01"}),
        ),
        case("GET", scores, ALL),
        case("GET", scores + "/{id}", ALL, resource="qa-scores"),
        case("POST", scores + "/{id}/override", QA_REVIEW, resource="qa-scores", body=comment),
        case(
            "POST",
            scores + "/{id}/dispute",
            DISPUTE,
            resource="qa-scores",
            body=simple(lambda w, n: {"comment": "the greeting was there"}),
        ),
        case(
            "POST",
            scores + "/{id}/resolve",
            QA_REVIEW,
            resource="qa-scores",
            body=comment,
            setup=disputed,
        ),
        case("GET", "/api/v1/qa/reports?group=queue&from=2026-05-01&to=2026-05-07", ALL),
    ]
