"""Hold and blind transfer pressed on real phones (baresip), through the demo node.

A SIPp customer calls the after-sales queue number (4002) and echoes everything it hears,
so the left channel of the call's recordings is what the caller heard, on the node's call
clock. The agents' phones answer by themselves and talk their own tones (1002: 1000 Hz,
1003: 1500 Hz); hold music is none of them.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import HotlineProcess
from tests.support.demo_node import DemoNode
from tests.support.phones import runs, timeline

pytestmark = pytest.mark.interop

TONES = {"1002": 1000.0, "1003": 1500.0}


def sounds(samples: object) -> list[str]:
    return [h for h in runs(timeline(samples, TONES)) if h != "silence"]  # type: ignore[arg-type]


def test_hold_on_the_agents_phone_plays_music_to_the_caller_then_resumes(
    run_hotline: type[HotlineProcess], tmp_path: Path
) -> None:
    node = DemoNode(run_hotline, tmp_path)
    try:
        agent = node.agent_phone("1002", TONES["1002"])
        caller = node.echoing_customer("4002")
        call = node.live_call(lambda c: c["agent"] == "1002", "the call to reach 1002")
        time.sleep(1.5)
        agent.command("hold")
        node.live_call(lambda c: c["held"], "the call to be held by the phone")
        time.sleep(2.0)
        agent.command("resume")
        node.live_call(lambda c: not c["held"], "the call to be resumed by the phone")
        time.sleep(1.5)
        node.hang_up(call["call_id"], caller)
        cdr = node.cdr()
        assert cdr["call_id"] == call["call_id"]
        assert cdr["details"]["hold_s"] >= 1.5
        (heard,) = node.heard_by_caller(1)
    finally:
        assert node.stop() == 0
    # The agent, then music on hold (not the agent), then the agent again.
    assert sounds(heard) == ["1002", "other", "1002"]


def test_transfer_key_on_the_agents_phone_refers_the_caller_to_another_agent(
    run_hotline: type[HotlineProcess], tmp_path: Path
) -> None:
    node = DemoNode(run_hotline, tmp_path)
    try:
        first = node.agent_phone("1002", TONES["1002"])
        node.agent_phone("1003", TONES["1003"], on_duty=False)  # rung directly, no ACD
        caller = node.echoing_customer("4002")
        call = node.live_call(lambda c: c["agent"] == "1002", "the call to reach 1002")
        time.sleep(1.5)
        first.command("transfer", "sip:1003@127.0.0.1")
        moved = node.live_call(lambda c: c["agent"] == "1003", "the call to reach 1003")
        assert moved["call_id"] == call["call_id"]  # one call, across the transfer
        agents = {a["agent_id"]: a for a in node.api.get("/api/v1/live/agents").json()}
        assert agents["1002"]["state"] == "wrap_up"
        time.sleep(1.5)
        node.hang_up(call["call_id"], caller)
        details = node.cdr()["details"]
        assert details["transfers"] == 1
        assert [s["agent"] for s in details["segments"]] == ["1002", "1003"]
        # Both agents' recordings, on the one call record: 1002's, then 1003's.
        with_first, with_second = node.heard_by_caller(2)
        recordings = node.api.get("/api/v1/recordings").json()
        assert {r["call_id"] for r in recordings} == {call["call_id"]}
    finally:
        assert node.stop() == 0
    assert sounds(with_first) == ["1002"]
    assert sounds(with_second) == ["1003"]
