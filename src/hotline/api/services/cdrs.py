"""Call detail records: filtered by the caller's scope, exported as CSV with an audit entry.

An agent sees only calls they handled; a supervisor those of their department; QA, the
auditor and admins all of them. Every export is audited before a byte is sent.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.rbac import Permission, Principal
from hotline.api.services.audit import AuditService
from hotline.store.models import Agent, Cdr
from hotline.store.repositories import HistoryRepository, Repository

EXPORT_COLUMNS = (
    "call_id",
    "direction",
    "caller",
    "callee",
    "department_id",
    "queue_id",
    "agent_id",
    "started_at",
    "answered_at",
    "ended_at",
    "wait_seconds",
    "talk_seconds",
    "hold_seconds",
    "disposition",
    "wrapup_code",
)
# Rows per export; above it the client narrows the time range (keeps memory bounded).
EXPORT_LIMIT = 100_000


@dataclass(frozen=True)
class CdrFilter:
    since: datetime | None = None
    until: datetime | None = None
    queue_id: int | None = None
    agent_id: int | None = None
    caller: str | None = None
    disposition: str | None = None


class CdrService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self.history = HistoryRepository(session)
        self.audit = AuditService(session, principal)

    async def _own_agent_id(self) -> int:
        agents = await Repository(self.session, Agent).list(user_id=self.principal.user_id)
        # An agent without an agent row has handled no calls: -1 matches nothing.
        return agents[0].id if agents else -1

    async def _query(self, where: CdrFilter, limit: int | None, offset: int) -> Sequence[Cdr]:
        agent_id = where.agent_id
        if self.principal.only_self:
            own = await self._own_agent_id()
            if agent_id is not None and agent_id != own:
                return []
            agent_id = own
        return await self.history.cdrs(
            department_ids=None if self.principal.only_self else self.principal.departments,
            agent_id=agent_id,
            queue_id=where.queue_id,
            caller=where.caller,
            disposition=where.disposition,
            since=where.since,
            until=where.until,
            limit=limit,
            offset=offset,
        )

    async def list(self, where: CdrFilter, *, limit: int, offset: int) -> Sequence[Cdr]:
        self.principal.require(Permission.CDR_READ)
        return await self._query(where, limit, offset)

    async def export_csv(self, where: CdrFilter) -> Iterator[str]:
        self.principal.require(Permission.CDR_EXPORT)
        rows = await self._query(where, EXPORT_LIMIT, 0)
        detail = {k: str(v) for k, v in asdict(where).items() if v is not None}
        await self.audit.sensitive_read("cdrs", {"export": "csv", "rows": len(rows), **detail})
        return _csv_lines(rows)


def _csv_lines(rows: Sequence[Cdr]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        writer.writerow([_cell(getattr(row, column)) for column in EXPORT_COLUMNS])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    # CSV injection: a cell starting with = + - @ is a formula in spreadsheets.
    if text[:1] in ("=", "+", "-", "@") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
