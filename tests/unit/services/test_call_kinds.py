"""Every control on every kind of call: one call model, proven on each way a call is made.

An inbound call (routed to a queue), a click-to-call (the agent rings first, then the
customer is dialled) and a campaign call (the customer is dialled first, then queued) are
brought to the same point, customer and agent talking, through the contact centre with an
explicit clock. Then each control the live API offers is applied the same way to each, and
the commands, the ACD's view and the CDR folded from the events are checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from hotline.acd import Acd, AgentProfile, AgentState, QueueConfig
from hotline.calls import commands as control
from hotline.calls.cdr import Cdr, build_cdr
from hotline.calls.events import CallEvent, CallStarted
from hotline.calls.numbers import NumberingPlan
from hotline.calls.routing import Destination, InboundRoute, InboundRouter
from hotline.calls.trunks import TrunkConfig, TrunkGroup, TrunkGroupConfig, TrunkState, trunk_states
from hotline.events import Event
from hotline.services.contact_center import ContactCenter, Output

KINDS = ("inbound", "click_to_call", "campaign")
PLAN = NumberingPlan(region="CN", area_code="21")


@dataclass
class Connected:
    """A call of one kind with customer and agent 1001 talking."""

    cc: ContactCenter
    trunk: TrunkState
    call_id: str
    customer: str  # the customer's leg
    agent: str  # 1001's leg
    history: list[Output] = field(default_factory=list)

    def __call__(self, outputs: list[Output]) -> list[Output]:
        """Keep the outputs for the CDR; return the commands."""
        self.history += outputs
        return [o for o in outputs if not isinstance(o, Event)]

    def cdr(self) -> Cdr:
        return build_cdr([o for o in self.history if isinstance(o, CallEvent)])


def node() -> tuple[ContactCenter, TrunkState]:
    acd = Acd()
    acd.configure_queue(QueueConfig(name="sales", department="sales", wrap_up_seconds=10))
    for agent in ("1001", "1002", "1003"):
        acd.add_agent(AgentProfile(agent_id=agent, department="sales", queues={"sales": 0}))
    route = InboundRoute(
        name="hotline",
        did="4000",
        department="sales",
        destination=Destination(type="queue", target="sales"),
    )
    cc = ContactCenter(acd, InboundRouter([route], {}, PLAN))
    states = trunk_states([TrunkConfig(name="telecom", host="198.51.100.1", max_channels=10)])
    group = TrunkGroup.build(TrunkGroupConfig(name="out", trunks=("telecom",)), states)
    cc.configure_trunks({"out": group}, PLAN)
    return cc, states["telecom"]


def ring_of(outputs: list[Output], agent: str) -> str:
    return next(o.leg_id for o in outputs if isinstance(o, control.RingAgent) and o.agent == agent)


def dial_of(outputs: list[Output]) -> control.DialTrunk:
    return next(o for o in outputs if isinstance(o, control.DialTrunk))


def connect(kind: str) -> Connected:
    """Customer and agent 1001 talking, on a call of ``kind``; 1001 is the only ready agent."""
    cc, trunk = node()
    history: list[Output] = []
    for agent in ("1001", "1002", "1003"):
        history += cc.agent_login(0, agent)
    history += cc.agent_break(0, "1002", "lunch")
    history += cc.agent_break(0, "1003", "lunch")
    if kind == "inbound":
        out = cc.inbound_call(
            1, call_id="c1", leg_id="c1-in", caller="13800138000", callee="4000", trunk=None
        )
        history += out
        agent_leg, customer_leg = ring_of(out, "1001"), "c1-in"
        history += cc.leg_answered(2, "c1", agent_leg)
    elif kind == "click_to_call":
        out = cc.originate(1, call_id="c1", agent="1001", number="021 6888 8888")
        history += out
        agent_leg = ring_of(out, "1001")
        out = cc.leg_answered(2, "c1", agent_leg)
        history += out
        assert control.PlayRingback(agent_leg) in out  # the agent hears the customer ring
        customer_leg = dial_of(out).leg_id
        history += cc.leg_answered(3, "c1", customer_leg)
    else:
        destination = Destination(type="queue", target="sales")
        out = cc.dial_campaign(
            1, call_id="c1", number="021 6888 8888", destination=destination, department="sales"
        )
        history += out
        customer_leg = dial_of(out).leg_id
        out = cc.leg_answered(3, "c1", customer_leg)
        history += out
        agent_leg = ring_of(out, "1001")
        history += cc.leg_answered(4, "c1", agent_leg)
    call = cc.calls["c1"]
    assert (call.kind, call.state, call.agent) == (kind, "connected", "1001")
    return Connected(cc, trunk, "c1", customer_leg, agent_leg, history)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_starts_as_itself_and_talks_recorded(kind: str) -> None:
    c = connect(kind)
    started = next(o for o in c.history if isinstance(o, CallStarted))
    assert started.kind == kind
    assert c.cc.calls["c1"].recording_id == "c1-r1"
    # Nobody offers 1001 a queue call meanwhile: on the ACD's call, or busy on its own.
    if kind == "click_to_call":
        assert c.cc.acd.agent_busy("1001")
    else:
        assert c.cc.acd.agent_state("1001") is AgentState.ON_CALL
    c(c.cc.leg_hung_up(20, "c1", c.customer))
    cdr = c.cdr()
    assert (cdr.outcome, cdr.agent, cdr.hangup_side) == ("handled", "1001", "customer")
    assert cdr.direction == ("inbound" if kind == "inbound" else "outbound")
    assert c.trunk.active_calls == 0
    assert "c1" not in c.cc.calls


@pytest.mark.parametrize("kind", KINDS)
def test_hold_and_recording_pause_on_every_kind(kind: str) -> None:
    c = connect(kind)
    assert c(c.cc.hold(10, "c1")) == [
        control.Unbridge(c.customer, c.agent),
        control.PlayMusicOnHold(c.customer),
    ]
    assert c(c.cc.resume(12, "c1")) == [
        control.StopMedia(c.customer),
        control.Bridge(c.customer, c.agent),
    ]
    assert c(c.cc.pause_recording(13, "c1")) == [control.PauseRecording("c1-r1")]
    assert c(c.cc.resume_recording(15, "c1")) == [control.ResumeRecording("c1-r1")]
    c(c.cc.hangup(20, "c1"))
    cdr = c.cdr()
    assert (cdr.hold_s, cdr.recording_pauses) == (2.0, 1)


@pytest.mark.parametrize("kind", KINDS)
def test_attended_transfer_with_ringback_on_every_kind(kind: str) -> None:
    c = connect(kind)
    out = c(c.cc.consult(10, "c1", "1002"))
    consult_leg = ring_of(out, "1002")
    assert out[-1] == control.PlayRingback(c.agent)  # the agent hears 1002's phone ring
    assert c.cc.acd.agent_busy("1002")  # a consulted agent is offered no queue call
    out = c(c.cc.leg_answered(12, "c1", consult_leg))
    assert out[0] == control.StopMedia(c.agent)
    out = c(c.cc.complete_transfer(20, "c1"))
    assert control.Bridge(c.customer, consult_leg) in out
    assert c.cc.calls["c1"].agent == "1002"
    c(c.cc.leg_hung_up(30, "c1", c.customer))
    cdr = c.cdr()
    assert [s.agent for s in cdr.segments] == ["1001", "1002"]
    assert cdr.transfers == 1


@pytest.mark.parametrize("kind", KINDS)
def test_consultation_of_an_outside_number_on_every_kind(kind: str) -> None:
    c = connect(kind)
    before = c.trunk.active_calls
    out = c(c.cc.consult(10, "c1", "021 6123 4567"))
    dial = dial_of(out)
    assert (dial.role, dial.request_uri) == ("external", "sip:02161234567@198.51.100.1:5060")
    assert c.trunk.active_calls == before + 1  # a channel for the outside party
    assert out[-1] == control.PlayRingback(c.agent)
    assert c(c.cc.trunk_progress(11, "c1", dial.leg_id)) == []
    c(c.cc.leg_answered(13, "c1", dial.leg_id))
    assert c.cc.calls["c1"].parties[0][1:] == ("consult", "+862161234567", None, True)
    out = c(c.cc.cancel_consult(20, "c1"))
    assert out[0] == control.HangUpLeg(dial.leg_id)
    assert control.Bridge(c.customer, c.agent) in out
    assert c.trunk.active_calls == before
    c(c.cc.hangup(30, "c1"))
    assert c.trunk.active_calls == 0


@pytest.mark.parametrize("kind", KINDS)
def test_completing_a_transfer_to_an_outside_consultation_on_every_kind(kind: str) -> None:
    c = connect(kind)
    dial = dial_of(c(c.cc.consult(10, "c1", "021 6123 4567")))
    c(c.cc.leg_answered(13, "c1", dial.leg_id))
    out = c(c.cc.complete_transfer(20, "c1"))
    assert control.HangUpLeg(c.agent) in out
    assert control.Bridge(c.customer, dial.leg_id) in out
    call = c.cc.calls["c1"]
    assert call.agent is None  # an outside party has the caller, as after a blind transfer
    assert c.cc.acd.agent_state("1001") is not AgentState.ON_CALL  # released
    assert not c.cc.acd.agent_busy("1001")
    c(c.cc.leg_hung_up(40, "c1", dial.leg_id))
    assert c.trunk.active_calls == 0
    cdr = c.cdr()
    assert cdr.transfers == 1
    assert "external" in {p.role for p in cdr.parties}


@pytest.mark.parametrize("kind", KINDS)
def test_conference_and_supervision_on_every_kind(kind: str) -> None:
    c = connect(kind)
    party = ring_of(c(c.cc.add_party(10, "c1", "1003")), "1003")
    out = c(c.cc.leg_answered(11, "c1", party))
    mix = next(o for o in out if isinstance(o, control.SetMix))
    assert {m.leg_id for m in mix.members} == {c.customer, c.agent, party}
    c(c.cc.drop_party(15, "c1"))
    supervisor = ring_of(c(c.cc.supervise(16, "c1", "1002", "listen")), "1002")
    out = c(c.cc.leg_answered(17, "c1", supervisor))
    (mix,) = [o for o in out if isinstance(o, control.SetMix)]
    assert control.MixMember(supervisor, "listen") in mix.members
    out = c(c.cc.set_supervision(18, "c1", "whisper"))
    assert control.MixMember(supervisor, "whisper", (c.agent,)) in out[-1].members  # type: ignore[union-attr]
    c(c.cc.end_supervision(19, "c1"))
    c(c.cc.hangup(20, "c1"))
    roles = [(p.role, p.party) for p in c.cdr().parties]
    assert roles == [("third_party", "1003"), ("supervisor", "1002")]


@pytest.mark.parametrize("kind", KINDS)
def test_blind_transfers_to_a_queue_and_a_number_on_every_kind(kind: str) -> None:
    c = connect(kind)
    c(c.cc.agent_ready(5, "1002"))
    out = c(c.cc.transfer_to_queue(10, "c1", "sales"))
    assert control.HangUpLeg(c.agent) in out
    new_leg = ring_of(out, "1002")  # 1001 is in wrap-up (or back from its click-to-call)
    c(c.cc.leg_answered(12, "c1", new_leg))
    assert c.cc.calls["c1"].agent == "1002"
    out = c(c.cc.transfer_to_number(20, "c1", "021 6123 4567"))
    dial = dial_of(out)
    c(c.cc.leg_answered(25, "c1", dial.leg_id))
    c(c.cc.hangup(30, "c1"))
    assert c.trunk.active_calls == 0
    assert c.cdr().transfers == 2


@pytest.mark.parametrize("kind", KINDS)
def test_a_supervisor_hangs_up_every_kind_and_the_agent_is_freed(kind: str) -> None:
    c = connect(kind)
    out = c(c.cc.hangup(10, "c1", "hung up by supervisor"))
    assert control.HangUpLeg(c.agent) in out
    assert control.HangUpLeg(c.customer) in out
    assert c.trunk.active_calls == 0
    state = c.cc.acd.agent_state("1001")
    # An ACD call leaves its agent in wrap-up; a click-to-call's agent is ready again.
    assert state is (AgentState.AVAILABLE if kind == "click_to_call" else AgentState.WRAP_UP)
