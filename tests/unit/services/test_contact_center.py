"""The contact centre with the real ACD and real call control: caller to IVR to queue to
agent to wrap-up, with an explicit clock and every command checked."""

from __future__ import annotations

import pytest

from hotline.acd import Acd, AgentProfile, AgentState, ExitAction, ExitKind, QueueConfig
from hotline.acd.events import ContactOffered, ContactQueued, OfferWithdrawn
from hotline.calls.cdr import build_cdr
from hotline.calls.commands import (
    AnswerLeg,
    Bridge,
    CancelLeg,
    HangUpLeg,
    PlayMusicOnHold,
    RingAgent,
    StartIvr,
    StartRecording,
    StopIvr,
    StopMedia,
    StopRecording,
    Unbridge,
)
from hotline.calls.events import CallEvent, SurveyAnswered
from hotline.calls.numbers import NumberingPlan
from hotline.calls.routing import Destination, InboundRoute, InboundRouter
from hotline.calls.trunk_dial import OriginateError
from hotline.events import Event
from hotline.services.acd_link import AnnouncePosition
from hotline.services.contact_center import ContactCenter, Output


def center(**queue: object) -> ContactCenter:
    acd = Acd()
    acd.configure_queue(
        QueueConfig(name="after-sales", ring_timeout=15, wrap_up_seconds=10, **queue)  # type: ignore[arg-type]
    )
    for agent in ("1001", "1002"):
        acd.add_agent(AgentProfile(agent_id=agent, queues={"after-sales": 0}))
    route = InboundRoute(
        name="hotline",
        did="4000",
        department="after-sales",
        destination=Destination(type="flow", target="demo-hotline"),
    )
    router = InboundRouter([route], {}, NumberingPlan(region="CN"))
    return ContactCenter(acd, router, exit_flows={"voicemail": "leave-message"})


def commands(outputs: list[Output]) -> list[Output]:
    return [o for o in outputs if not isinstance(o, Event)]


def call_events(history: list[Output]) -> list[CallEvent]:
    return [o for o in history if isinstance(o, CallEvent)]


def test_caller_to_agent_to_wrap_up_and_back() -> None:
    cc = center()
    history: list[Output] = []
    history += cc.agent_login(0, "1001")
    history += cc.agent_login(5, "1002")  # 1001 has been idle longest
    out = cc.inbound_call(
        10, call_id="c1", leg_id="c1-in", caller="13800138000", callee="4000", trunk="local"
    )
    history += out
    assert commands(out) == [AnswerLeg("c1-in"), StartIvr("c1", "demo-hotline", "after-sales")]
    history += cc.ivr_started(10, "c1", "demo-hotline", 1)
    out = cc.ivr_enqueue(30, "c1", "after-sales", attributes={"order_number": "20261123"})
    history += out
    assert commands(out) == [PlayMusicOnHold("c1-in"), RingAgent("c1", "c1-a1", "1001")]
    assert any(isinstance(e, ContactQueued) for e in out)
    assert cc.acd.agent_state("1001") is AgentState.RESERVED

    out = cc.leg_answered(34, "c1", "c1-a1")
    history += out
    assert commands(out) == [
        StopMedia("c1-in"),
        Bridge("c1-in", "c1-a1"),
        StartRecording("c1-r1", "c1-in", "c1-a1"),
    ]
    assert cc.acd.agent_state("1001") is AgentState.ON_CALL

    out = cc.leg_hung_up(100, "c1", "c1-in")
    history += out
    assert commands(out) == [StopRecording("c1-r1"), HangUpLeg("c1-a1")]
    assert cc.acd.agent_state("1001") is AgentState.WRAP_UP
    assert "c1" not in cc.calls  # finished calls are let go

    assert cc.next_timer() == 110  # the queue's 10 s of wrap-up
    history += cc.handle_timer(110)
    assert cc.acd.agent_state("1001") is AgentState.AVAILABLE

    cdr = build_cdr(call_events(history))
    assert (cdr.outcome, cdr.agent, cdr.wait_s, cdr.talk_s) == ("handled", "1001", 4, 66)
    assert cdr.ivr_version == 1


def test_ring_timeout_moves_the_offer_to_the_next_agent() -> None:
    cc = center()
    cc.agent_login(0, "1001")
    cc.agent_login(5, "1002")
    cc.inbound_call(10, call_id="c1", leg_id="c1-in", caller="1", callee="4000", trunk=None)
    cc.ivr_enqueue(30, "c1", "after-sales")
    assert cc.next_timer() == 45
    out = cc.handle_timer(45)
    assert commands(out) == [CancelLeg("c1-a1"), RingAgent("c1", "c1-a2", "1002")]
    assert [type(e) for e in out if isinstance(e, OfferWithdrawn | ContactOffered)] == [
        OfferWithdrawn,
        ContactOffered,
    ]
    assert cc.leg_failed(45.1, "c1", "c1-a1", "no_answer") == []  # the CANCEL's echo
    assert commands(cc.leg_answered(47, "c1", "c1-a2"))[:2] == [
        StopMedia("c1-in"),
        Bridge("c1-in", "c1-a2"),
    ]


def test_agent_phone_declines_then_the_other_agent_rings() -> None:
    cc = center()
    cc.agent_login(0, "1001")
    cc.agent_login(5, "1002")
    cc.inbound_call(10, call_id="c1", leg_id="c1-in", caller="1", callee="4000", trunk=None)
    cc.ivr_enqueue(30, "c1", "after-sales")
    out = cc.leg_failed(32, "c1", "c1-a1", "rejected")
    assert commands(out) == [RingAgent("c1", "c1-a2", "1002")]
    assert cc.acd.agent_state("1001") is AgentState.AVAILABLE  # but in its reject delay
    assert not cc.acd.is_routable("1001", 32)


def test_caller_abandons_the_queue() -> None:
    cc = center()
    history = cc.inbound_call(
        10, call_id="c1", leg_id="c1-in", caller="1", callee="4000", trunk=None
    )
    history += cc.ivr_enqueue(30, "c1", "after-sales")  # nobody logged in: the caller waits
    history += cc.leg_hung_up(50, "c1", "c1-in")
    assert cc.acd.contact_state("c1") is None
    assert build_cdr(call_events(history)).outcome == "abandoned"
    assert cc.acd.queue_statistics("after-sales", 50).abandoned == 1


def test_max_wait_sends_the_caller_to_the_voicemail_flow() -> None:
    cc = center(max_wait=120, on_max_wait=ExitAction(ExitKind.VOICEMAIL, "box-7"))
    history = cc.inbound_call(
        10, call_id="c1", leg_id="c1-in", caller="1", callee="4000", trunk=None
    )
    history += cc.ivr_enqueue(30, "c1", "after-sales")
    assert cc.next_timer() == 150
    out = cc.handle_timer(150)
    history += out
    assert commands(out) == [
        StopMedia("c1-in"),
        StartIvr(
            "c1",
            "leave-message",
            "after-sales",
            {"exit_target": "box-7", "exit_queue": "after-sales"},
        ),
    ]
    out = cc.leg_hung_up(200, "c1", "c1-in")
    history += out
    assert commands(out) == [StopIvr("c1")]  # the ACD no longer holds the contact
    assert build_cdr(call_events(history)).outcome == "queue_exit"


def test_position_announcements_reach_the_caller() -> None:
    cc = center(announce_every=30)
    cc.inbound_call(10, call_id="c1", leg_id="c1-in", caller="1", callee="4000", trunk=None)
    cc.ivr_enqueue(30, "c1", "after-sales")
    deadline = cc.next_timer()
    assert deadline is not None
    out = commands(cc.handle_timer(deadline))
    assert len(out) == 1
    assert isinstance(out[0], AnnouncePosition)
    assert (out[0].leg_id, out[0].position) == ("c1-in", 1)


def test_inputs_for_finished_calls_are_ignored_and_unknown_numbers_refused() -> None:
    cc = center()
    out = cc.inbound_call(0, call_id="c9", leg_id="c9-in", caller="1", callee="5555", trunk=None)
    assert [type(o).__name__ for o in commands(out)] == ["RejectLeg"]
    assert cc.leg_hung_up(1, "c9", "c9-in") == []


def survey_center() -> ContactCenter:
    acd = Acd()
    acd.configure_queue(QueueConfig(name="after-sales", ring_timeout=15, wrap_up_seconds=10))
    acd.add_agent(AgentProfile(agent_id="1001", queues={"after-sales": 0}))
    route = InboundRoute(
        name="hotline",
        did="4000",
        department="after-sales",
        destination=Destination(type="queue", target="after-sales"),
    )
    router = InboundRouter([route], {}, NumberingPlan(region="CN"))
    return ContactCenter(acd, router, survey_flows={"after-sales": "satisfaction"})


def connected_survey_call() -> tuple[ContactCenter, list[Output]]:
    cc = survey_center()
    history: list[Output] = []
    history += cc.agent_login(0, "1001")
    history += cc.inbound_call(
        10, call_id="c1", leg_id="c1-in", caller="1", callee="4000", trunk=None
    )
    history += cc.leg_answered(12, "c1", "c1-a1")
    return cc, history


def test_agent_hangs_up_first_and_the_caller_stays_for_the_survey() -> None:
    cc, history = connected_survey_call()
    out = cc.leg_hung_up(70, "c1", "c1-a1")  # the agent's BYE
    history += out
    assert commands(out) == [
        StopRecording("c1-r1"),
        Unbridge("c1-in", "c1-a1"),
        StartIvr("c1", "satisfaction", "after-sales", {"agent": "1001", "queue": "after-sales"}),
    ]
    assert cc.acd.agent_state("1001") is AgentState.WRAP_UP  # the agent is free of the call
    history += cc.ivr_started(70, "c1", "satisfaction", 1)
    history.append(SurveyAnswered(at=75, call_id="c1", question="satisfaction", score=4))
    out = cc.ivr_hung_up(78, "c1")
    history += out
    assert commands(out) == [HangUpLeg("c1-in")]
    cdr = build_cdr(call_events(history))
    assert cdr.survey == {"satisfaction": 4}
    assert cdr.talk_s == 58  # the survey is not talk time
    assert cdr.outcome == "handled"
    assert (cdr.hangup_side, cdr.duration_s) == ("agent", 68)
    assert cdr.hangup_cause == "agent hung up; after the survey: ivr ended the call"


def test_caller_leaving_the_survey_gets_no_bye_and_the_agent_still_ended_the_call() -> None:
    cc, history = connected_survey_call()
    history += cc.leg_hung_up(70, "c1", "c1-a1")
    out = cc.leg_hung_up(72, "c1", "c1-in")
    history += out
    assert commands(out) == [StopIvr("c1")]
    cdr = build_cdr(call_events(history))
    assert cdr.hangup_side == "agent"
    assert cdr.survey == {}


def test_the_flow_can_ask_for_a_survey_and_a_caller_hanging_up_first_gets_none() -> None:
    cc = ContactCenter(survey_center().acd, survey_center()._router)  # no per-queue survey
    cc.agent_login(0, "1001")
    cc.inbound_call(10, call_id="c1", leg_id="c1-in", caller="1", callee="4000", trunk=None)
    cc.leg_answered(12, "c1", "c1-a1")
    out = cc.leg_hung_up(20, "c1", "c1-a1")
    assert not any(isinstance(o, StartIvr) for o in out)  # nobody asked: the call ends

    cc = survey_center()
    cc.agent_login(0, "1001")
    cc.inbound_call(10, call_id="c2", leg_id="c2-in", caller="1", callee="4000", trunk=None)
    cc.leg_answered(12, "c2", "c2-a1")
    out = cc.leg_hung_up(20, "c2", "c2-in")  # the caller hangs up first: no survey
    assert commands(out) == [StopRecording("c2-r1"), HangUpLeg("c2-a1")]


def test_a_survey_asked_for_by_the_flow_runs_when_the_agent_hangs_up() -> None:
    acd = Acd()
    acd.configure_queue(QueueConfig(name="after-sales", ring_timeout=15, wrap_up_seconds=10))
    acd.add_agent(AgentProfile(agent_id="1001", queues={"after-sales": 0}))
    route = InboundRoute(
        name="hotline",
        did="4000",
        department="after-sales",
        destination=Destination(type="flow", target="demo-hotline"),
    )
    cc = ContactCenter(acd, InboundRouter([route], {}, NumberingPlan(region="CN")))
    cc.agent_login(0, "1001")
    cc.inbound_call(10, call_id="c1", leg_id="c1-in", caller="1", callee="4000", trunk=None)
    cc.ivr_started(10, "c1", "demo-hotline", 1)
    cc.ivr_enqueue(20, "c1", "after-sales", attributes={"survey_flow": "rate-us"})
    cc.leg_answered(22, "c1", "c1-a1")
    out = cc.leg_hung_up(40, "c1", "c1-a1")
    assert commands(out)[-1] == StartIvr(
        "c1", "rate-us", "after-sales", {"agent": "1001", "queue": "after-sales"}
    )


def test_what_a_phones_transfer_target_means() -> None:
    from hotline.calls.commands import TransferDestination

    acd = Acd()
    acd.configure_queue(QueueConfig(name="sales"))
    acd.add_agent(AgentProfile(agent_id="1001", queues={"sales": 0}))
    routes = [
        InboundRoute(
            name="sales-number",
            did="4001",
            destination=Destination(type="queue", target="sales"),
        ),
        InboundRoute(name="boss", did="8000", destination=Destination(type="user", target="1009")),
        InboundRoute(name="menu", did="4000", destination=Destination(type="flow", target="demo")),
    ]
    cc = ContactCenter(acd, InboundRouter(routes, {}, NumberingPlan(region="CN")))
    assert cc.transfer_destination("sales", 0) == TransferDestination("queue", "sales")
    assert cc.transfer_destination("4001", 0) == TransferDestination("queue", "sales")
    assert cc.transfer_destination("1001", 0) == TransferDestination("user", "1001")
    assert cc.transfer_destination("8000", 0) == TransferDestination("user", "1009")
    assert cc.transfer_destination("4000", 0) is None  # into the IVR: not offered
    assert cc.transfer_destination("ghost", 0) is None  # no queue, user or number
    # An outside number needs a trunk group; this node has none: refused, saying why.
    with pytest.raises(OriginateError, match="no trunk group") as refused:
        cc.transfer_destination("13800138000", 0)
    assert refused.value.kind == "unavailable"


def test_a_catch_all_route_does_not_claim_outside_transfer_targets() -> None:
    from hotline.calls.commands import TransferDestination
    from hotline.calls.trunks import TrunkConfig, TrunkGroup, TrunkGroupConfig, trunk_states

    acd = Acd()
    acd.configure_queue(QueueConfig(name="sales"))
    routes = [
        InboundRoute(name="any", did="*", destination=Destination(type="queue", target="sales")),
        InboundRoute(
            name="company", did="+8621600*", destination=Destination(type="queue", target="sales")
        ),
    ]
    plan = NumberingPlan(region="CN", area_code="21")
    cc = ContactCenter(acd, InboundRouter(routes, {}, plan))
    states = trunk_states([TrunkConfig(name="telecom", host="198.51.100.1")])
    group = TrunkGroup.build(TrunkGroupConfig(name="out", trunks=("telecom",)), states)
    cc.configure_trunks({"out": group}, plan)
    assert cc.transfer_destination("021 6888 8888", 0) == TransferDestination(
        "number", "+862168888888"
    )
    # A prefix route names the company's own numbers: those still reach its queue.
    assert cc.transfer_destination("021 6000 1234", 0) == TransferDestination("queue", "sales")


def test_a_transfer_to_an_outside_number_through_the_centre_and_its_timers() -> None:
    from hotline.calls.commands import CancelLeg, DialTrunk, RingAgent, TransferDestination
    from hotline.calls.transfer_rules import ExternalTransferRules
    from hotline.calls.trunks import TrunkConfig, TrunkGroup, TrunkGroupConfig, trunk_states

    cc = center()
    states = trunk_states([TrunkConfig(name="telecom", host="198.51.100.1", setup_timeout_s=5)])
    groups = {
        "out": TrunkGroup.build(TrunkGroupConfig(name="out", trunks=("telecom",)), states),
        "xfer": TrunkGroup.build(TrunkGroupConfig(name="xfer", trunks=("telecom",)), states),
    }
    rules = ExternalTransferRules(trunk_group="xfer", allowed_prefixes=("+852",))
    cc.configure_trunks(groups, NumberingPlan(region="CN"), rules)
    cc.configure_trunks(groups, NumberingPlan(region="CN"))  # a directory reload keeps them
    assert cc.transfer_destination("+85221234567", 0) == TransferDestination(
        "number", "+85221234567"
    )
    with pytest.raises(OriginateError) as refused:
        cc.transfer_destination("+442071234567", 0)
    assert refused.value.kind == "forbidden"
    cc.agent_login(0, "1001")
    cc.agent_ready(0, "1001")
    cc.inbound_call(0, call_id="c1", leg_id="c1-in", caller="x", callee="4000", trunk=None)
    cc.ivr_started(1, "c1", "demo-hotline", 1)
    ring = next(o for o in cc.ivr_enqueue(2, "c1", "after-sales") if isinstance(o, RingAgent))
    cc.leg_answered(3, "c1", ring.leg_id)
    with pytest.raises(OriginateError):  # refused before anything changes
        cc.transfer_to_number(10, "c1", "+442071234567")
    assert cc.calls["c1"].agent == "1001"
    (dial,) = [
        o for o in cc.transfer_to_number(10, "c1", "13800138000") if isinstance(o, DialTrunk)
    ]
    assert (dial.trunk, dial.request_uri) == ("telecom", "sip:13800138000@198.51.100.1:5060")
    assert cc.acd.agent_state("1001") is AgentState.WRAP_UP
    assert cc.next_timer() == 15  # the trunk's setup time, from the call
    # Silent carrier: given up at its setup time; the caller is back in the queue, and the
    # ACD offers it again (1001 is in wrap-up, so nobody rings yet).
    outputs = cc.handle_timer(15)
    assert CancelLeg(dial.leg_id) in outputs
    assert cc.calls["c1"].state == "queued"
    assert states["telecom"].active_calls == 0


def test_a_click_to_call_is_transferred_to_a_queue_and_to_an_outside_number() -> None:
    from hotline.calls.commands import (
        CallControlError,
        DialTrunk,
        HangUpLeg,
        PlayMusicOnHold,
        RingAgent,
        StopRecording,
    )
    from hotline.calls.trunks import (
        TrunkConfig,
        TrunkGroup,
        TrunkGroupConfig,
        TrunkState,
        trunk_states,
    )
    from hotline.services.contact_center import OUTBOUND_BREAK

    def placed() -> tuple[ContactCenter, dict[str, TrunkState], list[Output]]:
        cc = center()
        states = trunk_states([TrunkConfig(name="telecom", host="198.51.100.1")])
        group = TrunkGroup.build(TrunkGroupConfig(name="out", trunks=("telecom",)), states)
        cc.configure_trunks({"out": group}, NumberingPlan(region="CN"))
        for agent in ("1001", "1002"):
            cc.agent_login(0, agent)
            cc.agent_ready(0, agent)
        history: list[Output] = list(
            cc.originate(1, call_id="o1", agent="1001", number="13800138000")
        )
        assert cc.acd.agent_reason("1001") == OUTBOUND_BREAK
        history += cc.leg_answered(2, "o1", "o1-a1")
        with pytest.raises(CallControlError):  # the customer has not answered yet
            cc.transfer_to_queue(2.5, "o1", "after-sales")
        history += cc.leg_answered(3, "o1", "o1-t1")  # the customer, recorded as o1-r1
        return cc, states, history

    cc, states, history = placed()
    outputs = cc.transfer_to_queue(10, "o1", "after-sales")
    history += outputs
    assert commands(outputs)[:3] == [
        StopRecording("o1-r1"),
        HangUpLeg("o1-a1"),
        PlayMusicOnHold("o1-t1"),  # the customer's trunk leg waits in the queue
    ]
    # 1001 is free again (its click-to-call is over for it); the ACD offers the customer
    # to an available agent of the queue, 1002 (1001 became available after it).
    assert cc.calls["o1"].kind == "click_to_call"  # the same call, now in the queue
    (ring,) = [o for o in outputs if isinstance(o, RingAgent)]
    assert (ring.leg_id, ring.agent) == ("o1-a2", "1002")
    assert cc.acd.agent_state("1001") is AgentState.AVAILABLE
    history += cc.leg_answered(12, "o1", "o1-a2")
    assert states["telecom"].active_calls == 1  # the customer's own trunk leg
    history += cc.leg_hung_up(20, "o1", "o1-t1")  # the customer hangs up
    assert states["telecom"].active_calls == 0
    cdr = build_cdr(call_events(history))
    assert (cdr.direction, cdr.outcome, cdr.transfers) == ("outbound", "handled", 1)
    assert [s.agent for s in cdr.segments] == ["1001", "1002"]
    assert cdr.recording_ids == ("o1-r1", "o1-r2")
    assert cdr.queues == ("after-sales",)
    # To an outside number: a second channel for the outside party.
    cc, states, history = placed()
    outputs = cc.transfer_to_number(10, "o1", "021 6888 8888")
    (dial,) = [o for o in outputs if isinstance(o, DialTrunk)]
    assert dial.leg_id == "o1-x2"  # after the agent's o1-a1
    assert states["telecom"].active_calls == 2
    cc.leg_answered(12, "o1", "o1-x2")
    cc.hangup(20, "o1")
    assert states["telecom"].active_calls == 0


def test_the_agents_phone_refers_a_click_to_call() -> None:
    from hotline.calls.commands import HangUpLeg, TransferDestination
    from hotline.calls.trunks import TrunkConfig, TrunkGroup, TrunkGroupConfig, trunk_states

    cc = center()
    states = trunk_states([TrunkConfig(name="telecom", host="198.51.100.1")])
    group = TrunkGroup.build(TrunkGroupConfig(name="out", trunks=("telecom",)), states)
    cc.configure_trunks({"out": group}, NumberingPlan(region="CN"))
    cc.originate(1, call_id="o1", agent="1001", number="13800138000")
    assert cc.talking_leg("o1") is None  # the agent's phone still rings
    cc.leg_answered(2, "o1", "o1-a1")
    cc.leg_answered(3, "o1", "o1-t1")
    assert cc.talking_leg("o1") == "o1-a1"  # only the agent's leg may REFER
    outputs = cc.refer(5, "o1", "o1-a1", TransferDestination("queue", "after-sales"))
    assert HangUpLeg("o1-a1") in outputs
    assert cc.calls["o1"].state == "queued"
    assert cc.talking_leg("o1") is None


def test_an_acd_refusal_to_free_a_click_to_calls_agent_loses_no_decided_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from hotline.acd import AcdError
    from hotline.calls.commands import HangUpLeg, PlayMusicOnHold, RingAgent
    from hotline.calls.trunks import TrunkConfig, TrunkGroup, TrunkGroupConfig, trunk_states

    def placed(call_id: str) -> ContactCenter:
        cc = center()
        states = trunk_states([TrunkConfig(name="telecom", host="198.51.100.1")])
        group = TrunkGroup.build(TrunkGroupConfig(name="out", trunks=("telecom",)), states)
        cc.configure_trunks({"out": group}, NumberingPlan(region="CN"))
        for agent in ("1001", "1002"):
            cc.agent_login(0, agent)
            cc.agent_ready(0, agent)
        cc.originate(1, call_id=call_id, agent="1001", number="13800138000")
        cc.leg_answered(2, call_id, f"{call_id}-a1")
        cc.leg_answered(3, call_id, f"{call_id}-t1")

        # The ACD refuses to make the agent ready (as for an agent it no longer knows).
        def refuse(now: float, agent_id: str) -> list[Event]:
            raise AcdError(f"unknown agent {agent_id!r}")

        monkeypatch.setattr(cc.acd, "agent_ready", refuse)
        return cc

    cc = placed("o1")
    outputs = cc.transfer_to_queue(10, "o1", "after-sales")
    assert HangUpLeg("o1-a1") in outputs
    assert PlayMusicOnHold("o1-t1") in outputs
    assert [o.agent for o in outputs if isinstance(o, RingAgent)] == ["1002"]
    assert cc.calls["o1"].state == "ringing_agent"  # the call and the ACD agree
    cc = placed("o2")
    outputs = cc.leg_hung_up(10, "o2", "o2-t1")  # the customer hangs up: the call ends
    assert HangUpLeg("o2-a1") in outputs
    assert "o2" not in cc.calls
