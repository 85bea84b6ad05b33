"""The demo hotline end to end, as a caller and an agent would use it.

`hotline demo` runs as a subprocess. baresip registers as agent 1002 with the password the
demo printed, and is logged in and made ready through the REST API. A SIPp customer calls
4000, presses 2 (RFC 2833 captures shipped with SIPp), keys an order number, hears its status,
waits in after-sales and is connected to 1002's phone, which answers by itself. Both talk:
the customer a 440 Hz tone, the agent 1000 Hz. Afterwards the recording must hold each voice
on its own channel, the phone must have heard the customer, and the CDR, queue log and
recording must be stored and linked.
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from hotline.media.wav import read_wav
from tests.conftest import HotlineProcess
from tests.interop.conftest import require_peer
from tests.support.baresip import Baresip
from tests.support.sipp_customer import customer_scenario

pytestmark = pytest.mark.interop

ORDER = "20261123"


def peak_hz(samples: np.ndarray, rate: int = 8000) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.argmax(spectrum)) * rate / len(samples)


def loud(samples: np.ndarray) -> np.ndarray:
    """The stretch of a channel that carries sound (the tone), without leading silence."""
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160).astype(np.int32)
    active = np.abs(frames).max(axis=1) > 500
    result: np.ndarray = frames[active].reshape(-1)
    return result


def tone_wav(path: Path, hz: float, seconds: float, encoding: str) -> Path:
    subprocess.run(
        [
            require_peer("sox"),
            *[
                "-n",
                "-r",
                "8000",
                "-c",
                "1",
                "-e",
                encoding,
                "-b",
                "8" if "law" in encoding else "16",
            ],
            str(path),
            *["synth", str(seconds), "sine", str(hz), "vol", "0.5"],
        ],
        check=True,
    )
    return path


class AgentPhone(Baresip):
    """baresip as an agent's desk phone: registers, answers by itself, talks a tone and
    keeps what it heard in a WAV (sndfile module)."""

    def __init__(
        self,
        directory: Path,
        user: str,
        password: str,
        registrar_port: int,
        *,
        talk_seconds: float = 120.0,
    ) -> None:
        """``talk_seconds``: how long the agent talks; baresip hangs up when its audio
        file ends, so a short one makes an agent who hangs up first."""
        directory.mkdir(parents=True)
        self.recordings = directory / "heard"
        self.recordings.mkdir()
        tone = tone_wav(directory / "agent.wav", 1000.0, talk_seconds, "signed-integer")
        account = (
            f"<sip:{user}@127.0.0.1:{registrar_port}>;auth_pass={password};regint=120;"
            "answermode=auto;audio_codecs=PCMU"
        )
        super().__init__(directory, account, talks=tone, heard_dir=self.recordings)

    def heard(self) -> np.ndarray:
        return read_wav(self.last_dump(self.recordings)).channel(0)


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def logged(demo: HotlineProcess, pattern: str) -> re.Match[str]:
    for line in demo.lines:
        match = re.search(pattern, line)
        if match:
            return match
    raise AssertionError(f"{pattern!r} not in the demo's log:\n{''.join(demo.lines)}")


def order_keys() -> list[tuple[float, str]]:
    """Press 2 during the menu, then key the order number and # (pauses in seconds)."""
    return [(5.0, "2"), *[(0.3 if i else 1.5, d) for i, d in enumerate(ORDER)], (0.3, "#")]


def sipp_customer(tmp_path: Path, sip_port: int, talk_seconds: float) -> list[str]:
    talk = tone_wav(tmp_path / "customer.wav", 440.0, 90.0, "a-law")
    scenario = tmp_path / "customer.xml"
    scenario.write_text(customer_scenario(order_keys(), talk_wav=talk, talk_seconds=talk_seconds))
    return [
        require_peer("sipp"),
        *["-sf", str(scenario), f"127.0.0.1:{sip_port}"],
        *["-i", "127.0.0.1", "-p", "0", "-mi", "127.0.0.1", "-mp", "0"],
        *["-m", "1", "-nostdin", "-timeout", "90s", "-timeout_error"],
    ]


def two_tones(wav_bytes: bytes, tmp_path: Path) -> tuple[float, float]:
    """The main frequency of each channel of a stereo recording (where there is sound)."""
    (tmp_path / "recording.wav").write_bytes(wav_bytes)
    wav = read_wav(tmp_path / "recording.wav")
    assert wav.channels == 2
    return peak_hz(loud(wav.channel(0))), peak_hz(loud(wav.channel(1)))


def metric(text: str, name: str) -> float:
    """One sample of a Prometheus text exposition, by its name and labels as written."""
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics:\n{text}")


def test_caller_keys_an_order_and_is_connected_to_agent_1002_with_recording(
    run_hotline: type[HotlineProcess], tmp_path: Path
) -> None:
    data = tmp_path / "demo"
    demo = run_hotline(["demo", "--http-port", "0", "--sip-port", "0", "--data-dir", str(data)])
    demo.wait_for("hotline ready", timeout=30)
    demo.logged_or_wait("IVR prompts ready", timeout=120)
    base = logged(demo, r"(http://127\.0\.0\.1:\d+)").group(1)
    sip_port = int(logged(demo, r"address=127\.0\.0\.1:(\d+) transport=udp").group(1))
    password = logged(demo, r"SIP user '1002', password '([^']+)'").group(1)
    admin_password = logged(demo, r"admin / (\S+)").group(1)

    phone = AgentPhone(tmp_path / "agent-1002", "1002", password, sip_port)
    try:
        bindings = data / "sip-bindings.json"
        wait_until(
            lambda: bindings.exists() and "sip:1002@127.0.0.1" in bindings.read_text(),
            15,
            "agent 1002 to register",
        )
        api = httpx.Client(base_url=base, timeout=10)
        login = api.post(
            "/api/v1/auth/login", json={"username": "admin", "password": admin_password}
        )
        assert login.status_code == 200, login.text
        # Logged in but on a break: the caller will have to wait for 1002.
        assert api.post("/api/v1/live/agents/1002/login").status_code == 204
        meeting = api.post("/api/v1/live/agents/1002/break", json={"reason": "meeting"})
        assert meeting.status_code == 204
        customer = subprocess.Popen(
            sipp_customer(tmp_path, sip_port, talk_seconds=14.0),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )

        def waiting() -> list[dict[str, object]]:
            calls = api.get("/api/v1/live/calls").json()
            return [c for c in calls if c["state"] == "queued" and c["queue"] == "after-sales"]

        (queued,) = wait_until(waiting, 60, "the caller to wait in after-sales")
        tiles = {q["name"]: q for q in api.get("/api/v1/live/queues").json()}
        assert tiles["after-sales"]["waiting"] == 1  # the wallboard shows the waiting caller
        assert api.post("/api/v1/live/agents/1002/ready").status_code == 204
        connected = wait_until(
            lambda: [c for c in api.get("/api/v1/live/calls").json() if c["agent"] == "1002"],
            15,
            "the call to reach 1002",
        )
        assert connected[0]["call_id"] == queued["call_id"]
        assert connected[0]["state"] == "connected"
        output, _ = customer.communicate(timeout=120)
        assert customer.returncode == 0, output[-3000:]

        # The phone heard the customer.
        heard = loud(phone.heard())
        assert len(heard) > 8000, "the agent heard less than a second of the customer"
        assert peak_hz(heard) == pytest.approx(440, abs=15)

        # The recording: customer left, agent right, linked to the CDR.
        def recording_listed() -> list[dict[str, object]]:
            rows = api.get("/api/v1/recordings").json()
            return rows if isinstance(rows, list) and rows else []

        (recording,) = wait_until(recording_listed, 15, "the recording to be stored")
        cdrs = wait_until(lambda: api.get("/api/v1/cdrs").json(), 15, "the CDR")
        (cdr,) = cdrs
        assert cdr["call_id"] == recording["call_id"]
        assert cdr["disposition"] == "handled"
        assert cdr["talk_seconds"] > 1.0
        details = cdr["details"]
        assert details["queues"] == ["after-sales"]
        assert details["agent"] == "1002"
        assert details["ivr_flow"] == "demo-hotline"
        assert details["hangup_side"] == "customer"
        assert len(details["recording_ids"]) == 1
        audio = api.get(f"/api/v1/recordings/{recording['id']}/audio")
        assert audio.status_code == 200
        left, right = two_tones(audio.content, tmp_path)
        assert left == pytest.approx(440, abs=15)  # the customer
        assert right == pytest.approx(1000, abs=15)  # the agent
        agents = api.get("/api/v1/live/agents").json()
        state = next(a for a in agents if a["agent_id"] == "1002")["state"]
        assert state in ("wrap_up", "available"), agents
        # The operator's view of the same call, as Prometheus scrapes it.
        metrics = api.get("/metrics").text
        assert metric(metrics, 'hotline_sip_responses_total{code="200",direction="sent"}') >= 1
        received = metric(metrics, 'hotline_rtp_packets_received_total{role="customer"}')
        assert received > 100
        assert metric(metrics, 'hotline_rtp_packets_lost_total{role="customer"}') < received / 20
        assert metric(metrics, 'hotline_queue_waiting{queue="after-sales"}') == 0
        assert metric(metrics, "hotline_calls_in_progress") == 0
    finally:
        phone.stop()
    assert demo.terminate() == 0
    # The queue log tells the same call's story, step by step, in the node's database.
    with sqlite3.connect(data / "hotline.db") as db:
        steps = [
            row[0]
            for row in db.execute(
                "SELECT event FROM queue_log WHERE call_id = ? ORDER BY id", (cdr["call_id"],)
            )
        ]
    assert steps[:4] == ["queued", "offered", "connected", "completed"], steps
    assert steps.count("leg_quality") == 2  # customer and agent legs, with loss and jitter


def test_a_stopped_demo_ends_its_calls_cleanly_and_restarts_with_everything(
    run_hotline: type[HotlineProcess], tmp_path: Path
) -> None:
    """SIGTERM during a connected call: the call is ended and stored with its recording;
    the restarted node has its directory, the agent's registration and that history."""
    data = tmp_path / "demo"
    demo = run_hotline(["demo", "--http-port", "0", "--sip-port", "0", "--data-dir", str(data)])
    demo.wait_for("hotline ready", timeout=30)
    demo.logged_or_wait("IVR prompts ready", timeout=120)
    base = logged(demo, r"(http://127\.0\.0\.1:\d+)").group(1)
    sip_port = int(logged(demo, r"address=127\.0\.0\.1:(\d+) transport=udp").group(1))
    password = logged(demo, r"SIP user '1002', password '([^']+)'").group(1)
    admin_password = logged(demo, r"admin / (\S+)").group(1)
    phone = AgentPhone(tmp_path / "agent-1002", "1002", password, sip_port)
    customer = None
    try:
        bindings = data / "sip-bindings.json"
        wait_until(
            lambda: bindings.exists() and "sip:1002@127.0.0.1" in bindings.read_text(),
            15,
            "agent 1002 to register",
        )
        credentials = {"username": "admin", "password": admin_password}
        with httpx.Client(base_url=base, timeout=10) as api:
            assert api.post("/api/v1/auth/login", json=credentials).status_code == 200
            assert api.post("/api/v1/live/agents/1002/login").status_code == 204
            assert api.post("/api/v1/live/agents/1002/ready").status_code == 204
            customer = subprocess.Popen(
                sipp_customer(tmp_path, sip_port, talk_seconds=60.0),
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wait_until(
                lambda: any(c["agent"] == "1002" for c in api.get("/api/v1/live/calls").json()),
                60,
                "the caller to reach agent 1002",
            )
        time.sleep(3)  # a few seconds of conversation on the recording
        assert demo.terminate() == 0
        log = demo.drain()
        assert "hotline stopped" in log
        assert "Traceback" not in log

        again = run_hotline(
            ["demo", "--http-port", "0", "--sip-port", "0", "--data-dir", str(data)]
        )
        again.wait_for("hotline ready", timeout=30)
        base = logged(again, r"(http://127\.0\.0\.1:\d+)").group(1)
        assert logged(again, r"SIP user '1002', password '([^']+)'").group(1) == password
        with httpx.Client(base_url=base, timeout=10) as api:
            assert api.post("/api/v1/auth/login", json=credentials).status_code == 200
            assert len(api.get("/api/v1/queues").json()["items"]) == 4  # the directory
            (cdr,) = api.get("/api/v1/cdrs").json()
            assert cdr["disposition"] == "handled"
            assert cdr["details"]["hangup_cause"] == "node stopping"
            assert cdr["talk_seconds"] >= 3
            (recording,) = api.get("/api/v1/recordings").json()
            assert recording["call_id"] == cdr["call_id"]
            assert recording["sha256"]
            audio = api.get(f"/api/v1/recordings/{recording['id']}/audio")
            assert audio.status_code == 200
            left, right = two_tones(audio.content, tmp_path)
            assert left == pytest.approx(440, abs=15)
            assert right == pytest.approx(1000, abs=15)
            agents = {a["agent_id"]: a for a in api.get("/api/v1/live/agents").json()}
            assert agents["1002"]["phone_registered"] is True  # kept across the restart
            assert agents["1001"]["phone_registered"] is False
        assert again.terminate() == 0
    finally:
        if customer is not None:
            customer.kill()
            customer.wait()
        phone.stop()
