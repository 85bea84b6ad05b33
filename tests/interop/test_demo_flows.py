"""Flows an operator configures through the API on a running demo, against real peers:
a pilot version heard on one department's number and the published one on another's, and a
voicemail being recorded when the node is stopped with SIGTERM.

Each test runs ``hotline demo`` as a process (as an operator would), creates its flow and
routes with the admin API, waits until the live directory has applied them (its log line
counts the routes) and calls with SIPp.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import HotlineProcess
from tests.interop.conftest import require_peer
from tests.interop.test_call_path import logged, tone_wav, wait_until
from tests.interop.test_live_ivr import prompt_seconds
from tests.support.sipp_customer import key, pause, scripted_caller, stream

pytestmark = pytest.mark.interop


@dataclass
class Demo:
    process: HotlineProcess
    api: httpx.Client
    sip_port: int
    routes: int  # routes in the directory the node applied last

    def department(self, name: str) -> int:
        departments = self.api.get("/api/v1/departments").json()["items"]
        department_id: int = next(d["id"] for d in departments if d["name"] == name)
        return department_id

    def flow(self, name: str, department_id: int, yaml: str) -> int:
        created = self.api.post(
            "/api/v1/ivr-flows", json={"name": name, "department_id": department_id, "yaml": yaml}
        )
        assert created.status_code == 201, created.text
        flow_id: int = created.json()["id"]
        published = self.api.post(f"/api/v1/ivr-flows/{flow_id}/publish", json={"version": 1})
        assert published.status_code == 200, published.text
        return flow_id

    def route(self, did: str, flow_id: int, department_id: int) -> None:
        body = {
            "did": did,
            "target_type": "ivr_flow",
            "target_id": flow_id,
            "department_id": department_id,
        }
        created = self.api.post("/api/v1/inbound-routes", json=body)
        assert created.status_code == 201, created.text

    def applied(self, *, routes: int) -> str:
        """Wait for the directory reload that has ``routes`` routes; its log line."""
        while True:
            line = self.process.wait_for("directory applied", timeout=30)
            if f"routes={routes}" in line:
                self.routes = routes
                return line

    def cdr_of(self, caller: str) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            cdrs = self.api.get("/api/v1/cdrs").json()
            return next((c for c in cdrs if c["caller"] == caller), None)

        cdr: dict[str, Any] = wait_until(found, 30, f"the CDR of {caller}")
        return cdr


def start_demo(run_hotline: type[HotlineProcess], data: Path) -> Demo:
    demo = run_hotline(["demo", "--http-port", "0", "--sip-port", "0", "--data-dir", str(data)])
    demo.wait_for("hotline ready", timeout=60)
    base = logged(demo, r"(http://127\.0\.0\.1:\d+)").group(1)
    sip_port = int(logged(demo, r"address=127\.0\.0\.1:(\d+) transport=udp").group(1))
    admin_password = logged(demo, r"admin / (\S+)").group(1)
    routes = int(logged(demo, r"directory applied.*routes=(\d+)").group(1))
    api = httpx.Client(base_url=base, timeout=10)
    credentials = {"username": "admin", "password": admin_password}
    assert api.post("/api/v1/auth/login", json=credentials).status_code == 200
    return Demo(demo, api, sip_port, routes)


def sipp(tmp_path: Path, name: str, scenario: str, sip_port: int) -> list[str]:
    path = tmp_path / f"{name}.xml"
    path.write_text(scenario)
    return [
        require_peer("sipp"),
        *["-sf", str(path), f"127.0.0.1:{sip_port}"],
        *["-i", "127.0.0.1", "-p", "0", "-mi", "127.0.0.1", "-mp", "0"],
        *["-m", "1", "-nostdin", "-timeout", "60s", "-timeout_error"],
    ]


# ---- pilots ----------------------------------------------------------------------------------

MENU_PROMPT = "Press one to reach us."


def menu_flow(queue: str) -> str:
    """The same menu in two versions: key 1 leads to ``queue``."""
    return f"""\
language: en
start: menu
nodes:
  menu:
    type: menu
    prompt: {{text: {{en: "{MENU_PROMPT}"}}}}
    options:
      "1": agents
    on_failure: bye
  agents:
    type: queue
    queue: {queue}
  bye:
    type: hangup
"""


def test_a_pilot_department_hears_the_pilot_version_and_another_the_published_one(
    run_hotline: type[HotlineProcess], tmp_path: Path, prompt_cache: Path
) -> None:
    # The node finds the menu's prompt in the shared TTS cache: the key below is pressed
    # once it has been said, not while it is being synthesised.
    said = asyncio.run(prompt_seconds(prompt_cache, tmp_path, MENU_PROMPT))
    demo = start_demo(run_hotline, tmp_path / "demo")
    try:
        sales, after_sales = demo.department("sales"), demo.department("after-sales")
        flow_id = demo.flow("pilot-menu", sales, menu_flow("sales"))
        second = demo.api.post(
            f"/api/v1/ivr-flows/{flow_id}/versions", json={"yaml": menu_flow("complaints")}
        )
        assert second.status_code == 201, second.text
        demo.route("5101", flow_id, sales)
        demo.route("5102", flow_id, after_sales)
        demo.applied(routes=demo.routes + 2)
        pilot = demo.api.put(f"/api/v1/ivr-flows/{flow_id}/pilots/{sales}", json={"version": 2})
        assert pilot.status_code == 200, pilot.text
        assert "pilots=1" in demo.applied(routes=demo.routes)

        def call(did: str, caller: str) -> dict[str, Any]:
            steps = [pause(said + 0.8), key("1"), pause(2.0)]
            scenario = scripted_caller(steps, number=did, caller=caller, node_hangs_up=False)
            done = subprocess.run(
                sipp(tmp_path, caller, scenario, demo.sip_port),
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=90,
            )
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
            return demo.cdr_of(caller)

        piloted = call("5101", "13800000001")  # a route of the pilot department
        published = call("5102", "13800000002")  # a route of another department
        details = piloted["details"]
        assert (details["ivr_flow"], details["ivr_version"]) == ("pilot-menu", 2)
        assert details["queues"] == ["complaints"]  # the pilot version's branch for key 1
        details = published["details"]
        assert (details["ivr_flow"], details["ivr_version"]) == ("pilot-menu", 1)
        assert details["queues"] == ["sales"]

        # Promoted: everyone's calls run version 2, and the pilot is gone.
        promoted = demo.api.post(f"/api/v1/ivr-flows/{flow_id}/pilots/{sales}/promote")
        assert promoted.status_code == 200, promoted.text
        assert "pilots=0" in demo.applied(routes=demo.routes)
        after = call("5102", "13800000003")
        assert (after["details"]["ivr_version"], after["details"]["queues"]) == (2, ["complaints"])
        assert demo.api.get(f"/api/v1/ivr-flows/{flow_id}/pilots").json() == []
        assert demo.process.terminate() == 0
    finally:
        demo.api.close()


# ---- voicemail at shutdown -------------------------------------------------------------------

VOICEMAIL_FLOW = """\
language: en
start: message
nodes:
  message:
    type: voicemail
    mailbox: sales
    prompt: {text: {en: "Please leave a message after the tone."}}
    max_seconds: 60
    next: bye
  bye:
    type: hangup
"""


def test_a_voicemail_being_recorded_at_sigterm_is_stored_and_unrowed_files_are_reported(
    run_hotline: type[HotlineProcess], tmp_path: Path
) -> None:
    data = tmp_path / "demo"
    demo = start_demo(run_hotline, data)
    caller = None
    try:
        sales = demo.department("sales")
        demo.route("5900", demo.flow("leave-message", sales, VOICEMAIL_FLOW), sales)
        demo.applied(routes=demo.routes + 1)
        # The caller talks (a tone) from the start and never stops: only the node's stop
        # can end this message.
        message = tone_wav(tmp_path / "message.wav", 440.0, 90.0, "a-law")
        scenario = scripted_caller(
            [stream(message, -1), pause(80.0)], number="5900", node_hangs_up=False
        )
        caller = subprocess.Popen(
            sipp(tmp_path, "caller", scenario, demo.sip_port),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        recordings = data / "recordings"

        def recording_under_way() -> Path | None:
            # Three seconds of the message on disk (8 kHz, 16-bit mono WAV).
            files = [p for p in recordings.rglob("*-vm1.wav") if p.stat().st_size > 48_000]
            return files[0] if files else None

        wav: Path = wait_until(recording_under_way, 60, "the voicemail to be recorded")
        assert demo.process.terminate() == 0
        log = demo.process.drain()
        assert "hotline stopped" in log
        assert "Traceback" not in log
        assert "voicemails closed at shutdown" in log
    finally:
        demo.api.close()
        if caller is not None:
            caller.kill()
            caller.wait()

    with sqlite3.connect(data / "hotline.db") as db:
        rows = db.execute(
            "SELECT path, mailbox, duration_seconds, size_bytes, sha256 FROM recordings"
            " WHERE kind = 'voicemail'"
        ).fetchall()
    ((path, mailbox, duration, size, sha256),) = rows
    assert data / "recordings" / path == wav
    assert mailbox == "sales"
    assert duration >= 3.0
    assert (size, sha256) == (wav.stat().st_size, hashlib.sha256(wav.read_bytes()).hexdigest())

    # A file that lost its row (a crash, say) is named at the next start.
    stray = wav.parent / "lost-call.wav"
    stray.write_bytes(wav.read_bytes())
    again = run_hotline(["demo", "--http-port", "0", "--sip-port", "0", "--data-dir", str(data)])
    line = again.wait_for("recording file without a recordings row", timeout=60)
    assert "lost-call.wav" in line
    again.wait_for("hotline ready", timeout=60)
    assert wav.name not in again.drain()
    assert again.terminate() == 0
