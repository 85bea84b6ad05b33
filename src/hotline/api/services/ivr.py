"""IVR flows and their versions: a version is immutable once saved; publishing picks one.

Editing a live flow must never change what callers hear mid-call or lose the previous
definition, so every save is a new version and rolling back is publishing an older one.
Every definition is checked by the IVR's own validator (``hotline.ivr.flow``) before it is
stored: a version the interpreter would refuse is never saved. YAML sources are kept as
written (comments included) and their problems carry the line they point at.

A pilot (gray release) lets one department's calls run another version before everyone:
calls on routes owned by that department get the pilot version, all others the published
one, until the pilot is promoted (its version becomes the published one) or ended. The
version is validated again when a pilot starts, so a pilot never fails at call time.
RBAC: the same as publishing, ``department:write`` on the flow's department, and the pilot's
department must be in the caller's scope too: an admin pilots anywhere, a supervisor only
flows of their own department, in their own department (promoting is publishing, which a
supervisor may already do for their department's flows).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.rbac import Permission, Principal
from hotline.api.services.audit import AuditService
from hotline.api.services.errors import ConflictError, FieldError, FieldProblem, NotFoundError
from hotline.api.services.integrity import Integrity, routed_to
from hotline.ivr.problems import FlowProblem, check_flow, check_flow_text
from hotline.store.models import Department, IvrFlow, IvrFlowPilot, IvrFlowVersion
from hotline.store.repositories import (
    IvrFlowPilotRepository,
    IvrFlowVersionRepository,
    Repository,
)


class IvrService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self.flows = Repository(session, IvrFlow)
        self.versions = IvrFlowVersionRepository(session)
        self.pilots = IvrFlowPilotRepository(session)
        self.audit = AuditService(session, principal)
        self.integrity = Integrity(session, principal)

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

    def validate(self, text: str) -> Sequence[FlowProblem]:
        """Problems of a YAML flow, located; nothing is stored."""
        self.principal.require(Permission.DEPARTMENT_READ)
        return check_flow_text(text)[1]

    async def create(
        self,
        name: str,
        department_id: int,
        definition: dict[str, Any] | None,
        source: str | None = None,
    ) -> tuple[IvrFlow, int]:
        self.principal.require(Permission.DEPARTMENT_WRITE)
        self.principal.require_department(department_id)
        definition = _checked(definition, source)
        await self.integrity.unique(IvrFlow, {"name": name}, None)
        flow = IvrFlow(name=name, department_id=department_id)
        try:
            await self.flows.add(flow)
            await self.audit.record(
                "create",
                "ivr-flows",
                flow.id,
                detail={"name": name, "department_id": department_id},
                department_id=department_id,
            )
            await self._add_version(flow, 1, definition, source)
            await self.session.commit()
        except IntegrityError as error:
            await self.session.rollback()
            raise ConflictError(f"ivr flow {name!r} exists or department is unknown") from error
        return flow, 1

    async def update(self, flow_id: int, values: dict[str, Any]) -> tuple[IvrFlow, int]:
        """Rename the flow or hand it to another department (both within the caller's scope)."""
        self.principal.require(Permission.DEPARTMENT_WRITE)
        flow = await self._flow(flow_id)
        if "department_id" in values:
            self.principal.require_department(values["department_id"])
            await self.integrity.require_row(Department, values["department_id"], "department_id")
        await self.integrity.unique(IvrFlow, values, flow)
        before = {name: getattr(flow, name) for name in values}
        try:
            await self.flows.update(flow, values)
            await self.audit.record(
                "update",
                "ivr-flows",
                flow.id,
                detail={"before": before, "after": values},
                department_id=flow.department_id,
            )
            await self.session.commit()
        except IntegrityError as error:
            await self.session.rollback()
            raise ConflictError(f"ivr flow {flow_id}: conflicts with existing data") from error
        return flow, await self.versions.latest_number(flow.id)

    async def add_version(
        self,
        flow_id: int,
        definition: dict[str, Any] | None,
        source: str | None = None,
        *,
        publish: bool = False,
    ) -> IvrFlowVersion:
        self.principal.require(Permission.DEPARTMENT_WRITE)
        flow = await self._flow(flow_id)
        definition = _checked(definition, source)
        number = await self.versions.latest_number(flow.id) + 1
        version = await self._add_version(flow, number, definition, source)
        if publish:
            await self._publish(flow, number)
        await self.session.commit()
        return version

    async def _add_version(
        self, flow: IvrFlow, number: int, definition: dict[str, Any], source: str | None
    ) -> IvrFlowVersion:
        version = IvrFlowVersion(
            flow_id=flow.id,
            version=number,
            definition=definition,
            source=source,
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
        latest = await self._publish(flow, number)
        await self.session.commit()
        return flow, latest

    async def _publish(self, flow: IvrFlow, number: int) -> int:
        known = [version.version for version in await self.versions.versions(flow.id)]
        if number not in known:
            raise NotFoundError(f"ivr flow {flow.id} has no version {number}")
        before = flow.published_version
        flow.published_version = number
        await self.audit.record(
            "publish",
            "ivr-flows",
            flow.id,
            detail={"before": before, "after": number},
            department_id=flow.department_id,
        )
        # A pilot of the version now published pilots nothing: it ends, so that no stored
        # pilot ever equals the published version (the backup relies on it).
        for pilot in await self.pilots.of_flow(flow.id):
            if pilot.version == number:
                await self.pilots.delete(pilot)
                await self.audit.record(
                    "end_pilot",
                    "ivr-flows",
                    flow.id,
                    detail={
                        "department_id": pilot.department_id,
                        "version": number,
                        "reason": "published",
                    },
                    department_id=pilot.department_id,
                )
        return max(known)

    # ---- pilots (gray release per department) -------------------------------------------

    async def pilots_of(self, flow_id: int) -> Sequence[IvrFlowPilot]:
        self.principal.require(Permission.DEPARTMENT_READ)
        flow = await self._flow(flow_id)
        return await self.pilots.of_flow(flow.id)

    async def _pilot(self, flow: IvrFlow, department_id: int) -> IvrFlowPilot | None:
        return await self.pilots.find(flow.id, department_id)

    async def start_pilot(self, flow_id: int, department_id: int, number: int) -> IvrFlowPilot:
        """Calls of ``department_id`` run version ``number`` from now on (a pilot already
        running there moves to that version). The version must exist, still pass the
        validator, and differ from the published one."""
        self.principal.require(Permission.DEPARTMENT_WRITE)
        flow = await self._flow(flow_id)
        self.principal.require_department(department_id)
        await self.integrity.require_row(Department, department_id, "department_id")
        version = next(
            (v for v in await self.versions.versions(flow.id) if v.version == number), None
        )
        if version is None:
            raise FieldError.one("version", f"ivr flow {flow.id} has no version {number}")
        if number == flow.published_version:
            raise FieldError.one(
                "version", f"version {number} is the published version; a pilot runs another"
            )
        document = {**version.definition, "name": flow.name, "version": number}
        problems = check_flow(document)
        if problems:
            raise FieldError([_field_problem("version", problem) for problem in problems])
        pilot = await self._pilot(flow, department_id)
        before = pilot.version if pilot is not None else None
        try:
            if pilot is None:
                pilot = IvrFlowPilot(
                    flow_id=flow.id,
                    department_id=department_id,
                    version=number,
                    started_by=self.principal.user_id,
                )
                await self.pilots.add(pilot)
            else:
                await self.pilots.update(pilot, {"version": number})
            await self.audit.record(
                "start_pilot",
                "ivr-flows",
                flow.id,
                detail={"department_id": department_id, "before": before, "after": number},
                department_id=department_id,
            )
            await self.session.commit()
        except IntegrityError as error:
            await self.session.rollback()
            raise ConflictError(
                f"ivr flow {flow_id}: a pilot in department {department_id} changed meanwhile"
            ) from error
        return pilot

    async def end_pilot(self, flow_id: int, department_id: int) -> None:
        """The department's new calls run the published version again."""
        self.principal.require(Permission.DEPARTMENT_WRITE)
        flow = await self._flow(flow_id)
        self.principal.require_department(department_id)
        pilot = await self._pilot(flow, department_id)
        if pilot is None:
            raise NotFoundError(f"ivr flow {flow_id} has no pilot in department {department_id}")
        await self.pilots.delete(pilot)
        await self.audit.record(
            "end_pilot",
            "ivr-flows",
            flow.id,
            detail={"department_id": department_id, "version": pilot.version},
            department_id=department_id,
        )
        await self.session.commit()

    async def promote_pilot(self, flow_id: int, department_id: int) -> tuple[IvrFlow, int]:
        """The pilot's version becomes the published one (everyone's) and the pilot ends;
        pilots of other departments go on."""
        self.principal.require(Permission.DEPARTMENT_WRITE)
        flow = await self._flow(flow_id)
        self.principal.require_department(department_id)
        pilot = await self._pilot(flow, department_id)
        if pilot is None:
            raise NotFoundError(f"ivr flow {flow_id} has no pilot in department {department_id}")
        number = pilot.version
        await self.pilots.delete(pilot)
        await self.audit.record(
            "promote_pilot",
            "ivr-flows",
            flow.id,
            detail={"department_id": department_id, "version": number},
            department_id=department_id,
        )
        latest = await self._publish(flow, number)
        await self.session.commit()
        return flow, latest

    async def delete(self, flow_id: int) -> None:
        self.principal.require(Permission.DEPARTMENT_WRITE)
        flow = await self._flow(flow_id)
        reason = await routed_to(self.integrity, "ivr_flow", flow)
        if reason is not None:
            raise ConflictError(f"ivr flow {flow_id}: {reason}")
        await self.flows.delete(flow)
        await self.audit.record("delete", "ivr-flows", flow_id, department_id=flow.department_id)
        await self.session.commit()


def _checked(definition: dict[str, Any] | None, source: str | None) -> dict[str, Any]:
    """The definition to store, or a 422 naming every problem (with its YAML line)."""
    if source is not None:
        parsed, problems = check_flow_text(source)
        field = "yaml"
    else:
        parsed, problems = definition, check_flow(definition)
        field = "definition"
    if problems or parsed is None:
        raise FieldError([_field_problem(field, problem) for problem in problems])
    # YAML may hold keys or values JSON has no type for (1: sales); the validator accepted
    # them as text, so they are stored as text.
    stored: dict[str, Any] = json.loads(json.dumps(parsed, default=str))
    return stored


def _field_problem(field: str, problem: FlowProblem) -> FieldProblem:
    path = [] if problem.location == "flow" else problem.location.split(".")
    return FieldProblem(
        ("body", field, *path),
        problem.message,
        {"node": problem.node, "line": problem.line, "location": problem.location},
    )
