"""Campaigns as they run, through the API: lendings of a department's agents (scoped, audited,
announced as a configuration change), the live figures from the node's dialler, the agent
desktop's preview (next, dial, skip), and the agent's wrap-up code as the attempt's
disposition."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from hotline.acd import Acd, AgentProfile, QueueConfig
from hotline.calls.routing import Destination
from hotline.events.bus import EventBus
from hotline.ivr.catalog import FlowCatalog
from hotline.services.campaign_dialler import CampaignDialler
from hotline.store.models import AuditEntry, CampaignAttempt, CampaignContact
from hotline.store.types import utcnow
from tests.unit.api.conftest import World
from tests.unit.api.test_campaigns import create

BASE = "/api/v1/campaigns"


@dataclass
class Telephony:
    """The dialler's view of telephony: records what it was asked to place."""

    placed: list[tuple[str, str]] = field(default_factory=list)

    def dial_campaign(self, number: str, destination: Destination, **options: Any) -> str:
        self.placed.append(("campaign", number))
        return f"k{len(self.placed)}"

    def originate(self, agent: str, number: str, group: str | None, caller_id: str | None) -> str:
        self.placed.append((agent, number))
        return f"k{len(self.placed)}"


def dialler(world: World) -> tuple[CampaignDialler, Telephony]:
    acd = Acd()
    acd.configure_queue(QueueConfig(name="queue A"))
    acd.add_agent(AgentProfile(agent_id="100", queues={"queue A": 0}))
    acd.agent_login(0.0, "100")
    telephony = Telephony()
    found = CampaignDialler(
        world.context.database, telephony, acd, FlowCatalog(), EventBus(), lambda: 0.0
    )
    world.context.campaigns = found
    return found, telephony


def period(hours: float = 1.0) -> dict[str, str]:
    now = utcnow()
    return {
        "starts_at": (now - timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(hours=hours)).isoformat(),
    }


async def test_lendings_are_scoped_audited_and_checked(world: World, clients) -> None:
    admin, supervisor = clients["admin"], clients["supervisor"]
    await create(world, admin)
    lend_b = {"department_id": world.ids["dept_B"], **period(), "note": "low season"}
    # A supervisor of A cannot borrow B's agents; an administrator can.
    assert (await supervisor.post(f"{BASE}/renewals/lendings", json=lend_b)).status_code == 403
    created = await admin.post(f"{BASE}/renewals/lendings", json=lend_b)
    assert created.status_code == 201, created.text
    lending = created.json()
    assert (lending["member_priority"], lending["created_by"]) == (1, "admin")
    own = {"department_id": world.ids["dept_A"], **period(2), "member_priority": 2}
    assert (await supervisor.post(f"{BASE}/renewals/lendings", json=own)).status_code == 201
    listed = (await supervisor.get(f"{BASE}/renewals/lendings")).json()
    assert [item["department_id"] for item in listed] == [world.ids["dept_B"], world.ids["dept_A"]]
    backwards = {"department_id": world.ids["dept_A"], **period()}
    backwards["starts_at"], backwards["ends_at"] = backwards["ends_at"], backwards["starts_at"]
    refused = await admin.post(f"{BASE}/renewals/lendings", json=backwards)
    assert refused.status_code == 422
    assert "ends_at must be after starts_at" in refused.text
    assert (await supervisor.delete(f"{BASE}/renewals/lendings/{lending['id']}")).status_code == 403
    assert (await admin.delete(f"{BASE}/renewals/lendings/{lending['id']}")).status_code == 204
    assert (await admin.delete(f"{BASE}/renewals/lendings/{lending['id']}")).status_code == 404
    assert (await clients["agent"].get(f"{BASE}/renewals/lendings")).status_code == 403
    async with world.context.database.session() as session:
        actions = (
            await session.execute(
                select(AuditEntry.action).where(AuditEntry.resource == "campaign-lendings")
            )
        ).scalars()
        assert list(actions) == ["create", "create", "delete"]


async def test_the_live_figures_come_from_the_dialler(world: World, clients) -> None:
    admin = clients["admin"]
    await create(world, admin)
    assert (await admin.get(f"{BASE}/renewals/live")).status_code == 503  # no dialler
    found, _ = dialler(world)
    live = (await admin.get(f"{BASE}/renewals/live")).json()
    assert (live["status"], live["running_here"], live["figures"]) == ("draft", False, None)
    assert (await admin.post(f"{BASE}/renewals/start")).status_code == 200
    await found.reload(0.0)
    live = (await admin.get(f"{BASE}/renewals/live")).json()
    assert live["running_here"] is True
    assert live["figures"]["agents_ready"] == 1
    assert live["figures"]["abandon_target"] == 0.03
    assert (await clients["supervisor_b"].get(f"{BASE}/renewals/live")).status_code == 404


async def contacts(world: World, campaign_id: int, *phones: str) -> None:
    async with world.context.database.session() as session:
        for phone in phones:
            session.add(
                CampaignContact(
                    campaign_id=campaign_id,
                    name=f"contact {phone}",
                    phones=[phone],
                    primary_phone=phone,
                    data={"plan": "gold"},
                )
            )
        await session.commit()


async def test_an_agent_previews_dials_and_skips_contacts(world: World, clients) -> None:
    admin, agent = clients["admin"], clients["agent"]
    always = {"mon-sun": "00:00-24:00"}
    created = await create(world, admin, mode="preview", calling_hours=always)
    await contacts(world, created["id"], "+8613800138001", "+8613800138002")
    found, telephony = dialler(world)
    await admin.post(f"{BASE}/renewals/start")
    await found.reload(0.0)
    status = (await agent.get("/api/v1/desk/preview")).json()
    assert status == {"serves": True, "card": None}
    shown = await agent.post("/api/v1/desk/preview/next")
    assert shown.status_code == 200, shown.text
    card = shown.json()
    assert (card["campaign"], card["number"], card["data"]) == (
        "renewals",
        "+8613800138001",
        {"plan": "gold"},
    )
    assert (await agent.post("/api/v1/desk/preview/next")).json() == card  # still theirs
    assert (await agent.get("/api/v1/desk/preview")).json() == {"serves": True, "card": card}
    # An administrator has no desk of their own.
    assert (await admin.post("/api/v1/desk/preview/next")).status_code == 403
    skipped = await agent.post(f"/api/v1/desk/preview/{card['contact_id']}/skip")
    assert skipped.status_code == 204
    card = (await agent.post("/api/v1/desk/preview/next")).json()
    assert card["number"] == "+8613800138002"
    assert (await agent.post("/api/v1/desk/preview/999/dial")).status_code == 404
    dialled = await agent.post(f"/api/v1/desk/preview/{card['contact_id']}/dial")
    assert dialled.status_code == 201, dialled.text
    assert telephony.placed == [("100", "+8613800138002")]
    assert (await agent.post("/api/v1/desk/preview/next")).status_code == 204  # none left now


async def test_the_agents_wrap_up_code_is_the_attempts_disposition(world: World, clients) -> None:
    created = await create(world, clients["admin"])
    await contacts(world, created["id"], "+8613800000000")
    async with world.context.database.session() as session:
        contact = (await session.execute(select(CampaignContact))).scalar_one()
        session.add(
            CampaignAttempt(
                campaign_id=created["id"],
                contact_id=contact.id,
                call_id="call-A-0",  # the seeded CDR that agent 100 handled
                number="+8613800000000",
                started_at=datetime(2026, 5, 4, 9, 0, tzinfo=UTC),
            )
        )
        await session.commit()
    wrapped = await clients["agent"].post(
        "/api/v1/live/agents/100/wrapup", json={"call_id": "call-A-0", "code": "sale"}
    )
    assert wrapped.status_code == 204, wrapped.text
    async with world.context.database.session() as session:
        attempt = (await session.execute(select(CampaignAttempt))).scalar_one()
        contact = (await session.execute(select(CampaignContact))).scalar_one()
        assert (attempt.disposition, contact.disposition) == ("sale", "sale")
