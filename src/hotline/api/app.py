"""The FastAPI application of a node: probes at the root, everything else under /api/v1.

Built from an :class:`ApiContext` handed in by the composition root; nothing here reaches
for globals. Service errors map to one status each, and integrity errors never surface as
500s (the services turn them into 409s).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.middleware.sessions import SessionMiddleware

from hotline import __version__
from hotline.api.context import ApiContext
from hotline.api.deps import SESSION_COOKIE
from hotline.api.metrics import ApiCollector
from hotline.api.routes import (
    agents,
    auth,
    backup,
    campaign_live,
    campaigns,
    events,
    history,
    ivr,
    live,
    live_calls,
    modules,
    operations,
    qa,
    qa_scorecards,
    recordings,
    stats,
)
from hotline.api.routes.config import config_routers
from hotline.api.services.errors import ServiceError

API_PREFIX = "/api/v1"
SESSION_MAX_AGE_S = 8 * 3600  # one shift


def create_api(context: ApiContext) -> FastAPI:
    api = FastAPI(
        title="Hotline",
        version=__version__,
        description="REST API of a Hotline node: configuration, call history, audit, events.",
    )
    api.state.context = context
    # Committed configuration changes go on the bus: the live directory and consoles follow.
    context.database.on_commit(context.bus.publish)
    api.add_middleware(
        SessionMiddleware,
        secret_key=context.secret_key,
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE_S,
        same_site="strict",
        https_only=context.secure_cookies,
    )
    context.registry.register(ApiCollector(context))

    @api.exception_handler(ServiceError)
    async def service_error(_request: Request, error: ServiceError) -> JSONResponse:
        return JSONResponse(error.body(), status_code=error.status_code)

    api.include_router(operations.router)
    v1 = APIRouter(prefix=API_PREFIX)
    v1.include_router(auth.router)
    v1.include_router(agents.router)  # the agents' list, with their live status
    for config_router in config_routers():
        v1.include_router(config_router)
    v1.include_router(ivr.router)
    v1.include_router(history.router)
    v1.include_router(recordings.router)
    v1.include_router(backup.router)
    v1.include_router(history.webhooks_router)
    v1.include_router(events.router)
    v1.include_router(live.router)
    v1.include_router(live_calls.router)
    v1.include_router(stats.router)
    v1.include_router(modules.router)
    if context.dialer:  # an optional module (settings.modules.dialer)
        v1.include_router(campaigns.router)
        v1.include_router(campaign_live.router)
    if context.modules.get("qa", True):  # settings.modules.qa (absent: its default, on)
        v1.include_router(qa.router)
        v1.include_router(qa_scorecards.router)
    api.include_router(v1)
    return api
