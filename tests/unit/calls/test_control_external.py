"""Blind transfer of an inbound call to an outside number through the carrier trunks:
exact commands per input on an explicit clock, trunk channels, the fallback when nobody
answers there, the transfer rules, and the CDR the events fold into."""

from __future__ import annotations

from typing import Any

import pytest

from hotline.calls.cdr import build_cdr
from hotline.calls.commands import (
    Bridge,
    CallControlError,
    CancelLeg,
    ContactLeft,
    DialTrunk,
    EnqueueContact,
    HangUpLeg,
    PlayMusicOnHold,
    RingAgent,
    StartRecording,
    StopMedia,
    StopRecording,
    TransferDestination,
)
from hotline.calls.events import CallPartyJoined, CallPartyLeft, CallTransferred
from hotline.calls.numbers import NumberingPlan
from hotline.calls.transfer_rules import ExternalTransferRules
from hotline.calls.trunk_dial import OriginateError, TrunkDial
from hotline.calls.trunks import TrunkGroup
from tests.unit.calls.test_click_to_call import make_group  # telecom, then unicom (one channel)
from tests.unit.calls.test_control import Recorder, connected, decision

PLAN = NumberingPlan(region="CN", area_code="21")


def dial(group: TrunkGroup, number: str = "+862168888888", **kw: Any) -> TrunkDial:
    return TrunkDial(
        call_id="c1",
        number=number,
        group=group,
        plan=PLAN,
        callee="outside party",
        leg_tag="x",
        **kw,
    )


def channels(group: TrunkGroup) -> dict[str, int]:
    return {t.name: t.active_calls for t in group.trunks}


def test_the_agent_is_released_the_number_dialled_and_bridged_on_answer() -> None:
    group = make_group(caller_ids=["4000"])
    rec = Recorder()
    connected(rec)  # after-sales queue, agent 1001 on c1-a1, recording c1-r1
    out = rec(rec.call.transfer_to_number(dial(group, caller_id="4000"), 70))
    assert out[:4] == [
        StopRecording("c1-r1"),
        HangUpLeg("c1-a1"),
        ContactLeft("c1", "1001"),  # wrap-up starts at once, as for any blind transfer
        PlayMusicOnHold("c1-in"),
    ]
    (invite,) = out[4:]
    assert isinstance(invite, DialTrunk)
    assert (invite.leg_id, invite.trunk, invite.request_uri) == (
        "c1-x2",
        "telecom",
        "sip:02168888888@198.51.100.1:5060",
    )
    assert invite.from_user == "4000"  # the DID the caller dialled, owned by the group
    assert rec.call.state == "transferring"
    assert channels(group) == {"telecom": 1, "unicom": 0}
    assert rec.call.next_timer() == 75.0  # telecom's setup time
    assert rec.call.parties == [("c1-x2", "external", "+862168888888", None, False)]
    # A 503 from the first carrier: the second is tried within the same transfer.
    out = rec(rec.call.trunk_failed("c1-x2", 503, "Service Unavailable", 71))
    (second,) = out
    assert isinstance(second, DialTrunk)
    assert (second.leg_id, second.trunk, second.request_uri) == (
        "c1-x3",
        "unicom",
        "sip:+862168888888@198.51.100.2:5080;transport=tcp",
    )
    assert rec(rec.call.trunk_progress("c1-x3", 72)) == []
    assert rec.call.next_timer() == 132.0  # the outside party's ring time
    assert rec(rec.call.leg_answered("c1-x3", 75)) == [
        StopMedia("c1-in"),
        Bridge("c1-in", "c1-x3"),
        StartRecording("c1-r2", "c1-in", "c1-x3"),  # the queue's policy: always
    ]
    assert str(rec.call.state) == "connected"  # (str: mypy narrowed it to "transferring")
    assert rec.call.agent is None  # nobody of ours is on the call any more
    assert rec.call.talking_leg is None  # a REFER or hold from the carrier is not followed
    with pytest.raises(CallControlError, match="outside number"):
        rec.call.hold(80)
    # The outside party hangs up: the call ends, the trunk's channel is given back.
    assert rec(rec.call.leg_hung_up("c1-x3", 100)) == [
        StopRecording("c1-r2"),
        HangUpLeg("c1-in"),  # and no BYE to the outside party, which left
    ]
    assert channels(group) == {"telecom": 0, "unicom": 0}
    cdr = build_cdr(rec.events)
    assert cdr.outcome == "handled"
    assert (cdr.agent, cdr.transfers) == ("1001", 1)
    assert [(a.trunk, a.status, a.number) for a in cdr.trunk_attempts] == [
        ("telecom", 503, "02168888888"),
        ("unicom", 200, "+862168888888"),
    ]
    (party,) = cdr.parties
    assert (party.role, party.party, party.left_because) == (
        "external",
        "+862168888888",
        "hung_up",
    )
    assert (party.joined_at, party.left_at) == (75, 100)
    assert cdr.recording_ids == ("c1-r1", "c1-r2")  # one call record, both recordings
    assert cdr.hangup_side == "system"
    assert "outside party +862168888888 hung up" in cdr.hangup_cause
    (transferred,) = [e for e in rec.events if isinstance(e, CallTransferred)]
    assert (transferred.kind, transferred.target) == ("blind", "+862168888888")


def test_the_caller_hanging_up_ends_the_outside_leg_and_frees_its_channel() -> None:
    group = make_group()
    rec = Recorder()
    connected(rec)
    rec(rec.call.transfer_to_number(dial(group), 70))
    rec(rec.call.leg_answered("c1-x2", 75))
    assert rec(rec.call.leg_hung_up("c1-in", 90)) == [StopRecording("c1-r2"), HangUpLeg("c1-x2")]
    assert channels(group) == {"telecom": 0, "unicom": 0}
    (left,) = [e for e in rec.events if isinstance(e, CallPartyLeft)]
    assert left.reason == "call_ended"
    assert build_cdr(rec.events).hangup_side == "customer"


def test_hanging_up_while_the_number_rings_cancels_it() -> None:
    group = make_group()
    rec = Recorder()
    connected(rec)
    rec(rec.call.transfer_to_number(dial(group), 70))
    assert rec(rec.call.hang_up("supervisor", 72)) == [CancelLeg("c1-x2"), HangUpLeg("c1-in")]
    assert channels(group) == {"telecom": 0, "unicom": 0}
    cdr = build_cdr(rec.events)
    assert [(a.trunk, a.status) for a in cdr.trunk_attempts] == [("telecom", None)]
    assert not [e for e in rec.events if isinstance(e, CallPartyJoined)]


def test_busy_there_sends_the_caller_back_to_the_queue_ahead_of_the_others() -> None:
    group = make_group()
    rec = Recorder()
    connected(rec)
    rec(rec.call.transfer_to_number(dial(group), 70))
    # 486 speaks for the callee: no other carrier is tried, the caller goes back, with
    # the IVR's skill needs (zh) and at least the fallback priority.
    assert rec(rec.call.trunk_failed("c1-x2", 486, "Busy Here", 72)) == [
        EnqueueContact("c1", "after-sales", 10, {"zh": 3}, {"transfer_failed": "+862168888888"}),
        PlayMusicOnHold("c1-in"),
    ]
    assert rec.call.state == "queued"
    assert rec.call.parties == []
    assert channels(group) == {"telecom": 0, "unicom": 0}
    assert rec.call.attributes["transfer_failed"] == "+862168888888"  # for the screen pop
    # The next agent takes the caller; the call record goes on.
    assert rec(rec.call.offer("1003", 80)) == [RingAgent("c1", "c1-a3", "1003")]
    rec(rec.call.leg_answered("c1-a3", 82))
    rec(rec.call.leg_hung_up("c1-in", 100))
    cdr = build_cdr(rec.events)
    assert [s.agent for s in cdr.segments] == ["1001", "1003"]
    assert cdr.queues == ("after-sales", "after-sales")
    assert [(a.trunk, a.status) for a in cdr.trunk_attempts] == [("telecom", 486)]


def test_no_answer_there_and_every_trunk_silent_fall_back_too() -> None:
    group = make_group()
    rec = Recorder()
    connected(rec)
    rec(rec.call.transfer_to_number(dial(group, ring_timeout=20.0), 70))
    rec(rec.call.trunk_progress("c1-x2", 71))
    assert rec(rec.call.handle_timer(90.9)) == []
    out = rec(rec.call.handle_timer(91))  # rang 20 s: given up
    assert out[0] == CancelLeg("c1-x2")
    assert isinstance(out[1], EnqueueContact)
    assert channels(group) == {"telecom": 0, "unicom": 0}
    # Every trunk silent (no ringing, no answer within setup time).
    silent = Recorder()
    connected(silent)
    silent(silent.call.transfer_to_number(dial(group), 70))
    out = silent(silent.call.handle_timer(75))
    assert out[0] == CancelLeg("c1-x2")
    assert isinstance(out[1], DialTrunk)  # unicom, next
    out = silent(silent.call.handle_timer(83))  # unicom's default setup time (8 s)
    assert out[0] == CancelLeg("c1-x3")
    assert isinstance(out[1], EnqueueContact)
    assert silent.call.next_timer() is None


def test_a_call_that_came_without_a_queue_rings_the_transferring_agent_again() -> None:
    group = make_group()
    rec = Recorder()
    rec(rec.call.route(decision("user", "1002"), 0))
    rec(rec.call.leg_answered("c1-a1", 5))
    rec(rec.call.transfer_to_number(dial(group), 30))
    assert rec(rec.call.trunk_failed("c1-x2", 603, "Decline", 32)) == [
        RingAgent("c1", "c1-a3", "1002")
    ]
    assert rec.call.state == "ringing_agent"


def test_all_trunks_full_at_the_start_falls_back_at_once() -> None:
    group = make_group(trunks=["unicom"])
    group.trunks[0].acquire()  # its one channel is taken
    rec = Recorder()
    connected(rec)
    out = rec(rec.call.transfer_to_number(dial(group), 70))
    assert HangUpLeg("c1-a1") in out
    assert out[-2:] == [
        EnqueueContact("c1", "after-sales", 10, {"zh": 3}, {"transfer_failed": "+862168888888"}),
        PlayMusicOnHold("c1-in"),
    ]


def test_a_vip_whose_outside_transfer_failed_keeps_its_higher_priority() -> None:
    group = make_group()
    rec = Recorder()
    rec(rec.call.route(decision("flow", "demo-hotline"), 0))
    rec(rec.call.enqueue("after-sales", 50, {"en": 2}, {}, 20))
    rec(rec.call.offer("1001", 25))
    rec(rec.call.leg_answered("c1-a1", 30))
    rec(rec.call.transfer_to_number(dial(group), 70))
    out = rec(rec.call.trunk_failed("c1-x2", 486, "Busy Here", 72))
    assert (
        EnqueueContact("c1", "after-sales", 50, {"en": 2}, {"transfer_failed": "+862168888888"})
        in out
    )


def test_refer_to_a_number_needs_its_dial_and_a_talking_agent() -> None:
    group = make_group()
    rec = Recorder()
    connected(rec)
    target = TransferDestination("number", "+862168888888")
    with pytest.raises(CallControlError, match="no trunk dial"):
        rec.call.refer("c1-a1", target, 60)
    with pytest.raises(CallControlError, match="not the agent's"):
        rec.call.refer("c1-in", target, 60, dial(group))
    out = rec(rec.call.refer("c1-a1", target, 60, dial(group)))
    assert HangUpLeg("c1-a1") in out
    assert isinstance(out[-1], DialTrunk)
    with pytest.raises(CallControlError, match="transferring"):
        rec.call.transfer_to_number(dial(group), 61)  # one transfer at a time


@pytest.mark.parametrize(
    ("rules", "number", "refusal"),
    [
        (ExternalTransferRules(), "+8613800138000", None),
        (ExternalTransferRules(), "+442071234567", "international transfers are not allowed"),
        (ExternalTransferRules(), "110", "short code 110 are not allowed"),
        (ExternalTransferRules(allowed_prefixes=("+44",)), "+442071234567", None),
        (ExternalTransferRules(allowed_prefixes=("95588",)), "95588", None),
        (ExternalTransferRules(allow_international=True), "+12125550100", None),
        (ExternalTransferRules(blocked_prefixes=("+86168",)), "+8616812345678", "blocked"),
        (ExternalTransferRules(allow_national=False), "+8613800138000", "not allowed"),
        (
            ExternalTransferRules(allowed_prefixes=("+86",), blocked_prefixes=("+86139",)),
            "+8613912345678",
            "blocked",  # a blocked prefix wins over an allowed one
        ),
    ],
)
def test_transfer_rules(rules: ExternalTransferRules, number: str, refusal: str | None) -> None:
    found = rules.refusal(number, PLAN)
    if refusal is None:
        assert found is None
    else:
        assert found is not None
        assert refusal in found


@pytest.mark.parametrize(
    ("region", "number", "refusal"),
    [
        # A shared country calling code is not the home country: libphonenumber's region.
        ("US", "+12125550100", None),
        ("US", "+18765551234", "international"),  # Jamaica, +1 876
        ("US", "+18095551234", "international"),  # Dominican Republic, +1 809
        ("GB", "+442071234567", None),
        ("GB", "+441534123456", "international"),  # Jersey, +44 1534
        ("RU", "+74951234567", None),
        ("RU", "+77011234567", "international"),  # Kazakhstan, +7 701
        # Surcharged numbers at home are refused too.
        ("US", "+19005550100", "premium-rate"),
        ("GB", "+449098790123", "premium-rate"),
        ("GB", "+448431234567", "premium-rate"),  # shared cost (084x)
        ("CN", "+864001234567", "premium-rate"),  # shared cost (400)
    ],
)
def test_transfer_rules_go_by_the_numbers_region_and_type(
    region: str, number: str, refusal: str | None
) -> None:
    found = ExternalTransferRules().refusal(number, NumberingPlan(region=region))
    if refusal is None:
        assert found is None
    else:
        assert found is not None
        assert refusal in found


def test_premium_numbers_pass_when_allowed_or_allow_listed_and_blocked_wins() -> None:
    us = NumberingPlan(region="US")
    assert ExternalTransferRules(allow_premium=True).refusal("+19005550100", us) is None
    assert ExternalTransferRules(allowed_prefixes=("+1900",)).refusal("+19005550100", us) is None
    assert ExternalTransferRules(allowed_prefixes=("+1876",)).refusal("+18765551234", us) is None
    rules = ExternalTransferRules(allow_premium=True, blocked_prefixes=("+1900",))
    assert "blocked" in (rules.refusal("+19005550100", us) or "")
    # Allowing international calls does not allow a surcharged number abroad.
    rules = ExternalTransferRules(allow_international=True)
    assert "premium-rate" in (rules.refusal("+449098790123", us) or "")


def test_originate_error_kinds_include_forbidden() -> None:
    assert OriginateError("forbidden", "no").kind == "forbidden"
