"""``QaScoring``: every analysed call graded with the active scorecards that apply to it,
and the human side of a score — overrides, disputes, resolutions — each written to the
score's review history and the audit log (docs/qa-scorecards.md).

It hears ``RecordingAnalysed`` (published once the analysis is committed), reads the
stored result and the call's CDR (agent, queue, department) and stores one ``qa_scores``
row per scorecard. A scorecard edited later does not rescore anything by itself: the
"rescore" action (``POST /qa/scorecards/{id}/rescore``) grades the calls of the last days
again. Scores a person has touched (reviewed, disputed, resolved) keep their verdict; only
their automatic score is brought up to date.

It runs beside the QA pipeline as part of the ``qa`` module (``ModuleSwitches`` starts and
stops it with the pipeline). At its first start on a database without any scorecard it
creates the default one (``hotline.qa.scorecards.DEFAULT_ITEMS``); one deleted later is
not created again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.events.bus import EventBus, Subscription
from hotline.qa.events import RecordingAnalysed
from hotline.qa.reports import ReportLine, ScoreRow, report
from hotline.qa.scorecards import (
    DEFAULT_ITEMS,
    DEFAULT_SCORECARD_NAME,
    CallFindings,
    ItemScore,
    Scorecard,
    parse_items,
    score,
    sheet_of,
)
from hotline.store.database import Database
from hotline.store.models import AuditEntry, QaReview, QaScore, QaScorecard
from hotline.store.qa_scorecards import QaScorecardRepository, ScoreFilter
from hotline.store.repositories import AuditRepository
from hotline.store.types import utcnow

log = logging.getLogger(__name__)

OUTCOMES = ("passed", "failed", "not_applicable")


class ScoringError(Exception):
    """A refused request; ``kind`` says which (the API maps it to a status)."""

    def __init__(self, kind: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind  # "not_found", "conflict", "invalid", "forbidden"
        self.field = field


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks (the API's principal, as far as scoring needs it)."""

    user_id: int | None
    username: str
    client: str | None = None


@dataclass(frozen=True, slots=True)
class RescoreReport:
    scored: int
    #: Reviewed, disputed or resolved scores whose human verdict was kept.
    kept: int
    #: Calls the scorecard does not apply to (another queue).
    skipped: int


def scorecard_of(row: QaScorecard) -> Scorecard:
    return Scorecard(
        name=row.name,
        items=parse_items(row.items),
        id=row.id,
        active=row.active,
        queue_ids=None if row.queue_ids is None else frozenset(int(q) for q in row.queue_ids),
    )


class QaScoring:
    def __init__(
        self,
        database: Database,
        bus: EventBus,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.bus = bus
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._subscription: Subscription[RecordingAnalysed] | None = None

    # -- the module -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is not None:
            return
        self._subscription = self.bus.subscribe(
            RecordingAnalysed, maxsize=100_000, name="qa-scoring"
        )
        self._task = asyncio.create_task(self._follow(self._subscription), name="qa-scoring")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None

    async def _follow(self, subscription: Subscription[RecordingAnalysed]) -> None:
        try:
            await self.ensure_default()
        except Exception:
            log.exception("default scorecard not created")
        while True:
            event = await subscription.get()
            try:
                await self.score_recording(event.recording_id, event.call_id)
            except Exception:
                log.exception(
                    "call not scored; the scorecard's rescore grades it",
                    extra={"recording": event.recording_id},
                )

    async def ensure_default(self) -> bool:
        """Create the default scorecard on a database that has none: True if created."""
        async with self.database.session() as session:
            repository = QaScorecardRepository(session)
            if await repository.count_scorecards():
                return False
            now = self.clock()
            await repository.add_scorecard(
                QaScorecard(
                    name=DEFAULT_SCORECARD_NAME,
                    active=True,
                    queue_ids=None,
                    items=[item.to_dict() for item in parse_items(list(DEFAULT_ITEMS))],
                    created_at=now,
                    updated_at=now,
                    updated_by="hotline",
                )
            )
            await session.commit()
        log.info("default scorecard created", extra={"scorecard": DEFAULT_SCORECARD_NAME})
        return True

    # -- automatic scores -----------------------------------------------------------------

    async def score_recording(
        self, recording_id: str, call_id: str | None, *, only: int | None = None
    ) -> list[QaScore]:
        """Grade the stored analysis of the recording with every active scorecard that
        applies (or with scorecard ``only``); returns the scores written."""
        async with self.database.session() as session:
            repository = QaScorecardRepository(session)
            written = await self._score(repository, recording_id, call_id, only)
            await session.commit()
        if written:
            log.info(
                "call scored",
                extra={
                    "recording": recording_id,
                    "scores": {s.scorecard_name: s.final_score for s in written},
                },
            )
        return written

    async def _score(
        self,
        repository: QaScorecardRepository,
        recording_id: str,
        call_id: str | None,
        only: int | None,
        counts: dict[str, int] | None = None,
    ) -> list[QaScore]:
        result = await repository.result(recording_id)
        if result is None:
            return []
        context = await repository.call_context(recording_id, call_id)
        if context.kind != "call":  # a voicemail has no agent to grade
            return []
        findings = CallFindings(result.metrics, result.analytics, result.language)
        rows = await repository.scorecards(active_only=only is None)
        written: list[QaScore] = []
        now = self.clock()
        for row in rows:
            if only is not None and row.id != only:
                continue
            scorecard = scorecard_of(row)
            if only is None and not scorecard.applies_to(context.queue_id):
                continue
            if only is not None and not (
                scorecard.queue_ids is None or context.queue_id in scorecard.queue_ids
            ):
                if counts is not None:
                    counts["skipped"] += 1
                continue
            sheet = score(scorecard, findings)
            stored = await repository.score_for(recording_id, row.id)
            if stored is None:
                stored = await repository.add_score(
                    QaScore(
                        recording_id=recording_id,
                        scorecard_id=row.id,
                        scorecard_name=row.name,
                        status="auto",
                        started_at=context.started_at,
                        items=[],
                    )
                )
            stored.call_id = context.call_id
            stored.scorecard_name = row.name
            stored.agent_id = context.agent_id
            stored.agent_username = context.agent_username
            stored.queue_id = context.queue_id
            stored.queue = context.queue
            stored.department_id = context.department_id
            stored.started_at = context.started_at
            stored.auto_score = sheet.total
            stored.scored_at = now
            if stored.status == "auto":
                stored.items = sheet.items_json()
                stored.final_score = sheet.total
            elif counts is not None:
                counts["kept"] += 1
            written.append(stored)
        return written

    async def rescore(self, scorecard_id: int, since: datetime, actor: Actor) -> RescoreReport:
        """Grade again with one scorecard every call analysed since ``since``."""
        counts = {"kept": 0, "skipped": 0}
        scored = 0
        async with self.database.session() as session:
            repository = QaScorecardRepository(session)
            if await repository.scorecard(scorecard_id) is None:
                raise ScoringError("not_found", f"scorecard {scorecard_id} not found")
            for recording_id, call_id in await repository.analysed_since(since):
                scored += len(
                    await self._score(repository, recording_id, call_id, scorecard_id, counts)
                )
            report = RescoreReport(scored - counts["kept"], counts["kept"], counts["skipped"])
            await self._audit(
                session,
                actor,
                "rescore",
                "qa-scorecards",
                scorecard_id,
                {
                    "since": since.isoformat(),
                    "scored": report.scored,
                    "kept": report.kept,
                    "skipped": report.skipped,
                },
            )
            await session.commit()
        return report

    # -- reports --------------------------------------------------------------------------

    async def report(
        self, group: str, since: datetime, until: datetime, where: ScoreFilter
    ) -> list[ReportLine]:
        """Scores of calls started in [since, until) by ``group``, with the trend against
        the period of the same length just before."""
        length = until - since
        if length <= timedelta(0):
            raise ScoringError("invalid", "'to' must be after 'from'", field="to")
        async with self.database.session() as session:
            repository = QaScorecardRepository(session)
            now = await repository.all_scores(_between(where, since, until))
            before = await repository.all_scores(_between(where, since - length, since))
            teams = await repository.department_names()
        return report(_rows(now, teams), group, _rows(before, teams))

    # -- scorecards -----------------------------------------------------------------------

    async def save_scorecard(
        self,
        actor: Actor,
        *,
        scorecard_id: int | None,
        name: str,
        active: bool,
        queue_ids: list[int] | None,
        items: Any,
    ) -> QaScorecard:
        """Create (``scorecard_id`` None) or replace a scorecard; items are checked
        (``ScorecardError`` names the bad field)."""
        parsed = parse_items(items)
        async with self.database.session() as session:
            repository = QaScorecardRepository(session)
            same_name = await repository.scorecard_named(name)
            if same_name is not None and same_name.id != scorecard_id:
                raise ScoringError("conflict", f"a scorecard named {name!r} exists", field="name")
            now = self.clock()
            if scorecard_id is None:
                row = await repository.add_scorecard(
                    QaScorecard(name=name, created_at=now, items=[], active=active)
                )
                before: dict[str, Any] = {}
                action = "create"
            else:
                found = await repository.scorecard(scorecard_id)
                if found is None:
                    raise ScoringError("not_found", f"scorecard {scorecard_id} not found")
                row = found
                before = _scorecard_dict(row)
                action = "update"
            row.name = name
            row.active = active
            row.queue_ids = None if queue_ids is None else sorted(set(queue_ids))
            row.items = [item.to_dict() for item in parsed]
            row.updated_at = now
            row.updated_by = actor.username
            await session.flush()
            await self._audit(
                session,
                actor,
                action,
                "qa-scorecards",
                row.id,
                {"before": before, "after": _scorecard_dict(row)},
            )
            await session.commit()
            return row

    async def delete_scorecard(self, actor: Actor, scorecard_id: int) -> None:
        """Delete a scorecard that has graded no call; one that has is deactivated
        instead (its scores are history): 409 says so."""
        async with self.database.session() as session:
            repository = QaScorecardRepository(session)
            row = await repository.scorecard(scorecard_id)
            if row is None:
                raise ScoringError("not_found", f"scorecard {scorecard_id} not found")
            if await repository.has_scores(scorecard_id):
                raise ScoringError(
                    "conflict",
                    "this scorecard has scored calls: deactivate it instead (active: false)",
                )
            before = _scorecard_dict(row)
            await repository.delete_scorecard(row)
            await self._audit(
                session, actor, "delete", "qa-scorecards", scorecard_id, {"before": before}
            )
            await session.commit()

    # -- reviews --------------------------------------------------------------------------

    async def override(
        self,
        actor: Actor,
        score_id: int,
        *,
        comment: str,
        item: str | None = None,
        outcome: str | None = None,
        total: float | None = None,
        departments: frozenset[int] | None = None,
    ) -> QaScore:
        """A reviewer changes one item's outcome (the total follows) or the total."""
        return await self._review(
            actor, score_id, "override", comment, item, outcome, total, departments
        )

    async def resolve(
        self,
        actor: Actor,
        score_id: int,
        *,
        comment: str,
        item: str | None = None,
        outcome: str | None = None,
        total: float | None = None,
        departments: frozenset[int] | None = None,
    ) -> QaScore:
        """A reviewer settles a dispute, with or without changing the score."""
        return await self._review(
            actor, score_id, "resolve", comment, item, outcome, total, departments
        )

    async def dispute(
        self, actor: Actor, score_id: int, *, comment: str, item: str | None = None
    ) -> QaScore:
        """The agent of the call contests its score (the whole score or one item)."""
        comment = _comment(comment)
        async with self.database.session() as session:
            repository = QaScorecardRepository(session)
            stored = await repository.score(score_id)
            if stored is None or stored.agent_username != actor.username:
                raise ScoringError("not_found", f"score {score_id} not found")
            if stored.status in ("disputed", "resolved"):
                raise ScoringError(
                    "conflict", f"this score is {stored.status} already: a reviewer decides"
                )
            if item is not None and item not in {i.get("key") for i in stored.items}:
                raise ScoringError("invalid", f"no item {item!r} in this score", field="item")
            before = _score_dict(stored)
            stored.status = "disputed"
            await self._history(session, stored, actor, "dispute", item, before, comment)
            await session.commit()
            return stored

    async def _review(
        self,
        actor: Actor,
        score_id: int,
        action: str,
        comment: str,
        item: str | None,
        outcome: str | None,
        total: float | None,
        departments: frozenset[int] | None,
    ) -> QaScore:
        comment = _comment(comment)
        if item is not None and total is not None:
            raise ScoringError("invalid", "override an item or the total, not both", field="total")
        if action == "override" and item is None and total is None:
            raise ScoringError(
                "invalid", "name an item (with its outcome) or a total", field="item"
            )
        if item is not None and outcome not in OUTCOMES:
            raise ScoringError(
                "invalid", f"outcome must be one of {', '.join(OUTCOMES)}", field="outcome"
            )
        if total is not None and not 0 <= total <= 100:
            raise ScoringError("invalid", "total must be between 0 and 100", field="total")
        async with self.database.session() as session:
            repository = QaScorecardRepository(session)
            stored = await repository.score(score_id)
            if stored is None or (
                departments is not None and stored.department_id not in departments
            ):
                raise ScoringError("not_found", f"score {score_id} not found")
            if action == "resolve" and stored.status != "disputed":
                raise ScoringError("conflict", "only a disputed score is resolved")
            before = _score_dict(stored)
            if item is not None:
                assert outcome is not None
                stored.items = _with_outcome(stored.items, item, outcome, actor.username)
                stored.final_score = sheet_of(_item_scores(stored.items)).total
            elif total is not None:
                stored.final_score = round(float(total), 1)
            stored.status = (
                "resolved"
                if action == "resolve"
                else ("disputed" if stored.status == "disputed" else "reviewed")
            )
            stored.reviewer = actor.username
            stored.reviewed_at = self.clock()
            await self._history(session, stored, actor, action, item, before, comment)
            await session.commit()
            return stored

    async def _history(
        self,
        session: AsyncSession,
        stored: QaScore,
        actor: Actor,
        action: str,
        item: str | None,
        before: dict[str, Any],
        comment: str,
    ) -> None:
        after = _score_dict(stored)
        await QaScorecardRepository(session).add_review(
            QaReview(
                score_id=stored.id,
                at=self.clock(),
                actor_id=actor.user_id,
                actor=actor.username,
                action=action,
                item_key=item,
                before=before,
                after=after,
                comment=comment,
            )
        )
        await self._audit(
            session,
            actor,
            action,
            "qa-scores",
            stored.id,
            {"item": item, "before": before, "after": after, "comment": comment},
            department_id=stored.department_id,
        )

    async def _audit(
        self,
        session: AsyncSession,
        actor: Actor,
        action: str,
        resource: str,
        resource_id: int,
        detail: dict[str, Any],
        department_id: int | None = None,
    ) -> None:
        await AuditRepository(session).append(
            AuditEntry(
                at=self.clock(),
                actor_id=actor.user_id,
                actor=actor.username,
                action=action,
                resource=resource,
                resource_id=str(resource_id),
                department_id=department_id,
                detail=detail,
                client=actor.client,
            )
        )


def _between(where: ScoreFilter, since: datetime, until: datetime) -> ScoreFilter:
    return replace(where, since=since, until=until)


def _rows(scores: Sequence[QaScore], teams: dict[int, str]) -> list[ScoreRow]:
    return [
        ScoreRow(
            final_score=s.final_score,
            items=s.items,
            started_at=s.started_at,
            agent=s.agent_username,
            team=teams.get(s.department_id) if s.department_id is not None else None,
            queue=s.queue,
        )
        for s in scores
    ]


def _comment(comment: str) -> str:
    comment = comment.strip()
    if not comment:
        raise ScoringError("invalid", "a comment is required", field="comment")
    return comment


def _with_outcome(items: list[Any], key: str, outcome: str, reviewer: str) -> list[dict[str, Any]]:
    if key not in {item.get("key") for item in items}:
        raise ScoringError("invalid", f"no item {key!r} in this score", field="item")
    changed: list[dict[str, Any]] = []
    for item in items:
        if item.get("key") == key:
            item = {
                **item,
                "auto_outcome": item.get("auto_outcome", item.get("outcome")),
                "outcome": outcome,
                "overridden_by": reviewer,
            }
        changed.append(dict(item))
    return changed


def _item_scores(items: list[Any]) -> list[ItemScore]:
    known = {f.name for f in fields(ItemScore)}
    return [ItemScore(**{k: v for k, v in item.items() if k in known}) for item in items]


def _score_dict(stored: QaScore) -> dict[str, Any]:
    return {
        "status": stored.status,
        "final_score": stored.final_score,
        "items": {item.get("key"): item.get("outcome") for item in stored.items},
    }


def _scorecard_dict(row: QaScorecard) -> dict[str, Any]:
    return {
        "name": row.name,
        "active": row.active,
        "queue_ids": row.queue_ids,
        "items": row.items,
    }
