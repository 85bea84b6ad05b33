"""Hold and blind transfer pressed on real phones (baresip), through the demo node.

A customer's baresip calls the after-sales queue number (4002) and talks 440 Hz; the agents'
phones answer by themselves and talk their own tones (1002: 1000 Hz, 1003: 1500 Hz). What
the customer's phone heard, quarter second by quarter second, proves who was connected when.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import HotlineProcess
from tests.support.demo_node import DemoNode, wait_until
from tests.support.phones import runs, timeline

pytestmark = pytest.mark.interop

TONES = {"customer": 440.0, "1002": 1000.0, "1003": 1500.0}


def test_hold_on_the_agents_phone_plays_music_to_the_caller_then_resumes(
    run_hotline: type[HotlineProcess], tmp_path: Path
) -> None:
    node = DemoNode(run_hotline, tmp_path)
    try:
        agent = node.agent_phone("1002", TONES["1002"])
        customer = node.customer_phone(TONES["customer"])
        node.call(customer, "4002")
        call = node.live_call(lambda c: c["agent"] == "1002", "the call to reach 1002")
        time.sleep(1.5)
        agent.command("hold")
        node.live_call(lambda c: c["held"], "the call to be held by the phone")
        time.sleep(2.0)
        agent.command("resume")
        node.live_call(lambda c: not c["held"], "the call to be resumed by the phone")
        time.sleep(1.5)
        customer.command("hangup")
        cdr = node.cdr()
        assert cdr["call_id"] == call["call_id"]
        assert cdr["details"]["hold_s"] >= 1.5
    finally:
        assert node.stop() == 0
    heard = runs(timeline(customer.heard(), TONES))
    # The agent, then music on hold (not the agent), then the agent again.
    assert heard[heard.index("1002") :][:3] == ["1002", "other", "1002"], heard


def test_transfer_key_on_the_agents_phone_refers_the_caller_to_another_agent(
    run_hotline: type[HotlineProcess], tmp_path: Path
) -> None:
    node = DemoNode(run_hotline, tmp_path)
    try:
        first = node.agent_phone("1002", TONES["1002"])
        node.agent_phone("1003", TONES["1003"], on_duty=False)  # rung directly, no ACD
        customer = node.customer_phone(TONES["customer"])
        node.call(customer, "4002")
        call = node.live_call(lambda c: c["agent"] == "1002", "the call to reach 1002")
        time.sleep(1.5)
        first.command("transfer", "sip:1003@127.0.0.1")
        moved = node.live_call(lambda c: c["agent"] == "1003", "the call to reach 1003")
        assert moved["call_id"] == call["call_id"]  # one call, across the transfer
        agents = {a["agent_id"]: a for a in node.api.get("/api/v1/live/agents").json()}
        assert agents["1002"]["state"] == "wrap_up"
        time.sleep(1.5)
        customer.command("hangup")
        cdr = node.cdr()
        details = cdr["details"]
        assert details["transfers"] == 1
        assert [s["agent"] for s in details["segments"]] == ["1002", "1003"]

        def both_recordings() -> list[dict[str, object]] | None:
            rows: list[dict[str, object]] = node.api.get("/api/v1/recordings").json()
            return rows if len(rows) == 2 else None

        recordings = wait_until(both_recordings, 15, "both agents' recordings")
        assert {r["call_id"] for r in recordings} == {cdr["call_id"]}
    finally:
        assert node.stop() == 0
    heard = runs(timeline(customer.heard(), TONES))
    # 1002, then (after a moment of music, maybe) 1003, and never 1002 again.
    assert [h for h in heard if h in ("1002", "1003")] == ["1002", "1003"], heard
