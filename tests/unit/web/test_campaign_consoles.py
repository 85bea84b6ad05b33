"""The live campaign view and the agent desktop's campaign parts: tiles with the dialler's
figures (abandon rate against the cap, occupancy, pacing) and the store's whole-life
figures, for the wallboard's roles only; the preview card (next contact, call, skip, and
the API's refusals); the campaign contact on the banner of a campaign call."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hotline.calls.trunk_dial import OriginateError
from hotline.dialer.live_campaign import LiveFigures
from hotline.services.campaign_dialler import PreviewCard
from hotline.store.models import CampaignAttempt, CampaignContact
from hotline.web.i18n import LANGUAGES, Translator
from hotline.web.routes.desktop import PREVIEW_PROBLEM_KEYS
from tests.unit.api.conftest import World
from tests.unit.web.conftest import browser_login
from tests.unit.web.test_consoles import answer, live, ring_agent_100  # noqa: F401

API = "/api/v1/campaigns"
HAN = re.compile(r"[\u4e00-\u9fff]")


def figures(**values: Any) -> LiveFigures:
    base: dict[str, Any] = {
        "agents_logged_in": 4,
        "agents_ready": 1,
        "agents_talking": 3,
        "agents_wrapping": 0,
        "ringing": 2,
        "waiting": 0,
        "dialled": 120,
        "answered": 50,
        "connected": 48,
        "abandoned": 2,
        "abandon_rate": 0.04,
        "abandon_target": 0.03,
        "calls_per_agent": 1.75,
        "occupancy": 0.82,
        "carrier_pressure": 0,
    }
    return LiveFigures(**{**base, **values})


CARD = PreviewCard(
    campaign="renewals",
    campaign_id=1,
    contact_id=7,
    name="王芳",
    number="+8613800138000",
    phones=("+8613800138000", "+862168888888"),
    data={"套餐": "gold", "到期": "2026-12-31"},
    attempts=1,
    last_outcome="no_answer",
    reserved_at=0.0,
)


class FakeDialler:
    """What the API's live campaign routes ask the node's dialler."""

    def __init__(self) -> None:
        self.live: dict[int, LiveFigures] = {}
        self.card: PreviewCard | None = CARD
        self.calls: list[tuple[str, int]] = []
        self.skipped: list[tuple[str, int]] = []
        self.refuse_dial: Exception | None = None
        self.serves = True  # the agent serves a running preview campaign
        self.held: PreviewCard | None = None  # the contact already shown to them

    def figures(self, campaign_id: int, now: float) -> LiveFigures | None:
        return self.live.get(campaign_id)

    def preview_status(self, agent: str) -> tuple[bool, PreviewCard | None]:
        return self.serves, self.held

    async def preview_next(self, agent: str, now: float) -> PreviewCard | None:
        return self.card

    def _held(self, contact_id: int) -> None:
        if self.card is None or self.card.contact_id != contact_id:
            raise LookupError(f"contact {contact_id} is not shown to this agent")

    async def preview_dial(self, agent: str, contact_id: int, now: float) -> str:
        self._held(contact_id)
        if self.refuse_dial is not None:
            raise self.refuse_dial
        self.calls.append((agent, contact_id))
        self.card = None
        return "preview-1"

    async def preview_skip(self, agent: str, contact_id: int, now: float) -> None:
        self._held(contact_id)
        self.skipped.append((agent, contact_id))
        self.card = None


@pytest.fixture
def dialler(web: World) -> FakeDialler:
    fake = FakeDialler()
    web.context.campaigns = fake  # type: ignore[assignment]
    return fake


async def _campaign(web: World, name: str, dept: str = "A", **values: Any) -> int:
    body = {
        "name": name,
        "department_id": web.ids[f"dept_{dept}"],
        "queue_id": web.ids[f"queue_{dept}"],
        **values,
    }
    response = await web.clients["admin"].post(API, json=body)
    assert response.status_code == 201, response.text
    campaign_id: int = response.json()["id"]
    return campaign_id


@pytest.mark.parametrize("language", ["en", "zh-CN"])
async def test_the_live_view_shows_each_running_campaign_against_its_cap(
    web: World, clients, dialler: FakeDialler, language: str
) -> None:
    running = await _campaign(web, "renewals", mode="predictive", max_ratio=2.5)
    await _campaign(web, "quiet")  # running, but not dialled by this node
    await _campaign(web, "draft-only")  # not running: not shown
    await _campaign(web, "other-dept", "B")
    for name in ("renewals", "quiet", "other-dept"):
        assert (await clients["admin"].post(f"{API}/{name}/start")).status_code == 200
    dialler.live[running] = figures()

    supervisor = await browser_login(web, "supervisor", language)
    page = await supervisor.get("/wallboard/campaigns")
    assert page.status_code == 200, page.text
    title = re.search(r"<h1>(.*?)</h1>", page.text, re.S)
    assert title is not None
    assert bool(HAN.search(title.group(1))) == (language == "zh-CN")
    assert 'hx-trigger="every 3s"' in page.text
    tiles = re.findall(r'data-testid="campaign-tile" data-campaign="([^"]+)"', page.text)
    assert tiles == ["quiet", "renewals"]  # the supervisor's department, running ones
    tile = page.text.split('data-campaign="renewals"')[1].split("</article>")[0]
    assert 'data-rate="0.0400" data-cap="0.0300"' in tile
    assert 'class="fill over"' in tile  # 4 % is over the 3 % cap
    assert ">4.0%<" in tile
    assert ">82%<" in tile  # occupancy
    assert "1.75" in tile  # pacing level
    assert ("at most 2.5" if language == "en" else "最多 2.5") in tile
    quiet = page.text.split('data-campaign="quiet"')[1].split("</article>")[0]
    assert 'data-testid="not-live"' in quiet

    fragment = await supervisor.get("/wallboard/campaigns/tiles")
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert 'data-campaign="renewals"' in fragment.text
    wallboard = (await supervisor.get("/wallboard")).text
    assert 'href="/wallboard/campaigns"' in wallboard


async def test_the_live_view_without_a_dialler_and_for_other_roles(web: World, clients) -> None:
    await _campaign(web, "renewals")
    await clients["admin"].post(f"{API}/renewals/start")
    admin = await browser_login(web, "admin")
    page = await admin.get("/wallboard/campaigns")
    assert page.status_code == 200
    assert "The dialler is not running on this node" in page.text
    auditor = await browser_login(web, "auditor")
    assert (await auditor.get("/wallboard/campaigns")).status_code == 200
    agent = await browser_login(web, "agent")
    assert (await agent.get("/wallboard/campaigns")).status_code == 403
    assert (await agent.get("/wallboard/campaigns/tiles")).status_code == 403
    # Nothing running: said so.
    await clients["admin"].post(f"{API}/renewals/stop")
    assert "No campaign is running." in (await admin.get("/wallboard/campaigns")).text


@pytest.mark.usefixtures("live")
@pytest.mark.parametrize("language", ["en", "zh-CN"])
async def test_the_preview_card_calls_or_skips_the_next_contact(
    web: World,
    dialler: FakeDialler,
    language: str,
) -> None:
    agent = await browser_login(web, "agent", language)
    dialler.serves = False  # in no preview campaign: no card at all
    assert 'data-testid="desk-preview"' not in (await agent.get("/desktop")).text
    dialler.serves, dialler.held = True, CARD  # a contact already theirs: shown at once
    assert 'data-testid="preview-card" data-contact-id="7"' in (await agent.get("/desktop")).text
    dialler.held = None
    desktop = (await agent.get("/desktop")).text
    assert 'data-testid="desk-preview"' in desktop
    assert 'data-testid="preview-next"' in desktop

    card = await agent.post("/desktop/preview/next")
    assert card.status_code == 200, card.text
    assert 'data-testid="preview-card" data-contact-id="7"' in card.text
    for shown in ("王芳", "+8613800138000", "+862168888888", "套餐", "gold", "2026-12-31"):
        assert shown in card.text, shown
    assert ("no answer" if language == "en" else "无人接听") in card.text

    called = await agent.post("/desktop/preview/dial", data={"contact_id": "7", "name": "王芳"})
    assert called.status_code == 200, called.text
    assert dialler.calls == [("100", 7)]
    assert ("Calling 王芳" if language == "en" else "正在呼叫 王芳") in called.text
    assert 'data-testid="preview-next"' in called.text

    # Nothing due: said so, with the button to ask again.
    none = await agent.post("/desktop/preview/next")
    assert 'data-testid="preview-note"' in none.text
    assert 'data-testid="preview-next"' in none.text

    dialler.card = CARD
    skipped = await agent.post("/desktop/preview/skip", data={"contact_id": "7"})
    assert skipped.status_code == 200
    assert dialler.skipped == [("100", 7)]


@pytest.mark.usefixtures("live")
async def test_preview_refusals_say_why(
    web: World,
    dialler: FakeDialler,
) -> None:
    agent = await browser_login(web, "agent")
    gone = await agent.post("/desktop/preview/dial", data={"contact_id": "8"})
    assert gone.status_code == 404
    assert "no longer yours" in gone.text
    dialler.refuse_dial = OriginateError("conflict", "agent 100's phone is not registered")
    busy = await agent.post("/desktop/preview/dial", data={"contact_id": "7"})
    assert busy.status_code == 409
    assert "could not be placed" in busy.text
    assert "not registered" in busy.text
    assert 'data-testid="preview-next"' in busy.text
    # No dialler on the node: no card at all.
    web.context.campaigns = None
    assert 'data-testid="desk-preview"' not in (await agent.get("/desktop")).text
    refused = await agent.post("/desktop/preview/next")
    assert refused.status_code == 503
    assert "not running on this node" in refused.text


@pytest.mark.usefixtures("live")
async def test_a_campaign_call_shows_the_contact_on_the_banner(
    web: World,
    clients,
) -> None:
    campaign_id = await _campaign(web, "renewals")
    async with web.context.database.session() as session:
        contact = CampaignContact(
            campaign_id=campaign_id,
            name="王芳",
            phones=["+8613800138000"],
            primary_phone="+8613800138000",
            data={"套餐": "gold"},
            attempts=2,
        )
        session.add(contact)
        await session.flush()
        session.add(
            CampaignAttempt(
                campaign_id=campaign_id,
                contact_id=contact.id,
                call_id="c-1",
                number="+8613800138000",
            )
        )
        await session.commit()
    agent = await browser_login(web, "agent", "zh-CN")
    await agent.post("/desktop/state/available")
    ring_agent_100(web)
    answer(web, "c-1")
    banner = (await agent.get("/desktop/call")).text
    assert 'data-testid="campaign-contact"' in banner
    assert "外呼活动来电 · renewals" in banner
    assert "王芳" in banner
    assert "套餐" in banner
    assert "处理结果" in banner  # the wrap-up code becomes the disposition


def test_every_preview_refusal_is_translated() -> None:
    for language in LANGUAGES:
        t = Translator(language)
        assert all(t.has(key) for key in PREVIEW_PROBLEM_KEYS.values()), language
