"""Attended transfer and supervisor whisper through the live API, with real phones.

As in test_call_control_phones.py, a customer's baresip calls the after-sales queue number
and every party talks its own tone: customer 440 Hz, agent 1002 1000 Hz, agent 1003
1500 Hz, the supervisor's phone (1005's desk phone) 2000 Hz. The WAVs of what each phone
heard prove who heard whom.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import HotlineProcess
from tests.support.demo_node import DemoNode, wait_until
from tests.support.phones import runs, timeline, tone_level

pytestmark = pytest.mark.interop

TONES = {"customer": 440.0, "1002": 1000.0, "1003": 1500.0, "supervisor": 2000.0}


def windows(samples: np.ndarray, seconds: float = 0.25) -> list[np.ndarray]:
    size = int(8000 * seconds)
    return [samples[i : i + size] for i in range(0, len(samples) - size + 1, size)]


def test_attended_transfer_consults_1003_while_the_caller_hears_music_then_completes(
    run_hotline: type[HotlineProcess], tmp_path: Path
) -> None:
    node = DemoNode(run_hotline, tmp_path)
    try:
        first = node.agent_phone("1002", TONES["1002"])
        second = node.agent_phone("1003", TONES["1003"], on_duty=False)
        agent = node.login("1002", node.password("1002"))  # the agent, on its own call
        customer = node.customer_phone(TONES["customer"])
        node.call(customer, "4002")
        call = node.live_call(lambda c: c["agent"] == "1002", "the call to reach 1002")
        base = f"/api/v1/live/calls/{call['call_id']}"
        time.sleep(1.5)
        assert agent.post(base + "/consult", json={"target": "1003"}).status_code == 204
        node.live_call(
            lambda c: c["held"] and any(p["answered"] for p in c["parties"]),
            "1003 to answer the consultation",
        )
        time.sleep(1.5)
        assert agent.post(base + "/consult/complete").status_code == 204
        node.live_call(lambda c: c["agent"] == "1003" and not c["held"], "1003 to take over")
        time.sleep(1.5)
        customer.command("hangup")
        details = node.cdr()["details"]
        assert details["transfers"] == 1
        assert [s["agent"] for s in details["segments"]] == ["1002", "1003"]
        ((party),) = details["parties"]
        assert (party["role"], party["party"], party["left_because"]) == (
            "consult",
            "1003",
            "transferred",
        )

        def both_recordings() -> list[dict[str, object]] | None:
            rows: list[dict[str, object]] = node.api.get("/api/v1/recordings").json()
            return rows if len(rows) == 2 else None

        recordings = wait_until(both_recordings, 15, "both agents' recordings")
        assert {r["call_id"] for r in recordings} == {call["call_id"]}
    finally:
        assert node.stop() == 0
    # The caller: 1002, music while 1002 consulted 1003, then 1003.
    heard = runs(timeline(customer.heard(), TONES))
    assert [h for h in heard if h != "silence"][-3:] == ["1002", "other", "1003"], heard
    # 1002 talked to the caller, then to 1003 (never to the caller again).
    heard = runs(timeline(first.heard(), TONES))
    assert [h for h in heard if h in ("customer", "1003")] == ["customer", "1003"], heard
    # 1003 talked to 1002, then to the caller.
    heard = runs(timeline(second.heard(), TONES))
    assert [h for h in heard if h in ("customer", "1002")] == ["1002", "customer"], heard


def test_supervisor_whispers_to_the_agent_and_the_caller_does_not_hear_it(
    run_hotline: type[HotlineProcess], tmp_path: Path
) -> None:
    node = DemoNode(run_hotline, tmp_path)
    try:
        agent = node.agent_phone("1002", TONES["1002"])
        supervisor_phone = node.agent_phone("1005", TONES["supervisor"], on_duty=False)
        supervisor = node.login("supervisor", node.logged_password("supervisor"))
        customer = node.customer_phone(TONES["customer"])
        node.call(customer, "4002")
        call = node.live_call(lambda c: c["agent"] == "1002", "the call to reach 1002")
        base = f"/api/v1/live/calls/{call['call_id']}"
        time.sleep(1.0)
        whisper = {"mode": "whisper", "phone": "1005"}
        assert supervisor.post(base + "/supervise", json=whisper).status_code == 204
        node.live_call(
            lambda c: any(p["answered"] for p in c["parties"]), "the supervisor to answer"
        )
        time.sleep(2.5)
        customer.command("hangup")
        details = node.cdr()["details"]
        ((party),) = details["parties"]
        assert (party["role"], party["modes"]) == ("supervisor", ["whisper"])
    finally:
        assert node.stop() == 0
    # The agent heard the caller and, once the supervisor joined, the supervisor too.
    agent_windows = windows(agent.heard())
    both = [
        w
        for w in agent_windows
        if tone_level(w, TONES["customer"]) > 0.1 and tone_level(w, TONES["supervisor"]) > 0.1
    ]
    assert len(both) >= 4, runs(timeline(agent.heard(), TONES), 1)
    # The caller heard the agent throughout, and never the supervisor.
    customer_windows = [w for w in windows(customer.heard()) if np.abs(w).max() > 300]
    assert sum(tone_level(w, TONES["1002"]) > 0.5 for w in customer_windows) >= 8
    assert max(tone_level(w, TONES["supervisor"]) for w in customer_windows) < 0.02
    # The supervisor heard both.
    heard = supervisor_phone.heard()
    assert any(
        tone_level(w, TONES["customer"]) > 0.1 and tone_level(w, TONES["1002"]) > 0.1
        for w in windows(heard)
    )


def test_conference_all_three_hear_each_other(
    run_hotline: type[HotlineProcess], tmp_path: Path
) -> None:
    node = DemoNode(run_hotline, tmp_path)
    try:
        agent = node.agent_phone("1002", TONES["1002"])
        third = node.agent_phone("1003", TONES["1003"], on_duty=False)
        customer = node.customer_phone(TONES["customer"])
        node.call(customer, "4002")
        call = node.live_call(lambda c: c["agent"] == "1002", "the call to reach 1002")
        base = f"/api/v1/live/calls/{call['call_id']}"
        time.sleep(1.0)
        assert node.api.post(base + "/conference", json={"target": "1003"}).status_code == 204
        node.live_call(lambda c: any(p["answered"] for p in c["parties"]), "1003 to answer")
        time.sleep(2.5)
        customer.command("hangup")
        ((party),) = node.cdr()["details"]["parties"]
        assert (party["role"], party["party"], party["left_because"]) == (
            "third_party",
            "1003",
            "call_ended",
        )
    finally:
        assert node.stop() == 0

    def hears_both(samples: np.ndarray, a: str, b: str) -> int:
        return sum(
            tone_level(w, TONES[a]) > 0.1 and tone_level(w, TONES[b]) > 0.1
            for w in windows(samples)
        )

    # Each party heard the two others at once (mix-minus: never itself).
    assert hears_both(customer.heard(), "1002", "1003") >= 4
    assert hears_both(agent.heard(), "customer", "1003") >= 4
    assert hears_both(third.heard(), "customer", "1002") >= 4
