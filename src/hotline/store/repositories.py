"""Repositories: the only place that builds queries.

Services above call these with plain values; no route and no service writes SQL. A
repository never commits: the service that owns the unit of work commits once, so that a
change and its audit entry land together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.store.models import (
    ApiToken,
    AuditEntry,
    Base,
    Cdr,
    Customer,
    IvrFlowPilot,
    IvrFlowVersion,
    ModuleSwitch,
    QueueLogEntry,
    Recording,
    User,
    WrapUpCode,
)
from hotline.store.types import utcnow

ModelT = TypeVar("ModelT", bound=Base)
RowT = TypeVar("RowT")


class Repository(Generic[ModelT]):
    """Create, read, update and delete rows of one configuration table.

    ``department_ids`` narrows every read to rows of those departments (a supervisor's
    view); ``None`` means no narrowing. Tables without ``department_id`` ignore it.
    """

    def __init__(self, session: AsyncSession, model: type[ModelT]) -> None:
        self.session = session
        self.model = model

    def _scoped(self, query: Select[RowT], department_ids: frozenset[int] | None) -> Select[RowT]:
        column = getattr(self.model, "department_id", None)
        if department_ids is not None and column is not None:
            query = query.where(column.in_(department_ids))
        return query

    async def get(
        self, item_id: int, department_ids: frozenset[int] | None = None
    ) -> ModelT | None:
        pk = self.model.__mapper__.primary_key[0]
        query = self._scoped(select(self.model).where(pk == item_id), department_ids)
        return (await self.session.execute(query)).scalar_one_or_none()

    async def list(
        self,
        department_ids: frozenset[int] | None = None,
        *,
        limit: int = 100,
        offset: int = 0,
        **equals: Any,
    ) -> Sequence[ModelT]:
        pk = self.model.__mapper__.primary_key[0]
        query = self._scoped(select(self.model), department_ids)
        for name, value in equals.items():
            query = query.where(getattr(self.model, name) == value)
        query = query.order_by(pk).limit(limit).offset(offset)
        return (await self.session.execute(query)).scalars().all()

    async def count(self, department_ids: frozenset[int] | None = None) -> int:
        """How many rows :meth:`list` pages through (in ``department_ids``)."""
        query = self._scoped(select(func.count()).select_from(self.model), department_ids)
        return int((await self.session.execute(query)).scalar_one() or 0)

    async def add(self, item: ModelT) -> ModelT:
        self.session.add(item)
        await self.session.flush()
        return item

    async def update(self, item: ModelT, values: dict[str, Any]) -> ModelT:
        for name, value in values.items():
            setattr(item, name, value)
        await self.session.flush()
        return item

    async def delete(self, item: ModelT) -> None:
        await self.session.delete(item)
        await self.session.flush()


class UserRepository(Repository[User]):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, User)

    async def by_username(self, username: str) -> User | None:
        query = select(User).where(User.username == username)
        return (await self.session.execute(query)).scalar_one_or_none()


class ApiTokenRepository(Repository[ApiToken]):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, ApiToken)

    async def by_hash(self, token_hash: str) -> ApiToken | None:
        query = select(ApiToken).where(ApiToken.token_hash == token_hash)
        return (await self.session.execute(query)).scalar_one_or_none()


class IvrFlowVersionRepository(Repository[IvrFlowVersion]):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, IvrFlowVersion)

    async def versions(self, flow_id: int) -> Sequence[IvrFlowVersion]:
        query = (
            select(IvrFlowVersion)
            .where(IvrFlowVersion.flow_id == flow_id)
            .order_by(IvrFlowVersion.version)
        )
        return (await self.session.execute(query)).scalars().all()

    async def latest_number(self, flow_id: int) -> int:
        query = select(func.max(IvrFlowVersion.version)).where(IvrFlowVersion.flow_id == flow_id)
        return (await self.session.execute(query)).scalar_one_or_none() or 0


class IvrFlowPilotRepository(Repository[IvrFlowPilot]):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session, IvrFlowPilot)

    async def of_flow(self, flow_id: int) -> Sequence[IvrFlowPilot]:
        query = (
            select(IvrFlowPilot)
            .where(IvrFlowPilot.flow_id == flow_id)
            .order_by(IvrFlowPilot.department_id)
        )
        return (await self.session.execute(query)).scalars().all()

    async def find(self, flow_id: int, department_id: int) -> IvrFlowPilot | None:
        query = select(IvrFlowPilot).where(
            IvrFlowPilot.flow_id == flow_id, IvrFlowPilot.department_id == department_id
        )
        return (await self.session.execute(query)).scalar_one_or_none()


class AuditRepository:
    """Append and read; there is deliberately no update or delete."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def append(self, entry: AuditEntry) -> AuditEntry:
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def list(
        self,
        *,
        resource: str | None = None,
        actor: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[AuditEntry]:
        query = select(AuditEntry)
        if resource is not None:
            query = query.where(AuditEntry.resource == resource)
        if actor is not None:
            query = query.where(AuditEntry.actor == actor)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        query = query.order_by(AuditEntry.id).limit(limit).offset(offset)
        return (await self.session.execute(query)).scalars().all()


class HistoryRepository:
    """CDRs, the queue log and recordings' metadata: insert and query, never update."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_cdr(self, cdr: Cdr) -> Cdr:
        self.session.add(cdr)
        await self.session.flush()
        return cdr

    async def add_queue_log(self, entry: QueueLogEntry) -> QueueLogEntry:
        self.session.add(entry)
        await self.session.flush()
        return entry

    async def add_recording(self, recording: Recording) -> Recording:
        self.session.add(recording)
        await self.session.flush()
        return recording

    async def recordings(
        self,
        *,
        department_ids: frozenset[int] | None = None,
        call_id: str | None = None,
        recording_id: int | None = None,
        kind: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> Sequence[Recording]:
        query = select(Recording)
        if kind is not None:
            query = query.where(Recording.kind == kind)
        if department_ids is not None:
            query = query.where(Recording.department_id.in_(department_ids))
        if call_id is not None:
            query = query.where(Recording.call_id == call_id)
        if recording_id is not None:
            query = query.where(Recording.id == recording_id)
        query = query.order_by(Recording.started_at, Recording.id).limit(limit).offset(offset)
        return (await self.session.execute(query)).scalars().all()

    async def cdrs(
        self,
        *,
        department_ids: frozenset[int] | None = None,
        agent_id: int | None = None,
        queue_id: int | None = None,
        caller: str | None = None,
        disposition: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> Sequence[Cdr]:
        query = select(Cdr)
        if department_ids is not None:
            query = query.where(Cdr.department_id.in_(department_ids))
        if agent_id is not None:
            query = query.where(Cdr.agent_id == agent_id)
        if queue_id is not None:
            query = query.where(Cdr.queue_id == queue_id)
        if caller is not None:
            query = query.where(Cdr.caller == caller)
        if disposition is not None:
            query = query.where(Cdr.disposition == disposition)
        if since is not None:
            query = query.where(Cdr.started_at >= since)
        if until is not None:
            query = query.where(Cdr.started_at < until)
        query = query.order_by(Cdr.started_at, Cdr.id).offset(offset)
        if limit is not None:
            query = query.limit(limit)
        return (await self.session.execute(query)).scalars().all()


class DeskRepository:
    """What the agent desktop and the wallboard read and the one history write they make.

    The wrap-up is the exception to "history is never updated": a CDR's ``wrapup_code`` and
    ``notes`` are completed once by the agent after the call (the row is written when the
    call ends, the wrap-up comes later). The update only fills a row whose code is still
    empty, so a wrap-up can never overwrite another.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def customer_by_phone(self, phones: Sequence[str]) -> Customer | None:
        if not phones:
            return None
        query = select(Customer).where(Customer.phone.in_(phones)).order_by(Customer.id)
        return (await self.session.execute(query.limit(1))).scalars().first()

    async def recent_cdrs(
        self, callers: Sequence[str], department_ids: frozenset[int] | None, limit: int
    ) -> Sequence[Cdr]:
        """The callers' latest calls, newest first."""
        query = select(Cdr).where(Cdr.caller.in_(callers))
        if department_ids is not None:
            query = query.where(Cdr.department_id.in_(department_ids))
        query = query.order_by(Cdr.started_at.desc(), Cdr.id.desc()).limit(limit)
        return (await self.session.execute(query)).scalars().all()

    async def cdr_of_agent(self, call_id: str, agent_id: int) -> Cdr | None:
        query = select(Cdr).where(Cdr.call_id == call_id, Cdr.agent_id == agent_id)
        return (await self.session.execute(query)).scalars().first()

    async def unwrapped_cdr(self, agent_id: int, since: datetime) -> Cdr | None:
        """The agent's latest handled call since ``since`` that has no wrap-up yet."""
        query = (
            select(Cdr)
            .where(
                Cdr.agent_id == agent_id,
                Cdr.disposition == "handled",
                Cdr.wrapup_code.is_(None),
                Cdr.ended_at >= since,
            )
            .order_by(Cdr.ended_at.desc(), Cdr.id.desc())
            .limit(1)
        )
        return (await self.session.execute(query)).scalars().first()

    async def set_wrapup(self, cdr_id: int, code: str, notes: str | None) -> bool:
        """Fill the wrap-up of a CDR that has none; False if it already had one."""
        result = await self.session.execute(
            update(Cdr)
            .where(Cdr.id == cdr_id, Cdr.wrapup_code.is_(None))
            .values(wrapup_code=code, notes=notes)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def wrapup_codes(self, department_id: int) -> Sequence[WrapUpCode]:
        query = (
            select(WrapUpCode)
            .where(WrapUpCode.department_id == department_id)
            .order_by(WrapUpCode.code)
        )
        return (await self.session.execute(query)).scalars().all()

    async def cdr_starts(
        self,
        since: datetime,
        until: datetime,
        department_ids: frozenset[int] | None,
        agent_id: int | None,
    ) -> Sequence[tuple[datetime, str]]:
        """(started_at, disposition) of the calls that started in [since, until)."""
        query = select(Cdr.started_at, Cdr.disposition).where(
            Cdr.started_at >= since, Cdr.started_at < until
        )
        if department_ids is not None:
            query = query.where(Cdr.department_id.in_(department_ids))
        if agent_id is not None:
            query = query.where(Cdr.agent_id == agent_id)
        rows = (await self.session.execute(query)).all()
        return [(row[0], row[1]) for row in rows]


class ModuleRepository:
    """The admin console's switches of optional modules (``module_switches``)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def switches(self) -> dict[str, ModuleSwitch]:
        rows = (await self.session.execute(select(ModuleSwitch))).scalars().all()
        return {row.name: row for row in rows}

    async def set(self, name: str, enabled: bool, changed_by: str | None) -> ModuleSwitch:
        row = await self.session.get(ModuleSwitch, name)
        if row is None:
            row = ModuleSwitch(name=name, enabled=enabled, changed_by=changed_by)
            self.session.add(row)
        else:
            row.enabled, row.changed_by, row.changed_at = enabled, changed_by, utcnow()
        await self.session.flush()
        return row
