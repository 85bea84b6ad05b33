"""Agents rung directly (consultation, conference, supervision, transfer to a user,
click-to-call) are busy for the ACD: the real contact centre, real call control and the
real ACD, with an explicit clock."""

from __future__ import annotations

from hotline.acd import Acd, AgentProfile, AgentState, QueueConfig
from hotline.acd.events import AgentBusyChanged
from hotline.calls.commands import RingAgent
from hotline.calls.numbers import NumberingPlan
from hotline.calls.routing import Destination, InboundRoute, InboundRouter
from hotline.calls.trunks import TrunkConfig, TrunkGroup, TrunkGroupConfig, trunk_states
from hotline.services.contact_center import ContactCenter, Output

AGENTS = ("1001", "1002", "1003")


def center(agents: tuple[str, ...] = AGENTS) -> ContactCenter:
    acd = Acd()
    acd.configure_queue(QueueConfig(name="after-sales", ring_timeout=15, wrap_up_seconds=10))
    for agent in agents:
        acd.add_agent(AgentProfile(agent_id=agent, queues={"after-sales": 0}))
    route = InboundRoute(
        name="hotline",
        did="4000",
        department="after-sales",
        destination=Destination(type="flow", target="demo-hotline"),
    )
    cc = ContactCenter(acd, InboundRouter([route], {}, NumberingPlan(region="CN")))
    for at, agent in enumerate(agents):  # 1001 has been idle longest
        cc.agent_login(float(at), agent)
    return cc


def rings(outputs: list[Output]) -> list[tuple[str, str]]:
    return [(o.call_id, o.agent) for o in outputs if isinstance(o, RingAgent)]


def queued(cc: ContactCenter, now: float, call_id: str) -> list[Output]:
    """A caller reaches the queue through the IVR."""
    cc.inbound_call(
        now, call_id=call_id, leg_id=f"{call_id}-in", caller="1", callee="4000", trunk=None
    )
    return cc.ivr_enqueue(now, call_id, "after-sales")


def connected_to_1001(cc: ContactCenter) -> None:
    assert rings(queued(cc, 10, "c1")) == [("c1", "1001")]
    cc.leg_answered(12, "c1", "c1-a1")


def test_a_consulted_agent_is_not_offered_and_gets_the_waiting_call_when_it_ends() -> None:
    cc = center(("1001", "1002"))
    connected_to_1001(cc)
    out = cc.consult(20, "c1", "1002")
    assert rings(out) == [("c1", "1002")]
    assert next(e for e in out if isinstance(e, AgentBusyChanged)).busy
    assert cc.acd.agent_state("1002") is AgentState.AVAILABLE  # still ready
    assert cc.acd.agent_busy("1002")
    assert cc.direct_calls("1002") == 1
    assert rings(queued(cc, 21, "c2")) == []  # no second INVITE to 1002
    assert rings(cc.leg_answered(22, "c1", "c1-c2")) == []  # talking to 1001: still busy
    out = cc.cancel_consult(30, "c1")
    assert rings(out) == [("c2", "1002")]  # at once, not at the next timer
    assert cc.direct_calls("1002") == 0
    assert not cc.acd.agent_busy("1002")


def test_the_waiting_call_goes_to_another_free_agent_meanwhile() -> None:
    cc = center()
    connected_to_1001(cc)
    cc.consult(20, "c1", "1002")
    assert rings(queued(cc, 21, "c2")) == [("c2", "1003")]


def test_a_consulted_agent_who_takes_the_call_over_stays_busy_until_it_ends() -> None:
    cc = center(("1001", "1002"))
    connected_to_1001(cc)
    cc.consult(20, "c1", "1002")
    cc.leg_answered(22, "c1", "c1-c2")
    cc.complete_transfer(30, "c1")  # 1002 talks to the caller; 1001 wraps up
    assert cc.acd.agent_state("1001") is AgentState.WRAP_UP
    assert rings(queued(cc, 31, "c2")) == []
    assert rings(cc.handle_timer(40)) == [("c2", "1001")]  # 1001's wrap-up is over
    assert cc.acd.agent_busy("1002")
    cc.leg_hung_up(50, "c1", "c1-in")
    assert cc.direct_calls("1002") == 0
    assert not cc.acd.agent_busy("1002")


def test_a_listening_supervisor_is_busy() -> None:
    cc = center(("1001", "1002"))
    connected_to_1001(cc)
    cc.supervise(20, "c1", "1002", "listen")
    assert rings(queued(cc, 21, "c2")) == []
    cc.leg_answered(22, "c1", "c1-s2")
    assert cc.acd.agent_busy("1002")
    assert rings(cc.end_supervision(30, "c1")) == [("c2", "1002")]


def test_a_conference_party_is_busy_and_freed_when_dropped() -> None:
    cc = center(("1001", "1002"))
    connected_to_1001(cc)
    cc.add_party(20, "c1", "1002")
    cc.leg_answered(22, "c1", "c1-t2")
    assert rings(queued(cc, 23, "c2")) == []
    assert rings(cc.drop_party(30, "c1")) == [("c2", "1002")]


def test_counts_do_not_leak_when_legs_fail_or_calls_end() -> None:
    cc = center(("1001", "1002"))
    connected_to_1001(cc)
    cc.consult(20, "c1", "1002")
    cc.leg_failed(25, "c1", "c1-c2", "rejected")  # 1002 declines the consultation
    assert cc.direct_calls("1002") == 0
    assert not cc.acd.agent_busy("1002")
    cc.consult(30, "c1", "1002")
    cc.leg_failed(31, "c1", "c1-c3", "rejected")
    cc.leg_failed(32, "c1", "c1-c3", "rejected")  # a repeated report changes nothing
    assert cc.direct_calls("1002") == 0
    cc.consult(40, "c1", "1002")
    cc.leg_hung_up(41, "c1", "c1-in")  # the caller hangs up while the consultation rings
    assert "c1" not in cc.calls
    assert cc.direct_calls("1002") == 0
    assert not cc.acd.agent_busy("1002")
    assert cc.acd.is_routable("1002", 42)


def test_a_user_rung_by_a_blind_transfer_is_busy_until_the_call_ends() -> None:
    cc = center(("1001", "1002"))
    connected_to_1001(cc)
    assert rings(cc.transfer_to_user(20, "c1", "1002")) == [("c1", "1002")]
    assert rings(queued(cc, 21, "c2")) == []
    cc.leg_answered(22, "c1", "c1-a2")
    assert cc.acd.agent_state("1002") is AgentState.AVAILABLE
    assert cc.acd.agent_busy("1002")
    assert rings(cc.leg_hung_up(60, "c1", "c1-in")) == [("c2", "1002")]


def test_two_direct_calls_count_twice() -> None:
    cc = center()
    connected_to_1001(cc)
    cc.supervise(20, "c1", "1003", "listen")
    assert rings(queued(cc, 21, "c2")) == [("c2", "1002")]
    cc.leg_answered(22, "c2", "c2-a1")
    cc.supervise(23, "c2", "1003", "listen")
    assert cc.direct_calls("1003") == 2
    queued(cc, 24, "c3")
    assert rings(cc.end_supervision(30, "c1")) == []  # still listening to c2
    assert cc.acd.agent_busy("1003")
    assert rings(cc.leg_failed(31, "c2", "c2-s2", "no_answer")) == [("c3", "1003")]


def test_a_live_directory_reload_keeps_the_counts() -> None:
    cc = center(("1001", "1002"))
    connected_to_1001(cc)
    cc.consult(20, "c1", "1002")
    profiles = [
        AgentProfile(agent_id="1001", queues={"after-sales": 0}),
        AgentProfile(agent_id="1002", queues={"after-sales": 0}, skills={"zh": 5}),
    ]
    cc.reconfigure(
        21,
        queues=[cc.acd.queue_config("after-sales")],
        agents=profiles,
        router=cc.router,
        recording={},
    )
    assert cc.acd.agent_busy("1002")
    assert cc.direct_calls("1002") == 1
    assert rings(queued(cc, 22, "c2")) == []
    assert rings(cc.cancel_consult(30, "c1")) == [("c2", "1002")]


def test_a_user_becoming_an_agent_during_a_direct_call_is_busy() -> None:
    cc = center(("1001",))
    connected_to_1001(cc)
    cc.consult(20, "c1", "1005")  # a user the ACD does not know
    assert cc.direct_calls("1005") == 1
    profiles = [
        AgentProfile(agent_id="1001", queues={"after-sales": 0}),
        AgentProfile(agent_id="1005", queues={"after-sales": 0}),
    ]
    cc.reconfigure(
        21,
        queues=[cc.acd.queue_config("after-sales")],
        agents=profiles,
        router=cc.router,
        recording={},
    )
    assert cc.acd.agent_busy("1005")
    cc.agent_login(22, "1005")
    assert rings(queued(cc, 23, "c2")) == []
    assert rings(cc.cancel_consult(30, "c1")) == [("c2", "1005")]


def test_a_click_to_call_agent_is_busy_from_the_ring_even_from_wrap_up() -> None:
    cc = center(("1001",))
    states = trunk_states([TrunkConfig(name="telecom", host="198.51.100.1")])
    group = TrunkGroup.build(TrunkGroupConfig(name="out", trunks=("telecom",)), states)
    cc.configure_trunks({"out": group}, NumberingPlan(region="CN"))
    connected_to_1001(cc)
    cc.leg_hung_up(20, "c1", "c1-in")  # 1001 wraps up until 30
    out = cc.originate(21, call_id="o1", agent="1001", number="13800138000")
    assert rings(out) == [("o1", "1001")]
    assert cc.acd.agent_busy("1001")  # wrap-up: no break was taken, the flag holds it
    queued(cc, 22, "c2")
    assert rings(cc.handle_timer(30)) == []  # wrap-up ends; the phone is still busy
    assert cc.acd.agent_state("1001") is AgentState.AVAILABLE
    cc.leg_answered(31, "o1", "o1-a1")
    assert rings(cc.hangup(40, "o1")) == [("c2", "1001")]
    assert cc.direct_calls("1001") == 0
