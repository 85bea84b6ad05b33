"""Outbound calls through carrier trunks, against SIPp carriers and a baresip agent.

One demo node for the module, configured (through ``HOTLINE_TRUNKS`` and
``HOTLINE_TRUNK_GROUPS``) with SIPp "carriers" on loopback: ``a`` refuses every INVITE with
503, ``b`` and ``c`` answer and talk a 440 Hz tone, ``e`` challenges with a 401 digest and
answers only if SIPp's ``verifyauth`` accepts our credentials (trunk ``f`` is the same carrier
with a wrong password). All of them answer OPTIONS. Agent 1002 is baresip, answering by
itself and talking 1000 Hz. Each test places a click-to-call through the API
(``POST /api/v1/live/calls``: the agent's phone rings first, then the customer is dialled),
hangs it up through the API and reads the CDR the node stored.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import HotlineProcess
from tests.interop.conftest import require_peer
from tests.interop.test_call_path import AgentPhone, logged, tone_wav, two_tones, wait_until
from tests.support.baresip import free_port_pair
from tests.support.sipp_carrier import carrier_scenario

pytestmark = pytest.mark.interop

PASSWORD = "carrier-secret"


class Carrier:
    """A SIPp UAS on a fixed loopback port, which can be killed and started again."""

    def __init__(self, directory: Path, name: str, scenario: str, *, echo: bool = False) -> None:
        self.directory = directory
        self.echo = echo  # send back every RTP packet it receives (-rtp_echo)
        self.name = name
        self.port = free_port_pair()
        self.media_port = free_port_pair()
        self.file = directory / f"carrier-{name}.xml"
        self.file.write_text(scenario)
        self.messages = directory / f"{name}-messages.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                require_peer("sipp"),
                *["-sf", str(self.file), "-i", "127.0.0.1", "-p", str(self.port)],
                *["-mi", "127.0.0.1", "-mp", str(self.media_port), "-nostdin"],
                *["-trace_err", "-error_file", str(self.directory / f"{self.name}-errors.log")],
                *["-trace_msg", "-message_file", str(self.messages)],
                *(["-rtp_echo"] if self.echo else []),
            ],
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


@dataclass
class Node:
    demo: HotlineProcess
    api: httpx.Client
    carriers: dict[str, Carrier]
    directory: Path


def trunk(name: str, carrier: Carrier, priority: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "host": "127.0.0.1",
        "port": carrier.port,
        "priority": priority,
        "probe_interval_s": 0.5,
        "probe_timeout_s": 0.4,
        "down_after": 2,
        "up_after": 2,
        "setup_timeout_s": 4.0,
        **extra,
    }


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, prompt_cache: Path) -> Iterator[Node]:
    directory = tmp_path_factory.mktemp("trunks")
    tone = tone_wav(directory / "customer.wav", 440.0, 60.0, "a-law")
    carriers = {
        "a": Carrier(directory, "a", carrier_scenario("reject")),
        "b": Carrier(directory, "b", carrier_scenario("answer", talk_wav=tone)),
        "c": Carrier(directory, "c", carrier_scenario("answer", talk_wav=tone)),
        "e": Carrier(
            directory,
            "e",
            carrier_scenario("challenge", talk_wav=tone, username="hotline", password=PASSWORD),
        ),
    }
    trunks = [
        trunk("a", carriers["a"], 0, dial_format="national"),
        trunk("b", carriers["b"], 1, dial_format="e164", caller_id="+862161230000"),
        trunk("c", carriers["c"], 0),
        trunk("e", carriers["e"], 0, username="hotline", password=PASSWORD),
        trunk("f", carriers["e"], 0, username="hotline", password="wrong"),
    ]
    groups = [
        {"name": "failover", "trunks": ["a", "b"]},
        {"name": "health", "trunks": ["c", "b"]},
        {"name": "only-c", "trunks": ["c"]},
        {"name": "auth", "trunks": ["e"]},
        {"name": "auth-wrong", "trunks": ["f"]},
    ]
    data = directory / "demo"
    demo = HotlineProcess(
        ["demo", "--http-port", "0", "--sip-port", "0", "--data-dir", str(data)],
        {
            "HOTLINE_PROMPT_CACHE_DIR": str(prompt_cache),
            "HOTLINE_TRUNKS": json.dumps(trunks),
            "HOTLINE_TRUNK_GROUPS": json.dumps(groups),
        },
    )
    phone = None
    try:
        demo.wait_for("hotline ready", timeout=60)
        base = logged(demo, r"(http://127\.0\.0\.1:\d+)").group(1)
        sip_port = int(logged(demo, r"address=127\.0\.0\.1:(\d+) transport=udp").group(1))
        password = logged(demo, r"SIP user '1002', password '([^']+)'").group(1)
        admin_password = logged(demo, r"admin / (\S+)").group(1)
        phone = AgentPhone(directory / "agent-1002", "1002", password, sip_port)
        bindings = data / "sip-bindings.json"
        wait_until(
            lambda: bindings.exists() and "sip:1002@127.0.0.1" in bindings.read_text(),
            15,
            "agent 1002 to register",
        )
        with httpx.Client(base_url=base, timeout=10) as api:
            login = api.post(
                "/api/v1/auth/login", json={"username": "admin", "password": admin_password}
            )
            assert login.status_code == 200, login.text
            yield Node(demo, api, carriers, directory)
    finally:
        if phone is not None:
            phone.stop()
        for carrier in carriers.values():
            carrier.kill()
        if demo.proc.poll() is None:
            demo.terminate()
        if demo.proc.poll() is None:
            demo.proc.kill()


def trunk_view(node: Node, name: str) -> dict[str, Any]:
    views = node.api.get("/api/v1/live/trunks").json()
    return next(view for view in views if view["name"] == name)


def talk_and_hang_up(node: Node, body: dict[str, str]) -> dict[str, Any]:
    """Originate, wait for the customer to be connected, talk 2 s, hang up; the CDR."""
    placed = node.api.post("/api/v1/live/calls", json=body)
    assert placed.status_code == 201, placed.text
    call_id = placed.json()["call_id"]

    def connected() -> bool:
        calls = node.api.get("/api/v1/live/calls").json()
        return any(c["call_id"] == call_id and c["state"] == "connected" for c in calls)

    wait_until(connected, 20, "the customer to answer")
    (call,) = [c for c in node.api.get("/api/v1/live/calls").json() if c["call_id"] == call_id]
    assert call["direction"] == "outbound"
    assert call["agent"] == "1002"
    time.sleep(2.0)  # the two talk: tones on both channels of the recording
    assert node.api.post(f"/api/v1/live/calls/{call_id}/hangup").status_code == 204
    return stored_cdr(node, call_id)


def stored_cdr(node: Node, call_id: str) -> dict[str, Any]:
    def cdr() -> dict[str, Any] | None:
        rows = node.api.get("/api/v1/cdrs").json()
        return next((row for row in rows if row["call_id"] == call_id), None)

    found: dict[str, Any] = wait_until(cdr, 15, f"the CDR of {call_id}")
    return found


def attempts(cdr: dict[str, Any]) -> list[tuple[str, int | None, str]]:
    return [(a["trunk"], a["status"], a["number"]) for a in cdr["details"]["trunk_attempts"]]


def test_a_503_from_the_first_carrier_fails_over_to_the_second_within_the_attempt(
    node: Node,
) -> None:
    cdr = talk_and_hang_up(node, {"agent": "1002", "number": "021 6888 8888"})
    assert cdr["direction"] == "outbound"
    assert cdr["disposition"] == "handled"
    # Both tries on one call record, each in its trunk's dial format.
    assert attempts(cdr) == [("a", 503, "02168888888"), ("b", 200, "+862168888888")]
    assert cdr["details"]["trunk"] == "b"
    assert cdr["details"]["agent"] == "1002"
    assert cdr["talk_seconds"] > 1.0
    # Recorded like an inbound call: the customer (carrier b's tone) left, the agent right.
    recording = wait_until(
        lambda: next(
            (
                r
                for r in node.api.get("/api/v1/recordings").json()
                if r["call_id"] == cdr["call_id"]
            ),
            None,
        ),
        15,
        "the recording",
    )
    audio = node.api.get(f"/api/v1/recordings/{recording['id']}/audio")
    assert audio.status_code == 200
    left, right = two_tones(audio.content, node.directory)
    assert left == pytest.approx(440, abs=15)
    assert right == pytest.approx(1000, abs=15)
    # Caller ID: b presents its fixed number (in its E.164 format); the group has none to
    # offer a, so a's INVITE went out anonymous (RFC 3323).
    invites_a = node.carriers["a"].messages.read_text()
    assert "INVITE sip:02168888888@127.0.0.1:" in invites_a
    assert "From: <sip:anonymous@anonymous.invalid>" in invites_a
    assert "Privacy: id" in invites_a
    invites_b = node.carriers["b"].messages.read_text()
    assert "INVITE sip:+862168888888@127.0.0.1:" in invites_b
    assert "From: <sip:+862161230000@127.0.0.1>" in invites_b
    assert trunk_view(node, "a")["active_calls"] == 0  # channels given back
    assert trunk_view(node, "b")["active_calls"] == 0


def test_a_carrier_that_stops_answering_options_is_skipped_until_it_is_back(node: Node) -> None:
    carrier = node.carriers["c"]
    wait_until(lambda: trunk_view(node, "c")["last_probe_status"] == 200, 10, "c's probe")
    assert trunk_view(node, "c")["up"] is True
    carrier.kill()
    wait_until(lambda: trunk_view(node, "c")["up"] is False, 10, "trunk c to go down")
    metrics = node.api.get("/metrics").text
    assert 'hotline_trunk_up{trunk="c"} 0.0' in metrics
    assert 'hotline_trunk_up{trunk="b"} 1.0' in metrics
    # A group of c alone cannot carry a call: refused before any phone rings, with why.
    refused = node.api.post(
        "/api/v1/live/calls",
        json={"agent": "1002", "number": "13800138000", "trunk_group": "only-c"},
    )
    assert refused.status_code == 503
    assert "c down" in refused.json()["detail"]
    # c comes first in "health", but it is down: the call goes to b at once.
    cdr = talk_and_hang_up(
        node, {"agent": "1002", "number": "13800138000", "trunk_group": "health"}
    )
    assert cdr["disposition"] == "handled"
    assert attempts(cdr) == [("b", 200, "+8613800138000")]
    carrier.start()
    wait_until(lambda: trunk_view(node, "c")["up"] is True, 15, "trunk c to come back up")


def test_digest_credentials_satisfy_the_carriers_challenge(node: Node) -> None:
    cdr = talk_and_hang_up(node, {"agent": "1002", "number": "02168888888", "trunk_group": "auth"})
    assert cdr["disposition"] == "handled"
    assert attempts(cdr) == [("e", 200, "02168888888")]
    # The same carrier with a wrong password: SIPp's verifyauth refuses (403), which is
    # final (not a failover answer), and the agent's phone is hung up.
    placed = node.api.post(
        "/api/v1/live/calls",
        json={"agent": "1002", "number": "02168888888", "trunk_group": "auth-wrong"},
    )
    assert placed.status_code == 201, placed.text
    refused = stored_cdr(node, placed.json()["call_id"])
    assert refused["disposition"] == "unanswered"
    assert attempts(refused) == [("f", 403, "02168888888")]
    assert refused["details"]["sip_status"] == 403
