"""Click-to-call, a kind of ``Call``: the agent's leg first (with ringback), then the
customer through a trunk group, with failover within the attempt, timers on an explicit
clock, caller-ID rules, channel accounting and the CDR folded from the events."""

from __future__ import annotations

from typing import Any

import pytest

from hotline.calls import commands as control
from hotline.calls.call import Call
from hotline.calls.cdr import build_cdr
from hotline.calls.commands import CallControlError, DialTrunk, Output
from hotline.calls.events import CallEnded, CallEvent, TrunkAttemptEnded
from hotline.calls.numbers import NumberingPlan, normalize
from hotline.calls.trunk_dial import (
    OriginateError,
    TrunkDial,
    check_caller_id,
    presented_number,
    usable_trunks_or_raise,
)
from hotline.calls.trunks import TrunkConfig, TrunkGroup, TrunkGroupConfig, trunk_states

PLAN = NumberingPlan(region="CN", area_code="21")


def make_group(**group: Any) -> TrunkGroup:
    states = trunk_states(
        [
            TrunkConfig(name="telecom", host="198.51.100.1", priority=0, setup_timeout_s=5.0),
            TrunkConfig(
                name="unicom",
                host="198.51.100.2",
                port=5080,
                transport="tcp",
                priority=1,
                dial_format="e164",
                username="acct",
                password="pw",
                max_channels=1,
            ),
        ]
    )
    config = TrunkGroupConfig.model_validate(
        {"name": "out", "trunks": ["telecom", "unicom"], **group}
    )
    return TrunkGroup.build(config, states)


def customer_dial(
    group: TrunkGroup, number: str = "021 6888 8888", caller_id: str | None = None
) -> TrunkDial:
    """The customer's dial as the contact centre builds it for a click-to-call."""
    return TrunkDial(
        call_id="c1",
        number=normalize(number, PLAN),
        group=group,
        plan=PLAN,
        caller_id=check_caller_id(group.config, caller_id, PLAN),
    )


class Recorder:
    """A click-to-call and everything it said, events kept for the CDR."""

    def __init__(
        self,
        group: TrunkGroup | None = None,
        *,
        caller_id: str | None = None,
        recording: Any = "always",
        **kw: Any,
    ) -> None:
        self.group = group or make_group()
        self.call = Call.click_to_call(
            call_id="c1",
            agent="1002",
            dial=customer_dial(self.group, caller_id=caller_id),
            department="sales",
            default_recording=recording,
            **kw,
        )
        self.events: list[CallEvent] = []

    def keep(self, outputs: list[Output]) -> list[Output]:
        self.events += [o for o in outputs if not isinstance(o, control.Command)]
        return outputs

    def commands(self, outputs: list[Output]) -> list[object]:
        return [o for o in self.keep(outputs) if isinstance(o, control.Command)]

    def connect(self) -> None:
        """Agent answered, customer answered: the two talk (recorded)."""
        self.keep(self.call.start(0.0))
        self.keep(self.call.leg_answered("c1-a1", 1.0))
        self.keep(self.call.leg_answered("c1-t1", 2.0))

    def channels(self) -> dict[str, int]:
        return {t.name: t.active_calls for t in self.group.trunks}


def test_the_agent_rings_first_then_the_customer_is_dialled_and_bridged() -> None:
    r = Recorder()
    assert r.commands(r.call.start(0.0)) == [control.RingAgent("c1", "c1-a1", "1002")]
    assert r.call.ringing_agents == ["1002"]
    ringback, dial = r.commands(r.call.leg_answered("c1-a1", 2.0))
    assert ringback == control.PlayRingback("c1-a1")  # the agent hears it while dialling
    assert dial == DialTrunk(
        call_id="c1",
        leg_id="c1-t1",
        trunk="telecom",
        request_uri="sip:02168888888@198.51.100.1:5060",
        to_uri="sip:02168888888@198.51.100.1",
        from_user=None,
        host="198.51.100.1",
        port=5060,
        transport="udp",
        credentials=None,
    )
    assert (r.call.state, r.call.agent) == ("dialling", "1002")
    assert r.call.trunk_progress("c1-t1", 3.0) == []
    assert r.call.state == "ringing_customer"
    assert r.commands(r.call.leg_answered("c1-t1", 5.0)) == [
        control.StopMedia("c1-a1"),  # the ringback
        control.Bridge("c1-t1", "c1-a1"),
        control.StartRecording("c1-r1", "c1-t1", "c1-a1"),
    ]
    assert r.channels() == {"telecom": 1, "unicom": 0}
    assert r.commands(r.call.leg_hung_up("c1-t1", 65.0)) == [
        control.StopRecording("c1-r1"),
        control.HangUpLeg("c1-a1"),
    ]
    assert r.channels() == {"telecom": 0, "unicom": 0}
    cdr = build_cdr(r.events)
    assert (cdr.direction, cdr.caller, cdr.callee) == ("outbound", "1002", "+862168888888")
    assert (cdr.outcome, cdr.hangup_side, cdr.trunk, cdr.agent) == (
        "handled",
        "customer",
        "telecom",
        "1002",
    )
    assert cdr.talk_s == 60.0
    assert [(a.trunk, a.status) for a in cdr.trunk_attempts] == [("telecom", 200)]
    assert cdr.recording_ids == ("c1-r1",)


def test_a_503_fails_over_to_the_next_trunk_in_its_own_dial_format_with_credentials() -> None:
    r = Recorder()
    r.keep(r.call.start(0.0))
    r.keep(r.call.leg_answered("c1-a1", 1.0))
    (dial,) = r.commands(r.call.trunk_failed("c1-t1", 503, "Service Unavailable", 1.2))
    assert isinstance(dial, DialTrunk)
    assert (dial.leg_id, dial.trunk, dial.request_uri, dial.credentials) == (
        "c1-t2",
        "unicom",
        "sip:+862168888888@198.51.100.2:5080;transport=tcp",
        ("acct", "pw"),
    )
    assert r.channels() == {"telecom": 0, "unicom": 1}
    # The carrier's password goes on the wire only, never into a log line's repr.
    assert "pw" not in repr(dial)
    assert "'pw'" not in repr(r.group.trunks[1])
    assert r.call.trunk_failed("c1-t1", 503, "late", 1.3) == []  # an old leg: ignored
    r.keep(r.call.leg_answered("c1-t2", 4.0))
    r.keep(r.call.hang_up("hung up by supervisor", 10.0))
    cdr = build_cdr(r.events)
    assert [(a.trunk, a.status, a.number) for a in cdr.trunk_attempts] == [
        ("telecom", 503, "02168888888"),
        ("unicom", 200, "+862168888888"),
    ]
    assert cdr.trunk == "unicom"


def test_a_final_refusal_ends_the_call_without_trying_another_carrier() -> None:
    r = Recorder()
    r.keep(r.call.start(0.0))
    r.keep(r.call.leg_answered("c1-a1", 1.0))
    outputs = r.call.trunk_failed("c1-t1", 486, "Busy Here", 3.0)
    assert r.commands(outputs) == [control.HangUpLeg("c1-a1")]
    ended = [o for o in outputs if isinstance(o, CallEnded)]
    assert ended[0].sip_status == 486
    assert r.call.state == "ended"
    assert r.channels() == {"telecom": 0, "unicom": 0}
    assert build_cdr(r.events).outcome == "unanswered"


def test_a_silent_trunk_is_given_up_after_its_setup_timeout_and_the_next_tried() -> None:
    r = Recorder()
    r.keep(r.call.start(0.0))
    r.keep(r.call.leg_answered("c1-a1", 1.0))
    assert r.call.next_timer() == 6.0
    assert r.call.handle_timer(5.9) == []
    commands = r.commands(r.call.handle_timer(6.0))
    assert commands[0] == control.CancelLeg("c1-t1")
    assert isinstance(commands[1], DialTrunk)
    assert commands[1].trunk == "unicom"
    assert r.call.next_timer() == 14.0  # unicom's default setup timeout
    r.keep(r.call.trunk_progress("c1-t2", 7.0))
    assert r.call.next_timer() == 67.0  # the customer's ring time
    outputs = r.call.handle_timer(67.0)
    assert r.commands(outputs) == [control.CancelLeg("c1-t2"), control.HangUpLeg("c1-a1")]
    cdr = build_cdr(r.events)
    assert [(a.trunk, a.status) for a in cdr.trunk_attempts] == [
        ("telecom", None),
        ("unicom", None),
    ]
    assert (cdr.outcome, cdr.hangup_cause) == ("unanswered", "customer did not answer")
    assert r.channels() == {"telecom": 0, "unicom": 0}


def test_every_trunk_failing_ends_the_call_with_the_last_status() -> None:
    r = Recorder()
    r.keep(r.call.start(0.0))
    r.keep(r.call.leg_answered("c1-a1", 1.0))
    r.keep(r.call.trunk_failed("c1-t1", 500, "Server Error", 1.5))
    outputs = r.call.trunk_failed("c1-t2", 503, "Service Unavailable", 2.0)
    assert r.commands(outputs) == [control.HangUpLeg("c1-a1")]
    (ended,) = [o for o in outputs if isinstance(o, CallEnded)]
    assert (ended.sip_status, ended.cause) == (503, "customer leg failed: 503 Service Unavailable")


def test_the_agent_not_answering_ends_the_call_before_any_carrier_is_dialled() -> None:
    r = Recorder(agent_ring_timeout=20.0)
    r.keep(r.call.start(0.0))
    assert r.call.next_timer() == 20.0
    assert r.commands(r.call.handle_timer(20.0)) == [control.CancelLeg("c1-a1")]
    cdr = build_cdr(r.events)
    assert cdr.outcome == "unanswered"
    assert cdr.segments[0].outcome == "no_answer"
    assert cdr.trunk_attempts == ()
    rejected = Recorder()
    rejected.keep(rejected.call.start(0.0))
    assert rejected.commands(rejected.call.leg_failed("c1-a1", "rejected", 3.0)) == []
    assert rejected.call.state == "ended"


def test_the_agent_hanging_up_while_dialling_cancels_the_carrier_leg() -> None:
    r = Recorder()
    r.keep(r.call.start(0.0))
    r.keep(r.call.leg_answered("c1-a1", 1.0))
    outputs = r.call.leg_hung_up("c1-a1", 2.0)
    assert r.commands(outputs) == [control.CancelLeg("c1-t1")]
    assert r.channels() == {"telecom": 0, "unicom": 0}
    attempt = next(o for o in outputs if isinstance(o, TrunkAttemptEnded))
    assert (attempt.status, attempt.reason) == (None, "call ended while dialling")
    assert build_cdr(r.events).hangup_side == "agent"


def test_hold_and_resume_once_connected() -> None:
    r = Recorder(recording="never")
    r.keep(r.call.start(0.0))
    with pytest.raises(CallControlError):
        r.call.hold(0.5)
    r.keep(r.call.leg_answered("c1-a1", 1.0))
    assert r.commands(r.call.leg_answered("c1-t1", 2.0)) == [
        control.StopMedia("c1-a1"),
        control.Bridge("c1-t1", "c1-a1"),
    ]
    assert r.commands(r.call.hold(3.0)) == [
        control.Unbridge("c1-t1", "c1-a1"),
        control.PlayMusicOnHold("c1-t1"),
    ]
    assert r.call.held
    assert r.commands(r.call.resume(5.0)) == [
        control.StopMedia("c1-t1"),
        control.Bridge("c1-t1", "c1-a1"),
    ]
    r.keep(r.call.hang_up("done", 9.0))
    assert build_cdr(r.events).hold_s == 2.0


def test_the_agent_pauses_and_resumes_the_recording_like_on_an_inbound_call() -> None:
    r = Recorder()
    r.keep(r.call.start(0.0))
    with pytest.raises(CallControlError, match="not being recorded"):
        r.call.pause_recording(0.5)  # ringing: nothing is recorded yet
    r.keep(r.call.leg_answered("c1-a1", 1.0))
    r.keep(r.call.leg_answered("c1-t1", 2.0))
    assert (r.call.recording_id, r.call.recording_paused) == ("c1-r1", False)
    assert r.commands(r.call.pause_recording(3.0)) == [control.PauseRecording("c1-r1")]
    assert r.call.recording_paused
    assert r.commands(r.call.pause_recording(3.5)) == []  # paused already: nothing new
    assert r.commands(r.call.resume_recording(5.0)) == [control.ResumeRecording("c1-r1")]
    assert r.commands(r.call.resume_recording(5.5)) == []
    r.commands(r.call.pause_recording(6.0))
    # Hanging up while paused stops the file; no pause outlives the recording.
    assert r.commands(r.call.leg_hung_up("c1-a1", 9.0))[0] == control.StopRecording("c1-r1")
    assert (r.call.recording_id, r.call.recording_paused) == (None, False)
    cdr = build_cdr(r.events)
    assert (cdr.direction, cdr.recording_pauses, cdr.recording_ids) == ("outbound", 2, ("c1-r1",))


def test_a_call_placed_unrecorded_refuses_a_pause() -> None:
    r = Recorder(recording="never")
    r.keep(r.call.start(0.0))
    r.keep(r.call.leg_answered("c1-a1", 1.0))
    r.keep(r.call.leg_answered("c1-t1", 2.0))
    assert (r.call.recording_id, r.call.recording_paused) == (None, False)
    for change in (r.call.pause_recording, r.call.resume_recording):
        with pytest.raises(CallControlError, match="c1 is not being recorded"):
            change(3.0)
    assert r.call.state == "connected"  # the refusal changed nothing


def test_caller_id_rules() -> None:
    group = make_group(
        caller_ids=["+862161230000", "+862161230001"], default_caller_id="+862161239999"
    )
    telecom, _unicom = (t.config for t in group.trunks)
    fixed = telecom.model_copy(update={"caller_id": "+862160000000"})
    assert presented_number(fixed, group.config, "+862161230001") == "+862160000000"
    assert presented_number(telecom, group.config, "+862161230001") == "+862161230001"
    assert presented_number(telecom, group.config, None) == "+862161239999"
    bare = make_group()
    assert presented_number(telecom, bare.config, None) is None  # anonymous
    # The requested number is accepted in any format that normalises to an allowed one,
    # and sent in the trunk's dial format.
    r = Recorder(group, caller_id="021 6123 0001")
    r.keep(r.call.start(0.0))
    _, dial = r.commands(r.call.leg_answered("c1-a1", 1.0))
    assert isinstance(dial, DialTrunk)
    assert dial.from_user == "02161230001"
    # A number configured in national form matches its E.164 spelling too.
    national = make_group(caller_ids=["02161230002"])
    r = Recorder(national, caller_id="+862161230002")
    r.keep(r.call.start(0.0))
    _, dial = r.commands(r.call.leg_answered("c1-a1", 1.0))
    assert isinstance(dial, DialTrunk)
    assert dial.from_user == "02161230002"
    with pytest.raises(OriginateError) as refused:
        customer_dial(group, caller_id="+862169999999")
    assert refused.value.kind == "invalid"


def test_bad_numbers_and_unusable_groups_are_refused_before_anything_rings() -> None:
    group = make_group()
    group.trunks[0].up = False
    group.trunks[1].acquire()
    with pytest.raises(OriginateError) as none:
        usable_trunks_or_raise(group)
    assert none.value.kind == "unavailable"
    assert str(none.value) == "no usable trunk in group out: telecom down, unicom full"


def test_a_consultation_of_an_outside_number_leaves_the_calls_trunk_the_customers() -> None:
    r = Recorder()
    r.connect()  # the customer answered on telecom
    states = trunk_states([TrunkConfig(name="outside", host="203.0.113.9")])
    transfers = TrunkGroup.build(TrunkGroupConfig(name="transfer", trunks=("outside",)), states)
    party = TrunkDial(
        call_id="c1",
        number="+862161234567",
        group=transfers,
        plan=PLAN,
        callee="outside party",
        role="external",
    )
    out = r.commands(r.call.consult("+862161234567", 10.0, party))
    (dial,) = [o for o in out if isinstance(o, DialTrunk)]
    assert (dial.trunk, dial.role, dial.leg_id) == ("outside", "external", "c1-o2")
    assert out[-1] == control.PlayRingback("c1-a1")
    r.keep(r.call.leg_answered("c1-o2", 12.0))
    r.keep(r.call.cancel_consult(20.0))
    assert states["outside"].active_calls == 0
    r.keep(r.call.leg_hung_up("c1-t1", 30.0))
    cdr = build_cdr(r.events)
    assert cdr.trunk == "telecom"
    assert [(a.trunk, a.status) for a in cdr.trunk_attempts] == [
        ("telecom", 200),
        ("outside", 200),
    ]
