"""The supervisor wallboard: per-queue tiles, the agent grid, today's calls by interval.

Tiles and grid are server-rendered fragments of exactly what ``GET /api/v1/live/queues``
and ``/agents`` return to the same user (the API's route functions are called, so a
supervisor sees their departments only). ``static/js/wallboard.js`` re-fetches them when
an event arrives on the events WebSocket (debounced to 100 ms, so a burst costs one fetch)
and draws the interval chart with ECharts from ``GET /api/v1/stats/intervals``. With the qa
module, live risk alerts are listed as they arrive (``static/js/wallboard_alerts.js``).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse

from hotline.api.routes import live
from hotline.api.schemas.live import LiveAgent, LiveQueue
from hotline.web.pages import Page, WallboardPage

router = APIRouter(prefix="/wallboard", include_in_schema=False)

#: Agent states in the order the tiles and the grid show them.
AGENT_STATES = ("available", "reserved", "on_call", "wrap_up", "break", "logged_out")
WALLBOARD_EVENTS = (
    "acd.agent_state_changed",
    "acd.agent_busy_changed",
    "acd.contact_queued",
    "acd.contact_offered",
    "acd.contact_connected",
    "acd.contact_ended",
    "acd.contact_abandoned",
    "acd.contact_exited",
    "calls.started",
    "calls.queued",
    "calls.connected",
    "calls.ended",
)
#: Live risk alerts (docs/qa-live-alerts.md), listed by ``static/js/wallboard_alerts.js``.
ALERT_EVENTS = ("qa.risk_alert_raised",)


async def _queues(page: Page) -> tuple[list[LiveQueue], str | None]:
    try:
        return await live.live_queues(page.session, page.user, page.context), None
    except HTTPException as error:
        return [], str(error.detail)


async def _agents(page: Page) -> tuple[list[LiveAgent], str | None]:
    try:
        agents = await live.live_agents(page.session, page.user, page.context)
    except HTTPException as error:
        return [], str(error.detail)
    return sorted(
        agents,
        key=lambda a: (AGENT_STATES.index(a.state) if a.state in AGENT_STATES else 9, a.agent_id),
    ), None


@router.get("")
async def wallboard(page: WallboardPage) -> HTMLResponse:
    queues, problem = await _queues(page)
    agents, _ = await _agents(page)
    return page.render(
        "wallboard.html",
        queues=queues,
        agents=agents,
        unavailable=problem,
        states=AGENT_STATES,
        events=",".join(WALLBOARD_EVENTS),
        alert_events=",".join(ALERT_EVENTS) if page.context.modules.get("qa") else "",
    )


@router.get("/queues")
async def queue_tiles(page: WallboardPage) -> HTMLResponse:
    queues, problem = await _queues(page)
    return page.fragment(
        "fragments/wall_queues.html", queues=queues, unavailable=problem, states=AGENT_STATES
    )


@router.get("/agents")
async def agent_grid(page: WallboardPage) -> HTMLResponse:
    agents, problem = await _agents(page)
    return page.fragment("fragments/wall_agents.html", agents=agents, unavailable=problem)
