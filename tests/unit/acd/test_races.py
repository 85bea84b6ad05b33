"""The races the issue names, each replayed with an explicit clock."""

from __future__ import annotations

from hotline.acd import AgentState, ContactState, QueueConfig
from hotline.acd.events import (
    ContactAbandoned,
    ContactConnected,
    InputIgnored,
    OfferWithdrawn,
)

from .support import agent, build, busy, of_type, offers, states

SALES = QueueConfig(name="sales", ring_timeout=15.0)


def test_agent_logs_out_while_reserved_contact_keeps_its_place() -> None:
    acd = build([SALES], [agent("a1"), agent("a2")])
    busy(acd, 0.0, "a1", "c0")
    acd.contact_arrived(1.0, "c1", "sales")  # rings a2
    acd.contact_arrived(2.0, "c2", "sales")  # waits
    events = acd.agent_logout(3.0, "a2")
    withdrawn = of_type(events, OfferWithdrawn)
    assert [(w.contact_id, w.agent_id, w.reason) for w in withdrawn] == [
        ("c1", "a2", "agent_logged_out")
    ]
    assert acd.agent_state("a2") is AgentState.LOGGED_OUT
    assert acd.waiting_contacts("sales") == ["c1", "c2"]  # c1 still first
    assert acd.handle_timer(16.0) == []  # the dead ring timer does nothing
    acd.contact_ended(20.0, "c0")
    assert acd.ringing_agents("c1") == ["a1"]


def test_contact_abandons_while_ringing() -> None:
    acd = build([SALES], [agent("a1")])
    acd.contact_arrived(0.0, "c1", "sales")
    acd.contact_arrived(1.0, "c2", "sales")
    events = acd.contact_abandoned(5.0, "c1")
    assert [(w.agent_id, w.reason) for w in of_type(events, OfferWithdrawn)] == [
        ("a1", "abandoned")
    ]
    assert of_type(events, ContactAbandoned)[0].waited == 5.0
    # The freed agent is offered the next contact without any reject delay.
    assert offers(events) == [("c2", "a1")]
    assert acd.contact_state("c1") is None
    # The phone's late answer for the abandoned contact changes nothing.
    late = acd.offer_answered(5.1, "c1", "a1")
    assert of_type(late, InputIgnored)[0].reason == "offer no longer stands"
    assert acd.ringing_agents("c2") == ["a1"]


def test_abandon_and_end_of_unknown_contacts_are_ignored_not_errors() -> None:
    acd = build([SALES], [agent("a1")])
    assert of_type(acd.contact_abandoned(0.0, "ghost"), InputIgnored)
    assert of_type(acd.contact_ended(0.0, "ghost"), InputIgnored)
    assert of_type(acd.offer_rejected(0.0, "ghost", "a1"), InputIgnored)


def test_two_queues_competing_for_one_agent_get_it_once() -> None:
    billing = QueueConfig(name="billing")
    acd = build([SALES, billing], [agent("a1", {"sales": 0, "billing": 0})])
    acd.agent_break(0.0, "a1", "lunch")
    acd.contact_arrived(1.0, "s1", "sales")
    acd.contact_arrived(1.0, "b1", "billing")
    events = acd.agent_ready(2.0, "a1")
    assert offers(events) == [("s1", "a1")]  # same wait: arrival order decides
    # While a1 rings, nothing else may be offered to a1.
    assert offers(acd.contact_arrived(3.0, "s2", "sales")) == []
    acd.offer_answered(4.0, "s1", "a1")
    assert acd.waiting_contacts("billing") == ["b1"]
    assert acd.waiting_contacts("sales") == ["s2"]


def test_wrap_up_in_several_queues_does_not_end_early() -> None:
    """Asterisk issue 1006: with an agent in several queues, another queue offered a call
    during the wrap-up of the first. Here wrap-up is the agent's state, not a queue's."""
    long_wrap = QueueConfig(name="complaints", wrap_up_seconds=120.0)
    no_wrap = QueueConfig(name="sales", wrap_up_seconds=0.0)
    short_wrap = QueueConfig(name="billing", wrap_up_seconds=10.0)
    acd = build(
        [long_wrap, no_wrap, short_wrap],
        [agent("a1", {"complaints": 0, "sales": 0, "billing": 0})],
    )
    busy(acd, 0.0, "a1", "c1", queue="complaints")
    acd.contact_ended(60.0, "c1")
    for now, contact, queue in ((61.0, "s1", "sales"), (70.0, "b1", "billing")):
        assert offers(acd.contact_arrived(now, contact, queue)) == []
    for now in (70.0, 71.0, 100.0, 179.9):
        assert acd.handle_timer(now) == []
        assert acd.agent_state("a1") is AgentState.WRAP_UP
    events = acd.handle_timer(180.0)
    assert offers(events) == [("s1", "a1")]
    assert of_type(events, OfferWithdrawn) == []


def test_ring_all_first_answer_wins_and_the_others_stop_ringing() -> None:
    ring_all = QueueConfig(name="sales", strategy="ring-all")
    acd = build([ring_all], [agent("a1"), agent("a2"), agent("a3")])
    events = acd.contact_arrived(0.0, "c1", "sales")
    assert sorted(offers(events)) == [("c1", "a1"), ("c1", "a2"), ("c1", "a3")]
    events = acd.offer_answered(2.0, "c1", "a2")
    withdrawn = sorted((w.agent_id, w.reason) for w in of_type(events, OfferWithdrawn))
    assert withdrawn == [("a1", "answered_elsewhere"), ("a3", "answered_elsewhere")]
    assert of_type(events, ContactConnected)[0].agent_id == "a2"
    assert acd.agent_state("a1") is AgentState.AVAILABLE
    assert acd.is_routable("a1", 2.0)  # losing a ring-all race is no reason to rest
    late = acd.offer_answered(2.1, "c1", "a3")
    assert of_type(late, InputIgnored)
    assert acd.contact_state("c1") is ContactState.CONNECTED


def test_ring_all_contact_returns_only_when_every_phone_gave_up() -> None:
    ring_all = QueueConfig(name="sales", strategy="ring-all")
    acd = build([ring_all], [agent("a1"), agent("a2")])
    acd.contact_arrived(0.0, "c1", "sales")
    acd.offer_rejected(1.0, "c1", "a1")
    assert acd.ringing_agents("c1") == ["a2"]
    assert acd.waiting_contacts("sales") == []
    acd.offer_rejected(2.0, "c1", "a2")
    assert acd.waiting_contacts("sales") == ["c1"]


def test_answer_by_an_agent_that_was_not_offered_is_ignored() -> None:
    acd = build([SALES], [agent("a1"), agent("a2")])
    acd.contact_arrived(0.0, "c1", "sales")
    events = acd.offer_answered(1.0, "c1", "a2")
    assert of_type(events, InputIgnored)
    assert acd.agent_state("a2") is AgentState.AVAILABLE
    assert states(events, "a1") == []


def test_logout_while_reserved_with_leave_when_empty_sends_callers_away() -> None:
    from hotline.acd import ExitAction, ExitKind

    queue = QueueConfig(
        name="sales",
        leave_when_empty=True,
        on_empty=ExitAction(ExitKind.VOICEMAIL, "box-1"),
    )
    acd = build([queue], [agent("a1")])
    acd.contact_arrived(0.0, "c1", "sales")
    events = acd.agent_logout(1.0, "a1")
    assert acd.contact_state("c1") is None
    assert [type(e).__name__ for e in events] == [
        "OfferWithdrawn",
        "AgentStateChanged",
        "ContactExited",
    ]
