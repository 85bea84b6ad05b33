"""The FastAPI application of a node.

Only liveness lives here so far; the REST resources, auth and RBAC arrive with the API issue.
"""

from __future__ import annotations

from typing import Literal

from fastapi import FastAPI
from pydantic import BaseModel

from hotline import __version__


class Health(BaseModel):
    """Liveness: the process answers HTTP. Readiness (DB, SIP, media) is a separate check."""

    status: Literal["ok"] = "ok"
    version: str
    node: str


def create_api(node_name: str) -> FastAPI:
    api = FastAPI(title="Hotline", version=__version__)

    @api.get("/healthz", tags=["operations"])
    async def healthz() -> Health:
        return Health(version=__version__, node=node_name)

    return api
