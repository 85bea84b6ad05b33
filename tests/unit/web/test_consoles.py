"""The agent desktop and the wallboard over a real ContactCenter and database: every page
and fragment renders in both languages for its roles, actions go through the API's rules,
the screen pop shows the profile, recent contacts and IVR data, and the wrap-up lands on
the CDR once."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from hotline.acd import QueueConfig
from hotline.services.operations import LiveOperations
from hotline.store.models import AuditEntry, Cdr, Customer, QueueLogEntry
from tests.unit.api.conftest import World
from tests.unit.api.test_live import Recorder, center
from tests.unit.api.test_live_outbound import Node
from tests.unit.web.conftest import browser_login

NOW = 1000.0
CALLER = "13800138000"


@pytest.fixture
def live(web: World) -> Recorder:
    recorder = Recorder()
    contact_center = center()
    # Queue A with wrap-up time, as a real queue has.
    contact_center.acd.configure_queue(
        QueueConfig(name="queue A", department="department A", wrap_up_seconds=30)
    )
    web.context.operations = LiveOperations(contact_center, recorder, clock=lambda: NOW)
    return recorder


def operations(world: World) -> LiveOperations:
    assert world.context.operations is not None
    return world.context.operations


def ring_agent_100(world: World, attributes: dict[str, str] | None = None) -> str:
    """A call into queue A (via the route) rings agent 100, who must be available."""
    ops = operations(world)
    ops.center.inbound_call(
        NOW, call_id="c-1", leg_id="c-1-leg", caller=CALLER, callee="400800", trunk=None
    )
    call = ops.center.calls["c-1"]
    call._attributes.update(attributes or {})  # what an IVR would have handed over
    assert call.ringing_agents == ["100"]
    return "c-1"


def answer(world: World, call_id: str) -> None:
    ops = operations(world)
    ops.center.leg_answered(NOW, call_id, f"{call_id}-a1")
    assert ops.center.calls[call_id].agent == "100"


async def test_the_agent_goes_available_takes_a_call_and_wraps_it_up(
    web: World, live: Recorder
) -> None:
    agent = await browser_login(web, "agent", "en")
    page = await agent.get("/desktop")
    assert page.status_code == 200
    assert 'data-state="logged_out"' in page.text
    state = await agent.post("/desktop/state/available")
    assert 'data-state="available"' in state.text
    async with web.context.database.session() as session:
        session.add(Customer(phone="+8613800138000", name="Zhang Wei", data={"tier": "gold"}))
        session.add(
            Cdr(
                call_id="earlier",
                direction="in",
                caller=CALLER,
                callee="400800",
                department_id=web.ids["dept_A"],
                started_at=datetime.now(UTC) - timedelta(days=1),
                ended_at=datetime.now(UTC) - timedelta(days=1),
                disposition="handled",
                wrapup_code="sale",
                notes="asked about delivery",
            )
        )
        await session.commit()
    call_id = ring_agent_100(web, {"order_number": "20261123"})
    ringing = await agent.get("/desktop/call")
    assert 'data-call-state="ringing"' in ringing.text
    assert "Incoming call from 13800138000" in ringing.text
    assert "Zhang Wei" in ringing.text  # matched in E.164
    assert "20261123" in ringing.text
    assert "Order number" in ringing.text
    assert "asked about delivery" in ringing.text  # a recent contact of the department
    assert 'data-testid="call-controls"' not in ringing.text  # nothing to control yet
    answer(web, call_id)
    connected = await agent.get("/desktop/call")
    assert 'data-call-state="connected"' in connected.text
    held = await agent.post("/desktop/call/hold", data={"call_id": call_id})
    assert "on hold" in held.text
    resumed = await agent.post("/desktop/call/resume", data={"call_id": call_id})
    assert "on hold" not in resumed.text
    # The caller hangs up: the agent is in wrap-up, its call's record is written.
    operations(web).center.leg_hung_up(NOW, call_id, "c-1-leg")
    wrapup = await agent.get("/desktop/wrapup")
    assert 'data-testid="wrapup-form"' in wrapup.text
    assert "The call that just ended" in wrapup.text  # before the CDR exists
    async with web.context.database.session() as session:
        session.add(
            Cdr(
                call_id=call_id,
                direction="in",
                caller=CALLER,
                callee="400800",
                department_id=web.ids["dept_A"],
                agent_id=web.ids["agent_A"],
                started_at=datetime.now(UTC),
                ended_at=datetime.now(UTC),
                disposition="handled",
            )
        )
        await session.commit()
    wrapup = await agent.get("/desktop/wrapup")
    assert f'data-call-id="{call_id}"' in wrapup.text
    assert "Call from 13800138000" in wrapup.text
    saved = await agent.post(
        "/desktop/wrapup", data={"call_id": call_id, "code": "sale", "notes": "sold\r\nplan B"}
    )
    assert 'data-testid="wrapup-saved"' in saved.text
    assert 'data-testid="wrapup-form"' not in saved.text
    again = await agent.post("/desktop/wrapup", data={"call_id": call_id, "code": "sale"})
    assert "Not possible in the current state." in again.text  # once per call
    async with web.context.database.session() as session:
        cdr = await session.scalar(select(Cdr).where(Cdr.call_id == call_id))
        assert cdr is not None
        assert (cdr.wrapup_code, cdr.notes) == ("sale", "sold\nplan B")
        logged = await session.scalar(select(QueueLogEntry).where(QueueLogEntry.event == "wrapup"))
        assert logged is not None
        assert logged.data == {"code": "sale", "notes": True}
        audited = await session.scalar(select(AuditEntry).where(AuditEntry.action == "wrapup"))
        assert audited is not None
        assert audited.resource_id == call_id
    # Saving the wrap-up ended the wrap-up time.
    (me,) = [a for a in operations(web).agents() if a.agent_id == "100"]
    assert me.state == "available"


async def test_break_and_logout_buttons_and_a_refused_reason(web: World, live: Recorder) -> None:
    agent = await browser_login(web, "agent", "zh-CN")
    await agent.post("/desktop/state/available")
    on_break = await agent.post("/desktop/state/break", data={"reason": "lunch"})
    assert 'data-state="break"' in on_break.text
    assert "午餐" in on_break.text
    refused = await agent.post("/desktop/state/break", data={"reason": "nap"})
    assert refused.status_code == 422
    assert "请选择一个小休原因" in refused.text
    out = await agent.post("/desktop/state/logout")
    assert 'data-state="logged_out"' in out.text


async def test_an_agent_cannot_act_on_a_call_it_is_not_on(web: World, live: Recorder) -> None:
    agent = await browser_login(web, "agent", "en")
    operations(web).center.inbound_call(
        NOW, call_id="c-b", leg_id="c-b-leg", caller=CALLER, callee="400801", trunk=None
    )
    response = await agent.post("/desktop/call/hangup", data={"call_id": "c-b"})
    assert "That call or agent is no longer there." in response.text
    assert "c-b" in operations(web).center.calls
    bad = await agent.post("/desktop/call/transfer", data={"call_id": "c-b", "kind": "agent"})
    assert bad.status_code == 422


async def test_the_wallboard_shows_the_supervisors_queues_and_agents(
    web: World, live: Recorder
) -> None:
    supervisor = await browser_login(web, "supervisor", "en")
    await supervisor.post("/desktop/state/available")  # not its page: 403
    assert (await supervisor.get("/desktop")).status_code == 403
    agent = await browser_login(web, "agent", "en")
    await agent.post("/desktop/state/available")
    ring_agent_100(web)
    tiles = await supervisor.get("/wallboard/queues")
    assert 'data-queue="queue A"' in tiles.text
    assert 'data-queue="queue B"' not in tiles.text  # another department
    assert "Ringing 1" in tiles.text
    grid = await supervisor.get("/wallboard/agents")
    assert 'data-agent="100" data-state="reserved"' in grid.text
    assert 'data-agent="101"' not in grid.text
    admin = await browser_login(web, "admin", "zh-CN")
    everything = await admin.get("/wallboard")
    assert 'data-queue="queue B"' in everything.text
    assert "监控大屏" in everything.text
    assert (await agent.get("/wallboard")).status_code == 403


async def test_the_wallboard_and_the_live_api_show_an_agent_busy_on_a_direct_call(
    web: World, live: Recorder
) -> None:
    agent = await browser_login(web, "agent", "en")
    await agent.post("/desktop/state/available")
    # What the contact centre reports when 100 is consulted on a colleague's call.
    operations(web).center.acd.agent_direct_call(NOW - 42, "100", True)
    supervisor = await browser_login(web, "supervisor", "en")
    grid = (await supervisor.get("/wallboard/agents")).text
    assert 'data-agent="100" data-state="available" data-busy="true"' in grid
    assert "on a direct call" in grid
    assert 'data-seconds="42.0"' in grid
    (row,) = [
        a for a in (await supervisor.get("/api/v1/live/agents")).json() if a["agent_id"] == "100"
    ]
    assert (row["state"], row["busy"], row["seconds_busy"]) == ("available", True, 42.0)
    operations(web).center.acd.agent_direct_call(NOW, "100", False)
    grid = (await supervisor.get("/wallboard/agents")).text
    assert 'data-agent="100" data-state="available" data-busy="false"' in grid


async def test_pages_say_so_when_the_node_has_no_live_operations(web: World) -> None:
    supervisor = await browser_login(web, "supervisor", "en")
    page = await supervisor.get("/wallboard")
    assert page.status_code == 200
    assert "Live operations are not available on this node." in page.text
    agent = await browser_login(web, "agent", "en")
    desk = await agent.get("/desktop")
    assert "Live operations are not available on this node." in desk.text


PAGES = {
    "agent": ["/desktop", "/desktop/state", "/desktop/call", "/desktop/wrapup"],
    "supervisor": ["/wallboard", "/wallboard/queues", "/wallboard/agents"],
    "admin": ["/wallboard", "/wallboard/queues", "/wallboard/agents"],
    "auditor": ["/wallboard", "/wallboard/queues", "/wallboard/agents"],
    "qa": ["/"],
}


@pytest.mark.parametrize("language", ["en", "zh-CN"])
async def test_every_page_renders_in_both_languages(
    web: World, live: Recorder, language: str
) -> None:
    # With a call ringing and connected, so that the banner and screen pop render too.
    clients: dict[str, httpx.AsyncClient] = {}
    for username in PAGES:
        clients[username] = await browser_login(web, username, language)
    await clients["agent"].post("/desktop/state/available")
    answer(web, ring_agent_100(web, {"order_number": "20261123", "language": language}))
    other = "en" if language == "zh-CN" else "zh-CN"
    for username, paths in PAGES.items():
        for path in [*paths, "/login"]:
            response = await clients[username].get(path)
            assert response.status_code == 200, (username, path, response.text)
            assert response.headers["content-language"] == language
            text = html.unescape(response.text)
            assert "{" + "{" not in text
            assert "{%" not in text
            if path == "/desktop":
                assert ("坐席工作台" if language == "zh-CN" else "Agent desktop") in text
            if path == "/wallboard":
                assert ("今日来电" if language == "zh-CN" else "Today's calls") in text
            assert f'lang="{other}" aria-pressed' not in text


# ---- recording pause, click-to-call, transfer refusals ------------------------------------

RECORDING_WORDS = {
    "en": ("Pause recording", "Recording paused", "Resume recording"),
    "zh-CN": ("暂停录音", "录音已暂停", "恢复录音"),
}


@pytest.mark.parametrize("language", ["en", "zh-CN"])
async def test_the_agent_pauses_and_resumes_the_recording_of_its_call(
    web: World, live: Recorder, language: str
) -> None:
    pause_word, paused_word, resume_word = RECORDING_WORDS[language]
    agent = await browser_login(web, "agent", language)
    await agent.post("/desktop/state/available")
    call_id = ring_agent_100(web)
    ringing = await agent.get("/desktop/call")
    assert 'data-testid="pause-recording"' not in ringing.text  # nothing recorded yet
    answer(web, call_id)  # queue A records always: the recording starts on answer
    connected = await agent.get("/desktop/call")
    assert 'data-recording="on"' in connected.text
    assert pause_word in connected.text
    paused = await agent.post("/desktop/call/recording/pause", data={"call_id": call_id})
    assert paused.status_code == 200
    assert 'data-recording="paused"' in paused.text
    assert 'data-testid="recording-paused"' in paused.text
    assert paused_word in html.unescape(paused.text)
    assert resume_word in paused.text
    assert 'data-testid="pause-recording"' not in paused.text
    (view,) = operations(web).calls()
    assert view.recording == "paused"
    resumed = await agent.post("/desktop/call/recording/resume", data={"call_id": call_id})
    assert 'data-recording="on"' in resumed.text
    assert paused_word not in html.unescape(resumed.text)
    names = [type(output).__name__ for output in live.outputs]
    assert names.count("PauseRecording") == names.count("ResumeRecording") == 1
    async with web.context.database.session() as session:
        actions = list(
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.action.like("recording-%"))
            )
        )
    assert sorted(actions) == ["recording-pause", "recording-resume"]


async def test_no_recording_buttons_when_the_queue_never_records(
    web: World, live: Recorder
) -> None:
    center = operations(web).center
    center._recording = {"queue A": "never"}  # a card-payment line: nothing to pause
    agent = await browser_login(web, "agent", "en")
    await agent.post("/desktop/state/available")
    call_id = ring_agent_100(web)
    answer(web, call_id)
    connected = await agent.get("/desktop/call")
    assert 'data-recording="off"' in connected.text
    assert (
        "recording" not in connected.text.split('data-testid="call-controls"')[1].split("</div>")[0]
    )
    # The API refuses a pause of a call that is not recorded; the desktop says so.
    refused = await agent.post("/desktop/call/recording/pause", data={"call_id": call_id})
    assert "Not possible in the current state." in refused.text
    assert "is not being recorded" in refused.text


async def test_a_refused_transfer_is_shown_next_to_the_form(web: World, live: Recorder) -> None:
    agent = await browser_login(web, "agent", "zh-CN")
    await agent.post("/desktop/state/available")
    call_id = ring_agent_100(web)
    answer(web, call_id)
    empty = await agent.post(
        "/desktop/call/transfer", data={"call_id": call_id, "kind": "number", "target": " "}
    )
    assert empty.status_code == 422
    problem = empty.text.split('data-testid="transfer-problem"')[1]
    assert "请填写坐席分机或号码" in problem
    # A consultation is going on: the API answers 409, shown under the transfer form.
    await operations(web).consult(call_id, "101")
    refused = await agent.post(
        "/desktop/call/transfer", data={"call_id": call_id, "kind": "number", "target": "101"}
    )
    next_to_form = refused.text.split('data-testid="transfer-problem"')[1]
    assert "当前状态下无法执行" in next_to_form
    assert "end the consultation" in next_to_form
    assert call_id in operations(web).center.calls  # nothing was lost


@pytest.fixture
def outbound(web: World) -> Node:
    """Live operations with a trunk group, as on a node with a carrier."""
    node = Node()
    node.center.acd.configure_queue(
        QueueConfig(name="queue A", department="department A", wrap_up_seconds=30)
    )
    web.context.operations = LiveOperations(
        node.center,
        Recorder(),
        clock=lambda: NOW,
        phone_registered=lambda agent: agent in node.registered,
        originate=node.originate,
        trunks=node.trunks,
    )
    return node


@pytest.mark.parametrize("language", ["en", "zh-CN"])
async def test_click_to_call_from_the_desktop_shows_the_outbound_call(
    web: World, outbound: Node, language: str
) -> None:
    agent = await browser_login(web, "agent", language)
    async with web.context.database.session() as session:
        session.add(Customer(phone="+862168888888", name="Li Na"))
        await session.commit()
    await agent.post("/desktop/state/available")
    idle = await agent.get("/desktop/call")
    assert 'data-testid="dial"' in idle.text
    placed = await agent.post("/desktop/call/dial", data={"number": "021 6888 8888"})
    assert placed.status_code == 200, placed.text
    call_id = "out-1"
    assert 'data-direction="outbound"' in placed.text
    assert 'data-call-state="ringing"' in placed.text  # the agent's own phone rings first
    assert "+862168888888" in placed.text  # the customer's number, not the agent's
    assert "Li Na" in placed.text  # the screen pop looks up whom the agent calls
    center = outbound.center
    center.leg_answered(NOW, call_id, f"{call_id}-a1")
    dialling = await agent.get("/desktop/call")
    assert 'data-call-state="dialling"' in dialling.text
    assert 'data-testid="hangup"' in dialling.text
    assert 'data-testid="hold"' not in dialling.text  # no customer to hold yet
    customer_leg = center.calls[call_id].customer_leg
    assert customer_leg is not None
    center.leg_answered(NOW, call_id, customer_leg)
    talking = await agent.get("/desktop/call")
    assert 'data-call-state="connected"' in talking.text
    assert ("正在与 +862168888888 通话" if language == "zh-CN" else "On a call with") in (
        talking.text
    )
    held = await agent.post("/desktop/call/hold", data={"call_id": call_id})
    assert 'data-testid="resume"' in held.text
    hung_up = await agent.post("/desktop/call/hangup", data={"call_id": call_id})
    assert 'data-testid="no-call"' in hung_up.text
    assert call_id not in center.calls


@pytest.mark.parametrize("language", ["en", "zh-CN"])
async def test_the_agent_pauses_and_resumes_the_recording_of_a_click_to_call(
    web: World, outbound: Node, language: str
) -> None:
    pause_word, paused_word, resume_word = RECORDING_WORDS[language]
    agent = await browser_login(web, "agent", language)
    await agent.post("/desktop/state/available")
    await agent.post("/desktop/call/dial", data={"number": "021 6888 8888"})
    call_id, center = "out-1", outbound.center
    center.leg_answered(NOW, call_id, f"{call_id}-a1")
    dialling = await agent.get("/desktop/call")
    assert 'data-recording="off"' in dialling.text
    assert 'data-testid="pause-recording"' not in dialling.text  # no customer recorded yet
    customer_leg = center.calls[call_id].customer_leg
    assert customer_leg is not None
    center.leg_answered(NOW, call_id, customer_leg)  # recorded always: starts on answer
    talking = await agent.get("/desktop/call")
    assert 'data-recording="on"' in talking.text
    assert pause_word in talking.text
    paused = await agent.post("/desktop/call/recording/pause", data={"call_id": call_id})
    assert paused.status_code == 200
    assert 'data-direction="outbound"' in paused.text
    assert 'data-recording="paused"' in paused.text
    assert 'data-testid="recording-paused"' in paused.text
    assert paused_word in html.unescape(paused.text)
    assert resume_word in paused.text
    assert 'data-testid="pause-recording"' not in paused.text
    assert center.calls[call_id].recording_paused
    resumed = await agent.post("/desktop/call/recording/resume", data={"call_id": call_id})
    assert 'data-recording="on"' in resumed.text
    assert paused_word not in html.unescape(resumed.text)
    assert not center.calls[call_id].recording_paused
    async with web.context.database.session() as session:
        actions = list(
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.action.like("recording-%"))
            )
        )
    assert sorted(actions) == ["recording-pause", "recording-resume"]


async def test_no_recording_buttons_on_a_click_to_call_placed_unrecorded(
    web: World, outbound: Node
) -> None:
    outbound.center._default_recording = "never"
    agent = await browser_login(web, "agent", "en")
    await agent.post("/desktop/state/available")
    await agent.post("/desktop/call/dial", data={"number": "021 6888 8888"})
    call_id, center = "out-1", outbound.center
    center.leg_answered(NOW, call_id, f"{call_id}-a1")
    customer_leg = center.calls[call_id].customer_leg
    assert customer_leg is not None
    center.leg_answered(NOW, call_id, customer_leg)
    talking = await agent.get("/desktop/call")
    assert 'data-call-state="connected"' in talking.text
    assert 'data-recording="off"' in talking.text
    assert 'data-testid="pause-recording"' not in talking.text
    refused = await agent.post("/desktop/call/recording/pause", data={"call_id": call_id})
    assert "is not being recorded" in refused.text
    assert center.calls[call_id].state == "connected"


DIAL_REFUSALS = {
    "en": {
        "empty": "Type the number to call.",
        "invalid": "That number cannot be dialled.",
        "unregistered": "Cannot call: your phone is not registered.",
        "no_trunk": "No carrier trunk can take the call now.",
    },
    "zh-CN": {
        "empty": "请输入要呼叫的号码。",
        "invalid": "该号码无法拨打。",
        "unregistered": "无法外呼：您的话机未注册。",
        "no_trunk": "当前没有可用的运营商中继。",
    },
}


@pytest.mark.parametrize("language", ["en", "zh-CN"])
async def test_a_refused_click_to_call_says_why_next_to_the_dial_box(
    web: World, outbound: Node, language: str
) -> None:
    words = DIAL_REFUSALS[language]
    agent = await browser_login(web, "agent", language)

    async def dial(number: str) -> tuple[int, str]:
        response = await agent.post("/desktop/call/dial", data={"number": number})
        text = html.unescape(response.text)
        assert 'data-testid="dial"' in text  # the box is still there
        return response.status_code, text.split('data-testid="dial"')[1]

    status, text = await dial("")
    assert (status, words["empty"] in text) == (422, True)
    status, text = await dial("call me")
    assert (status, words["invalid"] in text) == (422, True)
    assert 'value="call me"' in text  # kept, to be corrected
    status, text = await dial("12")  # digits, but no number in the numbering plan
    assert (status, words["invalid"] in text) == (422, True)
    outbound.registered.discard("100")
    status, text = await dial("13800138000")
    assert (status, words["unregistered"] in text) == (409, True)
    assert "agent 100 has no registered phone" in text  # the API's own reason
    outbound.registered.add("100")
    outbound.states["telecom"].up = False
    status, text = await dial("13800138000")
    assert (status, words["no_trunk"] in text) == (503, True)
    assert "telecom down" in text
    assert outbound.outputs == []  # nothing rang
