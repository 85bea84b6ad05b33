"""Blind transfer of an inbound call to outside numbers through the carrier trunks, with
real peers: SIPp customers, baresip agents, SIPp carriers.

Transfers go through the group ``transfer`` (``HOTLINE_EXTERNAL_TRANSFER``): carrier ``a``
refuses every INVITE with 503; ``b`` answers and talks a 440 Hz tone, but is busy (486) for
numbers ending in 0486 and refuses (503) those ending in 0777; ``d`` answers and echoes
every RTP packet it receives (``-rtp_echo``). The customer calls the after-sales queue
number 4002 and reaches agent 1002 (1000 Hz); 1003 (1500 Hz) is on duty in the same queue.

Audio both ways, on the node's recordings (customer left, the other party right): an
echoing SIPp customer puts what it heard on the left channel (the carrier's tone: the
carrier reached the customer), and a talking customer heard back from the echoing carrier
on the right channel (the customer reached the carrier).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hotline.media.wav import read_wav
from tests.conftest import HotlineProcess
from tests.interop.test_call_path import loud, peak_hz, tone_wav
from tests.interop.test_trunks import Carrier, trunk
from tests.support.demo_node import DemoNode, wait_until
from tests.support.phones import Phone
from tests.support.sipp_carrier import carrier_scenario
from tests.support.sipp_customer import scripted_caller, stream
from tests.support.sipp_echo_caller import sipp_caller

pytestmark = pytest.mark.interop

TONES = {"1002": 1000.0, "1003": 1500.0}
CARRIER_HZ = 440.0
CUSTOMER_HZ = 700.0


@pytest.fixture(scope="module")
def carriers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Carrier]]:
    directory = tmp_path_factory.mktemp("carriers")
    tone = tone_wav(directory / "carrier.wav", CARRIER_HZ, 60.0, "a-law")
    refuse = {"[^@]*0486@": "486 Busy Here", "[^@]*0777@": "503 Service Unavailable"}
    found = {
        "a": Carrier(directory, "a", carrier_scenario("reject")),
        "b": Carrier(directory, "b", carrier_scenario("answer", talk_wav=tone, refuse=refuse)),
        "d": Carrier(directory, "d", carrier_scenario("answer"), echo=True),
    }
    try:
        yield found
    finally:
        for carrier in found.values():
            carrier.kill()


def node_env(carriers: dict[str, Carrier]) -> dict[str, str]:
    trunks = [trunk(name, carrier, index) for index, (name, carrier) in enumerate(carriers.items())]
    groups = [
        {"name": "click-to-call", "trunks": ["b"]},
        {"name": "transfer", "trunks": ["a", "b", "d"], "caller_ids": ["4002"]},
    ]
    return {
        "HOTLINE_TRUNKS": json.dumps(trunks),
        "HOTLINE_TRUNK_GROUPS": json.dumps(groups),
        "HOTLINE_EXTERNAL_TRANSFER": json.dumps({"trunk_group": "transfer"}),
    }


@pytest.fixture
def node(
    run_hotline: type[HotlineProcess], tmp_path: Path, carriers: dict[str, Carrier]
) -> Iterator[DemoNode]:
    demo = DemoNode(run_hotline, tmp_path, node_env(carriers))
    try:
        demo.agent_phone("1002", TONES["1002"])
        demo.agent_phone("1003", TONES["1003"])
        yield demo
    finally:
        assert demo.stop() == 0


def talking_customer(directory: Path, sip_port: int) -> subprocess.Popen[str]:
    """A SIPp customer of the after-sales number that talks a 700 Hz tone until the node's
    BYE."""
    directory.mkdir(parents=True, exist_ok=True)
    wav = tone_wav(directory / "customer.wav", CUSTOMER_HZ, 60.0, "a-law")
    scenario = scripted_caller([stream(wav, -1)], number="4002", node_hangs_up=True)
    return sipp_caller(directory, sip_port, scenario, echo=False)


def live_call(node: DemoNode, call_id: str) -> dict[str, Any] | None:
    calls: list[dict[str, Any]] = node.api.get("/api/v1/live/calls").json()
    return next((c for c in calls if c["call_id"] == call_id), None)


def wait_for_call(node: DemoNode, call_id: str, predicate: Any, what: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        call = live_call(node, call_id)
        return call if call is not None and predicate(call) else None

    return wait_until(found, 40, what)


def outside_party_answered(call: dict[str, Any]) -> bool:
    return call["state"] == "connected" and any(
        p["role"] == "external" and p["answered"] for p in call["parties"]
    )


def phone(agent: str, node: DemoNode) -> Phone:
    return next(p for p in node.phones if p.user == agent)


def cdr_of(node: DemoNode, call_id: str) -> dict[str, Any]:
    def stored() -> dict[str, Any] | None:
        rows: list[dict[str, Any]] = node.api.get("/api/v1/cdrs").json()
        return next((row for row in rows if row["call_id"] == call_id), None)

    return wait_until(stored, 15, f"the CDR of {call_id}")


def recordings(node: DemoNode, count: int, call_id: str | None = None) -> list[tuple[float, float]]:
    """The main frequency of each channel (customer, other party) of the call's ``count``
    recordings, oldest first (``call_id`` None: the node's only call)."""

    def listed() -> list[dict[str, Any]] | None:
        rows: list[dict[str, Any]] = node.api.get("/api/v1/recordings").json()
        rows = [r for r in rows if call_id is None or r["call_id"] == call_id]
        return rows if len(rows) == count else None

    tones = []
    for row in sorted(wait_until(listed, 20, f"{count} recordings"), key=lambda r: r["id"]):
        audio = node.api.get(f"/api/v1/recordings/{row['id']}/audio")
        assert audio.status_code == 200
        path = node.directory / f"recording-{row['id']}.wav"
        path.write_bytes(audio.content)
        wav = read_wav(path)
        tones.append((peak_hz(loud(wav.channel(0))), peak_hz(loud(wav.channel(1)))))
    return tones


def attempts(cdr: dict[str, Any]) -> list[tuple[str, int | None, str]]:
    return [(a["trunk"], a["status"], a["number"]) for a in cdr["details"]["trunk_attempts"]]


def trunks_idle(api: httpx.Client) -> bool:
    return all(t["active_calls"] == 0 for t in api.get("/api/v1/live/trunks").json())


def test_api_transfer_fails_over_to_the_second_carrier_and_bridges_the_caller(
    node: DemoNode, carriers: dict[str, Carrier]
) -> None:
    caller = node.echoing_customer("4002")
    call = node.live_call(lambda c: c["agent"] == "1002", "the call to reach 1002")
    call_id = call["call_id"]
    time.sleep(1.5)  # 1002 and the caller talk: the first recording
    moved = node.api.post(
        f"/api/v1/live/calls/{call_id}/transfer", json={"target": "021 6888 8888"}
    )
    assert moved.status_code == 204, moved.text
    agents = {a["agent_id"]: a for a in node.api.get("/api/v1/live/agents").json()}
    assert agents["1002"]["state"] == "wrap_up"  # released once the transfer was accepted
    connected = wait_for_call(node, call_id, outside_party_answered, "the outside party")
    assert connected["agent"] is None
    time.sleep(2.0)  # the caller and the outside party talk: the second recording
    node.hang_up(call_id, caller)
    cdr = node.cdr()
    assert cdr["call_id"] == call_id
    assert cdr["disposition"] == "handled"
    details = cdr["details"]
    assert details["transfers"] == 1
    # a refused (503), b answered; the number in each trunk's dial format.
    assert attempts(cdr) == [("a", 503, "02168888888"), ("b", 200, "02168888888")]
    (party,) = details["parties"]
    assert (party["role"], party["party"], party["left_because"]) == (
        "external",
        "+862168888888",
        "call_ended",
    )
    # Caller ID: the DID the customer dialled, which the group owns.
    assert "From: <sip:4002@127.0.0.1>" in carriers["b"].messages.read_text()
    with_agent, with_outside = recordings(node, 2)  # one call record, two recordings
    assert with_agent[0] == pytest.approx(TONES["1002"], abs=15)  # the caller heard 1002
    # The caller heard the carrier (echoed back: left), the carrier talked (right).
    assert with_outside[0] == pytest.approx(CARRIER_HZ, abs=15)
    assert with_outside[1] == pytest.approx(CARRIER_HZ, abs=15)
    wait_until(lambda: trunks_idle(node.api), 10, "the trunks' channels to be given back")


def test_a_busy_outside_number_sends_the_caller_back_to_its_queue(node: DemoNode) -> None:
    caller = node.echoing_customer("4002")
    call = node.live_call(lambda c: c["agent"] == "1002", "the call to reach 1002")
    call_id = call["call_id"]
    moved = node.api.post(f"/api/v1/live/calls/{call_id}/transfer", json={"target": "02168880486"})
    assert moved.status_code == 204, moved.text
    # b is busy for that number (486 speaks for the callee: d is not tried); the caller
    # goes back to after-sales ahead of the others, and 1003 (free) takes it.
    back = wait_for_call(node, call_id, lambda c: c["agent"] == "1003", "1003 to take the caller")
    assert back["queue"] == "after-sales"
    assert back["attributes"]["transfer_failed"] == "+862168880486"
    time.sleep(1.5)
    node.hang_up(call_id, caller)
    cdr = node.cdr()
    assert cdr["disposition"] == "handled"
    assert attempts(cdr) == [("a", 503, "02168880486"), ("b", 486, "02168880486")]
    assert [s["agent"] for s in cdr["details"]["segments"]] == ["1002", "1003"]
    assert cdr["details"]["parties"] == []  # nobody answered outside
    assert [hz for hz, _ in recordings(node, 2)] == [
        pytest.approx(TONES["1002"], abs=15),
        pytest.approx(TONES["1003"], abs=15),
    ]
    wait_until(lambda: trunks_idle(node.api), 10, "the trunks' channels to be given back")


def test_refer_from_the_agents_phone_to_an_outside_number(node: DemoNode) -> None:
    # Refused by the transfer rules (international numbers are off by default): the
    # phone's REFER gets 403. (baresip then hangs up its own leg; the caller is asked the
    # after-sales survey, as after any agent's hang-up.)
    refused = node.echoing_customer("4002")
    first = node.live_call(lambda c: c["agent"] == "1002", "the call to reach 1002")
    phone("1002", node).command("transfer", "sip:+442071234567@127.0.0.1")
    node.process.wait_for("REFER to +442071234567 refused", timeout=15)
    node.hang_up(first["call_id"], refused)
    assert attempts(cdr_of(node, first["call_id"])) == []  # nothing was dialled
    # 0777: a and b refuse it with 503, d (the echoing carrier) answers. 1002 is in
    # wrap-up, so 1003 takes this call and transfers it.
    caller = talking_customer(node.directory / "talking", node.sip_port)
    call = node.live_call(lambda c: c["agent"] == "1003", "the call to reach 1003")
    call_id = call["call_id"]
    time.sleep(1.0)
    phone("1003", node).command("transfer", "sip:02168880777@127.0.0.1")
    wait_for_call(node, call_id, outside_party_answered, "the outside party")
    time.sleep(2.0)
    node.hang_up(call_id, caller)
    cdr = cdr_of(node, call_id)
    assert attempts(cdr) == [
        ("a", 503, "02168880777"),
        ("b", 503, "02168880777"),
        ("d", 200, "02168880777"),
    ]
    (party,) = cdr["details"]["parties"]
    assert (party["role"], party["party"]) == ("external", "+862168880777")
    _, with_outside = recordings(node, 2, call_id)
    # The customer talked (left) and the outside party heard it: it came back (right).
    assert with_outside[0] == pytest.approx(CUSTOMER_HZ, abs=15)
    assert with_outside[1] == pytest.approx(CUSTOMER_HZ, abs=15)
    wait_until(lambda: trunks_idle(node.api), 10, "the trunks' channels to be given back")


def test_a_click_to_call_is_transferred_into_a_queue(node: DemoNode) -> None:
    placed = node.api.post("/api/v1/live/calls", json={"agent": "1002", "number": "021 6888 8888"})
    assert placed.status_code == 201, placed.text
    call_id = placed.json()["call_id"]
    wait_for_call(node, call_id, lambda c: c["state"] == "connected", "the customer to answer")
    time.sleep(1.5)  # 1002 and the customer (carrier b's tone) talk: the first recording
    moved = node.api.post(f"/api/v1/live/calls/{call_id}/transfer", json={"queue": "after-sales"})
    assert moved.status_code == 204, moved.text
    # 1003, available in after-sales, takes the customer; not 1002, which passed it on
    # (free again, and the best match of the queue, it is made ready only afterwards).
    taken = wait_for_call(node, call_id, lambda c: c["agent"] == "1003", "1003 to take it")
    assert taken["direction"] == "outbound"
    time.sleep(1.5)
    assert node.api.post(f"/api/v1/live/calls/{call_id}/hangup").status_code == 204
    cdr = cdr_of(node, call_id)
    assert (cdr["direction"], cdr["disposition"]) == ("outbound", "handled")
    assert [s["agent"] for s in cdr["details"]["segments"]] == ["1002", "1003"]
    assert attempts(cdr) == [("b", 200, "02168888888")]
    with_1002, with_1003 = recordings(node, 2, call_id)
    assert with_1002[0] == pytest.approx(CARRIER_HZ, abs=15)
    assert with_1002[1] == pytest.approx(TONES["1002"], abs=15)
    assert with_1003[0] == pytest.approx(CARRIER_HZ, abs=15)
    assert with_1003[1] == pytest.approx(TONES["1003"], abs=15)
    agents = {a["agent_id"]: a for a in node.api.get("/api/v1/live/agents").json()}
    assert agents["1002"]["state"] == "available"
    wait_until(lambda: trunks_idle(node.api), 10, "the trunks' channels to be given back")
