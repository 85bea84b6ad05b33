"""Probes and metrics for operators and orchestrators: /healthz, /readyz, /metrics."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from hotline import __version__
from hotline.api.deps import ContextDep

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    """Liveness: the process answers HTTP. Readiness (DB, SIP, media) is a separate check."""

    status: Literal["ok"] = "ok"
    version: str
    node: str


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    checks: dict[str, str]


@router.get("/healthz")
async def healthz(context: ContextDep) -> Health:
    return Health(version=__version__, node=context.node_name)


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(context: ContextDep) -> Readiness | JSONResponse:
    """Ready when the database answers at the right schema and every component's check
    passes; a load balancer stops sending traffic on 503."""
    checks: dict[str, str] = {}
    try:
        await context.database.ping()
        await context.database.check_migrated()
        checks["database"] = "ok"
    except Exception as error:
        checks["database"] = f"failed: {type(error).__name__}"
    for name, check in context.readiness_checks.items():
        try:
            await check()
            checks[name] = "ok"
        except Exception as error:
            checks[name] = f"failed: {error}"
    if all(result == "ok" for result in checks.values()):
        return Readiness(status="ready", checks=checks)
    body = Readiness(status="not ready", checks=checks)
    return JSONResponse(body.model_dump(), status_code=status.HTTP_503_SERVICE_UNAVAILABLE)


@router.get("/metrics", response_class=Response)
async def metrics(context: ContextDep) -> Response:
    """Prometheus text exposition of this node's registry."""
    return Response(generate_latest(context.registry), media_type=CONTENT_TYPE_LATEST)
