"""Statistics over the call history for the wallboard's charts."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from hotline.api.deps import PrincipalDep, SessionDep
from hotline.api.rbac import Permission
from hotline.api.schemas.stats import IntervalStats
from hotline.api.services.desk import DeskService

router = APIRouter(prefix="/stats", tags=["stats"])


@router.get("/intervals")
async def interval_stats(
    session: SessionDep,
    principal: PrincipalDep,
    day: Annotated[date, Query(description="the local day, YYYY-MM-DD")],
    minutes: Annotated[int, Query(description="interval length: 15, 30 or 60")] = 30,
    timezone: Annotated[
        str, Query(max_length=64, pattern=r"^[A-Za-z0-9_+\-/]+$", description="IANA zone")
    ] = "UTC",
) -> IntervalStats:
    """One day's calls per interval (offered, handled, abandoned, other outcomes) from the
    CDRs, by the time they started, scoped like ``GET /cdrs``."""
    principal.require(Permission.CDR_READ)
    return await DeskService(session, principal).intervals(day, minutes, timezone)
