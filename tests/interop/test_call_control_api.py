"""Attended transfer and supervisor whisper through the live API, with real phones.

As in test_call_control_phones.py, an echoing SIPp customer calls the after-sales queue
number, so the left channel of the call's recordings is what the caller heard; every phone
talks its own tone (agent 1002 1000 Hz, agent 1003 1500 Hz, the supervisor's phone, 1005's
desk phone, 2000 Hz) and keeps what it heard in a WAV.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import HotlineProcess
from tests.support.demo_node import DemoNode, wait_until
from tests.support.phones import runs, timeline, tone_level
from tests.support.sipp_echo_caller import echoing_caller

pytestmark = pytest.mark.interop

TONES = {"1002": 1000.0, "1003": 1500.0, "supervisor": 2000.0}


def windows(samples: np.ndarray, seconds: float = 0.25) -> list[np.ndarray]:
    size = int(8000 * seconds)
    return [samples[i : i + size] for i in range(0, len(samples) - size + 1, size)]


def sounds(samples: np.ndarray) -> list[str]:
    return [h for h in runs(timeline(samples, TONES)) if h != "silence"]


def count(samples: np.ndarray, *tones: str) -> int:
    """How many quarter seconds carry every one of ``tones`` at once."""
    return sum(all(tone_level(w, TONES[t]) > 0.1 for t in tones) for w in windows(samples))


def test_attended_transfer_consults_1003_while_the_caller_hears_music_then_completes(
    run_hotline: type[HotlineProcess], tmp_path: Path
) -> None:
    node = DemoNode(run_hotline, tmp_path)
    try:
        first = node.agent_phone("1002", TONES["1002"])
        second = node.agent_phone("1003", TONES["1003"], on_duty=False)
        agent = node.login("1002", node.password("1002"))  # the agent, on its own call
        caller = node.echoing_customer("4002")
        call = node.live_call(lambda c: c["agent"] == "1002", "the call to reach 1002")
        base = f"/api/v1/live/calls/{call['call_id']}"
        time.sleep(1.5)
        assert agent.post(base + "/consult", json={"target": "1003"}).status_code == 204
        node.live_call(
            lambda c: c["held"] and any(p["answered"] for p in c["parties"]),
            "1003 to answer the consultation",
        )
        time.sleep(2.0)
        assert agent.post(base + "/consult/complete").status_code == 204
        node.live_call(lambda c: c["agent"] == "1003" and not c["held"], "1003 to take over")
        time.sleep(1.5)
        node.hang_up(call["call_id"], caller)
        details = node.cdr()["details"]
        assert details["transfers"] == 1
        assert [s["agent"] for s in details["segments"]] == ["1002", "1003"]
        (party,) = details["parties"]
        assert (party["role"], party["party"], party["left_because"]) == (
            "consult",
            "1003",
            "transferred",
        )
        with_first, with_second = node.heard_by_caller(2)  # one call record, two recordings
    finally:
        assert node.stop() == 0
    # The caller: 1002, music while 1002 consulted 1003, then 1003.
    assert sounds(with_first) == ["1002", "other"]
    assert sounds(with_second) == ["1003"]
    # During the consultation 1002 and 1003 heard each other.
    assert count(first.heard(), "1003") >= 4
    assert count(second.heard(), "1002") >= 4


def test_supervisor_whispers_to_the_agent_and_the_caller_does_not_hear_it(
    run_hotline: type[HotlineProcess], tmp_path: Path
) -> None:
    node = DemoNode(run_hotline, tmp_path)
    try:
        agent = node.agent_phone("1002", TONES["1002"])
        supervisor_phone = node.agent_phone("1005", TONES["supervisor"], on_duty=False)
        supervisor = node.login("supervisor", node.logged_password("supervisor"))
        caller = node.echoing_customer("4002")
        call = node.live_call(lambda c: c["agent"] == "1002", "the call to reach 1002")
        base = f"/api/v1/live/calls/{call['call_id']}"
        time.sleep(1.0)
        whisper = {"mode": "whisper", "phone": "1005"}
        assert supervisor.post(base + "/supervise", json=whisper).status_code == 204
        node.live_call(
            lambda c: any(p["answered"] for p in c["parties"]), "the supervisor to answer"
        )
        time.sleep(2.5)
        node.hang_up(call["call_id"], caller)
        (party,) = node.cdr()["details"]["parties"]
        assert (party["role"], party["modes"]) == ("supervisor", ["whisper"])
        ((heard, agent_side),) = node.recordings(1)
    finally:
        assert node.stop() == 0
    # The agent heard the supervisor; the supervisor heard the agent.
    assert count(agent.heard(), "supervisor") >= 4
    assert count(supervisor_phone.heard(), "1002") >= 4
    # The caller heard the agent throughout, and never the supervisor.
    assert count(heard, "1002") >= 12
    loud = [w for w in windows(heard) if np.abs(w).max() > 300]
    assert max(tone_level(w, TONES["supervisor"]) for w in loud) < 0.02
    # The recording's other side is what the caller heard: the agent, not the whisper.
    assert count(agent_side, "1002") >= 12
    loud = [w for w in windows(agent_side) if np.abs(w).max() > 300]
    assert max(tone_level(w, TONES["supervisor"]) for w in loud) < 0.02


def test_conference_all_three_hear_each_other(
    run_hotline: type[HotlineProcess], tmp_path: Path
) -> None:
    node = DemoNode(run_hotline, tmp_path)
    try:
        node.agent_phone("1002", TONES["1002"])
        node.agent_phone("1003", TONES["1003"], on_duty=False)
        caller = node.echoing_customer("4002")
        call = node.live_call(lambda c: c["agent"] == "1002", "the call to reach 1002")
        base = f"/api/v1/live/calls/{call['call_id']}"
        time.sleep(1.0)
        assert node.api.post(base + "/conference", json={"target": "1003"}).status_code == 204
        node.live_call(lambda c: any(p["answered"] for p in c["parties"]), "1003 to answer")
        time.sleep(2.5)
        node.hang_up(call["call_id"], caller)
        (party,) = node.cdr()["details"]["parties"]
        assert (party["role"], party["party"], party["left_because"]) == (
            "third_party",
            "1003",
            "call_ended",
        )
        ((heard, agent_side),) = node.recordings(1)
    finally:
        assert node.stop() == 0
    # The recording keeps the third party: its agent side is the conference's mix.
    assert count(agent_side, "1002", "1003") >= 4
    # The caller heard both agents at once (the agents' own dumps are not checked here:
    # baresip sometimes writes none when its call is ended by the node's BYE under load).
    assert count(heard, "1002", "1003") >= 4
    assert count(heard, "1002") >= 8  # and 1002 throughout


def test_a_consulted_agent_gets_no_queue_call_until_the_consultation_ends(
    run_hotline: type[HotlineProcess], tmp_path: Path
) -> None:
    """Call A reaches 1002, who consults 1003 (both serve after-sales); call B then waits
    in after-sales: it is not offered to 1003, whose phone is busy on the consultation,
    and reaches 1003 as soon as 1002 cancels the consultation."""
    node = DemoNode(run_hotline, tmp_path)
    try:
        node.agent_phone("1002", TONES["1002"])
        node.agent_phone("1003", TONES["1003"])  # on duty: available, serves after-sales
        agent = node.login("1002", node.password("1002"))
        first = node.echoing_customer("4002")  # skills-best-match: 1002 (level 9)
        call_a = node.live_call(lambda c: c["agent"] == "1002", "call A to reach 1002")
        base = f"/api/v1/live/calls/{call_a['call_id']}"
        assert agent.post(base + "/consult", json={"target": "1003"}).status_code == 204
        node.live_call(
            lambda c: (
                c["call_id"] == call_a["call_id"] and any(p["answered"] for p in c["parties"])
            ),
            "1003 to answer the consultation",
        )

        def agent_1003() -> dict[str, object]:
            rows = node.api.get("/api/v1/live/agents").json()
            return next(a for a in rows if a["agent_id"] == "1003")

        assert (agent_1003()["state"], agent_1003()["busy"]) == ("available", True)
        second = echoing_caller(tmp_path / "caller-b", node.sip_port, "4002")
        # The ACD decides when B joins the queue: once B shows as queued with no phone
        # ringing for it, it was not offered to 1003 (nor to anyone: 1002 is on A).
        call_b = node.live_call(
            lambda c: c["call_id"] != call_a["call_id"] and c["state"] == "queued",
            "call B to wait in after-sales",
        )
        assert call_b["ringing"] == []
        assert call_b["queue"] == "after-sales"
        assert agent_1003()["state"] == "available"  # not reserved for B
        (queue,) = [
            q for q in node.api.get("/api/v1/live/queues").json() if q["name"] == "after-sales"
        ]
        assert queue["waiting"] == 1
        assert agent.post(base + "/consult/cancel").status_code == 204
        reached = node.live_call(
            lambda c: c["call_id"] == call_b["call_id"] and c["agent"] == "1003",
            "call B to reach 1003 once the consultation ended",
        )
        assert reached["queue"] == "after-sales"
        assert agent_1003()["busy"] is False
        node.hang_up(call_b["call_id"], second)
        node.hang_up(call_a["call_id"], first)
        wait_until(lambda: len(node.api.get("/api/v1/cdrs").json()) == 2, 15, "both CDRs")
    finally:
        assert node.stop() == 0
