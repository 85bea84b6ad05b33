"""The agent desktop's and the wallboard's reads and the wrap-up, over the store.

- Screen pop: the caller's profile from the CRM cache (``customers``, matched on the number
  as it came and in E.164), their latest calls *with the department the call is for* (an
  agent normally sees only its own CDRs, but the history of the customer on the line is
  what a screen pop is for), and the IVR's variables from the live call.
- Wrap-up: a code of the agent's department and notes, completed once on the CDR of a call
  the agent handled; a second wrap-up of the same call is refused. The CDR is written by
  the call-history writer just after the call ends, so a wrap-up that arrives first waits
  for it a few seconds. Audited, and logged in the queue log as ``wrapup``.
- Interval statistics: one day's calls per 15/30/60 minutes in a time zone, scoped like
  the CDR list (a supervisor: their departments; an agent: their own calls).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.rbac import Principal
from hotline.api.schemas.live import (
    RecentContact,
    ScreenPop,
    ScreenPopCampaign,
    ScreenPopCustomer,
)
from hotline.api.schemas.stats import IntervalCount, IntervalStats
from hotline.api.services.audit import AuditService
from hotline.api.services.errors import ConflictError, InvalidError, NotFoundError
from hotline.calls.numbers import NumberError, NumberingPlan, normalize
from hotline.services.operations import CallView
from hotline.store.campaigns import CampaignRepository
from hotline.store.models import Agent, Cdr, Department, QueueLogEntry, WrapUpCode
from hotline.store.repositories import DeskRepository, HistoryRepository, Repository
from hotline.store.types import utcnow

RECENT_CONTACTS = 5
#: How long a wrap-up waits for the call's CDR to be written (the writer is asynchronous).
CDR_WAIT_S = 5.0
CDR_POLL_S = 0.1
INTERVAL_MINUTES = (15, 30, 60)


def phone_candidates(caller: str, plan: NumberingPlan | None = None) -> list[str]:
    """The caller's number as it came and in E.164 (how the CRM cache may store it)."""
    candidates = [caller]
    try:
        normalized = normalize(caller, plan or NumberingPlan())
    except NumberError:
        return candidates
    if normalized not in candidates:
        candidates.append(normalized)
    return candidates


class DeskService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self.desk = DeskRepository(session)

    async def agent(self, extension: str) -> Agent | None:
        rows = await Repository(self.session, Agent).list(extension=extension, limit=1)
        return rows[0] if rows else None

    async def agent_of_user(self, user_id: int) -> Agent | None:
        rows = await Repository(self.session, Agent).list(user_id=user_id, limit=1)
        return rows[0] if rows else None

    async def department_id(self, name: str | None) -> int | None:
        if not name:
            return None
        rows = await Repository(self.session, Department).list(name=name, limit=1)
        return rows[0].id if rows else None

    # ---- screen pop ----------------------------------------------------------------------

    async def screen_pop(self, call: CallView) -> ScreenPop:
        # The customer is who called in, or whom the agent's click-to-call dialled.
        number = call.callee if call.direction == "outbound" else call.caller
        phones = phone_candidates(number)
        customer = await self.desk.customer_by_phone(phones)
        department = await self.department_id(call.department)
        recent = await self.desk.recent_cdrs(
            phones, frozenset({department}) if department else frozenset(), RECENT_CONTACTS
        )
        return ScreenPop(
            call_id=call.call_id,
            caller=number,
            queue=call.queue,
            customer=(
                ScreenPopCustomer(
                    id=customer.id,
                    phone=customer.phone,
                    name=customer.name,
                    email=customer.email,
                    external_id=customer.external_id,
                    data=dict(customer.data or {}),
                )
                if customer
                else None
            ),
            recent=[_recent(cdr) for cdr in recent if cdr.call_id != call.call_id],
            ivr=dict(call.attributes),
            campaign=await self._campaign_contact(call.call_id),
        )

    async def _campaign_contact(self, call_id: str) -> ScreenPopCampaign | None:
        repo = CampaignRepository(self.session)
        found = await repo.attempt_of_call(call_id)
        if found is None:
            return None
        attempt, contact = found
        campaign = await repo.get(attempt.campaign_id)
        return ScreenPopCampaign(
            campaign=campaign.name if campaign is not None else "",
            contact_id=contact.id,
            name=contact.name,
            data=dict(contact.data or {}),
            attempts=contact.attempts,
        )

    # ---- wrap-up -------------------------------------------------------------------------

    async def wrapup_codes(self, agent: Agent) -> Sequence[WrapUpCode]:
        return await self.desk.wrapup_codes(agent.department_id)

    async def pending_wrapup(self, agent: Agent, hours: float = 8.0) -> Cdr | None:
        """The agent's latest handled call of the shift that has no wrap-up yet."""
        return await self.desk.unwrapped_cdr(agent.id, utcnow() - timedelta(hours=hours))

    async def wrap_up(self, agent: Agent, call_id: str, code: str, notes: str) -> Cdr:
        # Plain values: waiting for the CDR starts fresh transactions, expiring ``agent``.
        agent_id, extension = agent.id, agent.extension
        codes = {row.code for row in await self.desk.wrapup_codes(agent.department_id)}
        if code not in codes:
            raise ConflictError(f"no wrap-up code {code!r} in the agent's department")
        cdr = await self._wait_for_cdr(call_id, agent_id)
        if cdr is None:
            raise NotFoundError(f"no stored call {call_id} handled by agent {extension}")
        text = notes.strip() or None
        if not await self.desk.set_wrapup(cdr.id, code, text):
            raise ConflictError(f"call {call_id} is already wrapped up")
        # A campaign call: the code is also its attempt's and its contact's disposition.
        await CampaignRepository(self.session).set_disposition(call_id, code)
        await HistoryRepository(self.session).add_queue_log(
            QueueLogEntry(
                at=utcnow(),
                call_id=call_id,
                queue_id=cdr.queue_id,
                agent_id=agent_id,
                event="wrapup",
                data={"code": code, "notes": bool(text)},
            )
        )
        await AuditService(self.session, self.principal).record(
            "wrapup",
            "cdr",
            call_id,
            detail={"agent": extension, "code": code, "notes_chars": len(text or "")},
            department_id=cdr.department_id,
        )
        await self.session.commit()
        await self.session.refresh(cdr)
        return cdr

    async def _wait_for_cdr(self, call_id: str, agent_id: int) -> Cdr | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CDR_WAIT_S
        while True:
            cdr = await self.desk.cdr_of_agent(call_id, agent_id)
            if cdr is not None or loop.time() >= deadline:
                return cdr
            await self.session.rollback()  # a fresh snapshot for the next look
            await asyncio.sleep(CDR_POLL_S)

    # ---- interval statistics -------------------------------------------------------------

    async def intervals(self, day: date, minutes: int, timezone: str) -> IntervalStats:
        if minutes not in INTERVAL_MINUTES:
            raise InvalidError(f"minutes must be one of {INTERVAL_MINUTES}")
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidError(f"unknown time zone {timezone!r}") from None
        start = datetime(day.year, day.month, day.day, tzinfo=zone)
        end = start + timedelta(days=1)
        agent_id = None
        departments = self.principal.departments
        if self.principal.only_self:
            rows = await Repository(self.session, Agent).list(
                user_id=self.principal.user_id, limit=1
            )
            agent_id = rows[0].id if rows else -1
            departments = None
        rows_ = await self.desk.cdr_starts(
            start.astimezone(UTC), end.astimezone(UTC), departments, agent_id
        )
        # Wall-clock slots of the local day (a DST day has 23 or 25 hours of them).
        slots: dict[datetime, IntervalCount] = {}
        moment = start
        while moment < end:
            slots[moment] = IntervalCount(start=moment, offered=0, handled=0, abandoned=0, other=0)
            moment = (moment.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(zone)
        ordered = list(slots)
        for started_at, disposition in rows_:
            local = started_at.astimezone(zone)
            slot = _slot_of(ordered, local)
            count = slots[slot]
            count.offered += 1
            if disposition == "handled":
                count.handled += 1
            elif disposition == "abandoned":
                count.abandoned += 1
            else:
                count.other += 1
        return IntervalStats(
            day=day, minutes=minutes, timezone=timezone, intervals=list(slots.values())
        )


def _slot_of(starts: list[datetime], moment: datetime) -> datetime:
    """The last slot start at or before ``moment`` (``starts`` ascending, non-empty)."""
    low, high = 0, len(starts) - 1
    while low < high:
        middle = (low + high + 1) // 2
        if starts[middle] <= moment:
            low = middle
        else:
            high = middle - 1
    return starts[low]


def _recent(cdr: Cdr) -> RecentContact:
    return RecentContact(
        call_id=cdr.call_id,
        started_at=cdr.started_at,
        disposition=cdr.disposition,
        queue_id=cdr.queue_id,
        agent_id=cdr.agent_id,
        talk_seconds=cdr.talk_seconds,
        wrapup_code=cdr.wrapup_code,
        notes=cdr.notes,
    )
