"""Speech analytics for the API: search, one call's analysis, its audio, the analysis jobs
and re-analysis (docs/qa-search.md, "REST API").

Who sees what is the CDRs' rule: ``qa:read`` for every reader, an agent only the calls they
handled, a supervisor their departments'; a call outside the caller's scope is "not found".
Personal data is shown only to ``recordings:unredacted``: without it the analysis loses
``analytics["clear_segments"]`` and the audio is a copy with a beep over every personal
datum found (``analytics["pii"]``). Reading clear text or clear audio is audited, as every
play of a recording is.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.rbac import Permission, Principal
from hotline.api.services.audit import AuditService
from hotline.api.services.errors import ConflictError, FieldError, NotFoundError
from hotline.qa.redacted_audio import RedactionError, write_redacted_copy
from hotline.qa.search_text import QueryError
from hotline.store.models import Agent, QaJob, QaResult
from hotline.store.qa import QaRepository
from hotline.store.qa_search import (
    CursorError,
    QaSearch,
    Scope,
    SearchFilters,
    SearchHit,
    SearchPage,
)
from hotline.store.repositories import Repository
from hotline.store.types import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CallAnalysis:
    call: SearchHit
    result: QaResult
    #: ``analytics`` as this caller may see it.
    analytics: dict[str, Any]


class QaService:
    def __init__(
        self,
        session: AsyncSession,
        principal: Principal,
        recordings_dir: Path | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        self.session = session
        self.principal = principal
        self.recordings_dir = recordings_dir
        self.cache_dir = cache_dir
        self.search_index = QaSearch(session)
        self.audit = AuditService(session, principal)

    async def scope(self) -> Scope:
        if self.principal.only_self:
            agents = await Repository(self.session, Agent).list(user_id=self.principal.user_id)
            # An agent without an agent row handled no calls: -1 matches nothing.
            return Scope(agent_id=agents[0].id if agents else -1)
        return Scope(department_ids=self.principal.departments)

    async def search(self, filters: SearchFilters, *, limit: int, cursor: str | None) -> SearchPage:
        self.principal.require(Permission.QA_READ)
        try:
            return await self.search_index.search(
                filters, await self.scope(), limit=limit, cursor=cursor
            )
        except QueryError as error:
            raise FieldError.one("q", str(error)) from None
        except CursorError as error:
            raise FieldError.one("cursor", str(error)) from None

    async def call(self, recording_id: str) -> SearchHit:
        """The analysed call, if the caller may see it."""
        self.principal.require(Permission.QA_READ)
        page = await self.search_index.search(
            SearchFilters(recording_id=recording_id), await self.scope(), limit=1
        )
        if not page.items:
            raise NotFoundError(f"no analysis of recording {recording_id!r}")
        return page.items[0]

    async def analysis(self, recording_id: str) -> CallAnalysis:
        call = await self.call(recording_id)
        result = await QaRepository(self.session).result(recording_id)
        if result is None:
            raise NotFoundError(f"no analysis of recording {recording_id!r}")
        analytics = dict(result.analytics or {})
        if not self.principal.can(Permission.RECORDINGS_UNREDACTED):
            analytics.pop("clear_segments", None)
        elif "clear_segments" in analytics:
            await self.audit.record(
                "read",
                "qa_results",
                recording_id,
                detail={"call_id": call.call_id, "clear_text": True},
                department_id=call.department_id,
            )
            await self.session.commit()
        return CallAnalysis(call, result, analytics)

    async def audio(self, recording_id: str, byte_range: str | None) -> Path:
        """The file to serve: the recording itself for ``recordings:unredacted`` (or when
        no personal data was found), else its redacted copy (:func:`audio_to_serve`).
        Audited before a byte is sent."""
        call = await self.call(recording_id)
        repository = QaRepository(self.session)
        job = await repository.job(recording_id)
        result = await repository.result(recording_id)
        if job is None or result is None:
            raise NotFoundError(f"no analysis of recording {recording_id!r}")
        source = self._file(recording_id, job.path)
        path = await audio_to_serve(
            self.principal, recording_id, source, job, result, self.cache_dir
        )
        await self.audit.record(
            "play",
            "recordings",
            recording_id,
            detail={"call_id": call.call_id, "range": byte_range, "redacted": path != source},
            department_id=call.department_id,
        )
        await self.session.commit()
        return path

    def _file(self, recording_id: str, relative: str) -> Path:
        if self.recordings_dir is None:
            raise NotFoundError("this node keeps no recordings")
        root = self.recordings_dir.resolve()
        path = (root / relative).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise NotFoundError(f"recording {recording_id!r} has no audio file on this node")
        return path

    async def job(self, recording_id: str) -> QaJob:
        self.principal.require(Permission.QA_READ)
        _count, jobs = await self.search_index.jobs(
            await self.scope(), recording_id=recording_id, limit=1
        )
        if not jobs:
            raise NotFoundError(f"no analysis job for recording {recording_id!r}")
        return jobs[0]

    async def jobs(
        self, *, status: str | None, limit: int, cursor: str | None
    ) -> tuple[int, list[QaJob], dict[str, int], str | None]:
        """A page of jobs (newest first), their number, the counts per state and the
        cursor of the next page."""
        self.principal.require(Permission.QA_READ)
        before = None
        if cursor is not None:
            if not cursor.isdigit() or len(cursor) > 12:
                raise FieldError.one("cursor", "cursor is not one this list returned")
            before = int(cursor)
        scope = await self.scope()
        count, jobs = await self.search_index.jobs(
            scope, status=status, limit=limit + 1, before_id=before
        )
        counts = await self.search_index.job_counts(scope)
        more = len(jobs) > limit
        jobs = jobs[:limit]
        return count, jobs, counts, str(jobs[-1].id) if more and jobs else None

    async def reanalyze(self, *, since: date | None, recording_id: str | None) -> int:
        """Queue recordings again; returns how many. Audited."""
        self.principal.require(Permission.QA_CONFIG)
        now = utcnow()
        repository = QaRepository(self.session)
        if recording_id is not None:
            job = await repository.job(recording_id)
            if job is None:
                raise NotFoundError(f"no analysis job for recording {recording_id!r}")
            if job.status == "running":
                raise ConflictError(f"recording {recording_id!r} is being analysed now")
            queued = int(await repository.requeue(recording_id, now))
        else:
            assert since is not None
            queued = await repository.requeue_since(datetime.combine(since, time(), UTC), now)
        await self.audit.record(
            "reanalyze",
            "qa_jobs",
            recording_id,
            detail={"since": since.isoformat() if since else None, "queued": queued},
        )
        await self.session.commit()
        log.info("recordings queued for analysis again", extra={"queued": queued})
        return queued


async def audio_to_serve(
    principal: Principal,
    recording_id: str,
    source: Path,
    job: QaJob | None,
    result: QaResult | None,
    cache_dir: Path | None,
) -> Path:
    """Which file of a recording ``principal`` may hear, on every route that serves one
    (``/qa/recordings/{id}/audio`` and ``/recordings/{id}/audio``): the recording itself
    for ``recordings:unredacted``, or when its analysis found no personal data, or when it
    was never queued for analysis (the module off); else the copy beeped over every
    personal datum found, made once per analysis in ``cache_dir``. A recording still being
    analysed, or analysed before personal data was looked for, is refused (409): its
    clear audio would be served to a role that must not hear it."""
    if principal.can(Permission.RECORDINGS_UNREDACTED):
        return source
    if result is None:
        if job is not None and job.status in ("queued", "running"):
            raise ConflictError(
                f"recording {recording_id!r} is being analysed for personal data: "
                "it can be played once the analysis is done"
            )
        return source
    analytics = result.analytics or {}
    if analytics.get("redacted") is not True:
        raise ConflictError(
            f"recording {recording_id!r} was analysed before personal data was looked "
            "for: analyse it again (POST /api/v1/qa/reanalyze) to serve a redacted copy"
        )
    spans = [span for span in analytics.get("pii") or [] if isinstance(span, dict)]
    if not spans:
        return source
    if cache_dir is None:
        raise NotFoundError("this node has no cache for redacted recordings")
    stamp = result.analysed_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = cache_dir / f"{recording_id}@{stamp}.wav"
    try:
        await asyncio.to_thread(_redacted_copy, source, target, spans)
    except RedactionError as error:
        raise ConflictError(f"recording cannot be redacted: {error}") from None
    return target


def _redacted_copy(source: Path, target: Path, spans: list[dict[str, Any]]) -> None:
    """Make ``target`` unless it is there, and drop the copies of earlier analyses."""
    if target.is_file():
        return
    write_redacted_copy(source, target, spans)
    recording_id = target.name.split("@", 1)[0]
    for older in target.parent.glob(f"{recording_id}@*.wav"):
        if older != target:
            older.unlink(missing_ok=True)


def redacted_audio_cache(recordings_dir: Path | None) -> Path | None:
    """Redacted copies live in the node's data directory (``data_dir/cache/qa-audio``),
    never beside the recordings, which are evidence and only ever read."""
    if recordings_dir is None:
        return None
    return recordings_dir.parent / "cache" / "qa-audio"
