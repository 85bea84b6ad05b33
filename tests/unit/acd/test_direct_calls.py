"""An agent whose phone is busy on a call the ACD did not place is offered nothing.

The contact centre reports the edges (``agent_direct_call``); these tests drive the ACD with
an explicit clock and check that the flag blocks offers in every state, keeps the agent's
state and timers, and gives the agent the waiting contact the moment it drops.
"""

from __future__ import annotations

import pytest

from hotline.acd import AcdError, AgentState, QueueConfig
from hotline.acd.events import AgentBusyChanged

from .support import agent, build, busy, of_type, offers, states

SALES = QueueConfig(name="sales", wrap_up_seconds=30.0, ring_timeout=15.0)


def test_a_busy_available_agent_is_not_offered_and_gets_the_contact_when_free() -> None:
    acd = build([SALES], [agent("a1")])
    events = acd.agent_direct_call(1.0, "a1", True)
    assert of_type(events, AgentBusyChanged) == [
        AgentBusyChanged(at=1.0, agent_id="a1", busy=True, state=AgentState.AVAILABLE)
    ]
    assert not acd.is_routable("a1", 1.0)
    assert offers(acd.contact_arrived(2.0, "c1", "sales")) == []
    assert acd.agent_state("a1") is AgentState.AVAILABLE  # a ready agent stays ready
    assert acd.agent_busy("a1")
    assert acd.agent_busy_since("a1") == 1.0
    events = acd.agent_direct_call(9.0, "a1", False)
    assert offers(events) == [("c1", "a1")]
    assert states(events, "a1") == [AgentState.RESERVED]


def test_the_contact_goes_to_another_free_agent_meanwhile() -> None:
    acd = build([SALES], [agent("a1"), agent("a2")])
    acd.agent_direct_call(0.5, "a1", True)
    assert offers(acd.contact_arrived(1.0, "c1", "sales")) == [("c1", "a2")]


def test_repeating_the_flag_changes_nothing() -> None:
    acd = build([SALES], [agent("a1")])
    assert acd.agent_direct_call(1.0, "a1", False) == []
    acd.agent_direct_call(1.0, "a1", True)
    assert acd.agent_direct_call(2.0, "a1", True) == []
    assert acd.agent_busy_since("a1") == 1.0


def test_busy_during_wrap_up_keeps_the_wrap_up_rules_and_blocks_the_offer_after_it() -> None:
    acd = build([SALES], [agent("a1")])
    busy(acd, 0.0, "a1", "c1")
    acd.contact_ended(10.0, "c1")
    acd.agent_direct_call(12.0, "a1", True)  # consulted by a colleague during wrap-up
    assert acd.agent_state("a1") is AgentState.WRAP_UP
    acd.contact_arrived(13.0, "c2", "sales")
    events = acd.handle_timer(40.0)  # wrap-up ends as configured
    assert acd.agent_state("a1") is AgentState.AVAILABLE
    assert offers(events) == []
    assert offers(acd.agent_direct_call(50.0, "a1", False)) == [("c2", "a1")]


def test_free_again_during_wrap_up_waits_for_its_end() -> None:
    acd = build([SALES], [agent("a1")])
    busy(acd, 0.0, "a1", "c1")
    acd.contact_ended(10.0, "c1")
    acd.agent_direct_call(12.0, "a1", True)
    acd.contact_arrived(13.0, "c2", "sales")
    assert offers(acd.agent_direct_call(20.0, "a1", False)) == []
    assert acd.agent_state("a1") is AgentState.WRAP_UP
    assert offers(acd.handle_timer(40.0)) == [("c2", "a1")]


def test_a_reject_delay_still_runs_under_the_flag() -> None:
    acd = build([SALES], [agent("a1", reject_delay=10.0)])
    acd.contact_arrived(0.0, "c1", "sales")
    acd.offer_rejected(1.0, "c1", "a1")  # ready again at 11
    acd.agent_direct_call(2.0, "a1", True)
    assert offers(acd.agent_direct_call(5.0, "a1", False)) == []  # the delay is not over
    assert offers(acd.handle_timer(11.0)) == [("c1", "a1")]


def test_the_delay_ending_under_the_flag_does_not_offer() -> None:
    acd = build([SALES], [agent("a1", reject_delay=10.0)])
    acd.contact_arrived(0.0, "c1", "sales")
    acd.offer_rejected(1.0, "c1", "a1")
    acd.agent_direct_call(2.0, "a1", True)
    assert offers(acd.handle_timer(11.0)) == []
    assert offers(acd.agent_direct_call(20.0, "a1", False)) == [("c1", "a1")]


def test_ready_from_a_break_under_the_flag_does_not_offer() -> None:
    acd = build([SALES], [agent("a1")])
    acd.agent_break(0.0, "a1", "lunch")
    acd.agent_direct_call(1.0, "a1", True)
    acd.contact_arrived(2.0, "c1", "sales")
    assert offers(acd.agent_ready(3.0, "a1")) == []
    assert acd.agent_state("a1") is AgentState.AVAILABLE
    assert offers(acd.agent_direct_call(4.0, "a1", False)) == [("c1", "a1")]


def test_free_again_on_break_stays_on_break() -> None:
    acd = build([SALES], [agent("a1")])
    acd.agent_direct_call(1.0, "a1", True)
    acd.agent_break(2.0, "a1", "lunch")
    acd.contact_arrived(3.0, "c1", "sales")
    assert offers(acd.agent_direct_call(4.0, "a1", False)) == []
    assert acd.agent_state("a1") is AgentState.BREAK


def test_the_flag_survives_logout_login_and_profile_changes() -> None:
    acd = build([SALES], [agent("a1")])
    acd.agent_direct_call(1.0, "a1", True)
    acd.agent_logout(2.0, "a1")
    acd.agent_login(3.0, "a1")
    acd.update_agent(4.0, agent("a1", skills={"zh": 5}))  # live directory reload
    assert offers(acd.contact_arrived(5.0, "c1", "sales")) == []
    assert offers(acd.agent_direct_call(6.0, "a1", False)) == [("c1", "a1")]


def test_a_ringing_offer_runs_its_course_and_the_agent_is_not_offered_again() -> None:
    acd = build([SALES], [agent("a1", no_answer_delay=0.0)])
    acd.contact_arrived(0.0, "c1", "sales")
    acd.agent_direct_call(1.0, "a1", True)  # rung for a consultation while the offer rings
    assert acd.agent_state("a1") is AgentState.RESERVED
    events = acd.handle_timer(15.0)  # the offer is not answered
    assert acd.agent_state("a1") is AgentState.AVAILABLE
    assert offers(events) == []
    assert offers(acd.agent_direct_call(16.0, "a1", False)) == [("c1", "a1")]


def test_an_unknown_agent_is_refused() -> None:
    acd = build([SALES], [agent("a1")])
    with pytest.raises(AcdError):
        acd.agent_direct_call(1.0, "nobody", True)
