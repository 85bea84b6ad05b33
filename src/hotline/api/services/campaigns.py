"""Outbound campaigns through the API: who may see and change them, what a campaign must
hold to be dialled, its status changes, contact list imports and do-not-call lists.

RBAC: ``campaigns:read`` and ``campaigns:write``, scoped by department like queues: a
supervisor sees and changes the campaigns of their departments only, and a campaign of
another department is "not found". The global do-not-call list belongs to no department:
anyone with ``campaigns:write`` may add a number to it (a customer's "do not call me" is
every department's duty), only an unscoped caller (an admin) may take one off it.

Every change is audited with the campaign's department, in the same commit as the change.
The runner (``hotline.services``) reads the same rows through
:class:`hotline.store.campaigns.CampaignRepository`; the status set here is what it obeys.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import HTTPException, status
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.rbac import Permission, Principal
from hotline.api.services.audit import AuditService
from hotline.api.services.errors import (
    ConflictError,
    FieldError,
    FieldProblem,
    InvalidError,
    NotFoundError,
)
from hotline.api.services.integrity import Integrity, merged
from hotline.dialer.calling_hours import CallingHours
from hotline.dialer.contact_lists import (
    ColumnMapping,
    ContactListError,
    LineProblem,
    header_of,
    read_contact_list,
)
from hotline.dialer.numbers import InvalidNumberError, check_region, normalize_number
from hotline.dialer.retry_rules import RetryRules
from hotline.store.campaigns import CampaignRepository
from hotline.store.models import (
    Campaign,
    CampaignLending,
    Department,
    DoNotCallEntry,
    IvrFlow,
    Queue,
)
from hotline.store.repositories import Repository

RESOURCE = "campaigns"
DNC_RESOURCE = "do-not-call"
LENDING_RESOURCE = "campaign-lendings"
#: Problems listed in an import's answer; the rest are counted.
MAX_PROBLEMS = 1000
#: The status changes the API may make: action -> (from these statuses, to this one).
#: ``completed`` (set by the runner when no contact is left) may start again after an
#: import adds contacts.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "start": (frozenset({"draft", "paused", "stopped", "completed"}), "running"),
    "pause": (frozenset({"running"}), "paused"),
    "stop": (frozenset({"draft", "running", "paused", "completed"}), "stopped"),
}


@dataclass(frozen=True)
class ImportOutcome:
    rows: int
    imported: int
    merged: int
    merged_in_file: int
    dry_run: bool
    problems: Sequence[LineProblem]
    problems_truncated: int


@dataclass(frozen=True)
class Page:
    count: int
    items: Sequence[Any]
    next: int | None


@dataclass(frozen=True)
class DoNotCallResult:
    added: Sequence[DoNotCallEntry]
    already_listed: Sequence[str]
    invalid: Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Stats:
    contacts: dict[str, int]
    attempts: dict[str, int]
    in_progress: int
    abandon_rate: float | None


class CampaignService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self.repository = CampaignRepository(session)
        self.audit = AuditService(session, principal)
        self.integrity = Integrity(session, principal)

    # --- campaigns -------------------------------------------------------------------

    async def list(self, *, limit: int, offset: int) -> Sequence[Campaign]:
        self.principal.require(Permission.CAMPAIGNS_READ)
        return await self.repository.campaigns(
            self.principal.departments, limit=limit, offset=offset
        )

    async def get(self, name: str) -> Campaign:
        self.principal.require(Permission.CAMPAIGNS_READ)
        return await self._campaign(name)

    async def _campaign(self, name: str) -> Campaign:
        campaign = await self.repository.by_name(name, self.principal.departments)
        if campaign is None:
            raise NotFoundError(f"campaign {name!r} not found")
        return campaign

    async def create(self, values: dict[str, Any]) -> Campaign:
        self.principal.require(Permission.CAMPAIGNS_WRITE)
        self.principal.require_department(values.get("department_id"))
        await self._check(values, None)
        campaign = Campaign(**values, status="draft")
        try:
            await self.repository.add(campaign)
            await self._record("create", campaign, values)
            await self.session.commit()
        except IntegrityError as error:
            await self.session.rollback()
            raise _conflict(error) from None
        return campaign

    async def update(self, name: str, values: dict[str, Any]) -> Campaign:
        self.principal.require(Permission.CAMPAIGNS_WRITE)
        campaign = await self._campaign(name)
        if "department_id" in values:
            self.principal.require_department(values["department_id"])
        await self._check(values, campaign)
        before = {key: getattr(campaign, key) for key in values}
        try:
            await self.repository.update(campaign, values)
            await self._record("update", campaign, {"before": before, "after": values})
            await self.session.commit()
        except IntegrityError as error:
            await self.session.rollback()
            raise _conflict(error) from None
        return campaign

    async def delete(self, name: str) -> None:
        self.principal.require(Permission.CAMPAIGNS_WRITE)
        campaign = await self._campaign(name)
        if campaign.status == "running":
            raise ConflictError(f"campaign {name!r} is running: stop it before deleting it")
        await self._record("delete", campaign, {"name": campaign.name})
        await self.repository.delete(campaign)
        await self.session.commit()

    async def change_status(self, name: str, action: str) -> Campaign:
        self.principal.require(Permission.CAMPAIGNS_WRITE)
        sources, target = TRANSITIONS[action]
        campaign = await self._campaign(name)
        if campaign.status not in sources:
            raise ConflictError(f"campaign {name!r} is {campaign.status}: it cannot {action}")
        before = campaign.status
        await self.repository.update(campaign, {"status": target})
        await self._record(action, campaign, {"before": before, "after": target})
        await self.session.commit()
        return campaign

    async def _check(self, values: Mapping[str, Any], item: Campaign | None) -> None:
        """The campaign as it will be after the change: what its mode needs, its parsed
        specs, and its references (visible to the caller, like every reference)."""
        await self.integrity.unique(Campaign, values, item)
        state = merged(
            values,
            item,
            ("mode", "queue_id", "flow", "amd_enabled", "machine_action", "machine_message"),
        )
        mode = state["mode"] or "progressive"
        problems: list[FieldProblem] = []

        def problem(field: str, message: str) -> None:
            problems.append(FieldProblem(("body", field), message))

        if mode == "robot" and not state["flow"]:
            problem("flow", "a robot campaign runs an IVR flow: set flow")
        if mode != "robot" and state["queue_id"] is None:
            problem("queue_id", f"a {mode} campaign's calls go to a queue's agents: set queue_id")
        if (
            state["amd_enabled"]
            and state["machine_action"] == "message"
            and not state["machine_message"]
        ):
            problem("machine_message", "machine_action message needs the machine_message text")
        if "calling_hours" in values:
            try:
                hours = CallingHours.parse(values["calling_hours"])
            except ValueError as error:
                problem("calling_hours", str(error))
            else:
                if not any(hours.windows.values()):
                    problem("calling_hours", "no day has a calling window: nobody would be called")
        if "retry_rules" in values:
            try:
                RetryRules.parse(values["retry_rules"])
            except ValueError as error:
                problem("retry_rules", str(error))
        if values.get("default_time_zone") is not None and not _known_zone(
            values["default_time_zone"]
        ):
            problem("default_time_zone", f"unknown time zone {values['default_time_zone']!r}")
        if values.get("default_region") is not None and not _known_region(values["default_region"]):
            problem("default_region", f"unknown region {values['default_region']!r}")
        if problems:
            raise FieldError(problems)
        if values.get("queue_id") is not None and getattr(item, "queue_id", None) != values.get(
            "queue_id"
        ):
            await self.integrity.require_row(Queue, int(values["queue_id"]), "queue_id")
        if values.get("flow") and getattr(item, "flow", None) != values["flow"]:
            flows = await Repository(self.session, IvrFlow).list(
                self.principal.departments, limit=1, name=values["flow"]
            )
            if not flows:
                raise ConflictError(f"flow: no IVR flow {values['flow']!r}", field="flow")

    async def _record(
        self, action: str, campaign: Campaign, detail: dict[str, Any], resource: str = RESOURCE
    ) -> None:
        await self.audit.record(
            action,
            resource,
            campaign.name,
            detail=_jsonable(detail),
            department_id=campaign.department_id,
        )

    # --- lendings of agents ---------------------------------------------------------

    async def lendings(self, name: str) -> Sequence[CampaignLending]:
        self.principal.require(Permission.CAMPAIGNS_READ)
        campaign = await self._campaign(name)
        return await self.repository.lendings(campaign.id)

    async def add_lending(self, name: str, values: dict[str, Any]) -> CampaignLending:
        """Lend a department's agents to the campaign. The lender's department must be in
        the caller's scope too: a supervisor cannot borrow another department's agents
        (an administrator can)."""
        self.principal.require(Permission.CAMPAIGNS_WRITE)
        campaign = await self._campaign(name)
        self.principal.require_department(values["department_id"])
        if campaign.queue_id is None:
            raise FieldError(
                [FieldProblem(("body", "department_id"), "a robot campaign has no agents to lend")]
            )
        if await Repository(self.session, Department).get(values["department_id"]) is None:
            raise FieldError([FieldProblem(("body", "department_id"), "no such department")])
        lending = CampaignLending(
            campaign_id=campaign.id, created_by=self.principal.username, **values
        )
        await self.repository.add_lending(lending)
        # A configuration change: the directory reloads and the lent agents join the queue.
        await self._record("create", campaign, values, resource=LENDING_RESOURCE)
        await self.session.commit()
        return lending

    async def delete_lending(self, name: str, lending_id: int) -> None:
        self.principal.require(Permission.CAMPAIGNS_WRITE)
        campaign = await self._campaign(name)
        lending = await self.repository.lending(campaign.id, lending_id)
        if lending is None:
            raise NotFoundError(f"campaign {name!r} has no lending {lending_id}")
        self.principal.require_department(lending.department_id)
        detail = {"lending": lending_id, "department_id": lending.department_id}
        await self.repository.delete_lending(lending)
        await self._record("delete", campaign, detail, resource=LENDING_RESOURCE)
        await self.session.commit()

    # --- contacts --------------------------------------------------------------------

    async def header(self, name: str, content: bytes, filename: str) -> tuple[str, ...]:
        self.principal.require(Permission.CAMPAIGNS_WRITE)
        await self._campaign(name)
        try:
            return await asyncio.to_thread(header_of, content, filename=filename)
        except ContactListError as error:
            raise InvalidError(str(error)) from None

    async def import_contacts(
        self,
        name: str,
        content: bytes,
        filename: str,
        mapping: ColumnMapping,
        *,
        dry_run: bool,
    ) -> ImportOutcome:
        """Read the list off the event loop, merge it into the campaign's contacts and
        commit (or roll back: a dry run reports exactly what an import would do)."""
        self.principal.require(Permission.CAMPAIGNS_WRITE)
        campaign = await self._campaign(name)
        region, campaign_id = campaign.default_region, campaign.id
        try:
            listed = await asyncio.to_thread(
                read_contact_list,
                content,
                filename=filename,
                mapping=mapping,
                default_region=region,
            )
        except ContactListError as error:
            raise InvalidError(str(error)) from None
        try:
            added, merged_into = await self.repository.merge_contacts(campaign_id, listed.contacts)
            await self.repository.apply_do_not_call(campaign_id)
        except IntegrityError:
            await self.session.rollback()
            raise ConflictError(
                f"campaign {name!r}: another import of its contacts ran at the same time; "
                "import the list again"
            ) from None
        outcome = ImportOutcome(
            rows=listed.rows,
            imported=added,
            merged=merged_into,
            merged_in_file=listed.merged,
            dry_run=dry_run,
            problems=listed.problems[:MAX_PROBLEMS],
            problems_truncated=max(0, len(listed.problems) - MAX_PROBLEMS),
        )
        if dry_run:
            await self.session.rollback()
            return outcome
        await self._record(
            "import",
            campaign,
            {
                "file": filename[:200],
                "rows": outcome.rows,
                "imported": added,
                "merged": merged_into,
                "problems": len(listed.problems),
            },
        )
        await self.session.commit()
        return outcome

    async def contacts(
        self, name: str, *, status: str | None, limit: int, after: int | None
    ) -> Page:
        self.principal.require(Permission.CAMPAIGNS_READ)
        campaign = await self._campaign(name)
        count, rows = await self.repository.contacts_page(
            campaign.id, status=status, limit=limit + 1, after=after
        )
        return _page(count, rows, limit)

    async def attempts(self, name: str, *, limit: int, after: int | None) -> Page:
        self.principal.require(Permission.CAMPAIGNS_READ)
        campaign = await self._campaign(name)
        count, rows = await self.repository.attempts_page(campaign.id, limit=limit + 1, after=after)
        return _page(count, rows, limit)

    async def stats(self, name: str) -> Stats:
        self.principal.require(Permission.CAMPAIGNS_READ)
        campaign = await self._campaign(name)
        attempts = await self.repository.attempt_stats(campaign.id)
        # Answered by a person: connected to an agent (or the robot), or abandoned.
        answered = attempts.outcomes.get("answered", 0)
        abandoned = attempts.outcomes.get("abandoned", 0)
        return Stats(
            contacts=await self.repository.counts(campaign.id),
            attempts=attempts.outcomes,
            in_progress=attempts.in_progress,
            abandon_rate=abandoned / (answered + abandoned) if answered + abandoned else None,
        )

    # --- do-not-call -----------------------------------------------------------------

    async def _list_owner(self, name: str | None) -> Campaign | None:
        return None if name is None else await self._campaign(name)

    async def do_not_call(self, name: str | None, *, limit: int, after: int | None) -> Page:
        """The entries of a campaign's list, or of the global list (``name`` None)."""
        self.principal.require(Permission.CAMPAIGNS_READ)
        campaign = await self._list_owner(name)
        count, rows = await self.repository.do_not_call_page(
            campaign.id if campaign else None, limit=limit + 1, after=after
        )
        return _page(count, rows, limit)

    async def add_do_not_call(
        self,
        name: str | None,
        numbers: Sequence[str],
        *,
        reason: str | None,
        default_region: str | None,
    ) -> DoNotCallResult:
        self.principal.require(Permission.CAMPAIGNS_WRITE)
        campaign = await self._list_owner(name)
        region = default_region or (campaign.default_region if campaign else "CN")
        if not _known_region(region):
            raise FieldError.one("default_region", f"unknown region {region!r}")
        valid: list[str] = []
        invalid: list[tuple[str, str]] = []
        for raw in numbers:
            try:
                valid.append(normalize_number(raw, region))
            except InvalidNumberError as error:
                invalid.append((raw, str(error)))
        campaign_id = campaign.id if campaign else None
        added, present = await self.repository.add_do_not_call(
            campaign_id, valid, reason=reason, added_by=self.principal.username
        )
        if added:
            await self.audit.record(
                "create",
                DNC_RESOURCE,
                campaign.name if campaign else "global",
                detail={"numbers": added, "reason": reason},
                department_id=campaign.department_id if campaign else None,
            )
        entries = await self.repository.do_not_call_entries(campaign_id, added)
        try:
            await self.session.commit()
        except IntegrityError as error:  # a concurrent add of the same number
            await self.session.rollback()
            raise _conflict(error) from None
        return DoNotCallResult(entries, present, invalid)

    async def delete_do_not_call(self, entry_id: int) -> None:
        self.principal.require(Permission.CAMPAIGNS_WRITE)
        entry = await self.repository.do_not_call_entry(entry_id)
        if entry is None:
            raise NotFoundError(f"do-not-call entry {entry_id} not found")
        campaign: Campaign | None = None
        if entry.campaign_id is not None:
            campaign = await self.repository.get(entry.campaign_id)
            scope = self.principal.departments
            if campaign is None or (scope is not None and campaign.department_id not in scope):
                raise NotFoundError(f"do-not-call entry {entry_id} not found")
        elif self.principal.departments is not None:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "only an admin takes a number off the global do-not-call list",
            )
        await self.audit.record(
            "delete",
            DNC_RESOURCE,
            campaign.name if campaign else "global",
            detail={"number": entry.number, "entry": entry_id},
            department_id=campaign.department_id if campaign else None,
        )
        await self.repository.delete_do_not_call(entry_id)
        await self.session.commit()


def _page(count: int, rows: Sequence[Any], limit: int) -> Page:
    items = list(rows[:limit])
    more = len(rows) > limit
    return Page(count, items, items[-1].id if more and items else None)


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _known_region(region: str) -> bool:
    try:
        check_region(region)
    except ValueError:
        return False
    return True


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(key): _jsonable(element) for key, element in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(element) for element in value]
    return str(value)


def _conflict(error: IntegrityError) -> ConflictError:
    reason = str(error.orig).splitlines()[0] if error.orig is not None else "constraint"
    return ConflictError(f"campaigns: conflicts with existing data: {reason}")
