"""The web consoles in Debian's Chromium against a real demo node, with real calls.

One demo node serves the module. baresip registers as agent 1002's desk phone and answers
by itself; SIPp customers call 4000, press 2 and key an order number, so each call walks
the IVR into after-sales exactly as in ``test_call_path``. A SIPp carrier (as in
``test_trunks``) is the node's trunk for the desktop's click-to-call. The browser only
clicks what a person would click: nothing is injected into the page, and every update it
shows came over the events WebSocket (no page reloads: a marker set on ``window`` survives).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, WebSocket, expect

from hotline.media.wav import read_wav
from tests.conftest import HotlineProcess
from tests.interop.test_call_path import ORDER, AgentPhone, sipp_customer, tone_wav, wait_until
from tests.interop.test_trunks import Carrier, trunk
from tests.support.sipp_carrier import carrier_scenario
from tests.support.web import log_in as browser_log_in

pytestmark = pytest.mark.interop


@dataclass
class Demo:
    process: HotlineProcess
    base: str
    sip_port: int
    passwords: dict[str, str]
    directory: Path

    def api(self, username: str) -> httpx.Client:
        client = httpx.Client(base_url=self.base, timeout=10)
        response = client.post(
            "/api/v1/auth/login",
            json={"username": username, "password": self.passwords[username]},
        )
        assert response.status_code == 200, response.text
        return client

    def cdr(self, call_id: str) -> dict[str, Any]:
        """The call's stored record, once the node has written it."""
        admin = self.api("admin")

        def stored() -> dict[str, Any] | None:
            rows = admin.get("/api/v1/cdrs").json()
            return next((row for row in rows if row["call_id"] == call_id), None)

        found: dict[str, Any] = wait_until(stored, 30, f"the CDR of {call_id}")
        return found

    def call(self, tmp: Path, talk_seconds: float) -> subprocess.Popen[str]:
        tmp.mkdir(parents=True, exist_ok=True)
        return subprocess.Popen(
            sipp_customer(tmp, self.sip_port, talk_seconds=talk_seconds),
            cwd=tmp,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )


def _logged(lines: list[str], pattern: str) -> str:
    for line in lines:
        match = re.search(pattern, line)
        if match:
            return match.group(1)
    raise AssertionError(f"{pattern!r} not in the demo's log:\n{''.join(lines)}")


@pytest.fixture(scope="module")
def carrier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Carrier]:
    """A carrier that answers every call and talks a tone until the node hangs up."""
    directory = tmp_path_factory.mktemp("web-carrier")
    tone = tone_wav(directory / "customer.wav", 440.0, 60.0, "a-law")
    answering = Carrier(directory, "carrier", carrier_scenario("answer", talk_wav=tone))
    try:
        yield answering
    finally:
        answering.kill()


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory, prompt_cache: Path, carrier: Carrier
) -> Iterator[Demo]:
    directory = tmp_path_factory.mktemp("web-demo")
    process = HotlineProcess(
        ["demo", "--http-port", "0", "--sip-port", "0", "--data-dir", str(directory / "data")],
        {
            "HOTLINE_PROMPT_CACHE_DIR": str(prompt_cache),
            "HOTLINE_TRUNKS": json.dumps([trunk("carrier", carrier, 0)]),
            "HOTLINE_TRUNK_GROUPS": json.dumps([{"name": "out", "trunks": ["carrier"]}]),
        },
    )
    try:
        process.wait_for("hotline ready", timeout=60)
        process.logged_or_wait("IVR prompts ready", timeout=180)
        lines = process.lines
        passwords = {
            "admin": _logged(lines, r"admin / (\S+)"),
            "supervisor": _logged(lines, r"supervisor / (\S+)"),
            "1002": _logged(lines, r"SIP user '1002', password '([^']+)'"),
        }
        yield Demo(
            process,
            _logged(lines, r"(http://127\.0\.0\.1:\d+)"),
            int(_logged(lines, r"address=127\.0\.0\.1:(\d+) transport=udp")),
            passwords,
            directory,
        )
    finally:
        if process.proc.poll() is None:
            assert process.terminate(timeout=60) == 0
        else:
            process.proc.wait()


@pytest.fixture(scope="module")
def phone(demo: Demo) -> Iterator[AgentPhone]:
    """Agent 1002's desk phone, registered and answering by itself."""
    agent = AgentPhone(demo.directory / "phone-1002", "1002", demo.passwords["1002"], demo.sip_port)
    bindings = demo.directory / "data" / "sip-bindings.json"
    try:
        wait_until(
            lambda: bindings.exists() and "sip:1002@127.0.0.1" in bindings.read_text(),
            15,
            "agent 1002 to register",
        )
        yield agent
    finally:
        agent.stop()


def log_in(
    browser: Browser,
    demo: Demo,
    username: str,
    locale: str,
    on_websocket: Callable[[WebSocket], None] | None = None,
) -> Page:
    return browser_log_in(browser, demo.base, demo.passwords, username, locale, on_websocket)


def finish(customer: subprocess.Popen[str]) -> None:
    output, _ = customer.communicate(timeout=120)
    assert customer.returncode == 0, output[-3000:]


def test_an_agent_goes_available_takes_a_real_call_and_wraps_it_up(
    browser: Browser, demo: Demo, phone: AgentPhone, tmp_path: Path
) -> None:
    page = log_in(browser, demo, "1002", "en-US")
    expect(page).to_have_url(f"{demo.base}/desktop")
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    page.evaluate("window.__notReloaded = true")
    state = page.get_by_test_id("agent-state")
    expect(state).to_have_attribute("data-state", "logged_out")
    page.get_by_test_id("go-available").click()
    expect(state).to_have_attribute("data-state", "available")

    customer = demo.call(tmp_path / "call", talk_seconds=6.0)
    try:
        # The IVR hands the caller to after-sales; 1002 is the only agent there, its phone
        # rings and answers: the desktop shows the call and the screen pop by itself.
        banner = page.get_by_test_id("call-banner")
        expect(banner).to_have_attribute("data-call-state", "connected", timeout=60_000)
        expect(banner).to_contain_text("13800138000")
        expect(state).to_have_attribute("data-state", "on_call")
        pop = page.get_by_test_id("screen-pop")
        expect(pop.get_by_test_id("customer")).to_contain_text("张伟")
        expect(pop.get_by_test_id("ivr-data")).to_contain_text(ORDER)
        expect(pop.get_by_test_id("ivr-data")).to_contain_text("Order number")
        call_id = banner.get_attribute("data-call-id")
        assert call_id
        finish(customer)
    finally:
        if customer.poll() is None:
            customer.kill()

    # The caller hung up: wrap-up time, and the form for that very call.
    form = page.get_by_test_id("wrapup-form")
    expect(form).to_have_attribute("data-call-id", call_id, timeout=15_000)
    expect(page.get_by_test_id("no-call")).to_be_visible()
    form.get_by_test_id("wrapup-code").select_option("order")
    form.get_by_test_id("wrapup-notes").fill("Order 20261123: delivery date confirmed.")
    form.get_by_test_id("wrapup-submit").click()
    expect(page.get_by_test_id("wrapup-saved")).to_be_visible()
    expect(state).to_have_attribute("data-state", "available")
    assert page.evaluate("window.__notReloaded") is True

    admin = demo.api("admin")
    (cdr,) = [c for c in admin.get("/api/v1/cdrs").json() if c["call_id"] == call_id]
    assert cdr["wrapup_code"] == "order"
    assert cdr["notes"] == "Order 20261123: delivery date confirmed."
    assert cdr["disposition"] == "handled"
    page.get_by_test_id("go-logout").click()
    expect(state).to_have_attribute("data-state", "logged_out")
    page.context.close()


def test_the_wallboard_shows_a_queued_caller_live(
    browser: Browser, demo: Demo, phone: AgentPhone, tmp_path: Path
) -> None:
    admin = demo.api("admin")
    # 1002 is on a break, so the caller has to wait in after-sales.
    assert admin.post("/api/v1/live/agents/1002/login").status_code == 204
    assert (
        admin.post("/api/v1/live/agents/1002/break", json={"reason": "meeting"}).status_code == 204
    )

    # When the queue event's frame reaches the page, and when the tile shows it (test side).
    frames: list[float] = []

    def on_socket(socket: WebSocket) -> None:
        def received(payload: str | bytes) -> None:
            if "acd.contact_queued" in str(payload):
                frames.append(time.monotonic())

        socket.on("framereceived", received)

    page = log_in(browser, demo, "supervisor", "zh-CN", on_socket)
    expect(page).to_have_url(f"{demo.base}/wallboard")
    expect(page.locator("h1")).to_have_text("监控大屏")
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    page.evaluate("window.__notReloaded = true")
    tile = page.locator('[data-testid=queue-tile][data-queue="after-sales"]')
    expect(tile.get_by_test_id("waiting")).to_contain_text("0")
    # The supervisor's department is after-sales: sales' queues are not on its wallboard.
    expect(page.locator('[data-testid=queue-tile][data-queue="sales"]')).to_have_count(0)
    row = page.locator('[data-testid=agent-row][data-agent="1002"]')
    expect(row).to_have_attribute("data-state", "break")
    expect(page.get_by_test_id("interval-chart").locator("canvas")).to_have_count(1)

    customer = demo.call(tmp_path / "call", talk_seconds=4.0)
    try:
        tile = page.locator('[data-testid=queue-tile][data-queue="after-sales"]')
        expect(tile.get_by_test_id("waiting")).to_contain_text("1", timeout=60_000)
        shown = time.monotonic()
        time.monotonic()
        expect(tile).to_contain_text("小休 1")  # agents by state, in Chinese
        finish(customer)
    finally:
        if customer.poll() is None:
            customer.kill()
    # The caller gave up while waiting: back to nobody waiting, one more abandoned.
    expect(tile.get_by_test_id("waiting")).to_contain_text("0", timeout=15_000)
    expect(tile).to_contain_text("放弃 1")
    assert page.evaluate("window.__notReloaded") is True
    assert frames, "the queue event never reached the page's WebSocket"
    # Reported, not asserted (no wall-clock assertions): `pytest -s` shows the figure.
    sys.stderr.write(f"\nwallboard: queued event to tile in {shown - frames[0]:.3f} s\n")
    # Today's chart counts the abandoned call once its record is written.
    wait_until(
        lambda: int(page.get_by_test_id("interval-chart").get_attribute("data-offered") or 0) >= 1,
        30,
        "the interval chart to count the call",
    )
    assert admin.post("/api/v1/live/agents/1002/logout").status_code == 204
    page.context.close()


def test_an_agent_cannot_open_the_admin_pages(browser: Browser, demo: Demo) -> None:
    page = log_in(browser, demo, "1002", "en-US")
    expect(page).to_have_url(f"{demo.base}/desktop")
    expect(page.locator("nav a[href='/admin']")).to_have_count(0)
    for path in ("/admin", "/admin/users", "/admin/queues/1"):
        response = page.goto(f"{demo.base}{path}")
        assert response is not None
        assert response.status == 403, path
        expect(page.get_by_test_id("error-message")).to_have_text(
            "Your role may not open this page."
        )
    api = page.request.get(f"{demo.base}/api/v1/users")
    assert api.status == 403  # nor the admin API behind them
    page.context.close()


def test_an_agent_pauses_and_resumes_the_recording_of_a_live_call(
    browser: Browser, demo: Demo, phone: AgentPhone, tmp_path: Path
) -> None:
    page = log_in(browser, demo, "1002", "en-US")
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    page.evaluate("window.__notReloaded = true")
    state = page.get_by_test_id("agent-state")
    page.get_by_test_id("go-available").click()
    expect(state).to_have_attribute("data-state", "available")

    # The caller talks long enough for the agent's clicks; it hangs up by itself.
    customer = demo.call(tmp_path / "call", talk_seconds=20.0)
    try:
        banner = page.get_by_test_id("call-banner")
        expect(banner).to_have_attribute("data-call-state", "connected", timeout=60_000)
        expect(state).to_have_attribute("data-state", "on_call")
        expect(banner).to_have_attribute("data-recording", "on")  # after-sales records always
        call_id = banner.get_attribute("data-call-id")
        assert call_id

        # A transfer the desktop refuses (422: no number given) says so next to the form.
        form = page.get_by_test_id("transfer")
        form.get_by_test_id("transfer-kind").select_option("number")
        form.get_by_test_id("transfer-submit").click()
        expect(page.get_by_test_id("transfer-problem")).to_contain_text(
            "Give the agent's extension or the number."
        )

        # The caller is about to read out a card number: pause, then resume.
        page.get_by_test_id("pause-recording").click()
        expect(banner).to_have_attribute("data-recording", "paused")
        expect(page.get_by_test_id("recording-paused")).to_contain_text("Recording paused")
        admin = demo.api("admin")
        (live,) = [c for c in admin.get("/api/v1/live/calls").json() if c["call_id"] == call_id]
        assert live["recording"] == "paused"
        page.get_by_test_id("resume-recording").click()
        expect(banner).to_have_attribute("data-recording", "on")
        expect(page.get_by_test_id("recording-paused")).to_have_count(0)
        expect(page.get_by_test_id("pause-recording")).to_be_visible()
        finish(customer)
    finally:
        if customer.poll() is None:
            customer.kill()

    expect(page.get_by_test_id("no-call")).to_be_visible(timeout=15_000)
    cdr = demo.cdr(call_id)
    assert cdr["details"]["recording_pauses"] == 1
    assert cdr["disposition"] == "handled"
    audit = admin.get("/api/v1/audit-log", params={"resource": "call"}).json()
    actions = {(entry["action"], entry["resource_id"]) for entry in audit}
    assert {("recording-pause", call_id), ("recording-resume", call_id)} <= actions
    assert page.evaluate("window.__notReloaded") is True
    assert admin.post("/api/v1/live/agents/1002/logout").status_code == 204
    page.context.close()


#: How much of the customer the agent's phone hears while the recording is paused.
PAUSED_AUDIO_S = 3.0
#: baresip's decoded dump: 8 kHz, 16-bit mono.
HEARD_BYTES_PER_S = 16_000


def heard_dumps(phone: AgentPhone) -> set[Path]:
    return set(phone.recordings.glob("*-dec.wav"))


def new_heard_dump(phone: AgentPhone, before: set[Path]) -> Path:
    """The WAV baresip started for the current call, into which it writes what the agent
    hears (``before``: the dumps of earlier calls)."""
    found: Path = wait_until(
        lambda: next(iter(heard_dumps(phone) - before), None),
        15,
        "baresip to dump what the agent hears",
    )
    return found


def recorded_seconds(demo: Demo, call_id: str, tmp: Path) -> float:
    """The seconds of audio in the call's stored recording, read from the WAV itself (and
    checked against what the recordings API says)."""
    admin = demo.api("admin")
    (recording,) = wait_until(
        lambda: admin.get("/api/v1/recordings", params={"call_id": call_id}).json(),
        30,
        f"the recording of {call_id}",
    )
    audio = admin.get(f"/api/v1/recordings/{recording['id']}/audio")
    assert audio.status_code == 200
    wav = tmp / f"{call_id}.wav"
    wav.write_bytes(audio.content)
    seconds = read_wav(wav).duration
    assert abs(seconds - recording["duration_seconds"]) < 0.05
    return seconds


def test_an_agent_calls_a_customer_from_the_desktop_through_the_carrier(
    browser: Browser, demo: Demo, phone: AgentPhone, carrier: Carrier, tmp_path: Path
) -> None:
    admin = demo.api("admin")

    def carrier_up() -> bool:
        trunks = admin.get("/api/v1/live/trunks").json()
        return any(t["name"] == "carrier" and t["up"] for t in trunks)

    wait_until(carrier_up, 20, "the carrier trunk to answer its OPTIONS probes")
    page = log_in(browser, demo, "1002", "zh-CN")
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    page.evaluate("window.__notReloaded = true")
    dial = page.get_by_test_id("dial")
    # Not a number of the numbering plan: refused next to the dial box (422), kept there.
    dial.get_by_test_id("dial-number").fill("12")
    dial.get_by_test_id("dial-submit").click()
    expect(page.get_by_test_id("dial-problem")).to_contain_text("该号码无法拨打")
    expect(page.get_by_test_id("dial-number")).to_have_value("12")

    earlier_dumps = heard_dumps(phone)
    page.get_by_test_id("dial-number").fill("13800138000")
    page.get_by_test_id("dial-submit").click()
    banner = page.get_by_test_id("call-banner")
    expect(banner).to_have_attribute("data-direction", "outbound")
    # baresip answers the agent's leg, then the carrier answers the customer's.
    expect(banner).to_have_attribute("data-call-state", "connected", timeout=30_000)
    expect(banner.locator("h2")).to_contain_text("13800138000")
    expect(banner).to_contain_text("外呼")
    call_id = banner.get_attribute("data-call-id")
    assert call_id
    page.get_by_test_id("hold").click()
    expect(banner).to_contain_text("保持中")
    page.get_by_test_id("resume").click()
    expect(page.get_by_test_id("hold")).to_be_visible()

    # The customer reads out a card number: the agent pauses the recording, the carrier's
    # tone goes on reaching the agent's phone (PAUSED_AUDIO_S of it) and is left out.
    expect(banner).to_have_attribute("data-recording", "on")
    heard = new_heard_dump(phone, earlier_dumps)
    page.get_by_test_id("pause-recording").click()
    expect(banner).to_have_attribute("data-recording", "paused")
    expect(page.get_by_test_id("recording-paused")).to_contain_text("录音已暂停")
    (live,) = [c for c in admin.get("/api/v1/live/calls").json() if c["call_id"] == call_id]
    assert live["recording"] == "paused"
    paused_from = heard.stat().st_size
    wait_until(
        lambda: heard.stat().st_size - paused_from >= PAUSED_AUDIO_S * HEARD_BYTES_PER_S,
        30,
        "the agent's phone to hear the customer while the recording is paused",
    )
    page.get_by_test_id("resume-recording").click()
    expect(banner).to_have_attribute("data-recording", "on")
    expect(page.get_by_test_id("recording-paused")).to_have_count(0)
    # Some recorded talk after the pause too, so the file has both sides of it.
    resumed_from = heard.stat().st_size
    wait_until(
        lambda: heard.stat().st_size - resumed_from >= 1.0 * HEARD_BYTES_PER_S,
        30,
        "the call to go on after the resume",
    )
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("hangup").click()
    expect(page.get_by_test_id("no-call")).to_be_visible(timeout=15_000)

    cdr = demo.cdr(call_id)
    assert cdr["direction"] == "outbound"
    assert cdr["details"]["recording_pauses"] == 1
    recorded = recorded_seconds(demo, call_id, tmp_path)
    # The recording runs from the customer's answer to the hang-up (talk + hold on the
    # node's own clock) less the pause, in which the phone heard >= PAUSED_AUDIO_S.
    span = cdr["talk_seconds"] + cdr["hold_seconds"]
    sys.stderr.write(f"\nclick-to-call: {span:.2f} s connected, {recorded:.2f} s recorded\n")
    assert 0.5 <= recorded <= span - (PAUSED_AUDIO_S - 0.5)
    assert cdr["details"]["agent"] == "1002"
    attempts = [(a["trunk"], a["status"]) for a in cdr["details"]["trunk_attempts"]]
    assert attempts == [("carrier", 200)]
    audit = admin.get("/api/v1/audit-log", params={"resource": "call"}).json()
    assert ("originate", call_id) in {(e["action"], e["resource_id"]) for e in audit}
    assert page.evaluate("window.__notReloaded") is True
    page.context.close()
