"""CDRs folded from event histories; every duration computed by hand."""

from __future__ import annotations

import pytest

from hotline.calls.cdr import AgentSegment, CdrError, build_cdr
from hotline.calls.events import (
    AgentLegFailed,
    AgentLegRinging,
    CallAnswered,
    CallConnected,
    CallEnded,
    CallEvent,
    CallHeld,
    CallIvrStarted,
    CallQueued,
    CallResumed,
    CallStarted,
    CallTransferred,
    RecordingStarted,
    RecordingStopped,
    SurveyAnswered,
)

C = "call-1"


def inbound(at: float = 0.0) -> list[CallEvent]:
    return [
        CallStarted(
            at=at,
            call_id=C,
            direction="inbound",
            caller="+8613800138000",
            callee="4000",
            trunk="local",
            route="demo",
            department="after-sales",
        ),
        CallAnswered(at=at + 1, call_id=C),
        CallIvrStarted(at=at + 1, call_id=C, flow="hotline", version=3),
    ]


def test_handled_call_with_hold() -> None:
    cdr = build_cdr(
        [
            *inbound(),
            CallQueued(at=20, call_id=C, queue="after-sales"),
            AgentLegRinging(at=30, call_id=C, leg_id="L2", agent="1002"),
            CallConnected(at=33, call_id=C, leg_id="L2", agent="1002"),
            RecordingStarted(at=33, call_id=C, recording_id="r1"),
            CallHeld(at=60, call_id=C),
            CallResumed(at=90, call_id=C),
            SurveyAnswered(at=199, call_id=C, question="satisfaction", score=5),
            CallEnded(at=200, call_id=C, side="customer", cause="normal clearing"),
        ]
    )
    assert cdr.outcome == "handled"
    assert (cdr.agent, cdr.queues, cdr.ivr_flow, cdr.ivr_version) == (
        "1002",
        ("after-sales",),
        "hotline",
        3,
    )
    assert (cdr.duration_s, cdr.ring_s, cdr.wait_s, cdr.hold_s, cdr.talk_s) == (
        200,
        1,
        13,
        30,
        137,  # 200 - 33 connected, less 30 on hold
    )
    assert cdr.segments == (AgentSegment("1002", "L2", 30, 33, 200, "talked"),)
    assert cdr.recording_ids == ("r1",)
    assert cdr.survey == {"satisfaction": 5}
    assert (cdr.hangup_side, cdr.hangup_cause) == ("customer", "normal clearing")
    assert (cdr.queued_at, cdr.connected_at, cdr.answered_at) == (20, 33, 1)


def test_no_answer_then_next_agent() -> None:
    cdr = build_cdr(
        [
            *inbound(),
            CallQueued(at=20, call_id=C, queue="sales"),
            AgentLegRinging(at=25, call_id=C, leg_id="L1", agent="1001"),
            AgentLegFailed(at=40, call_id=C, leg_id="L1", agent="1001", reason="no_answer"),
            AgentLegRinging(at=41, call_id=C, leg_id="L2", agent="1002"),
            CallConnected(at=44, call_id=C, leg_id="L2", agent="1002"),
            CallEnded(at=100, call_id=C, side="agent", cause="normal clearing"),
        ]
    )
    assert cdr.wait_s == 24
    assert cdr.talk_s == 56
    assert cdr.agent == "1002"
    assert cdr.segments == (
        AgentSegment("1001", "L1", 25, None, 40, "no_answer"),
        AgentSegment("1002", "L2", 41, 44, 100, "talked"),
    )


def test_caller_abandons_while_an_agent_rings() -> None:
    cdr = build_cdr(
        [
            *inbound(),
            CallQueued(at=20, call_id=C, queue="sales"),
            AgentLegRinging(at=25, call_id=C, leg_id="L1", agent="1001"),
            CallEnded(at=30, call_id=C, side="customer", cause="caller hung up"),
        ]
    )
    assert cdr.outcome == "abandoned"
    assert cdr.wait_s == 10
    assert cdr.talk_s == 0
    assert cdr.agent is None
    assert cdr.segments == (AgentSegment("1001", "L1", 25, None, 30, "abandoned"),)


def test_queue_exit_by_the_system_is_not_an_abandon() -> None:
    cdr = build_cdr(
        [
            *inbound(),
            CallQueued(at=20, call_id=C, queue="sales"),
            CallEnded(at=320, call_id=C, side="system", cause="max wait: voicemail"),
        ]
    )
    assert (cdr.outcome, cdr.wait_s) == ("queue_exit", 300)


def test_transfer_to_queue_keeps_agents_and_recordings_on_one_record() -> None:
    cdr = build_cdr(
        [
            *inbound(),
            CallQueued(at=20, call_id=C, queue="sales"),
            CallConnected(at=30, call_id=C, leg_id="L1", agent="1001"),
            RecordingStarted(at=30, call_id=C, recording_id="r1"),
            RecordingStopped(at=100, call_id=C, recording_id="r1"),
            CallTransferred(at=100, call_id=C, from_agent="1001", target="billing", kind="queue"),
            CallQueued(at=100, call_id=C, queue="billing"),
            CallConnected(at=110, call_id=C, leg_id="L2", agent="1003"),
            RecordingStarted(at=110, call_id=C, recording_id="r2"),
            CallEnded(at=150, call_id=C, side="customer", cause="normal clearing"),
        ]
    )
    assert cdr.queues == ("sales", "billing")
    assert cdr.transfers == 1
    assert cdr.wait_s == 20  # 10 in sales + 10 in billing
    assert cdr.talk_s == 110  # 70 with 1001 + 40 with 1003
    assert cdr.agent == "1001"  # who took the call first
    assert [s.agent for s in cdr.segments] == ["1001", "1003"]
    assert cdr.recording_ids == ("r1", "r2")


def test_attended_transfer_closes_the_first_agents_talk() -> None:
    cdr = build_cdr(
        [
            *inbound(),
            CallConnected(at=10, call_id=C, leg_id="L1", agent="1001"),
            CallHeld(at=50, call_id=C),
            CallConnected(at=70, call_id=C, leg_id="L2", agent="1005"),  # replaces 1001
            CallEnded(at=100, call_id=C, side="agent", cause="normal clearing"),
        ]
    )
    assert cdr.segments == (
        AgentSegment("1001", "L1", None, 10, 70, "talked"),
        AgentSegment("1005", "L2", None, 70, 100, "talked"),
    )
    assert cdr.hold_s == 20
    assert cdr.talk_s == 70  # 60 + 30 connected, less 20 on hold


def test_ivr_only_and_unanswered_outcomes() -> None:
    ivr_only = build_cdr(
        [*inbound(), CallEnded(at=40, call_id=C, side="customer", cause="caller hung up")]
    )
    assert ivr_only.outcome == "ivr_only"
    outbound = build_cdr(
        [
            CallStarted(
                at=0, call_id=C, direction="outbound", caller="4000", callee="+8613800138000"
            ),
            CallEnded(at=32, call_id=C, side="system", cause="all trunks failed", sip_status=503),
        ]
    )
    assert (outbound.outcome, outbound.ring_s, outbound.sip_status) == ("unanswered", 32, 503)


def test_histories_that_are_not_one_finished_call() -> None:
    start, answered, _ = inbound()
    with pytest.raises(CdrError, match="no events"):
        build_cdr([])
    with pytest.raises(CdrError, match=r"starts with calls\.answered"):
        build_cdr([answered])
    with pytest.raises(CdrError, match="the call has not ended"):
        build_cdr([start, answered])
    with pytest.raises(CdrError, match="event of call other in the history of call-1"):
        build_cdr([start, CallAnswered(at=1, call_id="other")])
    ended = CallEnded(at=5, call_id=C, side="customer", cause="x")
    with pytest.raises(CdrError, match=r"calls\.answered after the call ended"):
        build_cdr([start, ended, answered])
