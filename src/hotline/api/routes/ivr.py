"""IVR flows: create with a first version, add versions, publish one, list history, and
pilot a version in one department before publishing it (``/pilots``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from hotline.api.deps import Limit, Offset, PrincipalDep, SessionDep
from hotline.api.schemas.base import MAX_INT
from hotline.api.schemas.ivr import (
    IvrFlowCreate,
    IvrFlowRead,
    IvrFlowUpdate,
    IvrPilotRead,
    IvrPilotStart,
    IvrProblem,
    IvrPublish,
    IvrSource,
    IvrValidate,
    IvrValidation,
    IvrVersionCreate,
    IvrVersionRead,
)
from hotline.api.services.ivr import IvrService
from hotline.store.models import IvrFlow

router = APIRouter(prefix="/ivr-flows", tags=["ivr-flows"])
FlowId = Annotated[int, Path(ge=1, le=MAX_INT)]
DepartmentId = Annotated[int, Path(ge=1, le=MAX_INT)]


def _read(flow: IvrFlow, latest: int) -> IvrFlowRead:
    return IvrFlowRead(
        id=flow.id,
        name=flow.name,
        department_id=flow.department_id,
        published_version=flow.published_version,
        latest_version=latest,
    )


@router.get("")
async def list_ivr_flows(
    session: SessionDep, principal: PrincipalDep, limit: Limit = 100, offset: Offset = 0
) -> list[IvrFlowRead]:
    flows = await IvrService(session, principal).list(limit=limit, offset=offset)
    return [_read(flow, latest) for flow, latest in flows]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_ivr_flow(
    body: IvrFlowCreate, session: SessionDep, principal: PrincipalDep
) -> IvrFlowRead:
    flow, latest = await IvrService(session, principal).create(
        body.name, body.department_id, _definition(body), body.yaml
    )
    return _read(flow, latest)


@router.post("/validate")
async def validate_ivr_flow(
    body: IvrValidate, session: SessionDep, principal: PrincipalDep
) -> IvrValidation:
    """Check a YAML flow without saving it: every problem with its node and line."""
    problems = IvrService(session, principal).validate(body.yaml)
    return IvrValidation(
        valid=not problems,
        problems=[
            IvrProblem(location=p.location, node=p.node, line=p.line, message=p.message)
            for p in problems
        ],
    )


@router.get("/{flow_id}")
async def get_ivr_flow(
    flow_id: FlowId, session: SessionDep, principal: PrincipalDep
) -> IvrFlowRead:
    return _read(*await IvrService(session, principal).get(flow_id))


@router.patch("/{flow_id}")
async def update_ivr_flow(
    flow_id: FlowId, body: IvrFlowUpdate, session: SessionDep, principal: PrincipalDep
) -> IvrFlowRead:
    values = body.model_dump(mode="json", include=body.model_fields_set, exclude_none=True)
    return _read(*await IvrService(session, principal).update(flow_id, values))


@router.delete("/{flow_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_ivr_flow(
    flow_id: FlowId, session: SessionDep, principal: PrincipalDep
) -> Response:
    await IvrService(session, principal).delete(flow_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{flow_id}/versions")
async def list_ivr_flow_versions(
    flow_id: FlowId, session: SessionDep, principal: PrincipalDep
) -> list[IvrVersionRead]:
    versions = await IvrService(session, principal).versions_of(flow_id)
    return [IvrVersionRead.model_validate(version) for version in versions]


@router.post("/{flow_id}/versions", status_code=status.HTTP_201_CREATED)
async def create_ivr_flow_version(
    flow_id: FlowId, body: IvrVersionCreate, session: SessionDep, principal: PrincipalDep
) -> IvrVersionRead:
    version = await IvrService(session, principal).add_version(
        flow_id, _definition(body), body.yaml, publish=body.publish
    )
    return IvrVersionRead.model_validate(version)


@router.post("/{flow_id}/publish")
async def publish_ivr_flow(
    flow_id: FlowId, body: IvrPublish, session: SessionDep, principal: PrincipalDep
) -> IvrFlowRead:
    return _read(*await IvrService(session, principal).publish(flow_id, body.version))


@router.get("/{flow_id}/pilots")
async def list_ivr_flow_pilots(
    flow_id: FlowId, session: SessionDep, principal: PrincipalDep
) -> list[IvrPilotRead]:
    pilots = await IvrService(session, principal).pilots_of(flow_id)
    return [IvrPilotRead.model_validate(pilot) for pilot in pilots]


@router.put("/{flow_id}/pilots/{department_id}")
async def start_ivr_flow_pilot(
    flow_id: FlowId,
    department_id: DepartmentId,
    body: IvrPilotStart,
    session: SessionDep,
    principal: PrincipalDep,
) -> IvrPilotRead:
    """New calls on the department's routes run ``version``; others the published one."""
    pilot = await IvrService(session, principal).start_pilot(flow_id, department_id, body.version)
    return IvrPilotRead.model_validate(pilot)


@router.delete(
    "/{flow_id}/pilots/{department_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def end_ivr_flow_pilot(
    flow_id: FlowId, department_id: DepartmentId, session: SessionDep, principal: PrincipalDep
) -> Response:
    """The department returns to the published version."""
    await IvrService(session, principal).end_pilot(flow_id, department_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{flow_id}/pilots/{department_id}/promote")
async def promote_ivr_flow_pilot(
    flow_id: FlowId, department_id: DepartmentId, session: SessionDep, principal: PrincipalDep
) -> IvrFlowRead:
    """Publish the pilot's version for everyone and end the pilot."""
    return _read(*await IvrService(session, principal).promote_pilot(flow_id, department_id))


def _definition(body: IvrSource) -> dict[str, Any] | None:
    return None if body.definition is None else body.definition.model_dump(mode="json")
