"""The QA search index on SQLite (FTS5) and PostgreSQL (tsvector): Mandarin found by jieba
words, English by lower-case words, only redacted text indexed, a re-analysis replacing the
rows, every filter, department and agent scope, and keyset pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import inspect

from hotline.qa.search_text import QueryError
from hotline.store.database import Database
from hotline.store.models import Agent, Cdr, Department, Queue, Recording, Role, User
from hotline.store.qa import QaRepository, QueuedRecording, ResultRow
from hotline.store.qa_search import CursorError, QaSearch, Scope, SearchFilters, SearchPage

DAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

ZH_CALL = [
    {
        "speaker": "agent",
        "start": 0.2,
        "end": 2.5,
        "text": "您好，这里是客服中心，请问有什么可以帮您？",
    },
    {
        "speaker": "customer",
        "start": 3.0,
        "end": 7.8,
        "text": "我上周买的洗衣机还没到，我要申请退款。",
    },
    {"speaker": "customer", "start": 8.1, "end": 10.0, "text": "我的手机号是[mobile]。"},
    {"speaker": "agent", "start": 10.5, "end": 13.0, "text": "好的，我马上为您处理退款。"},
]
EN_CALL = [
    {"speaker": "agent", "start": 0.1, "end": 3.2, "text": "Good morning, thank you for calling."},
    {"speaker": "customer", "start": 3.5, "end": 8.0, "text": "I want a REFUND for my order."},
    {"speaker": "customer", "start": 9.0, "end": 11.0, "text": "My email is [email], I will sue."},
]


def analytics(categories: list[str], end_label: str, redacted: bool = True) -> dict[str, Any]:
    return {
        "redacted": redacted,
        "categories": [
            {"category": name, "label": name, "speaker": "customer", "hits": []}
            for name in categories
        ],
        "sentiment": {"customer": {"label_start": "neutral", "label_end": end_label}},
    }


@dataclass
class Ids:
    dept_a: int
    dept_b: int
    agent_a: int
    agent_b: int
    queue_a: int
    queue_b: int


async def seed_call(
    database: Database,
    name: str,
    *,
    at: datetime,
    dept: int,
    agent: int | None,
    queue: int | None,
    segments: list[dict[str, Any]],
    analysis: dict[str, Any],
    language: str,
) -> None:
    """A CDR, its recording row and a finished analysis, as the node writes them."""
    path = f"2026/12/07/{name}.wav"
    async with database.session() as session:
        session.add(
            Cdr(
                call_id=f"call-{name}",
                direction="in",
                caller="+8613800000000",
                callee="4000",
                department_id=dept,
                queue_id=queue,
                agent_id=agent,
                started_at=at,
                answered_at=at,
                ended_at=at + timedelta(minutes=2),
                disposition="answered",
            )
        )
        session.add(Recording(call_id=f"call-{name}", department_id=dept, path=path, started_at=at))
        repo = QaRepository(session)
        await repo.enqueue(QueuedRecording(name, path, at, call_id=f"call-{name}"), at)
        (job,) = await repo.claim_due(at, 1)
        await repo.finish(job.id, result(segments, analysis, language), at)
        await session.commit()


def result(segments: list[dict[str, Any]], analysis: dict[str, Any], language: str) -> ResultRow:
    return ResultRow(
        language=language,
        segments=[{**segment, "words": []} for segment in segments],
        metrics={},
        engine="faster-whisper",
        model="whisper-base",
        audio_seconds=60.0,
        processing_seconds=10.0,
        analytics=analysis,
    )


@pytest.fixture
async def ids(database: Database) -> Ids:
    async with database.session() as session:
        found: dict[str, int] = {}
        for name in ("A", "B"):
            department = Department(name=f"dept {name}")
            session.add(department)
            await session.flush()
            user = User(
                username=f"agent{name}",
                display_name=f"Agent {name}",
                password_hash="x",
                role=Role.AGENT,
                department_id=department.id,
            )
            queue = Queue(name=f"queue {name}", department_id=department.id)
            session.add_all([user, queue])
            await session.flush()
            agent = Agent(user_id=user.id, department_id=department.id, extension=f"100{name}")
            session.add(agent)
            await session.flush()
            found |= {f"dept_{name}": department.id, f"agent_{name}": agent.id}
            found[f"queue_{name}"] = queue.id
        await session.commit()
    ids = Ids(
        found["dept_A"],
        found["dept_B"],
        found["agent_A"],
        found["agent_B"],
        found["queue_A"],
        found["queue_B"],
    )
    await seed_call(
        database,
        "zh1",
        at=DAY,
        dept=ids.dept_a,
        agent=ids.agent_a,
        queue=ids.queue_a,
        segments=ZH_CALL,
        analysis=analytics(["refund"], "negative"),
        language="zh",
    )
    await seed_call(
        database,
        "en1",
        at=DAY + timedelta(hours=1),
        dept=ids.dept_b,
        agent=ids.agent_b,
        queue=ids.queue_b,
        segments=EN_CALL,
        analysis=analytics(["refund", "legal_threat"], "neutral"),
        language="en",
    )
    return ids


async def search(
    database: Database, scope: Scope | None = None, cursor: str | None = None, **filters: Any
) -> SearchPage:
    limit = filters.pop("limit", 20)
    async with database.session() as session:
        return await QaSearch(session).search(
            SearchFilters(**filters), scope or Scope(), limit=limit, cursor=cursor
        )


def found(page: SearchPage) -> list[str]:
    return [item.recording_id for item in page.items]


async def test_mandarin_words_are_found_with_the_moment_and_call(
    database: Database, ids: Ids
) -> None:
    page = await search(database, query="退款")
    assert found(page) == ["zh1"]
    hit = page.items[0]
    assert (hit.call_id, hit.language, hit.agent, hit.agent_name, hit.queue) == (
        "call-zh1",
        "zh",
        "100A",
        "Agent A",
        "queue A",
    )
    assert hit.started_at == DAY
    assert [(m.segment, m.speaker, m.start) for m in hit.matches] == [
        (1, "customer", 3.0),
        (3, "agent", 10.5),
    ]
    assert "<mark>退款</mark>" in hit.matches[0].snippet
    # A query of several words needs all of them, in any segment order of words.
    assert found(await search(database, query="申请退款")) == ["zh1"]
    assert found(await search(database, query="洗衣机 退款")) == ["zh1"]
    assert found(await search(database, query="退款 冰箱")) == []


async def test_english_words_are_case_insensitive_whole_words(database: Database, ids: Ids) -> None:
    page = await search(database, query="Refund")
    assert found(page) == ["en1"]
    assert page.items[0].matches[0].snippet == "I want a <mark>REFUND</mark> for my order."
    assert found(await search(database, query="refunds")) == []  # no stemming
    assert found(await search(database, query="sue")) == ["en1"]


async def test_redaction_placeholders_are_not_words(database: Database, ids: Ids) -> None:
    assert found(await search(database, query="mobile")) == []
    assert found(await search(database, query="email")) == ["en1"]  # "My email is", spoken
    with pytest.raises(QueryError, match="no words"):
        await search(database, query="[mobile] ，。")


async def test_unredacted_results_are_not_indexed_and_reanalysis_replaces_rows(
    database: Database, ids: Ids
) -> None:
    async with database.session() as session:
        repo = QaRepository(session)
        job = await repo.job("zh1")
        assert job is not None
        await repo.requeue("zh1", DAY)
        (job,) = await repo.claim_due(DAY + timedelta(days=1), 1)
        clear = [{"speaker": "customer", "start": 1.0, "end": 2.0, "text": "我的号码是13812345678"}]
        await repo.finish(job.id, result(clear, analytics([], "neutral", False), "zh"), DAY)
        await session.commit()
    assert found(await search(database, query="退款")) == []  # old rows gone
    assert found(await search(database, query="13812345678")) == []  # clear text not indexed
    async with database.session() as session:
        repo = QaRepository(session)
        await repo.requeue("zh1", DAY)
        (job,) = await repo.claim_due(DAY + timedelta(days=1), 1)
        again = [{"speaker": "customer", "start": 4.0, "end": 6.0, "text": "我要投诉你们"}]
        await repo.finish(job.id, result(again, analytics([], "neutral"), "zh"), DAY)
        await session.commit()
    page = await search(database, query="投诉")
    assert found(page) == ["zh1"]
    assert [m.start for m in page.items[0].matches] == [4.0]
    assert found(await search(database, query="退款")) == []
    assert found(await search(database, query="洗衣机")) == []


async def test_filters(database: Database, ids: Ids) -> None:
    assert found(await search(database)) == ["en1", "zh1"]  # no query: newest first
    assert found(await search(database, since=DAY + timedelta(minutes=30))) == ["en1"]
    assert found(await search(database, until=DAY + timedelta(minutes=30))) == ["zh1"]
    assert found(await search(database, queue_id=ids.queue_a)) == ["zh1"]
    assert found(await search(database, agent_id=ids.agent_b)) == ["en1"]
    assert found(await search(database, department_id=ids.dept_b)) == ["en1"]
    assert found(await search(database, category="refund")) == ["en1", "zh1"]
    assert found(await search(database, category="legal_threat")) == ["en1"]
    assert found(await search(database, category="greeting")) == []
    assert found(await search(database, sentiment="negative")) == ["zh1"]
    assert found(await search(database, query="refund", category="legal_threat")) == ["en1"]
    assert found(await search(database, query="refund", sentiment="negative")) == []


async def test_score_filter(database: Database, ids: Ids) -> None:
    async with database.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    if "qa_scores" not in tables:
        pytest.skip("qa_scores (the scorecards' table, migration 0014) does not exist yet")
    from hotline.store.models import QaScore, QaScorecard

    async with database.session() as session:
        cards = [QaScorecard(name="default"), QaScorecard(name="strict")]
        session.add_all(cards)
        await session.flush()
        for recording_id, card, score in (("zh1", 0, 40.0), ("en1", 0, 90.0), ("en1", 1, 55.0)):
            session.add(
                QaScore(
                    recording_id=recording_id,
                    scorecard_id=cards[card].id,
                    scorecard_name=cards[card].name,
                    auto_score=score,
                    final_score=score,
                    started_at=DAY,
                )
            )
        await session.commit()
    assert found(await search(database, min_score=50)) == ["en1"]
    assert found(await search(database, max_score=50)) == ["zh1"]
    assert found(await search(database, min_score=50, max_score=60)) == ["en1"]  # any card
    assert found(await search(database, min_score=95)) == []


async def test_scope_by_department_and_own_calls(database: Database, ids: Ids) -> None:
    supervisor_a = Scope(department_ids=frozenset({ids.dept_a}))
    assert found(await search(database, supervisor_a, query="refund")) == []
    assert found(await search(database, supervisor_a)) == ["zh1"]
    assert found(await search(database, Scope(department_ids=frozenset()))) == []
    agent_b = Scope(agent_id=ids.agent_b)
    assert found(await search(database, agent_b)) == ["en1"]
    assert found(await search(database, agent_b, agent_id=ids.agent_a)) == []


async def test_pages_follow_the_cursor(database: Database, ids: Ids) -> None:
    first = await search(database, limit=1)
    assert (first.count, found(first)) == (2, ["en1"])
    assert first.next is not None
    second = await search(database, cursor=first.next, limit=1)
    assert (second.count, found(second), second.next) == (2, ["zh1"], None)
    with pytest.raises(CursorError):
        await search(database, cursor="not-a-cursor")
