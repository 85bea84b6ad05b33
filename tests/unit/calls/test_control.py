"""Call control, input by input: exact commands out, and the CDR its events fold into."""

from __future__ import annotations

import pytest

from hotline.calls.call import Call
from hotline.calls.cdr import AgentSegment, build_cdr
from hotline.calls.commands import (
    AnswerLeg,
    Bridge,
    CallControlError,
    CancelLeg,
    ContactLeft,
    EnqueueContact,
    HangUpLeg,
    OfferAnswered,
    OfferFailed,
    Output,
    PlayMusicOnHold,
    RejectLeg,
    RingAgent,
    StartIvr,
    StartRecording,
    StopIvr,
    StopMedia,
    StopRecording,
    TransferDestination,
    Unbridge,
)
from hotline.calls.events import (
    AgentLegFailed,
    AgentLegRinging,
    CallAnswered,
    CallConnected,
    CallEnded,
    CallEvent,
    CallIvrStarted,
    CallQueued,
    CallStarted,
    RecordingStarted,
    RecordingStopped,
)
from hotline.calls.routing import Destination, InboundRoute, RouteDecision


def decision(kind: str, target: str = "") -> RouteDecision:
    route = InboundRoute(
        name="main",
        did="4000",
        department="after-sales",
        destination=Destination(type=kind, target=target),
    )
    return RouteDecision(route, route.destination, in_hours=True)


class Recorder:
    """Keeps a call's outputs, split into commands and events, across inputs."""

    def __init__(self, **kw: object) -> None:
        self.call = Call.inbound(
            call_id="c1",
            leg_id="c1-in",
            caller="+8613800138000",
            callee="4000",
            trunk="local",
            **kw,  # type: ignore[arg-type]
        )
        self.events: list[CallEvent] = []

    def __call__(self, outputs: list[Output]) -> list[Output]:
        self.events += [o for o in outputs if isinstance(o, CallEvent)]
        return [o for o in outputs if not isinstance(o, CallEvent)]


def queued(rec: Recorder) -> None:
    assert rec(rec.call.route(decision("flow", "demo-hotline"), 0)) == [
        AnswerLeg("c1-in"),
        StartIvr("c1", "demo-hotline", "after-sales"),
    ]
    assert rec(rec.call.ivr_started("demo-hotline", 3, 0)) == []
    assert rec(rec.call.enqueue("after-sales", 5, {"zh": 3}, {"order_number": "1"}, 20)) == [
        EnqueueContact("c1", "after-sales", 5, {"zh": 3}, {"order_number": "1"}),
        PlayMusicOnHold("c1-in"),
    ]


def test_ivr_queue_agent_talk_customer_hangs_up() -> None:
    rec = Recorder()
    queued(rec)
    assert rec(rec.call.offer("1002", 30)) == [RingAgent("c1", "c1-a1", "1002")]
    assert rec(rec.call.leg_answered("c1-a1", 33)) == [
        StopMedia("c1-in"),
        Bridge("c1-in", "c1-a1"),
        OfferAnswered("c1", "1002"),
        StartRecording("c1-r1", "c1-in", "c1-a1"),  # every call is recorded by default
    ]
    assert rec(rec.call.leg_hung_up("c1-in", 200)) == [
        StopRecording("c1-r1"),
        HangUpLeg("c1-a1"),
        ContactLeft("c1", "1002"),  # the ACD starts 1002's wrap-up
    ]
    assert [type(e) for e in rec.events] == [
        CallStarted,
        CallAnswered,
        CallIvrStarted,
        CallQueued,
        AgentLegRinging,
        CallConnected,
        RecordingStarted,
        RecordingStopped,
        CallEnded,
    ]
    cdr = build_cdr(rec.events)
    assert (cdr.outcome, cdr.agent, cdr.ivr_version, cdr.department) == (
        "handled",
        "1002",
        3,
        "after-sales",
    )
    assert (cdr.wait_s, cdr.talk_s, cdr.recording_ids) == (13, 167, ("c1-r1",))
    assert cdr.hangup_side == "customer"


def test_no_answer_back_to_the_queue_then_another_agent() -> None:
    rec = Recorder()
    queued(rec)
    rec(rec.call.offer("1001", 25))
    assert rec(rec.call.leg_failed("c1-a1", "no_answer", 40)) == [
        OfferFailed("c1", "1001", "no_answer")
    ]
    assert rec.call.state == "queued"
    assert rec(rec.call.offer("1002", 41)) == [RingAgent("c1", "c1-a2", "1002")]
    rec(rec.call.leg_answered("c1-a2", 44))
    assert rec(rec.call.leg_hung_up("c1-a2", 100)) == [
        StopRecording("c1-r1"),
        HangUpLeg("c1-in"),
        ContactLeft("c1", "1002"),
    ]
    cdr = build_cdr(rec.events)
    assert cdr.segments == (
        AgentSegment("1001", "c1-a1", 25, None, 40, "no_answer"),
        AgentSegment("1002", "c1-a2", 41, 44, 100, "talked"),
    )
    assert cdr.hangup_side == "agent"


def test_withdraw_cancels_only_the_current_ringing_offer() -> None:
    rec = Recorder()
    queued(rec)
    rec(rec.call.offer("1001", 25))
    assert rec(rec.call.withdraw("1002", 30)) == []  # not the agent being rung
    assert rec(rec.call.withdraw("1001", 40)) == [CancelLeg("c1-a1")]
    assert rec(rec.call.leg_failed("c1-a1", "no_answer", 40.1)) == []  # the CANCEL's echo
    assert isinstance(rec.events[-1], AgentLegFailed)
    rec(rec.call.offer("1003", 50))
    rec(rec.call.leg_answered("c1-a2", 52))
    assert rec(rec.call.withdraw("1003", 60)) == []  # answered: too late to withdraw


def test_caller_abandons_while_an_agent_rings() -> None:
    rec = Recorder()
    queued(rec)
    rec(rec.call.offer("1001", 25))
    assert rec(rec.call.leg_hung_up("c1-in", 30)) == [CancelLeg("c1-a1"), ContactLeft("c1", None)]
    cdr = build_cdr(rec.events)
    assert cdr.outcome == "abandoned"
    assert cdr.segments == (AgentSegment("1001", "c1-a1", 25, None, 30, "abandoned"),)
    assert rec(rec.call.leg_hung_up("c1-in", 31)) == []  # a repeated BYE changes nothing


def test_caller_hangs_up_in_the_ivr() -> None:
    rec = Recorder()
    rec(rec.call.route(decision("flow", "f"), 0))
    assert rec(rec.call.leg_hung_up("c1-in", 12)) == [StopIvr("c1")]
    assert build_cdr(rec.events).outcome == "ivr_only"


def test_ivr_ends_the_call() -> None:
    rec = Recorder()
    rec(rec.call.route(decision("flow", "f"), 0))
    assert rec(rec.call.ivr_hung_up(9)) == [HangUpLeg("c1-in")]  # the flow has ended itself
    assert build_cdr(rec.events).hangup_side == "system"


def test_no_route_and_closed_routes_refuse_the_invite() -> None:
    rec = Recorder()
    assert rec(rec.call.route(None, 0)) == [RejectLeg("c1-in", 404, "Not Found")]
    cdr = build_cdr(rec.events)
    assert (cdr.outcome, cdr.sip_status, cdr.route) == ("unanswered", 404, None)
    other = Recorder()
    assert other(other.call.route(decision("hangup"), 0)) == [
        RejectLeg("c1-in", 480, "Temporarily Unavailable")
    ]


def test_route_straight_to_a_queue() -> None:
    rec = Recorder()
    assert rec(rec.call.route(decision("queue", "sales"), 0)) == [
        AnswerLeg("c1-in"),
        EnqueueContact("c1", "sales", 0, {}, {}),
        PlayMusicOnHold("c1-in"),
    ]


def test_direct_call_to_a_user_answers_only_when_they_do() -> None:
    rec = Recorder()
    assert rec(rec.call.route(decision("user", "1001"), 0)) == [RingAgent("c1", "c1-a1", "1001")]
    assert rec(rec.call.leg_answered("c1-a1", 5)) == [
        AnswerLeg("c1-in"),
        StopMedia("c1-in"),
        Bridge("c1-in", "c1-a1"),
        StartRecording("c1-r1", "c1-in", "c1-a1"),
    ]
    unreachable = Recorder()
    unreachable(unreachable.call.route(decision("user", "1009"), 0))
    assert unreachable(unreachable.call.leg_failed("c1-a1", "unreachable", 1)) == [
        RejectLeg("c1-in", 480, "Temporarily Unavailable")  # never answered: no BYE
    ]


def test_queue_that_must_not_be_recorded() -> None:
    rec = Recorder(recording={"after-sales": "never"})
    queued(rec)
    rec(rec.call.offer("1002", 30))
    outputs = rec(rec.call.leg_answered("c1-a1", 33))
    assert not any(isinstance(o, StartRecording) for o in outputs)
    assert rec.call.start_recording(40) == []  # not even on demand


def test_recording_on_demand_with_pause_as_stop_and_start() -> None:
    rec = Recorder(recording={"after-sales": "on_demand"})
    queued(rec)
    rec(rec.call.offer("1002", 30))
    assert not any(isinstance(o, StartRecording) for o in rec(rec.call.leg_answered("c1-a1", 33)))
    assert rec(rec.call.start_recording(40)) == [StartRecording("c1-r1", "c1-in", "c1-a1")]
    assert rec(rec.call.start_recording(41)) == []  # already recording
    assert rec(rec.call.stop_recording(50)) == [StopRecording("c1-r1")]
    assert rec(rec.call.start_recording(60)) == [StartRecording("c1-r2", "c1-in", "c1-a1")]
    rec(rec.call.leg_hung_up("c1-in", 90))
    assert build_cdr(rec.events).recording_ids == ("c1-r1", "c1-r2")


def test_inputs_that_make_no_sense_are_refused() -> None:
    rec = Recorder()
    rec(rec.call.route(decision("flow", "f"), 0))
    with pytest.raises(CallControlError, match="call c1 is ivr, not queued or ringing_agent"):
        rec.call.offer("1001", 1)
    with pytest.raises(CallControlError, match="unexpected answer on leg nope"):
        rec.call.leg_answered("nope", 1)
    rec(rec.call.enqueue("q", 0, {}, {}, 2))
    rec(rec.call.offer("1001", 3))
    with pytest.raises(CallControlError, match="call c1: 1001 is already ringing"):
        rec.call.offer("1001", 4)


def test_ring_all_first_answer_wins_the_others_are_cancelled() -> None:
    rec = Recorder()
    queued(rec)
    assert rec(rec.call.offer("1001", 25)) == [RingAgent("c1", "c1-a1", "1001")]
    assert rec(rec.call.offer("1002", 25)) == [RingAgent("c1", "c1-a2", "1002")]
    assert rec(rec.call.leg_answered("c1-a2", 28)) == [
        CancelLeg("c1-a1"),
        StopMedia("c1-in"),
        Bridge("c1-in", "c1-a2"),
        OfferAnswered("c1", "1002"),
        StartRecording("c1-r1", "c1-in", "c1-a2"),
    ]
    assert rec(rec.call.withdraw("1001", 28)) == []  # the ACD's answered_elsewhere
    assert rec(rec.call.leg_failed("c1-a1", "no_answer", 28.2)) == []  # the CANCEL's echo
    rec(rec.call.leg_hung_up("c1-in", 60))
    assert build_cdr(rec.events).segments == (
        AgentSegment("1001", "c1-a1", 25, None, 28, "answered_elsewhere"),
        AgentSegment("1002", "c1-a2", 25, 28, 60, "talked"),
    )


def test_one_of_two_ringing_agents_declines() -> None:
    rec = Recorder()
    queued(rec)
    rec(rec.call.offer("1001", 25))
    rec(rec.call.offer("1002", 25))
    assert rec(rec.call.leg_failed("c1-a1", "rejected", 26)) == [
        OfferFailed("c1", "1001", "rejected")
    ]
    assert rec.call.state == "ringing_agent"  # 1002 still rings
    assert rec(rec.call.leg_hung_up("c1-in", 30)) == [CancelLeg("c1-a2"), ContactLeft("c1", None)]


def connected(rec: Recorder) -> None:
    queued(rec)
    rec(rec.call.offer("1001", 25))
    rec(rec.call.leg_answered("c1-a1", 30))


def test_hold_and_resume() -> None:
    rec = Recorder()
    connected(rec)
    assert rec(rec.call.hold(50)) == [Unbridge("c1-in", "c1-a1"), PlayMusicOnHold("c1-in")]
    assert rec(rec.call.hold(51)) == []  # a repeated re-INVITE changes nothing
    assert rec(rec.call.resume(80)) == [StopMedia("c1-in"), Bridge("c1-in", "c1-a1")]
    rec(rec.call.hold(90))
    rec(rec.call.leg_hung_up("c1-in", 100))  # ends while on hold
    cdr = build_cdr(rec.events)
    assert (cdr.hold_s, cdr.talk_s) == (40, 30)


def test_blind_transfer_to_a_queue_starts_the_first_agents_wrap_up() -> None:
    rec = Recorder()
    connected(rec)
    assert rec(rec.call.transfer_to_queue("billing", 70)) == [
        StopRecording("c1-r1"),
        HangUpLeg("c1-a1"),
        ContactLeft("c1", "1001"),
        EnqueueContact("c1", "billing", 0, {}, {}),
        PlayMusicOnHold("c1-in"),
    ]
    rec(rec.call.offer("1003", 80))
    rec(rec.call.leg_answered("c1-a2", 82))
    rec(rec.call.leg_hung_up("c1-a2", 100))
    cdr = build_cdr(rec.events)
    assert cdr.queues == ("after-sales", "billing")
    assert cdr.transfers == 1
    assert [s.agent for s in cdr.segments] == ["1001", "1003"]
    assert cdr.recording_ids == ("c1-r1", "c1-r2")
    assert cdr.wait_s == 10 + 12


def test_blind_transfer_to_a_user_who_does_not_answer_ends_the_call() -> None:
    rec = Recorder()
    connected(rec)
    assert rec(rec.call.transfer_to_user("2001", 70)) == [
        StopRecording("c1-r1"),
        HangUpLeg("c1-a1"),
        ContactLeft("c1", "1001"),
        PlayMusicOnHold("c1-in"),
        RingAgent("c1", "c1-a2", "2001"),
    ]
    assert rec(rec.call.leg_failed("c1-a2", "no_answer", 100)) == [HangUpLeg("c1-in")]
    cdr = build_cdr(rec.events)
    assert (cdr.outcome, cdr.transfers, cdr.hangup_side) == ("handled", 1, "system")


def test_hold_or_transfer_without_a_talking_agent_is_refused() -> None:
    rec = Recorder()
    queued(rec)
    with pytest.raises(CallControlError, match="call c1 is queued, not connected"):
        rec.call.hold(30)
    with pytest.raises(CallControlError, match="not connected"):
        rec.call.transfer_to_queue("x", 30)


def test_ivr_transfers_the_caller_to_a_user() -> None:
    rec = Recorder()
    rec(rec.call.route(decision("flow", "f"), 0))
    assert rec(rec.call.ivr_transfer("2001", 8)) == [
        PlayMusicOnHold("c1-in"),
        RingAgent("c1", "c1-a1", "2001"),
    ]
    assert rec(rec.call.leg_hung_up("c1-in", 12)) == [CancelLeg("c1-a1")]  # no StopIvr


def test_queue_exits() -> None:
    overflow = Recorder()
    queued(overflow)
    assert overflow(overflow.call.queue_exit("overflow", "backup", None, 80)) == []
    overflow(overflow.call.leg_hung_up("c1-in", 90))
    assert build_cdr(overflow.events).queues == ("after-sales", "backup")

    voicemail = Recorder()
    queued(voicemail)
    assert voicemail(voicemail.call.queue_exit("voicemail", "box-7", "leave-message", 320)) == [
        StopMedia("c1-in"),
        StartIvr(
            "c1",
            "leave-message",
            "after-sales",
            {"exit_target": "box-7", "exit_queue": "after-sales"},
        ),
    ]
    # The ACD no longer holds the contact: hanging up in the flow tells it nothing.
    assert voicemail(voicemail.call.leg_hung_up("c1-in", 400)) == [StopIvr("c1")]
    cdr = build_cdr(voicemail.events)
    assert (cdr.outcome, cdr.wait_s) == ("queue_exit", 300)  # not an abandon: we moved them

    busy = Recorder()
    queued(busy)
    assert busy(busy.call.queue_exit("busy", "", None, 30)) == [HangUpLeg("c1-in")]
    cdr = build_cdr(busy.events)
    assert (cdr.outcome, cdr.hangup_cause) == ("queue_exit", "queue after-sales: busy")

    no_flow = Recorder()
    queued(no_flow)
    assert no_flow(no_flow.call.queue_exit("voicemail", "box-7", None, 30)) == [HangUpLeg("c1-in")]


def test_the_agents_phone_holds_and_resumes_by_re_invite() -> None:
    rec = Recorder()
    connected(rec)
    assert rec(rec.call.phone_hold("c1-a1", True, 40)) == [
        Unbridge("c1-in", "c1-a1"),
        PlayMusicOnHold("c1-in"),
    ]
    assert rec.call.held
    assert rec(rec.call.phone_hold("c1-a1", True, 41)) == []  # already held
    assert rec(rec.call.phone_hold("c1-other", False, 42)) == []  # not the agent's leg
    assert rec(rec.call.phone_hold("c1-a1", False, 50)) == [
        StopMedia("c1-in"),
        Bridge("c1-in", "c1-a1"),
    ]
    rec(rec.call.leg_hung_up("c1-in", 60))
    cdr = build_cdr(rec.events)
    assert (cdr.hold_s, cdr.talk_s) == (10, 20)


def test_a_refer_from_the_agents_phone_is_a_blind_transfer() -> None:
    rec = Recorder()
    connected(rec)
    out = rec(rec.call.refer("c1-a1", TransferDestination("user", "1003"), 40))
    assert out == [
        StopRecording("c1-r1"),
        HangUpLeg("c1-a1"),
        ContactLeft("c1", "1001"),
        PlayMusicOnHold("c1-in"),
        RingAgent("c1", "c1-a2", "1003"),
    ]
    rec(rec.call.leg_answered("c1-a2", 45))
    rec(rec.call.leg_hung_up("c1-in", 60))
    cdr = build_cdr(rec.events)
    assert [s.agent for s in cdr.segments] == ["1001", "1003"]
    assert cdr.transfers == 1
    assert cdr.recording_ids == ("c1-r1", "c1-r2")  # both on the one call record


def test_a_refer_into_a_queue_and_refers_that_make_no_sense() -> None:
    rec = Recorder()
    connected(rec)
    with pytest.raises(CallControlError):
        rec.call.refer("c1-in", TransferDestination("queue", "sales"), 40)  # not the agent
    with pytest.raises(CallControlError):
        rec.call.refer("c1-a1", TransferDestination("user", "1001"), 40)  # to themselves
    out = rec(rec.call.refer("c1-a1", TransferDestination("queue", "sales"), 40))
    assert EnqueueContact("c1", "sales", 0, {}, {}) in out
    assert rec.call.state == "queued"
