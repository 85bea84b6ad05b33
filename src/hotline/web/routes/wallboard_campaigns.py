"""The live campaign view (``/wallboard/campaigns``): a tile per running or paused
campaign with what the node's dialler has now (agents, calls ringing and waiting, dialled,
answered, connected, abandoned), the abandon rate against the campaign's cap (a bar with
the cap marked), occupancy and the pacing level (calls in flight per agent, against the
most the campaign allows), and from the store the campaign's whole-life figures
(answering machines, abandon rate, contacts left).

The figures come from the API's own route function (``campaign_live``) and service
(``CampaignService.stats``), so a supervisor sees their departments' campaigns only. The
tiles are refreshed every few seconds by htmx polling, not by events: occupancy and the
pacing level move with time, not only when a call changes. Open to the wallboard's roles
(all of which hold ``campaigns:read``); served only with the dialer module, as the API.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse

from hotline.api.routes import campaign_live
from hotline.api.schemas.campaigns import CampaignLiveRead, CampaignRead
from hotline.api.services.campaigns import CampaignService, Stats
from hotline.web.pages import Page, WallboardPage

router = APIRouter(prefix="/wallboard/campaigns", include_in_schema=False)
#: How often the tiles are fetched again (seconds).
REFRESH_SECONDS = 3
SHOWN_STATUSES = ("running", "paused")


@dataclass(frozen=True)
class Tile:
    campaign: CampaignRead
    live: CampaignLiveRead | None
    stats: Stats
    #: Why there are no live figures (the dialler is not running on this node), if so.
    unavailable: str | None

    @property
    def scale(self) -> float:
        """The abandon bar's full width: twice the cap, or more when the rate is higher."""
        rate = self.live.figures.abandon_rate if self.live and self.live.figures else 0.0
        return max(self.campaign.abandon_target * 2, rate * 1.1, 0.01)


async def _tiles(page: Page) -> list[Tile]:
    service = CampaignService(page.session, page.user)
    tiles = []
    for row in await service.list(limit=1000, offset=0):
        campaign = CampaignRead.model_validate(row)
        if campaign.status not in SHOWN_STATUSES:
            continue
        live: CampaignLiveRead | None = None
        unavailable: str | None = None
        try:
            live = await campaign_live.campaign_live(
                campaign.name, page.session, page.user, page.context
            )
        except HTTPException as error:  # 503: the dialler is not running here
            unavailable = str(error.detail)
        tiles.append(Tile(campaign, live, await service.stats(campaign.name), unavailable))
    tiles.sort(key=lambda tile: (tile.campaign.status != "running", -tile.campaign.priority))
    return tiles


@router.get("")
async def campaigns_live(page: WallboardPage) -> HTMLResponse:
    return page.render(
        "wall_campaigns.html", tiles=await _tiles(page), refresh_seconds=REFRESH_SECONDS
    )


@router.get("/tiles")
async def campaign_tiles(page: WallboardPage) -> HTMLResponse:
    return page.fragment("fragments/wall_campaigns.html", tiles=await _tiles(page))
