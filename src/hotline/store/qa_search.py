"""Full-text search over analysed calls' transcripts, with filters (docs/qa-search.md).

The index (table ``qa_search_segments``, migration 0013) holds one row per transcript
segment: recording, segment number, speaker, start and end (seconds), the segment's
**redacted** text and its tokens (``hotline.qa.search_text``). SQLite keeps it in an FTS5
virtual table; PostgreSQL in a table with a ``tsvector`` built from the same tokens
(``array_to_tsvector``: the lexemes are taken as given, like the ``simple`` configuration
after our own lower-casing, without the locale-dependent parser that may split Han text).

:meth:`QaSearch.index` is called by ``QaRepository.finish`` in the transaction that stores
the result, so the index never disagrees with ``qa_results``; a re-analysis replaces the
recording's rows. A result whose segments are not redacted (``analytics["redacted"]`` not
true) is not indexed at all: the index is read by roles that may not see personal data.

:meth:`QaSearch.search` answers one page of analysed recordings, newest first, each with
its call (``qa_jobs`` → ``recordings`` by path → ``cdrs`` by call id), agent and queue, and
the segments that matched. Scope works as for CDRs: a set of departments (the
recording's, or else its CDR's) and, for an agent, only calls they handled.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    Float,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    cast,
    column,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement, TextClause

from hotline.qa.search_text import (
    QueryWord,
    fts5_match,
    index_document,
    query_words,
    snippet,
    tsquery,
)
from hotline.store.models import Agent, Cdr, QaJob, QaResult, Queue, Recording, User

SEARCH_TABLE = "qa_search_segments"
#: The states of ``qa_jobs.status`` (``hotline.store.qa.JOB_STATUSES``, which imports us).
JOB_STATUSES = ("queued", "running", "done", "failed", "dead")
_Query = TypeVar("_Query", bound="Select[*tuple[Any, ...]]")
#: Matching segments returned per recording (the rest are counted).
MATCHES_PER_RECORDING = 5

segments_table = table(
    SEARCH_TABLE,
    column("recording_id", String),
    column("segment", Integer),
    column("speaker", String),
    column("start", Float),
    column("stop", Float),
    column("text", Text),
    column("tokens", Text),
)
#: Written by the scorecards (migration 0014); only read when a score filter is given.
scores_table = table("qa_scores", column("recording_id", String), column("final_score", Float))


def is_search_index_table(name: str) -> bool:
    """The index's own tables (FTS5 adds ``qa_search_segments_data`` and the like on
    SQLite): derived data outside the ORM models, left out of the models comparison."""
    return name == SEARCH_TABLE or name.startswith(SEARCH_TABLE + "_")


class CursorError(ValueError):
    """The page cursor is not one this search gave out."""


@dataclass(frozen=True, slots=True)
class SearchFilters:
    query: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    queue_id: int | None = None
    agent_id: int | None = None
    department_id: int | None = None
    category: str | None = None
    #: The customer's sentiment label at the end of the call.
    sentiment: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    #: One recording only (the API's check that a call is in the caller's scope).
    recording_id: str | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """Whose calls the caller may see: ``department_ids`` None is every department;
    ``agent_id`` set limits to that agent's calls (an agent's own)."""

    department_ids: frozenset[int] | None = None
    agent_id: int | None = None


@dataclass(frozen=True, slots=True)
class SegmentHit:
    segment: int
    speaker: str
    start: float
    end: float
    text: str
    snippet: str


@dataclass(frozen=True, slots=True)
class SearchHit:
    recording_id: str
    call_id: str | None
    started_at: datetime
    language: str | None
    department_id: int | None
    agent_id: int | None
    agent: str | None
    agent_name: str | None
    queue_id: int | None
    queue: str | None
    matches: list[SegmentHit] = field(default_factory=list)
    #: Matching segments in all (``matches`` holds the first few).
    match_count: int = 0


@dataclass(frozen=True, slots=True)
class SearchPage:
    count: int
    items: list[SearchHit]
    next: str | None


def encode_cursor(started_at: datetime, recording_id: str) -> str:
    raw = json.dumps([started_at.isoformat(), recording_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, recording_id = json.loads(raw)
        started_at = datetime.fromisoformat(when)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as error:
        raise CursorError("cursor is not one this search returned") from error
    if not isinstance(recording_id, str) or started_at.tzinfo is None:
        raise CursorError("cursor is not one this search returned")
    return started_at, recording_id


def _department() -> ColumnElement[int | None]:
    """A call's department: its recording's, or else its CDR's."""
    return func.coalesce(Recording.department_id, Cdr.department_id)


def _scope_conditions(scope: Scope) -> list[ColumnElement[bool] | TextClause]:
    """Over ``QaJob`` joined to ``Recording`` (by path) and ``Cdr`` (by call id)."""
    conditions: list[ColumnElement[bool] | TextClause] = []
    if scope.department_ids is not None:
        conditions.append(_department().in_(scope.department_ids))
    if scope.agent_id is not None:
        conditions.append(Cdr.agent_id == scope.agent_id)
    return conditions


def _scoped_jobs(query: _Query, scope: Scope) -> _Query:
    if scope.department_ids is None and scope.agent_id is None:
        return query
    return (
        query.outerjoin(Recording, Recording.path == QaJob.path)
        .outerjoin(Cdr, Cdr.call_id == QaJob.call_id)
        .where(*_scope_conditions(scope))
    )


def _index_rows(recording_id: str, segments: list[Any]) -> list[dict[str, Any]]:
    rows = []
    for number, segment in enumerate(segments):
        if not isinstance(segment, dict):
            continue
        content = str(segment.get("text") or "").strip()
        document = index_document(content)
        if not document:
            continue
        rows.append(
            {
                "recording_id": recording_id,
                "segment": number,
                "speaker": str(segment.get("speaker") or "speaker")[:32],
                "start": float(segment.get("start") or 0.0),
                "stop": float(segment.get("end") or segment.get("start") or 0.0),
                "text": content,
                "tokens": document,
            }
        )
    return rows


class QaSearch:
    """The search index of one session; never commits (the caller's transaction does)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    async def index(
        self, recording_id: str, segments: Sequence[Any], *, redacted: bool = True
    ) -> int:
        """Replace the recording's rows by its ``segments`` (as stored in
        ``qa_results.segments``); returns the rows written. ``redacted`` False: the text
        may hold personal data, so only the old rows are removed."""
        await self.remove(recording_id)
        if not redacted:
            return 0
        # Off the event loop: jieba loads its dictionary on first use (about a second).
        rows = await asyncio.to_thread(_index_rows, recording_id, list(segments))
        if not rows:
            return 0
        if self._postgres:
            statement = text(
                f"INSERT INTO {SEARCH_TABLE} "
                "(recording_id, segment, speaker, start, stop, text, tokens) VALUES "
                "(:recording_id, :segment, :speaker, :start, :stop, :text, "
                "array_to_tsvector(:lexemes))"
            ).bindparams(bindparam("lexemes", type_=ARRAY(Text)))
            await self.session.execute(
                statement,
                [{**row, "lexemes": sorted(set(row.pop("tokens").split()))} for row in rows],
            )
        else:
            await self.session.execute(insert(segments_table), rows)
        return len(rows)

    async def remove(self, recording_id: str) -> None:
        await self.session.execute(
            delete(segments_table).where(segments_table.c.recording_id == recording_id)
        )

    def _matches(self, words: Sequence[QueryWord]) -> ColumnElement[bool] | TextClause:
        if self._postgres:
            return literal_column("tokens").op("@@")(cast(literal(tsquery(words), Text), TSQUERY))
        return text(f"{SEARCH_TABLE} MATCH :match").bindparams(match=fts5_match(words))

    def _category(self, category: str) -> ColumnElement[bool]:
        if self._postgres:
            wanted = literal([{"category": category}], JSONB)
            return cast(QaResult.analytics, JSONB)["categories"].op("@>")(wanted)
        entries = func.json_each(QaResult.analytics, "$.categories").table_valued("value")
        return exists(
            select(1)
            .select_from(entries)
            .where(func.json_extract(entries.c.value, "$.category") == category)
        )

    async def search(
        self, filters: SearchFilters, scope: Scope, *, limit: int = 20, cursor: str | None = None
    ) -> SearchPage:
        """One page of analysed recordings matching ``filters`` within ``scope``.
        :class:`~hotline.qa.search_text.QueryError` for a query without words,
        :class:`CursorError` for a cursor this search did not give out."""
        words: list[QueryWord] = []
        if filters.query and filters.query.strip():
            words = await asyncio.to_thread(query_words, filters.query)
        after = decode_cursor(cursor) if cursor else None
        department = _department()
        conditions: list[ColumnElement[bool] | TextClause] = []
        if words:
            matching = (
                select(segments_table.c.recording_id)
                .select_from(segments_table)
                .where(self._matches(words))
            )
            conditions.append(QaResult.recording_id.in_(matching))
        if filters.recording_id is not None:
            conditions.append(QaResult.recording_id == filters.recording_id)
        if filters.since is not None:
            conditions.append(QaJob.recorded_at >= filters.since)
        if filters.until is not None:
            conditions.append(QaJob.recorded_at < filters.until)
        if filters.queue_id is not None:
            conditions.append(Cdr.queue_id == filters.queue_id)
        if filters.agent_id is not None:
            conditions.append(Cdr.agent_id == filters.agent_id)
        if filters.department_id is not None:
            conditions.append(department == filters.department_id)
        if filters.category:
            conditions.append(self._category(filters.category))
        if filters.sentiment:
            label = QaResult.analytics[("sentiment", "customer", "label_end")].as_string()
            conditions.append(label == filters.sentiment)
        if filters.min_score is not None or filters.max_score is not None:
            score = [scores_table.c.recording_id == QaResult.recording_id]
            if filters.min_score is not None:
                score.append(scores_table.c.final_score >= filters.min_score)
            if filters.max_score is not None:
                score.append(scores_table.c.final_score <= filters.max_score)
            conditions.append(exists(select(1).select_from(scores_table).where(*score)))
        conditions += _scope_conditions(scope)

        base = (
            select(
                QaResult.recording_id,
                QaResult.language,
                QaJob.call_id,
                QaJob.recorded_at,
                department.label("department_id"),
                Cdr.agent_id,
                Agent.extension,
                User.display_name,
                Cdr.queue_id,
                Queue.name.label("queue_name"),
            )
            .select_from(QaResult)
            .join(QaJob, QaJob.recording_id == QaResult.recording_id)
            .outerjoin(Recording, Recording.path == QaJob.path)
            .outerjoin(Cdr, Cdr.call_id == QaJob.call_id)
            .outerjoin(Agent, Agent.id == Cdr.agent_id)
            .outerjoin(User, User.id == Agent.user_id)
            .outerjoin(Queue, Queue.id == Cdr.queue_id)
            .where(and_(True, *conditions))
        )
        count_query = select(func.count()).select_from(
            base.with_only_columns(QaResult.recording_id).distinct().subquery()
        )
        count = int((await self.session.execute(count_query)).scalar_one())
        page_query = base
        if after is not None:
            when, recording_id = after
            page_query = page_query.where(
                or_(
                    QaJob.recorded_at < when,
                    and_(QaJob.recorded_at == when, QaResult.recording_id < recording_id),
                )
            )
        page_query = page_query.order_by(
            QaJob.recorded_at.desc(), QaResult.recording_id.desc()
        ).limit(limit + 1)
        rows = (await self.session.execute(page_query)).all()
        more = len(rows) > limit
        rows = rows[:limit]
        matches = await self._segments([row.recording_id for row in rows], words)
        items = [
            SearchHit(
                recording_id=row.recording_id,
                call_id=row.call_id,
                started_at=row.recorded_at,
                language=row.language,
                department_id=row.department_id,
                agent_id=row.agent_id,
                agent=row.extension,
                agent_name=row.display_name,
                queue_id=row.queue_id,
                queue=row.queue_name,
                matches=matches.get(row.recording_id, [])[:MATCHES_PER_RECORDING],
                match_count=len(matches.get(row.recording_id, [])),
            )
            for row in rows
        ]
        last = rows[-1] if rows else None
        next_cursor = encode_cursor(last.recorded_at, last.recording_id) if more and last else None
        return SearchPage(count=count, items=items, next=next_cursor)

    async def jobs(
        self,
        scope: Scope,
        *,
        status: str | None = None,
        recording_id: str | None = None,
        limit: int = 50,
        before_id: int | None = None,
    ) -> tuple[int, list[QaJob]]:
        """Analysis jobs of calls in ``scope``, newest first (by id), after the cursor
        ``before_id``; with the number of them in all."""
        query = _scoped_jobs(select(QaJob), scope)
        if status is not None:
            query = query.where(QaJob.status == status)
        if recording_id is not None:
            query = query.where(QaJob.recording_id == recording_id)
        count_query = select(func.count()).select_from(query.subquery())
        count = int((await self.session.execute(count_query)).scalar_one())
        if before_id is not None:
            query = query.where(QaJob.id < before_id)
        query = query.order_by(QaJob.id.desc()).limit(limit)
        return count, list((await self.session.execute(query)).scalars().all())

    async def job_counts(self, scope: Scope) -> dict[str, int]:
        """Jobs of calls in ``scope`` per state (every state named, 0 when none)."""
        query = _scoped_jobs(select(QaJob.status, func.count(QaJob.id)), scope)
        query = query.group_by(QaJob.status)
        found = {str(state): int(n) for state, n in (await self.session.execute(query)).all()}
        return {state: found.get(state, 0) for state in JOB_STATUSES}

    async def _segments(
        self, recording_ids: list[str], words: Sequence[QueryWord]
    ) -> dict[str, list[SegmentHit]]:
        if not recording_ids or not words:
            return {}
        query = (
            select(
                segments_table.c.recording_id,
                segments_table.c.segment,
                segments_table.c.speaker,
                segments_table.c.start,
                segments_table.c.stop,
                segments_table.c.text,
            )
            .select_from(segments_table)
            .where(segments_table.c.recording_id.in_(recording_ids), self._matches(words))
            .order_by(segments_table.c.recording_id, segments_table.c.start)
        )
        found: dict[str, list[SegmentHit]] = {}
        for row in (await self.session.execute(query)).all():
            found.setdefault(row.recording_id, []).append(
                SegmentHit(
                    segment=int(row.segment),
                    speaker=str(row.speaker),
                    start=float(row.start),
                    end=float(row.stop),
                    text=str(row.text),
                    snippet=snippet(str(row.text), words),
                )
            )
        return found
