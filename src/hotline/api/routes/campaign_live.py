"""Campaigns as they run: the live figures of a campaign, the agent desktop's preview
(the next contact, dial, skip), and lendings of a department's agents to a campaign.

The live parts ask the node's dialler (``ApiContext.campaigns``); on a node without one
(telephony not running) they answer 503. Mounted only when the dialer module is on.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response, status

from hotline.api.deps import ContextDep, PrincipalDep, SessionDep
from hotline.api.rbac import Permission
from hotline.api.routes.campaigns import NamePath
from hotline.api.routes.live_access import live_scope
from hotline.api.schemas.base import MAX_INT
from hotline.api.schemas.campaigns import (
    CampaignLiveRead,
    LendingCreate,
    LendingRead,
    LiveFiguresRead,
    PreviewCardRead,
    PreviewDialled,
    PreviewStatusRead,
)
from hotline.api.services.campaigns import CampaignService
from hotline.calls.trunk_dial import OriginateError
from hotline.services.campaign_dialler import CampaignDialler, PreviewCard

router = APIRouter(tags=["campaigns"])
ContactId = Annotated[int, Path(ge=1, le=MAX_INT)]
LendingId = Annotated[int, Path(ge=1, le=MAX_INT)]


def _dialler(context: ContextDep) -> CampaignDialler:
    if context.campaigns is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the dialler is not running")
    return context.campaigns


@router.get("/campaigns/{name}/live")
async def campaign_live(
    name: NamePath, session: SessionDep, principal: PrincipalDep, context: ContextDep
) -> CampaignLiveRead:
    """Agents, calls in flight, the abandon rate against the cap, occupancy and the pacing
    level, as this node's dialler has them now."""
    campaign = await CampaignService(session, principal).get(name)
    figures = _dialler(context).figures(campaign.id, time.time())
    return CampaignLiveRead(
        campaign=campaign.name,
        status=campaign.status,
        mode=campaign.mode,
        running_here=figures is not None,
        figures=LiveFiguresRead.model_validate(figures) if figures is not None else None,
    )


# ---- lendings ------------------------------------------------------------------------------


@router.get("/campaigns/{name}/lendings")
async def list_lendings(
    name: NamePath, session: SessionDep, principal: PrincipalDep
) -> list[LendingRead]:
    lendings = await CampaignService(session, principal).lendings(name)
    return [LendingRead.model_validate(lending) for lending in lendings]


@router.post("/campaigns/{name}/lendings", status_code=status.HTTP_201_CREATED)
async def add_lending(
    name: NamePath, body: LendingCreate, session: SessionDep, principal: PrincipalDep
) -> LendingRead:
    """Lend a department's agents to the campaign for a period (the low season's sales
    drive): meanwhile they are members of its queue, after their own queues."""
    lending = await CampaignService(session, principal).add_lending(name, body.model_dump())
    return LendingRead.model_validate(lending)


@router.delete(
    "/campaigns/{name}/lendings/{lending_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def delete_lending(
    name: NamePath, lending_id: LendingId, session: SessionDep, principal: PrincipalDep
) -> Response:
    """End a lending now (or cancel one not started)."""
    await CampaignService(session, principal).delete_lending(name, lending_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---- the agent desktop's preview -----------------------------------------------------------


async def _own_agent(session: SessionDep, principal: PrincipalDep) -> str:
    principal.require(Permission.CALLS_CONTROL)
    agent = (await live_scope(session, principal)).agent_id
    if agent is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only an agent previews contacts")
    return agent


def _card(card: PreviewCard) -> PreviewCardRead:
    return PreviewCardRead(
        campaign=card.campaign,
        contact_id=card.contact_id,
        name=card.name,
        number=card.number,
        phones=list(card.phones),
        data=card.data,
        attempts=card.attempts,
        last_outcome=card.last_outcome,
    )


@router.get("/desk/preview")
async def preview_status(
    session: SessionDep, principal: PrincipalDep, context: ContextDep
) -> PreviewStatusRead:
    """Whether the agent serves a running preview campaign (the desktop shows its card
    then) and the contact already shown to them; reserves nothing."""
    agent = await _own_agent(session, principal)
    serves, card = _dialler(context).preview_status(agent)
    return PreviewStatusRead(serves=serves, card=_card(card) if card is not None else None)


@router.post(
    "/desk/preview/next",
    responses={204: {"description": "no contact to preview now"}},
    response_model=PreviewCardRead,
)
async def preview_next(
    session: SessionDep, principal: PrincipalDep, context: ContextDep
) -> PreviewCardRead | Response:
    """The next contact of a running preview campaign the agent serves, kept for them
    until they dial or skip it (5 minutes at most); the same one while it is theirs.
    An agent not logged in is shown none."""
    agent = await _own_agent(session, principal)
    card = await _dialler(context).preview_next(agent, time.time())
    if card is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return _card(card)


@router.post("/desk/preview/{contact_id}/dial", status_code=status.HTTP_201_CREATED)
async def preview_dial(
    contact_id: ContactId, session: SessionDep, principal: PrincipalDep, context: ContextDep
) -> PreviewDialled:
    """Call the contact shown to the agent: their phone rings first, then the contact."""
    agent = await _own_agent(session, principal)
    try:
        call_id = await _dialler(context).preview_dial(agent, contact_id, time.time())
    except LookupError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    except OriginateError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
    return PreviewDialled(call_id=call_id)


@router.post(
    "/desk/preview/{contact_id}/skip",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
)
async def preview_skip(
    contact_id: ContactId, session: SessionDep, principal: PrincipalDep, context: ContextDep
) -> Response:
    """Not this contact now: back to the list, shown again in 15 minutes at the earliest."""
    agent = await _own_agent(session, principal)
    try:
        await _dialler(context).preview_skip(agent, contact_id, time.time())
    except LookupError as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(error)) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)
