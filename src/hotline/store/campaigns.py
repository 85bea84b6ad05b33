"""Outbound campaigns in the store: the campaigns, their contacts, attempts and do-not-call
lists, for the API (editing, importing, reading) and the campaign runner (dialling).

Like every repository, :class:`CampaignRepository` never commits: the API's service commits
a change with its audit entry, and the runner commits its own session after each step
(``async with database.session() as s: ...; await s.commit()``). Datetimes are aware UTC,
as in every table (``hotline.store.types.UtcDateTime`` refuses naive ones).

Contacts are deduplicated per campaign on ``primary_phone`` (a unique constraint); an
import merges a listed contact into the stored one that shares any of its numbers, so
importing the same list twice, or a list that gives a known customer a new number, never
calls anyone twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.store.models import (
    Campaign,
    CampaignAttempt,
    CampaignContact,
    CampaignLending,
    Department,
    DoNotCallEntry,
    Queue,
)
from hotline.store.types import utcnow

if TYPE_CHECKING:
    from hotline.dialer.contact_lists import ListedContact

MODES = ("preview", "progressive", "predictive", "robot")
CAMPAIGN_STATUSES = ("draft", "running", "paused", "stopped", "completed")
CONTACT_STATUSES = ("pending", "dialling", "done", "exhausted", "do_not_call")
OUTCOMES = (
    "answered",
    "busy",
    "no_answer",
    "machine",
    "failed",
    "abandoned",
    "congestion",
    "invalid_number",
    "do_not_call",
)
#: Rows per INSERT or per IN (...) list: well under SQLite's 32 766 bound parameters.
_BATCH = 500


@dataclass(frozen=True)
class AttemptStats:
    """A campaign's attempts: how many ended with each outcome, and how many are running."""

    outcomes: dict[str, int]
    in_progress: int


class CampaignRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- campaigns -------------------------------------------------------------------

    async def by_name(
        self, name: str, department_ids: frozenset[int] | None = None
    ) -> Campaign | None:
        query = select(Campaign).where(Campaign.name == name)
        if department_ids is not None:
            query = query.where(Campaign.department_id.in_(department_ids))
        return (await self.session.execute(query)).scalar_one_or_none()

    async def get(self, campaign_id: int) -> Campaign | None:
        return await self.session.get(Campaign, campaign_id)

    async def campaigns(
        self, department_ids: frozenset[int] | None = None, *, limit: int = 100, offset: int = 0
    ) -> Sequence[Campaign]:
        query = select(Campaign)
        if department_ids is not None:
            query = query.where(Campaign.department_id.in_(department_ids))
        query = query.order_by(Campaign.name).limit(limit).offset(offset)
        return (await self.session.execute(query)).scalars().all()

    async def add(self, campaign: Campaign) -> Campaign:
        self.session.add(campaign)
        await self.session.flush()
        return campaign

    async def update(self, campaign: Campaign, values: dict[str, Any]) -> Campaign:
        for name, value in values.items():
            setattr(campaign, name, value)
        await self.session.flush()
        return campaign

    async def delete(self, campaign: Campaign) -> None:
        # Contacts, attempts and the campaign's do-not-call entries go with it (ON DELETE
        # CASCADE); the calls' CDRs stay.
        await self.session.delete(campaign)
        await self.session.flush()

    async def running(self) -> list[Campaign]:
        """The campaigns the runner dials, highest priority first."""
        query = (
            select(Campaign)
            .where(Campaign.status == "running")
            .order_by(Campaign.priority.desc(), Campaign.id)
        )
        return list((await self.session.execute(query)).scalars().all())

    async def set_status(self, campaign_id: int, status: str) -> None:
        _check(status, CAMPAIGN_STATUSES, "campaign status")
        await self.session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(status=status, updated_at=utcnow())
            .execution_options(synchronize_session="fetch")
        )

    # --- contacts: the runner's side -------------------------------------------------

    async def candidates(
        self, campaign_id: int, now: datetime, limit: int
    ) -> list[CampaignContact]:
        """Pending contacts that are due at ``now``: the highest priority first, then those
        never tried, then the longest due, then in import order."""
        query = (
            select(CampaignContact)
            .where(
                CampaignContact.campaign_id == campaign_id,
                CampaignContact.status == "pending",
                or_(
                    CampaignContact.next_attempt_at.is_(None),
                    CampaignContact.next_attempt_at <= now,
                ),
            )
            .order_by(
                CampaignContact.priority.desc(),
                CampaignContact.next_attempt_at.asc().nulls_first(),
                CampaignContact.id,
            )
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars().all())

    async def mark(
        self,
        contact_id: int,
        *,
        status: str,
        attempts: int | None = None,
        next_attempt_at: datetime | None = None,
        last_outcome: str | None = None,
        disposition: str | None = None,
    ) -> None:
        """Set a contact's status; every other argument left None keeps its stored value."""
        _check(status, CONTACT_STATUSES, "contact status")
        values: dict[str, Any] = {"status": status}
        for name, value in (
            ("attempts", attempts),
            ("next_attempt_at", next_attempt_at),
            ("last_outcome", last_outcome),
            ("disposition", disposition),
        ):
            if value is not None:
                values[name] = value
        await self.session.execute(
            update(CampaignContact)
            .where(CampaignContact.id == contact_id)
            .values(**values)
            .execution_options(synchronize_session="fetch")
        )

    async def reset_dialling(self, campaign_id: int) -> int:
        """Contacts left ``dialling`` by a node that stopped go back to ``pending``; their
        attempts (rows and count) stay. Returns how many were reset."""
        result = await self.session.execute(
            update(CampaignContact)
            .where(
                CampaignContact.campaign_id == campaign_id,
                CampaignContact.status == "dialling",
            )
            .values(status="pending")
            .execution_options(synchronize_session="fetch")
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def counts(self, campaign_id: int) -> dict[str, int]:
        """Contacts per status, every status present (0 when none)."""
        query = (
            select(CampaignContact.status, func.count(CampaignContact.id))
            .where(CampaignContact.campaign_id == campaign_id)
            .group_by(CampaignContact.status)
        )
        counts = dict.fromkeys(CONTACT_STATUSES, 0)
        for status, count in (await self.session.execute(query)).all():
            counts[status] = int(count)
        return counts

    # --- attempts --------------------------------------------------------------------

    async def add_attempt(self, attempt: CampaignAttempt) -> None:
        self.session.add(attempt)
        await self.session.flush()

    async def finish_attempt(
        self,
        call_id: str,
        *,
        ended_at: datetime,
        outcome: str,
        sip_status: int | None = None,
        answered_at: datetime | None = None,
        connected_at: datetime | None = None,
        amd_verdict: str | None = None,
        agent: str | None = None,
        disposition: str | None = None,
    ) -> CampaignAttempt | None:
        """Complete the attempt of ``call_id`` (None: no such attempt). Optional fields left
        None keep what is stored (an answer time recorded earlier, say)."""
        _check(outcome, OUTCOMES, "outcome")
        query = select(CampaignAttempt).where(CampaignAttempt.call_id == call_id)
        attempt = (await self.session.execute(query)).scalar_one_or_none()
        if attempt is None:
            return None
        attempt.ended_at = ended_at
        attempt.outcome = outcome
        for name, value in (
            ("sip_status", sip_status),
            ("answered_at", answered_at),
            ("connected_at", connected_at),
            ("amd_verdict", amd_verdict),
            ("agent", agent),
            ("disposition", disposition),
        ):
            if value is not None:
                setattr(attempt, name, value)
        await self.session.flush()
        return attempt

    async def attempt_stats(self, campaign_id: int) -> AttemptStats:
        query = (
            select(CampaignAttempt.outcome, func.count(CampaignAttempt.id))
            .where(CampaignAttempt.campaign_id == campaign_id)
            .group_by(CampaignAttempt.outcome)
        )
        outcomes: dict[str, int] = {}
        in_progress = 0
        for outcome, count in (await self.session.execute(query)).all():
            if outcome is None:
                in_progress = int(count)
            else:
                outcomes[outcome] = int(count)
        return AttemptStats(outcomes, in_progress)

    async def attempts_page(
        self, campaign_id: int, *, limit: int, after: int | None = None
    ) -> tuple[int, list[CampaignAttempt]]:
        """(attempts in all, up to ``limit`` of them with ids above ``after``, by id)."""
        where = [CampaignAttempt.campaign_id == campaign_id]
        total = await self._count(CampaignAttempt.id, where)
        if after is not None:
            where.append(CampaignAttempt.id > after)
        query = select(CampaignAttempt).where(*where).order_by(CampaignAttempt.id).limit(limit)
        return total, list((await self.session.execute(query)).scalars().all())

    # --- contacts: the API's side ----------------------------------------------------

    async def contacts_page(
        self,
        campaign_id: int,
        *,
        status: str | None = None,
        limit: int,
        after: int | None = None,
    ) -> tuple[int, list[CampaignContact]]:
        """(matching contacts in all, up to ``limit`` of them with ids above ``after``)."""
        where = [CampaignContact.campaign_id == campaign_id]
        if status is not None:
            where.append(CampaignContact.status == status)
        total = await self._count(CampaignContact.id, where)
        if after is not None:
            where.append(CampaignContact.id > after)
        query = select(CampaignContact).where(*where).order_by(CampaignContact.id).limit(limit)
        return total, list((await self.session.execute(query)).scalars().all())

    async def merge_contacts(
        self, campaign_id: int, contacts: Sequence[ListedContact]
    ) -> tuple[int, int]:
        """Store a list's contacts: returns (added, merged into contacts already stored).

        A listed contact that shares any number with a stored contact of the campaign is
        merged into it: the new numbers are added to its phones (a number another stored
        contact already has is not), its own fields and its state (status, attempts) are
        kept, and only fields it lacks (name, time zone, external id, data keys) are filled
        from the list. The others are inserted as pending contacts, ``phones[0]`` their
        primary number.
        """
        owner: dict[str, int] = {}
        stored = select(CampaignContact.id, CampaignContact.phones).where(
            CampaignContact.campaign_id == campaign_id
        )
        for contact_id, phones in (await self.session.execute(stored)).all():
            for phone in phones or []:
                owner.setdefault(phone, contact_id)
        merges: dict[int, list[ListedContact]] = {}
        new_rows: list[dict[str, Any]] = []
        new_owner: dict[str, int] = {}  # number -> index in new_rows
        now = utcnow()
        for listed in contacts:
            if not listed.phones:
                continue
            found = next((owner[p] for p in listed.phones if p in owner), None)
            if found is not None:
                merges.setdefault(found, []).append(listed)
                continue
            index = next((new_owner[p] for p in listed.phones if p in new_owner), None)
            if index is None:  # (the list reader merges its own duplicates; this is a guard)
                index = len(new_rows)
                new_rows.append(_row(campaign_id, listed, now))
            else:
                _merge_row(new_rows[index], listed)
            for phone in new_rows[index]["phones"]:
                new_owner.setdefault(phone, index)
        for start in range(0, len(new_rows), _BATCH):
            await self.session.execute(insert(CampaignContact), new_rows[start : start + _BATCH])
        merged = 0
        ids = sorted(merges)
        for start in range(0, len(ids), _BATCH):
            query = select(CampaignContact).where(
                CampaignContact.id.in_(ids[start : start + _BATCH])
            )
            for contact in (await self.session.execute(query)).scalars():
                for listed in merges[contact.id]:
                    _merge(contact, listed, owner)
                    merged += 1
        await self.session.flush()
        return len(new_rows), merged

    # --- do-not-call -----------------------------------------------------------------

    async def do_not_call_numbers(
        self, campaign_id: int, among: Iterable[str] | None = None
    ) -> tuple[set[str], set[str]]:
        """(the global list's numbers, this campaign's own); only those ``among`` the
        given numbers when given (the runner asks about the contacts it is about to dial,
        not for a list that may hold a million numbers)."""
        query = select(DoNotCallEntry.number, DoNotCallEntry.campaign_id).where(
            or_(DoNotCallEntry.campaign_id.is_(None), DoNotCallEntry.campaign_id == campaign_id)
        )
        if among is not None:
            query = query.where(DoNotCallEntry.number.in_(list(among)))
        everywhere: set[str] = set()
        own: set[str] = set()
        for number, owner in (await self.session.execute(query)).all():
            (everywhere if owner is None else own).add(number)
        return everywhere, own

    async def do_not_call_page(
        self, campaign_id: int | None, *, limit: int, after: int | None = None
    ) -> tuple[int, list[DoNotCallEntry]]:
        """One list's entries (``campaign_id`` None: the global list), by id."""
        where = [_dnc_list(campaign_id)]
        total = await self._count(DoNotCallEntry.id, where)
        if after is not None:
            where.append(DoNotCallEntry.id > after)
        query = select(DoNotCallEntry).where(*where).order_by(DoNotCallEntry.id).limit(limit)
        return total, list((await self.session.execute(query)).scalars().all())

    async def add_do_not_call(
        self,
        campaign_id: int | None,
        numbers: Iterable[str],
        *,
        reason: str | None,
        added_by: str | None,
    ) -> tuple[list[str], list[str]]:
        """Add numbers to one list: returns (added, already on it). Pending contacts of the
        campaign (of every campaign, for the global list) with a primary number now listed
        become ``do_not_call``."""
        wanted = list(dict.fromkeys(numbers))
        present: set[str] = set()
        for start in range(0, len(wanted), _BATCH):
            query = select(DoNotCallEntry.number).where(
                _dnc_list(campaign_id), DoNotCallEntry.number.in_(wanted[start : start + _BATCH])
            )
            present.update((await self.session.execute(query)).scalars())
        added = [number for number in wanted if number not in present]
        now = utcnow()
        rows = [
            {
                "number": number,
                "campaign_id": campaign_id,
                "reason": reason,
                "added_at": now,
                "added_by": added_by,
            }
            for number in added
        ]
        for start in range(0, len(rows), _BATCH):
            await self.session.execute(insert(DoNotCallEntry), rows[start : start + _BATCH])
        for start in range(0, len(added), _BATCH):
            where = [
                CampaignContact.status == "pending",
                CampaignContact.primary_phone.in_(added[start : start + _BATCH]),
            ]
            if campaign_id is not None:
                where.append(CampaignContact.campaign_id == campaign_id)
            await self.session.execute(
                update(CampaignContact)
                .where(*where)
                .values(status="do_not_call")
                .execution_options(synchronize_session=False)
            )
        return added, [number for number in wanted if number in present]

    async def do_not_call_entries(
        self, campaign_id: int | None, numbers: Sequence[str]
    ) -> list[DoNotCallEntry]:
        """The entries of one list for ``numbers``, in their order."""
        found: dict[str, DoNotCallEntry] = {}
        for start in range(0, len(numbers), _BATCH):
            query = select(DoNotCallEntry).where(
                _dnc_list(campaign_id), DoNotCallEntry.number.in_(numbers[start : start + _BATCH])
            )
            found.update((e.number, e) for e in (await self.session.execute(query)).scalars())
        return [found[number] for number in numbers if number in found]

    async def apply_do_not_call(self, campaign_id: int) -> int:
        """Pending contacts of the campaign whose primary number is on its list or the
        global one become ``do_not_call`` (after an import); returns how many."""
        listed = select(DoNotCallEntry.number).where(
            or_(DoNotCallEntry.campaign_id.is_(None), DoNotCallEntry.campaign_id == campaign_id)
        )
        result = await self.session.execute(
            update(CampaignContact)
            .where(
                CampaignContact.campaign_id == campaign_id,
                CampaignContact.status == "pending",
                CampaignContact.primary_phone.in_(listed),
            )
            .values(status="do_not_call")
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def do_not_call_entry(self, entry_id: int) -> DoNotCallEntry | None:
        return await self.session.get(DoNotCallEntry, entry_id)

    async def delete_do_not_call(self, entry_id: int) -> None:
        await self.session.execute(delete(DoNotCallEntry).where(DoNotCallEntry.id == entry_id))

    # --- the runner's names, the agent's disposition ----------------------------------

    async def queue_and_department_names(
        self, campaigns: Sequence[Campaign]
    ) -> dict[int, tuple[str | None, str | None]]:
        """Campaign id -> (its queue's name, its department's name), as the ACD names them."""
        queue_ids = {c.queue_id for c in campaigns if c.queue_id is not None}
        department_ids = {c.department_id for c in campaigns}
        queues: dict[int, str] = {
            queue_id: name
            for queue_id, name in await self.session.execute(
                select(Queue.id, Queue.name).where(Queue.id.in_(queue_ids))
            )
        }
        departments: dict[int, str] = {
            department_id: name
            for department_id, name in await self.session.execute(
                select(Department.id, Department.name).where(Department.id.in_(department_ids))
            )
        }
        return {
            c.id: (
                queues.get(c.queue_id) if c.queue_id is not None else None,
                departments.get(c.department_id),
            )
            for c in campaigns
        }

    async def attempt_of_call(self, call_id: str) -> tuple[CampaignAttempt, CampaignContact] | None:
        """The attempt a call was placed for, with its contact (None: not a campaign call)."""
        query = (
            select(CampaignAttempt, CampaignContact)
            .join(CampaignContact, CampaignContact.id == CampaignAttempt.contact_id)
            .where(CampaignAttempt.call_id == call_id)
        )
        row = (await self.session.execute(query)).first()
        return (row[0], row[1]) if row is not None else None

    async def set_disposition(self, call_id: str, code: str) -> bool:
        """The agent's wrap-up code of a campaign call becomes its attempt's and its
        contact's disposition; False when the call was not a campaign's."""
        found = await self.attempt_of_call(call_id)
        if found is None:
            return False
        attempt, contact = found
        attempt.disposition = code
        contact.disposition = code
        await self.session.flush()
        return True

    # --- lendings of agents ------------------------------------------------------------

    async def lendings(self, campaign_id: int) -> list[CampaignLending]:
        query = (
            select(CampaignLending)
            .where(CampaignLending.campaign_id == campaign_id)
            .order_by(CampaignLending.starts_at, CampaignLending.id)
        )
        return list((await self.session.execute(query)).scalars().all())

    async def add_lending(self, lending: CampaignLending) -> CampaignLending:
        self.session.add(lending)
        await self.session.flush()
        return lending

    async def lending(self, campaign_id: int, lending_id: int) -> CampaignLending | None:
        lending = await self.session.get(CampaignLending, lending_id)
        return lending if lending is not None and lending.campaign_id == campaign_id else None

    async def delete_lending(self, lending: CampaignLending) -> None:
        await self.session.delete(lending)
        await self.session.flush()

    # --- helpers ---------------------------------------------------------------------

    async def _count(self, column: Any, where: Sequence[Any]) -> int:
        query = select(func.count(column)).where(and_(*where))
        return int((await self.session.execute(query)).scalar_one())


def _check(value: str, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}: one of {', '.join(allowed)}")


def _dnc_list(campaign_id: int | None) -> Any:
    if campaign_id is None:
        return DoNotCallEntry.campaign_id.is_(None)
    return DoNotCallEntry.campaign_id == campaign_id


def _row(campaign_id: int, listed: ListedContact, now: datetime) -> dict[str, Any]:
    phones = list(dict.fromkeys(listed.phones))
    # Cut to the columns' lengths: PostgreSQL refuses longer values (SQLite would keep them).
    return {
        "campaign_id": campaign_id,
        "name": (listed.name or "")[:200],
        "phones": phones,
        "primary_phone": phones[0],
        "time_zone": listed.time_zone[:64] if listed.time_zone else None,
        "external_id": listed.external_id[:128] if listed.external_id else None,
        "priority": listed.priority or 0,
        "data": dict(listed.data),
        "status": "pending",
        "attempts": 0,
        "source_line": listed.line,
        "created_at": now,
    }


def _merge_row(row: dict[str, Any], listed: ListedContact) -> None:
    row["phones"] = list(dict.fromkeys([*row["phones"], *listed.phones]))
    row["data"] = {**dict(listed.data), **row["data"]}


def _merge(contact: CampaignContact, listed: ListedContact, owner: dict[str, int]) -> None:
    phones = list(contact.phones or [])
    for phone in listed.phones:
        if phone not in phones and owner.get(phone, contact.id) == contact.id:
            phones.append(phone)
            owner[phone] = contact.id
    contact.phones = phones  # a new list: the JSON column sees the change
    if not contact.name and listed.name:
        contact.name = listed.name[:200]
    if contact.time_zone is None and listed.time_zone:
        contact.time_zone = listed.time_zone[:64]
    if contact.external_id is None and listed.external_id:
        contact.external_id = listed.external_id[:128]
    contact.data = {**dict(listed.data), **(contact.data or {})}
