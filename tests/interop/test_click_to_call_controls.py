"""Every call control on a click-to-call, on the real SIP path (one call model: ``Call``).

A click-to-call (``POST /api/v1/live/calls``) rings agent 1002's baresip phone first; once
it answers, the customer's number is dialled through the group ``click-to-call``, whose
SIPp carrier ``customer`` lets the phone ring 3 s (180, then 200), talks a 700 Hz tone and
hangs up when the test tells it to (an INFO the test sends to SIPp triggers SIPp's own
BYE). Outside parties (a consultation or conference target that normalizes to an E.164
number: ``02168889999``) go through the transfer group (``HOTLINE_EXTERNAL_TRANSFER``),
whose carrier ``outside`` answers at once and talks 1200 Hz. Every phone talks a tone of
its own (1002 1000 Hz, 1003 1500 Hz, the supervisor's phone 1005 2000 Hz) and keeps what it
heard in a WAV, so the phones' dumps prove who heard whom; the demo's tone plan is the
Chinese one ("cn"), whose ringback is 450 Hz, 1 s on, 4 s off. The CDRs and recordings are
read back through the API, the SIP ladders from the carriers' SIPp message logs.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import HotlineProcess
from tests.interop.test_call_path import peak_hz, tone_wav
from tests.interop.test_transfer_external import (
    attempts,
    cdr_of,
    recordings,
    trunks_idle,
    wait_for_call,
)
from tests.interop.test_trunks import Carrier, trunk
from tests.support.demo_node import DemoNode, wait_until
from tests.support.phones import Phone, runs, timeline, tone_level
from tests.support.sipp_carrier import carrier_scenario, hang_up, invite_call_ids

pytestmark = pytest.mark.interop

RINGBACK_HZ = 450.0  # the "cn" plan's ringback (media/players.py: TONE_PLANS)
CUSTOMER_HZ = 700.0
OUTSIDE_HZ = 1200.0
TONES = {"1002": 1000.0, "1003": 1500.0, "supervisor": 2000.0}
RINGS_MS = 3000  # how long the customer's phone rings before the carrier answers
STEP = 0.25  # seconds per window of the phones' dumps


@pytest.fixture(scope="module")
def carriers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Carrier]]:
    directory = tmp_path_factory.mktemp("c2c-carriers")
    customer = tone_wav(directory / "customer.wav", CUSTOMER_HZ, 60.0, "a-law")
    outside = tone_wav(directory / "outside.wav", OUTSIDE_HZ, 60.0, "a-law")
    found = {
        "customer": Carrier(
            directory,
            "customer",
            carrier_scenario(
                "answer", talk_wav=customer, answer_after_ms=RINGS_MS, hang_up_on_info=True
            ),
        ),
        "outside": Carrier(directory, "outside", carrier_scenario("answer", talk_wav=outside)),
    }
    try:
        yield found
    finally:
        for carrier in found.values():
            carrier.kill()


@pytest.fixture
def node(
    run_hotline: type[HotlineProcess], tmp_path: Path, carriers: dict[str, Carrier]
) -> Iterator[DemoNode]:
    # The first group places click-to-calls; "transfer" carries the outside parties.
    env = {
        "HOTLINE_TRUNKS": json.dumps(
            [trunk(name, carrier, 0) for name, carrier in carriers.items()]
        ),
        "HOTLINE_TRUNK_GROUPS": json.dumps(
            [
                {"name": "click-to-call", "trunks": ["customer"]},
                {"name": "transfer", "trunks": ["outside"]},
            ]
        ),
        "HOTLINE_EXTERNAL_TRANSFER": json.dumps({"trunk_group": "transfer"}),
    }
    demo = DemoNode(run_hotline, tmp_path, env)
    try:
        yield demo
    finally:
        assert demo.stop() == 0


def place_click_to_call(node: DemoNode, carrier: Carrier, number: str) -> tuple[str, str]:
    """Originate for 1002; once the carrier has the INVITE: (our call id, SIPp's Call-ID)."""
    before = invite_call_ids(carrier.messages)
    placed = node.api.post("/api/v1/live/calls", json={"agent": "1002", "number": number})
    assert placed.status_code == 201, placed.text
    call_id: str = placed.json()["call_id"]

    def new_invite() -> str | None:
        fresh = [c for c in invite_call_ids(carrier.messages) if c not in before]
        return fresh[-1] if fresh else None

    return call_id, wait_until(new_invite, 40, "the customer's INVITE at the carrier")


def answer_when_ringing(phone: Phone, after: float) -> None:
    """Accept the incoming call on an ``answermode=manual`` baresip once it has rung for
    ``after`` seconds, as a person would."""
    wait_until(lambda: "INCOMING" in phone.command("listcalls"), 20, f"{phone.user} to ring")
    time.sleep(after)
    phone.command("accept")


def sip_ladder(messages: Path, call_id: str) -> list[tuple[float, str, str, str]]:
    """(time, "in"/"out", method or status code, CSeq) of every message of one dialog in a
    SIPp ``-trace_msg`` log, in order (never empty: a placeholder while there is none)."""
    ladder: list[tuple[float, str, str, str]] = [(0.0, "", "", "")]
    text = messages.read_text(errors="replace") if messages.exists() else ""
    pattern = (
        r"^-{10,} (\S+ \S+)\n(?:UDP|TCP) message (sent|received)[^\n]*\n\n(.*?)(?=^-{10,} |\Z)"
    )
    for match in re.finditer(pattern, text, re.MULTILINE | re.DOTALL):
        stamp, direction, message = match.groups()
        if not re.search(rf"^Call-ID:\s*{re.escape(call_id)}\s*$", message, re.M | re.I):
            continue
        first = message.split(maxsplit=2)
        what = first[1] if first[0] == "SIP/2.0" else first[0]
        cseq = re.search(r"^CSeq:\s*(.+?)\s*$", message, re.M | re.I)
        at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").timestamp()
        entry = (at, "out" if direction == "sent" else "in", what, cseq.group(1) if cseq else "")
        ladder.append(entry)
    return ladder[1:] or ladder


def labels(samples: np.ndarray, tones: dict[str, float]) -> list[str]:
    return timeline(samples, tones, STEP)


def first_run(found: list[str], label: str) -> tuple[int, int]:
    """(start, length) in windows of the first run of ``label``."""
    start = found.index(label)
    end = start
    while end < len(found) and found[end] == label:
        end += 1
    return start, end - start


def windows(samples: np.ndarray) -> list[np.ndarray]:
    size = int(8000 * STEP)
    return [samples[i : i + size] for i in range(0, len(samples) - size + 1, size)]


def count(samples: np.ndarray, *hz: float) -> int:
    """How many windows carry every one of the tones ``hz`` at once."""
    return sum(all(tone_level(w, f) > 0.1 for f in hz) for w in windows(samples))


def parties(cdr: dict[str, Any]) -> dict[str, tuple[str, str, list[str]]]:
    """role -> (party, left_because, modes) of the CDR's parties."""
    return {
        p["role"]: (p["party"], p["left_because"], list(p["modes"]))
        for p in cdr["details"]["parties"]
    }


def test_click_to_call_rings_back_then_a_consultation_hands_the_customer_to_1003(
    node: DemoNode, carriers: dict[str, Carrier]
) -> None:
    first = node.agent_phone("1002", TONES["1002"])
    second = node.agent_phone("1003", TONES["1003"], on_duty=False, auto_answer=False)
    agent = node.login("1002", node.password("1002"))  # the agent controls its own call
    carrier = carriers["customer"]
    call_id, sip_call_id = place_click_to_call(node, carrier, "021 6888 8888")
    base = f"/api/v1/live/calls/{call_id}"
    ringing = wait_for_call(
        node, call_id, lambda c: c["state"] == "ringing_customer", "the customer's phone to ring"
    )
    assert (ringing["direction"], ringing["agent"]) == ("outbound", "1002")
    wait_for_call(node, call_id, lambda c: c["state"] == "connected", "the customer to answer")
    time.sleep(1.5)  # 1002 and the customer talk
    consult = agent.post(base + "/consult", json={"target": "1003"})
    assert consult.status_code == 204, consult.text
    held = wait_for_call(
        node,
        call_id,
        lambda c: c["held"] and any(p["role"] == "consult" for p in c["parties"]),
        "the consultation to ring 1003",
    )
    assert held["recording"] == "on"
    answer_when_ringing(second, 2.5)  # 1002 hears ringback meanwhile
    wait_for_call(
        node,
        call_id,
        lambda c: any(p["role"] == "consult" and p["answered"] for p in c["parties"]),
        "1003 to answer the consultation",
    )
    time.sleep(1.5)  # 1002 and 1003 talk; the customer hears music
    complete = agent.post(base + "/consult/complete")
    assert complete.status_code == 204, complete.text
    taken = wait_for_call(
        node, call_id, lambda c: c["agent"] == "1003" and not c["held"], "1003 to take over"
    )
    assert taken["direction"] == "outbound"
    assert taken["parties"] == []
    time.sleep(1.5)  # 1003 and the customer talk
    hang_up(carrier.port, sip_call_id)  # the customer hangs up: SIPp sends its BYE
    cdr = cdr_of(node, call_id)
    # The carrier's side of the dialog: it rang 3 s, answered, hung up, and the node
    # answered its BYE.

    def bye_answered() -> list[tuple[float, str, str, str]] | None:
        ladder = sip_ladder(carrier.messages, sip_call_id)
        return ladder if ladder[-1][1:] == ("in", "200", "1 BYE") else None

    ladder = wait_until(bye_answered, 10, "the node's 200 to the customer's BYE")
    steps = [(direction, what) for _, direction, what, _ in ladder]
    for step in [("in", "INVITE"), ("out", "180"), ("out", "200"), ("in", "ACK"), ("out", "BYE")]:
        assert step in steps, ladder
    rang = ladder[steps.index(("out", "200"))][0] - ladder[steps.index(("out", "180"))][0]
    assert rang >= RINGS_MS / 1000 - 0.1
    assert (cdr["direction"], cdr["disposition"]) == ("outbound", "handled")
    details = cdr["details"]
    assert details["hangup_side"] == "customer"
    assert details["transfers"] == 1
    assert [s["agent"] for s in details["segments"]] == ["1002", "1003"]
    assert parties(cdr) == {"consult": ("1003", "transferred", [])}
    assert attempts(cdr) == [("customer", 200, "02168888888")]
    # One call record, two recordings: the customer (left) with 1002, then with 1003.
    with_1002, with_1003 = recordings(node, 2, call_id)
    assert with_1002 == pytest.approx((CUSTOMER_HZ, TONES["1002"]), abs=15)
    assert with_1003 == pytest.approx((CUSTOMER_HZ, TONES["1003"]), abs=15)
    wait_until(lambda: trunks_idle(node.api), 10, "the customer's channel to be given back")
    agents = {a["agent_id"]: a for a in node.api.get("/api/v1/live/agents").json()}
    # The click-to-call had put 1002 on a break; passed on, 1002 is ready again.
    assert (agents["1002"]["state"], agents["1002"]["busy"]) == ("available", False)
    heard_by_1002 = first.heard()
    heard_by_1003 = second.heard()

    # What 1002's phone played: ringback while the customer's phone rang, the customer,
    # ringback again while 1003's rang, then 1003 (who never heard the customer meanwhile).
    tones = {"ringback": RINGBACK_HZ, "customer": CUSTOMER_HZ, "1003": TONES["1003"]}
    found = labels(heard_by_1002, tones)
    assert [h for h in runs(found) if h != "silence"] == [
        "ringback",
        "customer",
        "ringback",
        "1003",
    ]
    # The first ringback is the plan's: 450 Hz, a 1 s burst then silence (not a steady
    # tone), before the carrier's 200 (3 s after its 180).
    start, length = first_run(found, "ringback")
    assert 2 <= length <= 6, found
    assert found[start + length : start + length + 4] == ["silence"] * 4, found
    burst = np.concatenate(windows(heard_by_1002)[start : start + length])
    assert peak_hz(burst) == pytest.approx(RINGBACK_HZ, abs=8)
    # 1003 heard 1002 during the consultation, then the customer.
    heard = [
        h for h in runs(labels(heard_by_1003, {"1002": TONES["1002"], **tones})) if h != "silence"
    ]
    assert heard == ["1002", "customer"]


def test_click_to_call_supervised_conferenced_and_paused_answers_every_control(
    node: DemoNode, carriers: dict[str, Carrier]
) -> None:
    agent_phone = node.agent_phone("1002", TONES["1002"])
    supervisor_phone = node.agent_phone("1005", TONES["supervisor"], on_duty=False)
    supervisor = node.login("supervisor", node.logged_password("supervisor"))
    agent = node.login("1002", node.password("1002"))
    carrier, outside = carriers["customer"], carriers["outside"]
    before = invite_call_ids(outside.messages, "02168889999")
    call_id, _ = place_click_to_call(node, carrier, "021 6888 8888")
    base = f"/api/v1/live/calls/{call_id}"
    wait_for_call(node, call_id, lambda c: c["state"] == "connected", "the customer to answer")
    listen = supervisor.post(base + "/supervise", json={"mode": "listen", "phone": "1005"})
    assert listen.status_code == 204, listen.text
    wait_for_call(
        node,
        call_id,
        lambda c: any(p["role"] == "supervisor" and p["answered"] for p in c["parties"]),
        "the supervisor's phone to answer",
    )
    time.sleep(1.5)  # the supervisor listens to customer and agent
    conference = agent.post(base + "/conference", json={"target": "02168889999"})
    assert conference.status_code == 204, conference.text
    joined = wait_for_call(
        node,
        call_id,
        lambda c: any(p["role"] == "third_party" and p["answered"] for p in c["parties"]),
        "the outside party to answer",
    )
    assert {p["role"]: p["party"] for p in joined["parties"]} == {
        "supervisor": "1005",
        "third_party": "+862168889999",
    }
    time.sleep(2.0)  # all of them talk; the supervisor listens
    pause = agent.post(base + "/recording/pause")
    assert pause.status_code == 204, pause.text
    paused_at = time.monotonic()
    wait_for_call(node, call_id, lambda c: c["recording"] == "paused", "the recording paused")
    time.sleep(2.5)  # a card number is read out: not recorded
    resume = agent.post(base + "/recording/resume")
    assert resume.status_code == 204, resume.text
    paused_for = time.monotonic() - paused_at
    wait_for_call(node, call_id, lambda c: c["recording"] == "on", "the recording resumed")
    time.sleep(1.5)
    hung_up = agent.post(base + "/hangup")
    assert hung_up.status_code == 204, hung_up.text
    cdr = cdr_of(node, call_id)
    assert (cdr["direction"], cdr["disposition"]) == ("outbound", "handled")
    details = cdr["details"]
    assert details["recording_pauses"] == 1
    assert parties(cdr) == {
        "supervisor": ("1005", "call_ended", ["listen"]),
        "third_party": ("+862168889999", "call_ended", []),
    }
    assert [s["agent"] for s in details["segments"]] == ["1002"]
    # The conference's outside party was dialled through the transfer group.
    assert attempts(cdr) == [("customer", 200, "02168888888"), ("outside", 200, "02168889999")]
    # One recording, the paused stretch left out of it; its agent side is the conference's
    # mix (agent and outside party), without the listening supervisor.
    ((customer_side, agent_side),) = node.recordings(1)
    (row,) = node.api.get("/api/v1/recordings").json()
    assert row["call_id"] == call_id
    assert row["duration_seconds"] <= cdr["talk_seconds"] - 0.6 * paused_for, (row, cdr)
    assert count(customer_side, CUSTOMER_HZ) >= 8
    assert count(agent_side, TONES["1002"], OUTSIDE_HZ) >= 4
    loud = [w for w in windows(agent_side) if np.abs(w).max() > 300]
    assert max(tone_level(w, TONES["supervisor"]) for w in loud) < 0.02
    # The outside carrier answered the conference's INVITE; the node hung it up at the end.
    (dialled,) = [c for c in invite_call_ids(outside.messages, "02168889999") if c not in before]
    ladder = [(d, what) for _, d, what, _ in sip_ladder(outside.messages, dialled)]
    for step in [("in", "INVITE"), ("out", "200"), ("in", "ACK"), ("in", "BYE")]:
        assert step in ladder, ladder
    wait_until(lambda: trunks_idle(node.api), 10, "the trunks' channels to be given back")
    heard_by_agent = agent_phone.heard()
    heard_by_supervisor = supervisor_phone.heard()

    # Listen: the supervisor heard the customer and the agent, then the outside party
    # too; the agent heard the customer and the outside party, never the supervisor.
    assert count(heard_by_supervisor, CUSTOMER_HZ, TONES["1002"]) >= 4
    assert count(heard_by_supervisor, CUSTOMER_HZ, TONES["1002"], OUTSIDE_HZ) >= 4
    assert count(heard_by_agent, CUSTOMER_HZ, OUTSIDE_HZ) >= 4
    loud = [w for w in windows(heard_by_agent) if np.abs(w).max() > 300]
    assert max(tone_level(w, TONES["supervisor"]) for w in loud) < 0.02


def test_click_to_call_consults_an_outside_number_cancels_then_holds_and_resumes(
    node: DemoNode, carriers: dict[str, Carrier]
) -> None:
    agent_phone = node.agent_phone("1002", TONES["1002"])
    agent = node.login("1002", node.password("1002"))
    carrier, outside = carriers["customer"], carriers["outside"]
    before = invite_call_ids(outside.messages, "02168889999")
    call_id, sip_call_id = place_click_to_call(node, carrier, "021 6888 8888")
    base = f"/api/v1/live/calls/{call_id}"
    wait_for_call(node, call_id, lambda c: c["state"] == "connected", "the customer to answer")
    time.sleep(1.5)  # 1002 and the customer talk
    consult = agent.post(base + "/consult", json={"target": "02168889999"})
    assert consult.status_code == 204, consult.text
    consulting = wait_for_call(
        node,
        call_id,
        lambda c: any(p["role"] == "consult" and p["answered"] for p in c["parties"]),
        "the outside party to answer the consultation",
    )
    assert consulting["held"] is True
    assert [p["party"] for p in consulting["parties"]] == ["+862168889999"]
    time.sleep(2.0)  # 1002 and the outside party talk; the customer hears music
    cancel = agent.post(base + "/consult/cancel")
    assert cancel.status_code == 204, cancel.text
    back = wait_for_call(
        node, call_id, lambda c: not c["held"] and c["parties"] == [], "1002 back with the customer"
    )
    assert back["agent"] == "1002"
    time.sleep(1.5)  # 1002 and the customer talk again
    hold = agent.post(base + "/hold")
    assert hold.status_code == 204, hold.text
    wait_for_call(node, call_id, lambda c: c["held"], "the customer to be held")
    time.sleep(1.5)
    resume = agent.post(base + "/resume")
    assert resume.status_code == 204, resume.text
    wait_for_call(node, call_id, lambda c: not c["held"], "the customer to be resumed")
    time.sleep(1.5)
    hang_up(carrier.port, sip_call_id)
    cdr = cdr_of(node, call_id)
    details = cdr["details"]
    assert (cdr["direction"], details["hangup_side"], details["transfers"]) == (
        "outbound",
        "customer",
        0,
    )
    assert parties(cdr) == {"consult": ("+862168889999", "cancelled", [])}
    assert attempts(cdr) == [("customer", 200, "02168888888"), ("outside", 200, "02168889999")]
    assert cdr["hold_seconds"] >= 3.0  # the consultation's hold and the explicit one
    # The outside carrier got the consultation's INVITE (through the transfer group) and,
    # on cancel, the node's BYE.
    (consulted,) = [c for c in invite_call_ids(outside.messages, "02168889999") if c not in before]
    ladder = [(d, what) for _, d, what, _ in sip_ladder(outside.messages, consulted)]
    for step in [("in", "INVITE"), ("out", "200"), ("in", "ACK"), ("in", "BYE")]:
        assert step in ladder, ladder
    wait_until(lambda: trunks_idle(node.api), 10, "the trunks' channels to be given back")
    # 1002 heard the customer, the outside party (not the customer, on hold), then the
    # customer again (around its own hold, when it heard nobody).
    tones = {"ringback": RINGBACK_HZ, "customer": CUSTOMER_HZ, "outside": OUTSIDE_HZ}
    found = [
        h for h in runs(labels(agent_phone.heard(), tones)) if h not in ("silence", "ringback")
    ]
    assert [h for i, h in enumerate(found) if i == 0 or found[i - 1] != h] == [
        "customer",
        "outside",
        "customer",
    ]
    # The call's trunk is the customer's, whatever its outside parties went through.
    assert details["trunk"] == "customer"
