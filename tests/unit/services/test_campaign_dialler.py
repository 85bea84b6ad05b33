"""The live dialler over a real store (SQLite, migrated) and a real contact centre and ACD,
with an explicit clock: contacts picked and dialled, attempts and outcomes written, retry,
do-not-call, calling hours, pause and restart. SIP is left out here (the contact centre's
commands are collected); ``tests/interop/test_campaign_sipp.py`` runs the same path with
SIPp peers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hotline.acd import Acd, AgentProfile, QueueConfig
from hotline.calls import commands as control
from hotline.calls.numbers import NumberingPlan
from hotline.calls.routing import Destination, InboundRouter
from hotline.calls.trunks import TrunkConfig, TrunkGroup, TrunkGroupConfig, trunk_states
from hotline.events import Event
from hotline.events.bus import EventBus
from hotline.ivr.catalog import FlowCatalog
from hotline.ivr.flow import Flow
from hotline.services.campaign_dialler import CampaignDialler
from hotline.services.contact_center import ContactCenter, Output
from hotline.store.database import Database
from hotline.store.models import (
    Campaign,
    CampaignAttempt,
    CampaignContact,
    Department,
    DoNotCallEntry,
    Queue,
)

PLAN = NumberingPlan(region="CN", area_code="21")
# Monday 2026-12-07 10:00 in Shanghai.
T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC).timestamp()
ALWAYS = {"mon-sun": "00:00-24:00"}


@dataclass
class Port:
    """Telephony for the dialler: the contact centre, its events handed to the dialler."""

    center: ContactCenter
    now: float = T0
    events: list[Event] = field(default_factory=list)
    commands: list[Output] = field(default_factory=list)
    placed: list[str] = field(default_factory=list)

    def take(self, outputs: list[Output]) -> list[Output]:
        for output in outputs:
            if isinstance(output, Event):
                self.events.append(output)
            else:
                self.commands.append(output)
        return outputs

    def dial_campaign(self, number: str, destination: Destination, **options: Any) -> str:
        call_id = f"k{len(self.placed) + 1}"
        self.take(
            self.center.dial_campaign(
                self.now, call_id=call_id, number=number, destination=destination, **options
            )
        )
        self.placed.append(number)
        return call_id

    def originate(self, agent: str, number: str, group: str | None, caller_id: str | None) -> str:
        call_id = f"k{len(self.placed) + 1}"
        self.take(
            self.center.originate(
                self.now,
                call_id=call_id,
                agent=agent,
                number=number,
                group=group,
                caller_id=caller_id,
            )
        )
        self.placed.append(number)
        return call_id

    def dial_of(self, call_id: str) -> control.DialTrunk:
        return next(
            c
            for c in self.commands
            if isinstance(c, control.DialTrunk) and c.leg_id.startswith(call_id)
        )

    def ring_of(self, call_id: str) -> control.RingAgent:
        return [
            c for c in self.commands if isinstance(c, control.RingAgent) and c.call_id == call_id
        ][-1]


@dataclass
class Rig:
    port: Port
    dialler: CampaignDialler
    database: Database
    campaign_id: int

    async def flush(self) -> None:
        events, self.port.events = self.port.events, []
        for event in events:
            await self.dialler.handle(event)

    async def at(self, now: float, outputs: list[Output] | None = None) -> None:
        self.port.now = now
        if outputs is not None:
            self.port.take(outputs)
        await self.flush()

    async def contacts(self) -> dict[str, CampaignContact]:
        async with self.database.session() as session:
            rows = (await session.execute(select(CampaignContact))).scalars().all()
            return {row.primary_phone: row for row in rows}

    async def attempts(self) -> list[CampaignAttempt]:
        async with self.database.session() as session:
            query = select(CampaignAttempt).order_by(CampaignAttempt.id)
            return list((await session.execute(query)).scalars().all())


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}")
    await database.upgrade()
    yield database
    await database.close()


def center() -> ContactCenter:
    acd = Acd()
    acd.configure_queue(QueueConfig(name="sales", department="sales", ring_timeout=10))
    for agent in ("1001", "1002"):
        acd.add_agent(AgentProfile(agent_id=agent, department="sales", queues={"sales": 0}))
    cc = ContactCenter(acd, InboundRouter([], {}, PLAN))
    states = trunk_states([TrunkConfig(name="telecom", host="198.51.100.1", max_channels=10)])
    group = TrunkGroup.build(TrunkGroupConfig(name="out", trunks=("telecom",)), states)
    cc.configure_trunks({"out": group}, PLAN)
    return cc


async def rig(
    database: Database,
    phones: tuple[str, ...],
    *,
    ready: tuple[str, ...] = ("1001", "1002"),
    prerender: Callable[[Flow], Awaitable[int]] | None = None,
    **campaign: Any,
) -> Rig:
    async with database.session() as session:
        department = Department(name="sales")
        session.add(department)
        await session.flush()
        queue = Queue(name="sales", department_id=department.id)
        session.add(queue)
        await session.flush()
        values: dict[str, Any] = {"status": "running", "calling_hours": ALWAYS, **campaign}
        row = Campaign(name="renewals", department_id=department.id, queue_id=queue.id, **values)
        session.add(row)
        await session.flush()
        for phone in phones:
            session.add(
                CampaignContact(campaign_id=row.id, name=phone, phones=[phone], primary_phone=phone)
            )
        await session.commit()
        campaign_id = row.id
    cc = center()
    for agent in ready:
        cc.agent_login(T0 - 60, agent)
    port = Port(cc)
    dialler = CampaignDialler(
        database, port, cc.acd, FlowCatalog(), EventBus(), lambda: port.now, prerender=prerender
    )
    return Rig(port, dialler, database, campaign_id)


PHONES = ("+8613800138001", "+8613800138002", "+8613800138003")


async def test_progressive_dials_one_contact_per_ready_agent_and_records_each_attempt(
    database: Database,
) -> None:
    r = await rig(database, PHONES)
    await r.dialler.reload(T0)
    await r.dialler.pace(T0)
    assert r.port.placed == list(PHONES[:2])  # two ready agents, two calls
    contacts = await r.contacts()
    assert [contacts[p].status for p in PHONES] == ["dialling", "dialling", "pending"]
    assert [a.call_id for a in await r.attempts()] == ["k1", "k2"]
    # k1: answered, taken by an agent, talked, hung up.
    cc = r.port.center
    await r.at(T0 + 5, cc.leg_answered(T0 + 5, "k1", r.port.dial_of("k1").leg_id))
    ring = r.port.ring_of("k1")
    await r.at(T0 + 5.5, cc.leg_answered(T0 + 5.5, "k1", ring.leg_id))
    # k2: busy.
    await r.at(T0 + 6, cc.trunk_failed(T0 + 6, "k2", r.port.dial_of("k2").leg_id, 486, "Busy"))
    await r.at(T0 + 60, cc.leg_hung_up(T0 + 60, "k1", r.port.dial_of("k1").leg_id))
    contacts = await r.contacts()
    first, second = contacts[PHONES[0]], contacts[PHONES[1]]
    assert (first.status, first.attempts, first.last_outcome) == ("done", 1, "answered")
    assert (second.status, second.attempts, second.last_outcome) == ("pending", 1, "busy")
    assert second.next_attempt_at is not None
    assert second.next_attempt_at.timestamp() == pytest.approx(T0 + 6 + 600)
    attempts = {a.call_id: a for a in await r.attempts()}
    assert (attempts["k1"].outcome, attempts["k1"].agent) == ("answered", ring.agent)
    assert attempts["k1"].connected_at is not None
    assert (attempts["k2"].outcome, attempts["k2"].sip_status) == ("busy", 486)
    # Both agents are free again once wrap-up ends: the third contact is dialled; the busy
    # one is not due yet.
    await r.dialler.pace(T0 + 61)
    assert r.port.placed[-1] == PHONES[2]


async def test_no_agent_in_two_seconds_is_an_abandon_with_the_message_and_a_late_retry(
    database: Database,
) -> None:
    r = await rig(database, PHONES[:1], ready=("1001",), abandon_message="抱歉, 稍后回电。")
    await r.dialler.reload(T0)
    await r.dialler.pace(T0)
    cc = r.port.center
    await r.at(T0 + 1, cc.agent_break(T0 + 1, "1001", "lunch"))  # the agent walks away
    await r.at(T0 + 5, cc.leg_answered(T0 + 5, "k1", r.port.dial_of("k1").leg_id))
    await r.at(T0 + 7, cc.handle_timer(T0 + 7))
    start = next(c for c in r.port.commands if isinstance(c, control.StartIvr))
    assert start.flow == f"campaign.{r.campaign_id}.abandon"
    flow = r.dialler.flows.catalog.for_call(start.flow)
    assert "抱歉" in str(flow.nodes["bye"])
    await r.at(T0 + 12, cc.ivr_hung_up(T0 + 12, "k1"))
    contact = (await r.contacts())[PHONES[0]]
    assert (contact.status, contact.last_outcome) == ("pending", "abandoned")
    assert contact.next_attempt_at is not None
    assert contact.next_attempt_at.timestamp() == pytest.approx(T0 + 12 + 86400)
    assert r.dialler.campaigns[r.campaign_id].live.state.abandon_rate == 1.0


async def test_do_not_call_numbers_are_never_dialled(database: Database) -> None:
    r = await rig(database, PHONES[:2])
    async with database.session() as session:
        session.add(DoNotCallEntry(number=PHONES[0], campaign_id=None, reason="asked"))
        await session.commit()
    await r.dialler.reload(T0)
    await r.dialler.pace(T0)
    assert r.port.placed == [PHONES[1]]
    contacts = await r.contacts()
    assert contacts[PHONES[0]].status == "do_not_call"


async def test_a_contact_outside_its_calling_hours_waits_until_they_open(
    database: Database,
) -> None:
    # 10:00 in Shanghai, but a New York number: 21:00 on Sunday there.
    new_york = "+12125550123"
    r = await rig(database, (new_york,), calling_hours={"mon-fri": "09:00-20:00"})
    await r.dialler.reload(T0)
    await r.dialler.pace(T0)
    assert r.port.placed == []
    contact = (await r.contacts())[new_york]
    assert contact.status == "pending"
    assert contact.next_attempt_at is not None
    opens = contact.next_attempt_at.astimezone(UTC)
    assert opens == datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York


async def test_a_paused_campaign_places_no_call_but_its_calls_in_progress_are_recorded(
    database: Database,
) -> None:
    r = await rig(database, PHONES)
    await r.dialler.reload(T0)
    await r.dialler.pace(T0)
    async with database.session() as session:
        row = await session.get(Campaign, r.campaign_id)
        assert row is not None
        row.status = "paused"
        await session.commit()
    await r.dialler.reload(T0 + 1)
    cc = r.port.center
    await r.at(T0 + 3, cc.trunk_failed(T0 + 3, "k1", r.port.dial_of("k1").leg_id, 480, "No"))
    await r.at(T0 + 3, cc.trunk_failed(T0 + 3, "k2", r.port.dial_of("k2").leg_id, 480, "No"))
    await r.dialler.pace(T0 + 4)
    assert len(r.port.placed) == 2
    outcomes = [a.outcome for a in await r.attempts()]
    assert outcomes == ["no_answer", "no_answer"]
    await r.dialler.reload(T0 + 6)
    assert r.campaign_id not in r.dialler.campaigns


async def test_after_a_restart_contacts_left_dialling_are_pending_again(
    database: Database,
) -> None:
    r = await rig(database, PHONES[:1])
    await r.dialler.reload(T0)
    await r.dialler.pace(T0)
    assert (await r.contacts())[PHONES[0]].status == "dialling"
    # The node stops with the call in progress; a new one starts.
    again = CampaignDialler(
        database, r.port, r.port.center.acd, FlowCatalog(), EventBus(), lambda: T0 + 30
    )
    await again.reload(T0 + 30)
    contact = (await r.contacts())[PHONES[0]]
    assert (contact.status, contact.attempts) == ("pending", 0)
    assert len(await r.attempts()) == 1  # the attempt row stays


async def test_an_unusable_trunk_group_leaves_the_contact_pending_and_slows_the_pace(
    database: Database,
) -> None:
    r = await rig(database, PHONES[:2], trunk_group="nowhere")
    await r.dialler.reload(T0)
    await r.dialler.pace(T0)
    assert r.port.placed == []
    assert {c.status for c in (await r.contacts()).values()} == {"pending"}
    assert r.dialler.campaigns[r.campaign_id].live.state.carrier_pressure(T0) == 1


async def test_no_call_is_placed_before_the_campaigns_messages_are_rendered(
    database: Database,
) -> None:
    # The abandon message must start within 2 s of the answer: a first synthesis may
    # take longer (a TTS renderer starting), so the campaign waits for its prompts.
    rendered: list[str] = []
    release = asyncio.Event()

    async def prerender(flow: Flow) -> int:
        await release.wait()
        rendered.append(flow.name)
        return 1

    r = await rig(
        database,
        PHONES[:1],
        prerender=prerender,
        amd_enabled=True,
        machine_action="message",
        machine_message="您好, 您的保单即将到期, 请回电 4000。",
    )
    await r.dialler.reload(T0)
    await r.dialler.pace(T0)
    assert r.port.placed == []
    release.set()
    for _ in range(5):
        await asyncio.sleep(0)
    await r.dialler.pace(T0 + 1)
    assert r.port.placed == list(PHONES[:1])
    base = f"campaign.{r.campaign_id}"
    assert sorted(rendered) == [f"{base}.abandon", f"{base}.machine"]
    # Read again unchanged (every few seconds), nothing is rendered twice.
    await r.dialler.reload(T0 + 5)
    await asyncio.sleep(0)
    assert len(rendered) == 2
    await r.dialler.stop()


async def test_a_campaign_whose_prompts_fail_to_render_still_dials(database: Database) -> None:
    async def prerender(flow: Flow) -> int:
        raise RuntimeError("the TTS engine is broken")

    r = await rig(database, PHONES[:1], prerender=prerender)
    await r.dialler.reload(T0)
    for _ in range(5):
        await asyncio.sleep(0)
    await r.dialler.pace(T0 + 1)
    assert r.port.placed == list(PHONES[:1])  # the message renders again when played
    await r.dialler.stop()


async def test_a_machine_gets_the_message_and_is_retried_as_a_machine(database: Database) -> None:
    r = await rig(
        database,
        PHONES[:1],
        amd_enabled=True,
        machine_action="message",
        machine_message="您好, 您的保单即将到期, 请回电 4000。",
    )
    await r.dialler.reload(T0)
    await r.dialler.pace(T0)
    cc = r.port.center
    customer = r.port.dial_of("k1").leg_id
    await r.at(T0 + 5, cc.leg_answered(T0 + 5, "k1", customer))
    assert control.DetectMachine("k1", customer, wait_for_beep=True) in r.port.commands
    await r.at(T0 + 14, cc.machine_detected(T0 + 14, "k1", "machine", "beep"))
    start = next(c for c in r.port.commands if isinstance(c, control.StartIvr))
    assert start.flow == f"campaign.{r.campaign_id}.machine"
    await r.at(T0 + 22, cc.ivr_hung_up(T0 + 22, "k1"))
    attempt = (await r.attempts())[0]
    assert (attempt.outcome, attempt.amd_verdict, attempt.disposition) == (
        "machine",
        "machine",
        "machine",
    )
    contact = (await r.contacts())[PHONES[0]]
    assert (contact.status, contact.last_outcome) == ("pending", "machine")


async def test_a_robot_campaign_keeps_its_lines_busy_with_its_flow_and_no_agent(
    database: Database,
) -> None:
    r = await rig(database, PHONES, ready=(), mode="robot", flow="reminder", robot_lines=2)
    await r.dialler.reload(T0)
    await r.dialler.pace(T0)
    assert r.port.placed == list(PHONES[:2])
    cc = r.port.center
    await r.at(T0 + 4, cc.leg_answered(T0 + 4, "k1", r.port.dial_of("k1").leg_id))
    start = next(c for c in r.port.commands if isinstance(c, control.StartIvr))
    assert start.flow == "reminder"
    await r.at(T0 + 30, cc.ivr_hung_up(T0 + 30, "k1"))
    assert (await r.attempts())[0].outcome == "answered"
    await r.dialler.pace(T0 + 31)
    assert r.port.placed == list(PHONES)


async def test_preview_shows_one_contact_per_agent_who_dials_or_skips_it(
    database: Database,
) -> None:
    r = await rig(database, PHONES, mode="preview")
    await r.dialler.reload(T0)
    await r.dialler.pace(T0)
    assert r.port.placed == []  # preview places nothing by itself
    first = await r.dialler.preview_next("1001", T0)
    second = await r.dialler.preview_next("1002", T0)
    assert first is not None
    assert second is not None
    assert (first.number, second.number) == PHONES[:2]  # never the same contact twice
    assert await r.dialler.preview_next("1001", T0 + 1) == first  # still theirs
    with pytest.raises(LookupError):
        await r.dialler.preview_dial("1002", first.contact_id, T0 + 2)
    # 1001 dials: its phone rings first, then the customer (a click-to-call).
    call_id = await r.dialler.preview_dial("1001", first.contact_id, T0 + 2)
    cc = r.port.center
    await r.at(T0 + 2)
    await r.at(T0 + 3, cc.leg_answered(T0 + 3, call_id, r.port.ring_of(call_id).leg_id))
    await r.at(T0 + 8, cc.leg_answered(T0 + 8, call_id, r.port.dial_of(call_id).leg_id))
    await r.at(T0 + 40, cc.leg_hung_up(T0 + 40, call_id, r.port.dial_of(call_id).leg_id))
    # 1002 skips: the contact is due again later, and nobody is shown it meanwhile.
    await r.dialler.preview_skip("1002", second.contact_id, T0 + 5)
    contacts = await r.contacts()
    assert (contacts[PHONES[0]].status, contacts[PHONES[0]].last_outcome) == ("done", "answered")
    skipped = contacts[PHONES[1]]
    assert skipped.status == "pending"
    assert skipped.next_attempt_at is not None
    assert skipped.next_attempt_at.timestamp() == pytest.approx(T0 + 5 + 900)
    attempt = (await r.attempts())[0]
    assert (attempt.call_id, attempt.outcome, attempt.agent) == (call_id, "answered", "1001")
    third = await r.dialler.preview_next("1002", T0 + 6)
    assert third is not None
    assert third.number == PHONES[2]


async def test_a_preview_contact_left_alone_goes_back_to_the_list(database: Database) -> None:
    r = await rig(database, PHONES[:1], mode="preview")
    await r.dialler.reload(T0)
    card = await r.dialler.preview_next("1001", T0)
    assert card is not None
    assert (await r.contacts())[PHONES[0]].status == "dialling"
    await r.dialler.pace(T0 + 301)
    assert (await r.contacts())[PHONES[0]].status == "pending"
    again = await r.dialler.preview_next("1002", T0 + 302)
    assert again is not None
    assert again.contact_id == card.contact_id


async def test_the_live_figures_of_a_running_campaign(database: Database) -> None:
    r = await rig(database, PHONES)
    await r.dialler.reload(T0)
    await r.dialler.pace(T0)
    figures = r.dialler.figures(r.campaign_id, T0 + 1)
    assert figures is not None
    assert (figures.agents_ready, figures.ringing, figures.dialled) == (2, 2, 2)
    assert r.dialler.figures(999, T0) is None


async def test_a_campaign_with_no_contact_left_completes(database: Database) -> None:
    r = await rig(database, PHONES[:1])
    await r.dialler.reload(T0)
    await r.dialler.pace(T0)
    await r.dialler.reload(T0 + 1)  # its call is still running
    cc = r.port.center
    await r.at(T0 + 5, cc.leg_answered(T0 + 5, "k1", r.port.dial_of("k1").leg_id))
    await r.at(T0 + 5.5, cc.leg_answered(T0 + 5.5, "k1", r.port.ring_of("k1").leg_id))
    async with database.session() as session:
        assert (await session.get(Campaign, r.campaign_id)).status == "running"  # type: ignore[union-attr]
    await r.at(T0 + 30, cc.leg_hung_up(T0 + 30, "k1", r.port.dial_of("k1").leg_id))
    await r.dialler.reload(T0 + 31)
    async with database.session() as session:
        row = await session.get(Campaign, r.campaign_id)
        assert row is not None
        assert row.status == "completed"
    assert r.campaign_id not in r.dialler.campaigns


async def test_a_campaign_without_contacts_yet_keeps_running(database: Database) -> None:
    r = await rig(database, ())
    await r.dialler.reload(T0)
    async with database.session() as session:
        row = await session.get(Campaign, r.campaign_id)
        assert row is not None
        assert row.status == "running"


async def test_a_machine_without_a_message_still_hears_who_called(database: Database) -> None:
    r = await rig(database, PHONES[:1], amd_enabled=True)  # machine_action: hangup
    await r.dialler.reload(T0)
    await r.dialler.pace(T0)
    cc = r.port.center
    customer = r.port.dial_of("k1").leg_id
    await r.at(T0 + 5, cc.leg_answered(T0 + 5, "k1", customer))
    assert control.DetectMachine("k1", customer, wait_for_beep=False) in r.port.commands
    await r.at(T0 + 8, cc.machine_detected(T0 + 8, "k1", "machine", "long_greeting"))
    start = next(c for c in r.port.commands if isinstance(c, control.StartIvr))
    assert start.flow == f"campaign.{r.campaign_id}.abandon"


async def test_agents_leaving_the_campaigns_queue_leave_its_pacing(database: Database) -> None:
    r = await rig(database, PHONES)
    await r.dialler.reload(T0)
    live = r.dialler.campaigns[r.campaign_id].live
    assert live.state.logged_in == 2
    acd = r.port.center.acd
    acd.update_agent(T0 + 1, AgentProfile(agent_id="1002", department="sales", queues={}))
    await r.dialler.reload(T0 + 5)  # e.g. a lending of 1002's department ended
    assert live.state.logged_in == 1
    await r.dialler.pace(T0 + 5)
    assert len(r.port.placed) == 1


async def test_the_preview_status_reserves_nothing_and_a_logged_out_agent_sees_none(
    database: Database,
) -> None:
    r = await rig(database, PHONES[:1], mode="preview", ready=("1001",))
    await r.dialler.reload(T0)
    assert r.dialler.preview_status("1001") == (True, None)
    assert r.dialler.preview_status("1002") == (True, None)  # a member, logged out
    assert await r.dialler.preview_next("1002", T0) is None
    assert (await r.contacts())[PHONES[0]].status == "pending"  # nothing reserved
    card = await r.dialler.preview_next("1001", T0)
    assert r.dialler.preview_status("1001") == (True, card)
    assert r.dialler.preview_status("9999") == (False, None)
