"""Attended transfer, conference, supervisor listen/whisper/barge and recording pauses:
exact commands for each input, and the CDR their events fold into."""

from __future__ import annotations

import pytest

from hotline.calls.cdr import PartySegment, build_cdr
from hotline.calls.commands import (
    Bridge,
    CallControlError,
    CancelLeg,
    ContactLeft,
    HangUpLeg,
    MixMember,
    PauseRecording,
    PlayMusicOnHold,
    PlayRingback,
    ResumeRecording,
    RingAgent,
    SetMix,
    StartRecording,
    StopMedia,
    StopRecording,
    Unbridge,
)
from hotline.calls.events import CallPartyJoined, CallPartyLeft, CallTransferred
from tests.unit.calls.test_control import Recorder, connected

C, A = "c1-in", "c1-a1"  # the customer's leg and the agent 1001's


def test_attended_transfer_consult_then_complete() -> None:
    rec = Recorder()
    connected(rec)
    assert rec(rec.call.consult("1003", 40)) == [
        Unbridge(C, A),
        PlayMusicOnHold(C),
        RingAgent("c1", "c1-c2", "1003", "consult"),
        PlayRingback(A),  # the agent hears it ring, the customer hears music
    ]
    assert rec.call.held
    assert rec(rec.call.leg_answered("c1-c2", 44)) == [
        StopMedia(A),
        SetMix("c1", (MixMember(A), MixMember("c1-c2"))),  # agent and 1003; customer: music
    ]
    assert rec(rec.call.complete_transfer(60)) == [
        StopRecording("c1-r1"),
        SetMix("c1", ()),
        HangUpLeg(A),
        ContactLeft("c1", "1001"),  # 1001's wrap-up
        StopMedia(C),
        Bridge(C, "c1-c2"),
        StartRecording("c1-r2", C, "c1-c2"),
    ]
    assert rec.call.agent == "1003"
    assert not rec.call.held
    rec(rec.call.leg_hung_up(C, 100))
    cdr = build_cdr(rec.events)
    assert [s.agent for s in cdr.segments] == ["1001", "1003"]
    assert (cdr.transfers, cdr.recording_ids) == (1, ("c1-r1", "c1-r2"))
    assert cdr.hold_s == 20  # the customer heard music from 40 to 60
    assert cdr.parties == (PartySegment("consult", "1003", "c1-c2", 44, 60, "transferred"),)
    transferred = next(e for e in rec.events if isinstance(e, CallTransferred))
    assert transferred.kind == "attended"


def test_attended_transfer_cancelled_goes_back_to_the_customer() -> None:
    rec = Recorder()
    connected(rec)
    rec(rec.call.consult("1003", 40))
    rec(rec.call.leg_answered("c1-c2", 44))
    assert rec(rec.call.phone_hold(A, False, 45)) == []  # the phone's resume key: no effect
    assert rec(rec.call.cancel_consult(50)) == [
        HangUpLeg("c1-c2"),
        StopMedia(C),
        SetMix("c1", ()),
        Bridge(C, A),
    ]
    assert rec.call.agent == "1001"
    assert not rec.call.held


def test_a_consultation_that_fails_or_hangs_up_reconnects_the_agent() -> None:
    rec = Recorder()
    connected(rec)
    rec(rec.call.consult("1003", 40))
    assert rec(rec.call.leg_failed("c1-c2", "rejected", 42)) == [
        StopMedia(A),  # the ringback
        StopMedia(C),
        Bridge(C, A),
    ]
    rec(rec.call.consult("1004", 50))
    rec(rec.call.leg_answered("c1-c3", 52))
    assert rec(rec.call.leg_hung_up("c1-c3", 55)) == [
        StopMedia(C),
        SetMix("c1", ()),
        Bridge(C, A),
    ]
    left = [e.reason for e in rec.events if isinstance(e, CallPartyLeft)]
    assert left == ["rejected", "hung_up"]


def test_the_agent_hanging_up_completes_an_answered_consultation() -> None:
    rec = Recorder()
    connected(rec)
    rec(rec.call.consult("1003", 40))
    rec(rec.call.leg_answered("c1-c2", 44))
    out = rec(rec.call.leg_hung_up(A, 50))
    assert HangUpLeg(A) not in out  # it is gone already
    assert Bridge(C, "c1-c2") in out
    assert ContactLeft("c1", "1001") in out
    assert rec.call.agent == "1003"


def test_the_agent_hanging_up_on_a_ringing_consultation_leaves_a_blind_transfer() -> None:
    rec = Recorder()
    connected(rec)
    rec(rec.call.consult("1003", 40))
    out = rec(rec.call.leg_hung_up(A, 42))
    assert out == [StopRecording("c1-r1"), ContactLeft("c1", "1001")]
    assert rec.call.state == "ringing_agent"
    assert rec.call.ringing_agents == ["1003"]
    assert rec(rec.call.leg_answered("c1-c2", 45)) == [
        StopMedia(C),
        Bridge(C, "c1-c2"),
        StartRecording("c1-r2", C, "c1-c2"),
    ]


def test_conference_with_a_third_party() -> None:
    rec = Recorder()
    connected(rec)
    assert rec(rec.call.add_party("1005", 40)) == [RingAgent("c1", "c1-t2", "1005", "third_party")]
    assert rec(rec.call.leg_answered("c1-t2", 43)) == [
        Unbridge(C, A),
        SetMix("c1", (MixMember(C), MixMember(A), MixMember("c1-t2"))),
    ]
    with pytest.raises(CallControlError):
        rec.call.hold(45)  # the third party would be left alone with nobody
    with pytest.raises(CallControlError):
        rec.call.transfer_to_queue("sales", 45)
    assert rec(rec.call.drop_party(50)) == [HangUpLeg("c1-t2"), SetMix("c1", ()), Bridge(C, A)]
    rec(rec.call.leg_hung_up(C, 60))
    cdr = build_cdr(rec.events)
    assert cdr.parties == (PartySegment("third_party", "1005", "c1-t2", 43, 50, "dropped"),)


def test_the_agent_leaving_a_conference_leaves_the_third_party_with_the_customer() -> None:
    rec = Recorder()
    connected(rec)
    rec(rec.call.add_party("1005", 40))
    rec(rec.call.leg_answered("c1-t2", 43))
    out = rec(rec.call.leg_hung_up(A, 50))
    assert out[:2] == [StopRecording("c1-r1"), SetMix("c1", ())]
    assert Bridge(C, "c1-t2") in out
    assert rec.call.agent == "1005"


def test_supervisor_listens_whispers_barges_and_leaves() -> None:
    rec = Recorder()
    connected(rec)
    assert rec(rec.call.supervise("9001", "listen", 40)) == [
        RingAgent("c1", "c1-s2", "9001", "supervisor")
    ]
    assert rec(rec.call.leg_answered("c1-s2", 42)) == [
        Unbridge(C, A),
        SetMix("c1", (MixMember(C), MixMember(A), MixMember("c1-s2", "listen"))),
    ]
    assert rec(rec.call.set_supervision("whisper", 50)) == [
        SetMix("c1", (MixMember(C), MixMember(A), MixMember("c1-s2", "whisper", (A,)))),
    ]
    assert rec(rec.call.set_supervision("whisper", 51)) == []
    assert rec(rec.call.set_supervision("barge", 60)) == [
        SetMix("c1", (MixMember(C), MixMember(A), MixMember("c1-s2"))),
    ]
    # Hold while supervised: the supervisor still hears (and may coach) the agent.
    assert rec(rec.call.hold(65)) == [
        SetMix("c1", (MixMember(A), MixMember("c1-s2"))),
        PlayMusicOnHold(C),
    ]
    rec(rec.call.resume(66))
    assert rec(rec.call.end_supervision(70)) == [
        HangUpLeg("c1-s2"),
        SetMix("c1", ()),
        Bridge(C, A),
    ]
    rec(rec.call.leg_hung_up(C, 80))
    cdr = build_cdr(rec.events)
    assert cdr.parties == (
        PartySegment(
            "supervisor", "9001", "c1-s2", 42, 70, "dropped", ("listen", "whisper", "barge")
        ),
    )
    joined = next(e for e in rec.events if isinstance(e, CallPartyJoined))
    assert joined.mode == "listen"


def test_supervision_refusals_and_a_supervisor_who_does_not_answer() -> None:
    rec = Recorder()
    with pytest.raises(CallControlError):
        rec.call.supervise("9001", "listen", 0)  # not connected
    connected(rec)
    with pytest.raises(CallControlError):
        rec.call.supervise("1001", "listen", 40)  # the agent itself
    with pytest.raises(CallControlError):
        rec.call.set_supervision("barge", 40)
    rec(rec.call.supervise("9001", "whisper", 40))
    with pytest.raises(CallControlError):
        rec.call.supervise("9002", "listen", 41)
    assert rec(rec.call.set_supervision("barge", 41)) == []  # noted for when it answers
    assert rec(rec.call.leg_failed("c1-s2", "no_answer", 55)) == []
    assert rec.call.parties == []
    rec(rec.call.leg_hung_up(C, 60))
    assert build_cdr(rec.events).parties == ()  # it never answered


def test_the_call_ending_lets_every_party_go() -> None:
    rec = Recorder()
    connected(rec)
    rec(rec.call.supervise("9001", "listen", 40))
    rec(rec.call.leg_answered("c1-s2", 42))
    rec(rec.call.add_party("1005", 43))  # still ringing when the customer hangs up
    out = rec(rec.call.leg_hung_up(C, 50))
    assert HangUpLeg("c1-s2") in out
    assert CancelLeg("c1-t3") in out
    assert HangUpLeg(A) in out
    cdr = build_cdr(rec.events)
    assert [p.left_because for p in cdr.parties] == ["call_ended"]


def test_a_blind_transfer_takes_the_supervisor_off_the_call() -> None:
    rec = Recorder()
    connected(rec)
    rec(rec.call.supervise("9001", "listen", 40))
    rec(rec.call.leg_answered("c1-s2", 42))
    out = rec(rec.call.transfer_to_queue("sales", 50))
    assert out[:3] == [HangUpLeg("c1-s2"), SetMix("c1", ()), StopRecording("c1-r1")]


def test_recording_pause_and_resume() -> None:
    rec = Recorder()
    connected(rec)
    assert rec(rec.call.pause_recording(40)) == [PauseRecording("c1-r1")]
    assert rec.call.recording_paused
    assert rec(rec.call.pause_recording(41)) == []
    assert rec(rec.call.resume_recording(50)) == [ResumeRecording("c1-r1")]
    assert rec(rec.call.resume_recording(51)) == []
    rec(rec.call.stop_recording(60))
    with pytest.raises(CallControlError):
        rec.call.pause_recording(61)
    rec(rec.call.leg_hung_up(C, 70))
    assert build_cdr(rec.events).recording_pauses == 1
