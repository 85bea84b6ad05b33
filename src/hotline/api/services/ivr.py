"""IVR flows and their versions: a version is immutable once saved; publishing picks one.

Editing a live flow must never change what callers hear mid-call or lose the previous
definition, so every save is a new version and rolling back is publishing an older one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.rbac import Permission, Principal
from hotline.api.services.audit import AuditService
from hotline.api.services.errors import ConflictError, NotFoundError
from hotline.store.models import IvrFlow, IvrFlowVersion
from hotline.store.repositories import IvrFlowVersionRepository, Repository


class IvrService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self.flows = Repository(session, IvrFlow)
        self.versions = IvrFlowVersionRepository(session)
        self.audit = AuditService(session, principal)

    async def list(self, *, limit: int, offset: int) -> list[tuple[IvrFlow, int]]:
        self.principal.require(Permission.DEPARTMENT_READ)
        flows = await self.flows.list(self.principal.departments, limit=limit, offset=offset)
        return [(flow, await self.versions.latest_number(flow.id)) for flow in flows]

    async def get(self, flow_id: int) -> tuple[IvrFlow, int]:
        self.principal.require(Permission.DEPARTMENT_READ)
        flow = await self._flow(flow_id)
        return flow, await self.versions.latest_number(flow.id)

    async def _flow(self, flow_id: int) -> IvrFlow:
        flow = await self.flows.get(flow_id, self.principal.departments)
        if flow is None:
            raise NotFoundError(f"ivr flow {flow_id} not found")
        return flow

    async def create(
        self, name: str, department_id: int, definition: dict[str, Any]
    ) -> tuple[IvrFlow, int]:
        self.principal.require(Permission.DEPARTMENT_WRITE)
        self.principal.require_department(department_id)
        flow = IvrFlow(name=name, department_id=department_id)
        try:
            await self.flows.add(flow)
            await self._add_version(flow, 1, definition)
            await self.session.commit()
        except IntegrityError as error:
            await self.session.rollback()
            raise ConflictError(f"ivr flow {name!r} exists or department is unknown") from error
        return flow, 1

    async def add_version(self, flow_id: int, definition: dict[str, Any]) -> IvrFlowVersion:
        self.principal.require(Permission.DEPARTMENT_WRITE)
        flow = await self._flow(flow_id)
        number = await self.versions.latest_number(flow.id) + 1
        version = await self._add_version(flow, number, definition)
        await self.session.commit()
        return version

    async def _add_version(
        self, flow: IvrFlow, number: int, definition: dict[str, Any]
    ) -> IvrFlowVersion:
        version = IvrFlowVersion(
            flow_id=flow.id,
            version=number,
            definition=definition,
            created_by=self.principal.user_id,
        )
        await self.versions.add(version)
        await self.audit.record(
            "create_version",
            "ivr-flows",
            flow.id,
            detail={"version": number, "definition": definition},
            department_id=flow.department_id,
        )
        return version

    async def versions_of(self, flow_id: int) -> Sequence[IvrFlowVersion]:
        self.principal.require(Permission.DEPARTMENT_READ)
        flow = await self._flow(flow_id)
        return await self.versions.versions(flow.id)

    async def publish(self, flow_id: int, number: int) -> tuple[IvrFlow, int]:
        self.principal.require(Permission.DEPARTMENT_WRITE)
        flow = await self._flow(flow_id)
        known = [version.version for version in await self.versions.versions(flow.id)]
        if number not in known:
            raise NotFoundError(f"ivr flow {flow_id} has no version {number}")
        before = flow.published_version
        flow.published_version = number
        await self.audit.record(
            "publish",
            "ivr-flows",
            flow.id,
            detail={"before": before, "after": number},
            department_id=flow.department_id,
        )
        await self.session.commit()
        return flow, max(known)

    async def delete(self, flow_id: int) -> None:
        self.principal.require(Permission.DEPARTMENT_WRITE)
        flow = await self._flow(flow_id)
        await self.flows.delete(flow)
        await self.audit.record("delete", "ivr-flows", flow_id, department_id=flow.department_id)
        await self.session.commit()
