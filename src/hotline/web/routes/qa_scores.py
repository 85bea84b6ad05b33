"""The scorecard panel of the QA call page and the agent's scores, from the QA API's own
route functions (``api.routes.qa_scorecards``), so a page shows what the API answers the
same user (an agent their own calls, a supervisor their departments') and an override, a
dispute or a resolution made on a page is the API's action: the same checks, the same
review history and audit entries.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from fastapi import HTTPException
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.rbac import Permission, Principal
from hotline.api.routes import qa_scorecards
from hotline.api.routes.qa_scorecards import DisputeBody, OverrideBody, ScoreDetail, ScoreRead
from hotline.api.services.errors import ServiceError
from hotline.web.pages import Page

#: Item outcomes, as the scorecards write them (``qa.scorecards``).
OUTCOMES = ("passed", "failed", "not_applicable")
SCORE_STATUSES = ("auto", "reviewed", "disputed", "resolved")
Action = Literal["override", "dispute", "resolve"]


@dataclass(frozen=True)
class Panel:
    """What the call page's scorecard panel shows and offers to this user."""

    scores: list[ScoreDetail]
    can_review: bool
    can_dispute: bool


async def panel(page: Page, recording_id: str) -> Panel:
    user = page.user
    found = await qa_scorecards.list_scores(page.session, user, recording_id=recording_id)
    details = [await qa_scorecards.get_score(s.id, page.session, user) for s in found.items]
    return Panel(
        scores=details,
        can_review=user.can(Permission.QA_REVIEW),
        can_dispute=user.can(Permission.QA_DISPUTE) and user.only_self,
    )


async def my_scores(
    session: AsyncSession, principal: Principal, limit: int = 500
) -> list[ScoreRead]:
    """The caller's scores (an agent's: their own calls), newest first as the API pages them."""
    return (await qa_scorecards.list_scores(session, principal, limit=limit)).items


def daily_average(scores: list[ScoreRead]) -> list[tuple[str, float, int]]:
    """(day, average final score, calls scored) per day of the calls, oldest first: the
    agent's trend."""
    days: dict[str, list[float]] = defaultdict(list)
    for score in scores:
        if score.final_score is not None:
            days[score.started_at.date().isoformat()].append(score.final_score)
    return [
        (day, round(sum(values) / len(values), 1), len(values))
        for day, values in sorted(days.items())
    ]


async def act(page: Page, action: Action, score_id: int, form: dict[str, str]) -> str | None:
    """Do ``action`` on the score as the API would; None when done, else the API's reason
    (a missing comment, a score not disputed, another agent's call)."""
    comment = form.get("comment", "").strip()
    if not comment:
        return page.t("qa.score.comment_required")
    item = form.get("item") or None
    try:
        if action == "dispute":
            dispute = DisputeBody.model_validate({"comment": comment, "item": item})
            await qa_scorecards.dispute_score(
                score_id, dispute, page.session, page.user, page.context
            )
            return None
        total_text = form.get("total", "").strip()
        body = OverrideBody.model_validate(
            {
                "comment": comment,
                "item": item,
                # One item's outcome, or else the total itself.
                "outcome": (form.get("outcome") or None) if item else None,
                "total": float(total_text) if total_text and not item else None,
            }
        )
        route = (
            qa_scorecards.override_score if action == "override" else qa_scorecards.resolve_score
        )
        await route(score_id, body, page.session, page.user, page.context)
    except ValidationError as error:
        return "; ".join(_problem(e["loc"], e["msg"]) for e in error.errors())
    except ValueError:
        return page.t("qa.score.bad_total")
    except HTTPException as error:
        return str(error.detail)
    except ServiceError as error:
        return str(error)
    return None


def _problem(loc: tuple[int | str, ...], message: str) -> str:
    return f"{'.'.join(map(str, loc))}: {message}" if loc else message
