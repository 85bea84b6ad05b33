"""Automatic scoring on a real store and bus: an analysed call is scored with the active
scorecards of its queue (agent, queue and department from its CDR), a default scorecard
exists after the first start, rescoring follows an edited scorecard and keeps human
verdicts, overrides, disputes and resolutions are written to the history and audit log,
and reports group and compare periods."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hotline.events.bus import EventBus
from hotline.qa.events import RecordingAnalysed
from hotline.qa.scorecards import DEFAULT_ITEMS, DEFAULT_SCORECARD_NAME
from hotline.services.qa_scoring import Actor, QaScoring, ScoringError
from hotline.store.database import Database
from hotline.store.models import (
    Agent,
    AuditEntry,
    Cdr,
    Department,
    QaScore,
    Queue,
    Role,
    User,
)
from hotline.store.qa import QaRepository, QueuedRecording, ResultRow
from hotline.store.qa_scorecards import QaScorecardRepository, ScoreFilter

START = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
REVIEWER = Actor(7, "qa", "127.0.0.1")
AGENT = Actor(8, "agent1001", "127.0.0.1")


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")
    await database.upgrade()
    async with database.session() as session:
        department = Department(name="after-sales team")
        session.add(department)
        await session.flush()
        user = User(
            username="agent1001", password_hash="x", role=Role.AGENT, department_id=department.id
        )
        session.add(user)
        await session.flush()
        session.add_all(
            [
                Agent(id=11, user_id=user.id, department_id=department.id, extension="1001"),
                Queue(id=21, name="after-sales", department_id=department.id),
                Queue(id=22, name="sales", department_id=department.id),
            ]
        )
        await session.commit()
    yield database
    await database.close()


GOOD = {
    "categories": [
        {"category": "greeting", "speaker": "agent", "hits": [{"start": 1.0, "end": 2.0}]},
        {"category": "identity_verified", "speaker": "agent", "hits": [{"start": 20.0}]},
        {"category": "thanks", "speaker": "customer", "hits": [{"start": 95.0, "end": 97.0}]},
    ],
    "sentiment": {"customer": {"start": 0.4, "end": 0.5, "label_end": "neutral"}},
}


async def analysed(
    database: Database,
    name: str,
    *,
    queue_id: int | None = 21,
    silence: float = 5.0,
    analytics: dict[str, Any] | None = None,
    started: datetime = START,
) -> None:
    """A call of agent 1001 in ``queue_id`` with its CDR, job and stored analysis."""
    async with database.session() as session:
        session.add(
            Cdr(
                call_id=f"call-{name}",
                direction="in",
                caller="+8613800000000",
                callee="4000",
                queue_id=queue_id,
                agent_id=11,
                department_id=1,
                started_at=started,
                ended_at=started + timedelta(minutes=2),
                disposition="answered",
            )
        )
        repository = QaRepository(session)
        await repository.enqueue(
            QueuedRecording(name, f"{name}.wav", started, f"call-{name}"), started
        )
        job = await repository.job(name)
        assert job is not None
        metrics = {
            "duration_seconds": 100.0,
            "longest_silence_seconds": silence,
            "longest_silence_start": 40.0,
        }
        await repository.finish(
            job.id,
            ResultRow("zh", [], metrics, "fake", "m", 100.0, 1.0, analytics or GOOD),
            started,
        )
        await session.commit()


async def test_default_scorecard_created_once_and_never_again(database: Database) -> None:
    scoring = QaScoring(database, EventBus())
    assert await scoring.ensure_default()
    assert not await scoring.ensure_default()
    async with database.session() as session:
        (card,) = await QaScorecardRepository(session).scorecards()
    assert card.name == DEFAULT_SCORECARD_NAME
    assert [item["key"] for item in card.items] == [item["key"] for item in DEFAULT_ITEMS]
    await scoring.delete_scorecard(REVIEWER, card.id)
    assert await scoring.ensure_default()  # none left: an empty database gets it again


async def test_an_analysed_call_is_scored_when_the_bus_says_so(database: Database) -> None:
    bus = EventBus()
    scoring = QaScoring(database, bus)
    scoring.start()
    try:
        await asyncio.sleep(0.1)  # the default scorecard
        await analysed(database, "r1", silence=25.0)
        bus.publish(RecordingAnalysed(at=0.0, recording_id="r1", call_id="call-r1", language="zh"))
        for _ in range(100):
            async with database.session() as session:
                score = (await session.execute(select(QaScore))).scalar_one_or_none()
            if score is not None:
                break
            await asyncio.sleep(0.02)
    finally:
        await scoring.stop()
    assert score is not None
    assert score.recording_id == "r1"
    assert score.call_id == "call-r1"
    assert (score.agent_id, score.agent_username) == (11, "agent1001")
    assert (score.queue_id, score.queue, score.department_id) == (21, "after-sales", 1)
    assert score.started_at == START
    assert score.status == "auto"
    assert score.auto_score == score.final_score == 80.0  # the 20 s silence item failed
    silence = next(item for item in score.items if item["key"] == "silence")
    assert silence["outcome"] == "failed"
    assert silence["moment"] == 40.0


async def test_only_active_scorecards_of_the_calls_queue(database: Database) -> None:
    scoring = QaScoring(database, EventBus())
    items = [{"key": "silence", "kind": "metric", "params": {"metric": "overtalk_count", "max": 3}}]
    for name, active, queues in (("sales only", True, [22]), ("off", False, None)):
        await scoring.save_scorecard(
            REVIEWER, scorecard_id=None, name=name, active=active, queue_ids=queues, items=items
        )
    await scoring.ensure_default()  # not created: scorecards exist
    await analysed(database, "r1")
    assert await scoring.score_recording("r1", "call-r1") == []
    await analysed(database, "r2", queue_id=22)
    (score,) = await scoring.score_recording("r2", "call-r2")
    assert score.scorecard_name == "sales only"
    assert score.final_score is None  # overtalk_count not measured: nothing to judge


async def test_a_voicemail_is_not_scored(database: Database) -> None:
    scoring = QaScoring(database, EventBus())
    await scoring.ensure_default()
    async with database.session() as session:
        repository = QaRepository(session)
        await repository.enqueue(QueuedRecording("vm1", "vm1.wav", START, None, "voicemail"))
        job = await repository.job("vm1")
        assert job is not None
        await repository.finish(job.id, ResultRow("zh", [], {}, "fake", "m", 9.0, 1.0), START)
        await session.commit()
    assert await scoring.score_recording("vm1", None) == []


async def test_rescore_follows_an_edit_and_keeps_human_verdicts(database: Database) -> None:
    scoring = QaScoring(database, EventBus())
    await scoring.ensure_default()
    for name in ("r1", "r2"):
        await analysed(database, name, silence=25.0)
        await scoring.score_recording(name, f"call-{name}")
    async with database.session() as session:
        (card,) = await QaScorecardRepository(session).scorecards()
        reviewed = await QaScorecardRepository(session).score_for("r2", card.id)
        assert reviewed is not None
    await scoring.override(REVIEWER, reviewed.id, total=95, comment="hold music, not silence")
    items = [dict(item) for item in card.items]
    items[2]["params"] = {"metric": "longest_silence_seconds", "max": 30}
    await scoring.save_scorecard(
        REVIEWER, scorecard_id=card.id, name=card.name, active=True, queue_ids=None, items=items
    )
    report = await scoring.rescore(card.id, START - timedelta(days=7), REVIEWER)
    assert (report.scored, report.kept, report.skipped) == (1, 1, 0)
    async with database.session() as session:
        repository = QaScorecardRepository(session)
        first = await repository.score_for("r1", card.id)
        second = await repository.score_for("r2", card.id)
        audit = (await session.execute(select(AuditEntry.action))).scalars().all()
    assert first is not None
    assert first.final_score == 100.0
    assert second is not None
    assert (second.auto_score, second.final_score, second.status) == (100.0, 95.0, "reviewed")
    assert audit == ["override", "update", "rescore"]


async def test_override_dispute_resolve_with_history(database: Database) -> None:
    scoring = QaScoring(database, EventBus())
    await scoring.ensure_default()
    await analysed(database, "r1", silence=25.0)
    (score,) = await scoring.score_recording("r1", "call-r1")
    with pytest.raises(ScoringError) as refused:
        await scoring.override(REVIEWER, score.id, item="silence", outcome="passed", comment=" ")
    assert refused.value.field == "comment"
    changed = await scoring.override(
        REVIEWER, score.id, item="silence", outcome="passed", comment="customer on hold"
    )
    assert (changed.final_score, changed.status, changed.reviewer) == (100.0, "reviewed", "qa")
    silence = next(item for item in changed.items if item["key"] == "silence")
    assert (silence["auto_outcome"], silence["outcome"]) == ("failed", "passed")
    with pytest.raises(ScoringError) as refused:
        await scoring.resolve(REVIEWER, score.id, comment="nothing to resolve")
    assert refused.value.kind == "conflict"
    with pytest.raises(ScoringError) as refused:  # someone else's call
        await scoring.dispute(Actor(9, "agent1002"), score.id, comment="not mine")
    assert refused.value.kind == "not_found"
    disputed = await scoring.dispute(AGENT, score.id, item="greeting", comment="I did greet")
    assert disputed.status == "disputed"
    with pytest.raises(ScoringError):
        await scoring.dispute(AGENT, score.id, comment="again")
    resolved = await scoring.resolve(
        REVIEWER, score.id, total=90, comment="greeting late but present"
    )
    assert (resolved.status, resolved.final_score) == ("resolved", 90.0)
    async with database.session() as session:
        reviews = await QaScorecardRepository(session).reviews(score.id)
        audit = (
            (await session.execute(select(AuditEntry).where(AuditEntry.resource == "qa-scores")))
            .scalars()
            .all()
        )
    assert [(r.action, r.actor, r.item_key) for r in reviews] == [
        ("override", "qa", "silence"),
        ("dispute", "agent1001", "greeting"),
        ("resolve", "qa", None),
    ]
    assert reviews[0].before["final_score"] == 80.0
    assert reviews[0].after["final_score"] == 100.0
    assert reviews[2].comment == "greeting late but present"
    assert [a.action for a in audit] == ["override", "dispute", "resolve"]
    assert audit[1].detail["comment"] == "I did greet"


async def test_scorecard_with_scores_is_not_deleted(database: Database) -> None:
    scoring = QaScoring(database, EventBus())
    await scoring.ensure_default()
    await analysed(database, "r1")
    (score,) = await scoring.score_recording("r1", "call-r1")
    with pytest.raises(ScoringError) as refused:
        await scoring.delete_scorecard(REVIEWER, score.scorecard_id)
    assert refused.value.kind == "conflict"
    with pytest.raises(ScoringError) as refused:
        await scoring.save_scorecard(
            REVIEWER,
            scorecard_id=None,
            name=DEFAULT_SCORECARD_NAME,
            active=True,
            queue_ids=None,
            items=list(DEFAULT_ITEMS),
        )
    assert refused.value.field == "name"


async def test_report_by_agent_with_trend_and_pass_rates(database: Database) -> None:
    scoring = QaScoring(database, EventBus())
    await scoring.ensure_default()
    week = timedelta(days=7)
    await analysed(database, "old", silence=25.0, started=START - week)  # 80 a week before
    await analysed(database, "new1", silence=25.0)  # 80
    await analysed(database, "new2")  # 100
    for name in ("old", "new1", "new2"):
        await scoring.score_recording(name, f"call-{name}")
    (line,) = await scoring.report("agent", START, START + week, ScoreFilter())
    assert (line.group, line.count, line.average) == ("agent1001", 2, 90.0)
    assert (line.previous_average, line.trend) == (80.0, 10.0)
    assert line.pass_rates["silence"] == 0.5
    assert line.pass_rates["greeting"] == 1.0
    (team,) = await scoring.report("team", START, START + week, ScoreFilter())
    assert team.group == "after-sales team"
    days = await scoring.report("day", START - week, START + week, ScoreFilter())
    assert [d.group for d in days] == ["2026-11-30", "2026-12-07"]


def test_the_node_scores_with_the_qa_module_only(tmp_path: Path) -> None:
    from hotline.app import Node
    from hotline.settings import Settings

    node = Node(Settings(demo=True, data_dir=tmp_path / "on"))
    assert node.qa_scoring is not None
    assert node.qa_scoring in node.modules.modules["qa"].parts  # type: ignore[attr-defined]
    off = Node(Settings(demo=True, data_dir=tmp_path / "off", modules={"qa": False}))
    assert off.qa_scoring is None
    assert "qa" not in off.modules.modules
