"""The campaign repository as the runner and the API use it, on SQLite and PostgreSQL:
due contacts in order, marks, restarts, attempts linked to their calls, do-not-call lists
(global and per campaign, no duplicates even where NULLs are distinct) and list merges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from hotline.dialer.contact_lists import ListedContact
from hotline.store.campaigns import CampaignRepository
from hotline.store.database import Database
from hotline.store.models import (
    Campaign,
    CampaignAttempt,
    CampaignContact,
    Department,
    DoNotCallEntry,
    Queue,
)

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


def listed(line: int, *phones: str, name: str = "", **data: str) -> ListedContact:
    return ListedContact(
        line=line,
        lines=(line,),
        phones=tuple(phones),
        name=name,
        time_zone=None,
        external_id=None,
        priority=0,
        data=data,
    )


async def _campaign(database: Database, name: str = "renewals", **values: Any) -> int:
    async with database.session() as session:
        department = Department(name=f"dept {name}")
        session.add(department)
        await session.flush()
        queue = Queue(name=f"queue {name}", department_id=department.id)
        session.add(queue)
        await session.flush()
        campaign = Campaign(name=name, department_id=department.id, queue_id=queue.id, **values)
        session.add(campaign)
        await session.commit()
        return campaign.id


async def test_defaults_and_running_campaigns_by_priority(database: Database) -> None:
    low = await _campaign(database, "low", status="running")
    high = await _campaign(database, "high", status="running", priority=5)
    await _campaign(database, "draft")
    async with database.session() as session:
        repo = CampaignRepository(session)
        running = await repo.running()
        assert [c.id for c in running] == [high, low]
        campaign = running[1]
        assert (campaign.mode, campaign.abandon_target, campaign.max_ratio) == (
            "progressive",
            0.03,
            3.0,
        )
        assert (campaign.default_region, campaign.default_time_zone) == ("CN", "Asia/Shanghai")
        assert campaign.amd_enabled is False
        assert campaign.machine_action == "hangup"
        assert campaign.created_at.tzinfo is not None
        await repo.set_status(high, "paused")
        await session.commit()
        assert [c.id for c in await repo.running()] == [low]
        with pytest.raises(ValueError, match="unknown campaign status 'bogus'"):
            await repo.set_status(low, "bogus")


async def test_candidates_are_due_pending_contacts_in_order(database: Database) -> None:
    campaign_id = await _campaign(database)
    rows = [
        # (phone, priority, next attempt, status)
        ("+8613800000001", 0, None, "pending"),
        ("+8613800000002", 0, NOW - timedelta(minutes=5), "pending"),
        ("+8613800000003", 0, NOW + timedelta(minutes=5), "pending"),  # not due yet
        ("+8613800000004", 1, NOW - timedelta(minutes=1), "pending"),
        ("+8613800000005", 0, None, "done"),
        ("+8613800000006", 0, NOW - timedelta(minutes=9), "pending"),
        ("+8613800000007", 0, None, "pending"),
    ]
    async with database.session() as session:
        for phone, priority, due, status in rows:
            session.add(
                CampaignContact(
                    campaign_id=campaign_id,
                    phones=[phone],
                    primary_phone=phone,
                    priority=priority,
                    next_attempt_at=due,
                    status=status,
                )
            )
        await session.commit()
        repo = CampaignRepository(session)
        found = await repo.candidates(campaign_id, NOW, 10)
        assert [c.primary_phone[-1] for c in found] == ["4", "1", "7", "6", "2"]
        assert len(await repo.candidates(campaign_id, NOW, 2)) == 2
        assert await repo.candidates(campaign_id + 1, NOW, 10) == []


async def test_mark_reset_after_restart_and_counts(database: Database) -> None:
    campaign_id = await _campaign(database)
    async with database.session() as session:
        repo = CampaignRepository(session)
        added, merged = await repo.merge_contacts(
            campaign_id, [listed(2, "+8613800000001"), listed(3, "+8613800000002")]
        )
        await session.commit()
        assert (added, merged) == (2, 0)
        first, second = await repo.candidates(campaign_id, NOW, 10)
        await repo.mark(first.id, status="dialling", attempts=1)
        await repo.mark(second.id, status="dialling", attempts=1)
        await repo.add_attempt(
            CampaignAttempt(
                campaign_id=campaign_id,
                contact_id=first.id,
                call_id="call-1",
                number=first.primary_phone,
                started_at=NOW,
            )
        )
        later = NOW + timedelta(hours=1)
        await repo.mark(second.id, status="pending", next_attempt_at=later, last_outcome="busy")
        await session.commit()
    # The node stopped while call-1 rang; on start the runner resets its campaigns.
    async with database.session() as session:
        repo = CampaignRepository(session)
        assert await repo.counts(campaign_id) == {
            "pending": 1,
            "dialling": 1,
            "done": 0,
            "exhausted": 0,
            "do_not_call": 0,
        }
        assert await repo.reset_dialling(campaign_id) == 1
        await session.commit()
        contacts = (
            (await session.execute(select(CampaignContact).order_by(CampaignContact.id)))
            .scalars()
            .all()
        )
        assert [(c.status, c.attempts) for c in contacts] == [("pending", 1), ("pending", 1)]
        assert contacts[1].next_attempt_at == NOW + timedelta(hours=1)
        assert contacts[1].last_outcome == "busy"
        attempts = (await session.execute(select(CampaignAttempt))).scalars().all()
        assert [a.call_id for a in attempts] == ["call-1"]  # the attempt is not lost
        with pytest.raises(ValueError, match="contact status"):
            await repo.mark(contacts[0].id, status="finished")


async def test_finish_attempt_links_the_call_and_keeps_earlier_times(database: Database) -> None:
    campaign_id = await _campaign(database)
    async with database.session() as session:
        repo = CampaignRepository(session)
        await repo.merge_contacts(campaign_id, [listed(2, "+8613800000001")])
        (contact,) = await repo.candidates(campaign_id, NOW, 1)
        await repo.add_attempt(
            CampaignAttempt(
                campaign_id=campaign_id,
                contact_id=contact.id,
                call_id="call-7",
                number=contact.primary_phone,
                started_at=NOW,
                answered_at=NOW + timedelta(seconds=9),
            )
        )
        await session.commit()
        assert await repo.finish_attempt("nope", ended_at=NOW, outcome="failed") is None
        attempt = await repo.finish_attempt(
            "call-7",
            ended_at=NOW + timedelta(minutes=3),
            outcome="answered",
            sip_status=200,
            connected_at=NOW + timedelta(seconds=10),
            agent="1001",
            disposition="sale",
        )
        await session.commit()
        assert attempt is not None
    async with database.session() as session:
        stored = (await session.execute(select(CampaignAttempt))).scalar_one()
        assert stored.answered_at == NOW + timedelta(seconds=9)
        assert stored.connected_at == NOW + timedelta(seconds=10)
        assert (stored.outcome, stored.sip_status, stored.agent, stored.disposition) == (
            "answered",
            200,
            "1001",
            "sale",
        )
        stats = await CampaignRepository(session).attempt_stats(campaign_id)
        assert (stats.outcomes, stats.in_progress) == ({"answered": 1}, 0)
        # call_id is unique: one attempt per call, one CDR per attempt.
        session.add(
            CampaignAttempt(
                campaign_id=campaign_id,
                contact_id=stored.contact_id,
                call_id="call-7",
                number="+8613800000001",
                started_at=NOW,
            )
        )
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_merge_unions_phones_and_keeps_state_and_data(database: Database) -> None:
    campaign_id = await _campaign(database)
    other = await _campaign(database, "other")
    async with database.session() as session:
        repo = CampaignRepository(session)
        first = [
            listed(2, "+8613800000001", name="Li Lei", plan="gold"),
            listed(3, "+8613800000002"),
        ]
        assert await repo.merge_contacts(campaign_id, first) == (2, 0)
        assert await repo.merge_contacts(other, first[:1]) == (1, 0)  # lists are per campaign
        (li,) = [c for c in await repo.candidates(campaign_id, NOW, 10) if c.name == "Li Lei"]
        await repo.mark(li.id, status="done", attempts=2, disposition="sale")
        await session.commit()
        again = [
            # Li Lei again, under a second number and a new plan; a new contact.
            listed(2, "+8613900000009", "+8613800000001", plan="silver", city="Shanghai"),
            listed(3, "+8613800000003", name="Han Meimei"),
        ]
        assert await repo.merge_contacts(campaign_id, again) == (1, 1)
        await session.commit()
    async with database.session() as session:
        contacts = (
            (
                await session.execute(
                    select(CampaignContact)
                    .where(CampaignContact.campaign_id == campaign_id)
                    .order_by(CampaignContact.id)
                )
            )
            .scalars()
            .all()
        )
        assert [c.primary_phone for c in contacts] == [
            "+8613800000001",
            "+8613800000002",
            "+8613800000003",
        ]
        li = contacts[0]
        assert li.phones == ["+8613800000001", "+8613900000009"]
        assert li.data == {"plan": "gold", "city": "Shanghai"}
        assert (li.status, li.attempts, li.disposition) == ("done", 2, "sale")
        assert contacts[2].name == "Han Meimei"
        assert contacts[2].source_line == 3


async def test_do_not_call_lists_global_and_per_campaign(database: Database) -> None:
    campaign_id = await _campaign(database)
    other = await _campaign(database, "other")
    async with database.session() as session:
        repo = CampaignRepository(session)
        await repo.merge_contacts(
            campaign_id, [listed(2, "+8613800000001"), listed(3, "+8613800000002")]
        )
        await repo.merge_contacts(other, [listed(2, "+8613800000002")])
        added, present = await repo.add_do_not_call(
            None, ["+8613800000001", "+8613800000001"], reason="asked", added_by="admin"
        )
        assert (added, present) == (["+8613800000001"], [])
        assert await repo.add_do_not_call(None, ["+8613800000001"], reason=None, added_by=None) == (
            [],
            ["+8613800000001"],
        )
        await repo.add_do_not_call(campaign_id, ["+8613800000002"], reason=None, added_by=None)
        await session.commit()
        assert await repo.do_not_call_numbers(campaign_id) == (
            {"+8613800000001"},
            {"+8613800000002"},
        )
        assert await repo.do_not_call_numbers(other) == ({"+8613800000001"}, set())
        # Pending contacts with a listed number are not dialled any more.
        assert (await repo.counts(campaign_id))["do_not_call"] == 2
        assert (await repo.counts(other))["pending"] == 1
        total, page = await repo.do_not_call_page(None, limit=10)
        assert (total, [e.number for e in page]) == (1, ["+8613800000001"])


async def test_the_global_list_cannot_hold_a_number_twice(database: Database) -> None:
    """A unique (number, campaign_id) alone would allow it: NULLs are distinct."""
    campaign_id = await _campaign(database)
    async with database.session() as session:
        session.add(DoNotCallEntry(number="+8613800000001"))
        session.add(DoNotCallEntry(number="+8613800000001", campaign_id=campaign_id))
        await session.commit()
        session.add(DoNotCallEntry(number="+8613800000001"))
        with pytest.raises(IntegrityError):
            await session.commit()
    async with database.session() as session:
        session.add(DoNotCallEntry(number="+8613800000001", campaign_id=campaign_id))
        with pytest.raises(IntegrityError):
            await session.commit()


async def test_deleting_a_campaign_deletes_its_contacts_attempts_and_list(
    database: Database,
) -> None:
    campaign_id = await _campaign(database)
    async with database.session() as session:
        repo = CampaignRepository(session)
        await repo.merge_contacts(campaign_id, [listed(2, "+8613800000001")])
        (contact,) = await repo.candidates(campaign_id, NOW, 1)
        await repo.add_attempt(
            CampaignAttempt(
                campaign_id=campaign_id, contact_id=contact.id, call_id="c1", number="+86138"
            )
        )
        await repo.add_do_not_call(campaign_id, ["+8613800000009"], reason=None, added_by=None)
        await repo.add_do_not_call(None, ["+8613800000008"], reason=None, added_by=None)
        await session.commit()
        campaign = await repo.get(campaign_id)
        assert campaign is not None
        await repo.delete(campaign)
        await session.commit()
        for table, left in (
            ("campaign_contacts", 0),
            ("campaign_attempts", 0),
            ("do_not_call", 1),  # the global entry stays
        ):
            count = (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
            assert count == left, table


async def test_campaign_migration_downgrades_and_upgrades(database: Database) -> None:
    campaign_id = await _campaign(database)
    async with database.session() as session:
        session.add(DoNotCallEntry(number="+8613800000001", campaign_id=campaign_id))
        await session.commit()
    await database.downgrade("0008")
    async with database.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    assert not {"campaigns", "campaign_contacts", "campaign_attempts", "do_not_call"} & set(tables)
    await database.upgrade()
    await database.check_migrated()
    async with database.session() as session:
        assert (await session.execute(select(Campaign))).scalars().all() == []
