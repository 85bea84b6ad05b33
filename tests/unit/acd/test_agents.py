"""Agent rules through the ACD's inputs, each with an explicit clock."""

from __future__ import annotations

import pytest

from hotline.acd import AcdError, AgentState, QueueConfig
from hotline.acd.config import NO_ANSWER_BREAK, ON_DEMAND_BREAK
from hotline.acd.events import AgentStateChanged, ContactEnded, OfferWithdrawn

from .support import agent, build, busy, of_type, offers, states

SALES = QueueConfig(name="sales", wrap_up_seconds=30.0, ring_timeout=15.0)


def test_full_cycle_emits_each_state_change_in_order() -> None:
    acd = build([SALES], [agent("a1")], login=False)
    events = acd.agent_login(0.0, "a1")
    events += acd.contact_arrived(1.0, "c1", "sales")
    events += acd.offer_answered(3.0, "c1", "a1")
    events += acd.contact_ended(63.0, "c1")
    assert acd.next_timer() == 93.0
    events += acd.handle_timer(93.0)
    assert states(events, "a1") == [
        AgentState.AVAILABLE,
        AgentState.RESERVED,
        AgentState.ON_CALL,
        AgentState.WRAP_UP,
        AgentState.AVAILABLE,
    ]
    changes = of_type(events, AgentStateChanged)
    assert [c.at for c in changes] == [0.0, 1.0, 3.0, 63.0, 93.0]
    assert changes[1].queue == "sales"
    assert of_type(events, ContactEnded)[0].talk_seconds == 60.0


def test_wrap_up_blocks_offers_until_it_ends() -> None:
    acd = build([SALES], [agent("a1")])
    busy(acd, 0.0, "a1", "c1")
    acd.contact_ended(10.0, "c1")
    assert offers(acd.contact_arrived(11.0, "c2", "sales")) == []
    assert acd.handle_timer(39.9) == []
    assert offers(acd.handle_timer(40.0)) == [("c2", "a1")]


def test_ready_ends_wrap_up_early_and_the_old_timer_is_void() -> None:
    acd = build([SALES], [agent("a1")])
    busy(acd, 0.0, "a1", "c1")
    acd.contact_ended(10.0, "c1")
    acd.agent_ready(15.0, "a1")
    assert acd.agent_state("a1") is AgentState.AVAILABLE
    busy(acd, 20.0, "a1", "c2")
    assert acd.handle_timer(40.0) == []  # the first wrap-up's timer must not end anything
    assert acd.agent_state("a1") is AgentState.ON_CALL


def test_wrap_up_length_comes_from_the_queue_of_the_contact() -> None:
    quick = QueueConfig(name="quick", wrap_up_seconds=5.0)
    acd = build([SALES, quick], [agent("a1", {"sales": 0, "quick": 0})])
    busy(acd, 0.0, "a1", "c1", queue="quick")
    acd.contact_ended(10.0, "c1")
    assert acd.next_timer() == 15.0


def test_zero_wrap_up_goes_straight_back_to_available() -> None:
    acd = build([QueueConfig(name="sales")], [agent("a1")])
    busy(acd, 0.0, "a1", "c1")
    events = acd.contact_ended(10.0, "c1")
    assert states(events, "a1") == [AgentState.WRAP_UP, AgentState.AVAILABLE]


def test_break_needs_a_configured_reason_and_reports_it() -> None:
    acd = build([SALES], [agent("a1")])
    with pytest.raises(AcdError, match="unknown break reason"):
        acd.agent_break(0.0, "a1", "nap")
    events = acd.agent_break(1.0, "a1", "lunch")
    assert of_type(events, AgentStateChanged)[0].reason == "lunch"
    assert offers(acd.contact_arrived(2.0, "c1", "sales")) == []
    events = acd.agent_break(3.0, "a1", "training")  # change of reason while on break
    assert acd.agent_reason("a1") == "training"
    assert offers(acd.agent_ready(4.0, "a1")) == [("c1", "a1")]


def test_custom_break_reasons() -> None:
    from hotline.acd import Acd

    acd = Acd(break_reasons={"coaching"})
    acd.configure_queue(SALES)
    acd.add_agent(agent("a1"))
    acd.agent_login(0.0, "a1")
    acd.agent_break(1.0, "a1", "coaching")
    with pytest.raises(AcdError):
        acd.agent_break(1.0, "a1", "lunch")


def test_break_asked_during_a_call_starts_after_wrap_up() -> None:
    acd = build([SALES], [agent("a1")])
    busy(acd, 0.0, "a1", "c1")
    assert acd.agent_break(5.0, "a1", "meeting") == []
    acd.contact_arrived(6.0, "c2", "sales")
    acd.contact_ended(10.0, "c1")
    events = acd.handle_timer(40.0)
    assert states(events, "a1") == [AgentState.BREAK]
    assert acd.agent_reason("a1") == "meeting"
    assert offers(events) == []


def test_logout_during_a_call_happens_after_it() -> None:
    acd = build([SALES], [agent("a1")])
    busy(acd, 0.0, "a1", "c1")
    assert acd.agent_logout(5.0, "a1") == []
    assert acd.agent_state("a1") is AgentState.ON_CALL
    acd.contact_ended(10.0, "c1")
    acd.handle_timer(40.0)
    assert acd.agent_state("a1") is AgentState.LOGGED_OUT


def test_logged_out_agent_cannot_break_or_be_ready() -> None:
    acd = build([SALES], [agent("a1")], login=False)
    with pytest.raises(AcdError):
        acd.agent_break(0.0, "a1", "lunch")
    with pytest.raises(AcdError):
        acd.agent_ready(0.0, "a1")
    with pytest.raises(AcdError, match="unknown agent"):
        acd.agent_login(0.0, "nobody")


def test_on_demand_agent_takes_one_contact_per_ready() -> None:
    acd = build([QueueConfig(name="sales")], [agent("a1", on_demand=True)])
    assert acd.agent_state("a1") is AgentState.BREAK
    assert acd.agent_reason("a1") == ON_DEMAND_BREAK
    assert offers(acd.contact_arrived(1.0, "c1", "sales")) == []
    assert offers(acd.agent_ready(2.0, "a1")) == [("c1", "a1")]
    acd.offer_answered(3.0, "c1", "a1")
    acd.contact_arrived(4.0, "c2", "sales")
    events = acd.contact_ended(5.0, "c1")
    assert acd.agent_state("a1") is AgentState.BREAK
    assert offers(events) == []
    assert offers(acd.agent_ready(9.0, "a1")) == [("c2", "a1")]


def test_reject_delay_then_offered_again() -> None:
    acd = build([SALES], [agent("a1", reject_delay=10.0)])
    acd.contact_arrived(0.0, "c1", "sales")
    events = acd.offer_rejected(2.0, "c1", "a1")
    assert of_type(events, OfferWithdrawn)[0].reason == "rejected"
    assert acd.agent_state("a1") is AgentState.AVAILABLE
    assert not acd.is_routable("a1", 2.0)
    assert acd.waiting_contacts("sales") == ["c1"]
    assert acd.next_timer() == 12.0
    assert offers(acd.handle_timer(12.0)) == [("c1", "a1")]


def test_rejected_contact_goes_to_another_agent_at_once() -> None:
    acd = build([SALES], [agent("a1"), agent("a2")])
    assert offers(acd.contact_arrived(0.0, "c1", "sales")) == [("c1", "a1")]
    assert offers(acd.offer_rejected(1.0, "c1", "a1")) == [("c1", "a2")]


def test_ring_timeout_is_a_no_answer_with_its_own_delay() -> None:
    acd = build([SALES], [agent("a1", no_answer_delay=30.0)])
    acd.contact_arrived(0.0, "c1", "sales")
    assert acd.next_timer() == 15.0
    events = acd.handle_timer(15.0)
    assert of_type(events, OfferWithdrawn)[0].reason == "no_answer"
    assert acd.next_timer() == 45.0
    assert offers(acd.handle_timer(45.0)) == [("c1", "a1")]


def test_max_no_answer_puts_the_agent_on_break_and_the_streak_resets_on_answer() -> None:
    acd = build([SALES], [agent("a1", max_no_answer=2, no_answer_delay=0.0)])
    acd.contact_arrived(0.0, "c1", "sales")
    acd.handle_timer(15.0)  # first no answer: offered again at once
    assert acd.ringing_agents("c1") == ["a1"]
    acd.offer_answered(20.0, "c1", "a1")  # streak back to 0
    acd.contact_ended(30.0, "c1")
    acd.handle_timer(60.0)
    acd.contact_arrived(61.0, "c2", "sales")
    acd.handle_timer(76.0)  # one no-answer since the answer: offered again, no break
    assert acd.agent_state("a1") is AgentState.RESERVED
    events = acd.handle_timer(91.0)  # second in a row
    assert states(events, "a1")[-1] is AgentState.BREAK
    assert acd.agent_reason("a1") == NO_ANSWER_BREAK
    assert acd.waiting_contacts("sales") == ["c2"]


def test_rejects_do_not_count_towards_max_no_answer() -> None:
    acd = build([SALES], [agent("a1", max_no_answer=1, reject_delay=0.0)])
    acd.contact_arrived(0.0, "c1", "sales")
    acd.offer_rejected(1.0, "c1", "a1")
    assert acd.agent_state("a1") is AgentState.RESERVED  # offered again, not on break


def test_pending_break_wins_over_a_rejected_contact_coming_back() -> None:
    acd = build([SALES], [agent("a1", reject_delay=0.0)])
    acd.contact_arrived(0.0, "c1", "sales")
    acd.agent_break(1.0, "a1", "lunch")
    acd.offer_rejected(2.0, "c1", "a1")
    assert acd.agent_state("a1") is AgentState.BREAK
    assert acd.waiting_contacts("sales") == ["c1"]


def test_multi_queue_member_priority_decides_which_queue_is_served() -> None:
    billing = QueueConfig(name="billing")
    sales = QueueConfig(name="sales")
    acd = build([billing, sales], [agent("a1", {"sales": 1, "billing": 0})])
    acd.agent_break(0.0, "a1", "lunch")
    acd.contact_arrived(1.0, "s1", "sales")  # waited longer
    acd.contact_arrived(2.0, "b1", "billing")
    assert offers(acd.agent_ready(3.0, "a1")) == [("b1", "a1")]


def test_equal_member_priority_serves_the_contact_first_in_line() -> None:
    billing = QueueConfig(name="billing")
    sales = QueueConfig(name="sales")
    acd = build([billing, sales], [agent("a1", {"sales": 0, "billing": 0})])
    acd.agent_break(0.0, "a1", "lunch")
    acd.contact_arrived(2.0, "b1", "billing")
    acd.contact_arrived(1.0, "s1", "sales")
    assert offers(acd.agent_ready(3.0, "a1")) == [("s1", "a1")]


def test_pooled_department_agents_help_only_from_their_tier() -> None:
    from hotline.acd import Tier

    loans = QueueConfig(
        name="loans",
        department="loans",
        pooled_departments=frozenset({"cards"}),
        tiers=(Tier(0.0), Tier(60.0, include_pooled=True)),
    )
    cards = QueueConfig(name="cards", department="cards")
    acd = build(
        [loans, cards],
        [
            agent("l1", {"loans": 0}, department="loans"),
            agent("k1", {"cards": 0}, department="cards"),
        ],
    )
    busy(acd, 0.0, "l1", "c0", queue="loans")
    assert offers(acd.contact_arrived(1.0, "c1", "loans")) == []
    assert offers(acd.handle_timer(61.0)) == [("c1", "k1")]


def test_pooled_agent_prefers_own_queue_and_joins_waiting_pooled_contacts() -> None:
    from hotline.acd import Tier

    loans = QueueConfig(
        name="loans",
        pooled_departments=frozenset({"cards"}),
        tiers=(Tier(0.0, include_pooled=True),),
    )
    cards = QueueConfig(name="cards")
    acd = build(
        [loans, cards],
        [agent("k1", {"cards": 0}, department="cards")],
    )
    acd.agent_break(0.0, "k1", "lunch")
    acd.contact_arrived(1.0, "l1", "loans")  # older, but k1 is only pooled there
    acd.contact_arrived(2.0, "k1c", "cards")
    assert offers(acd.agent_ready(3.0, "k1")) == [("k1c", "k1")]
    acd.offer_answered(3.0, "k1c", "k1")
    assert offers(acd.contact_ended(4.0, "k1c")) == [("l1", "k1")]


def test_update_agent_changes_skills_and_membership_live() -> None:
    from hotline.acd import SkillRequirement

    zh = QueueConfig(name="zh", required_skills=(SkillRequirement("zh", 5),))
    acd = build([zh, QueueConfig(name="sales")], [agent("a1", {"sales": 0})])
    acd.contact_arrived(0.0, "c1", "zh")
    assert acd.waiting_contacts("zh") == ["c1"]
    events = acd.update_agent(1.0, agent("a1", {"sales": 0, "zh": 0}, skills={"zh": 4}))
    assert offers(events) == []
    events = acd.update_agent(2.0, agent("a1", {"sales": 0, "zh": 0}, skills={"zh": 5}))
    assert offers(events) == [("c1", "a1")]


def test_agent_statistics_occupancy_and_utilization_by_hand() -> None:
    acd = build([SALES], [agent("a1")])
    # 0-10 available, 10-12 ringing, 12-72 on call, 72-102 wrap-up, 102-110 available,
    # 110-130 break.
    acd.contact_arrived(10.0, "c1", "sales")
    acd.offer_answered(12.0, "c1", "a1")
    acd.contact_ended(72.0, "c1")
    acd.handle_timer(102.0)
    acd.agent_break(110.0, "a1", "lunch")
    stats = acd.agent_statistics("a1", 130.0)
    assert stats.seconds_in[AgentState.AVAILABLE] == 18.0
    assert stats.seconds_in[AgentState.RESERVED] == 2.0
    assert stats.seconds_in[AgentState.ON_CALL] == 60.0
    assert stats.seconds_in[AgentState.WRAP_UP] == 30.0
    assert stats.seconds_in[AgentState.BREAK] == 20.0
    assert stats.occupancy == pytest.approx(90.0 / 108.0)
    assert stats.utilization == pytest.approx(90.0 / 130.0)
    assert stats.answered == 1
    assert stats.talk_seconds == 60.0


def test_ready_during_wrap_up_honours_a_logout_asked_for_during_the_call() -> None:
    acd = build([SALES], [agent("a1")])
    busy(acd, 0.0, "a1", "c1")
    acd.agent_logout(5.0, "a1")
    acd.contact_ended(10.0, "c1")
    acd.contact_arrived(11.0, "c2", "sales")
    events = acd.agent_ready(12.0, "a1")
    assert states(events, "a1") == [AgentState.AVAILABLE, AgentState.LOGGED_OUT]
    assert offers(events) == []


def test_logout_during_wrap_up_still_counts_the_contact_as_handled() -> None:
    acd = build([SALES], [agent("a1")])
    busy(acd, 0.0, "a1", "c1")
    acd.contact_ended(50.0, "c1")
    acd.agent_logout(60.0, "a1")
    assert acd.queue_statistics("sales", 60.0).average_handle_time == 60.0  # 50 talk + 10


def test_update_agent_can_take_an_agent_out_of_a_queue() -> None:
    billing = QueueConfig(name="billing")
    acd = build([SALES, billing], [agent("a1", {"sales": 0, "billing": 0})])
    acd.agent_break(0.0, "a1", "lunch")
    acd.update_agent(1.0, agent("a1", {"billing": 0}))
    acd.contact_arrived(2.0, "s1", "sales")
    acd.contact_arrived(3.0, "b1", "billing")
    assert offers(acd.agent_ready(4.0, "a1")) == [("b1", "a1")]
    assert acd.queue_statistics("sales", 4.0).agents_by_state[AgentState.AVAILABLE] == 0


def test_configure_queue_replaces_the_strategy_live() -> None:
    acd = build([QueueConfig(name="sales", strategy="linear")], [agent("a1"), agent("a2")])
    busy(acd, 0.0, "a1", "c1")
    acd.contact_ended(10.0, "c1")  # a1 is now idle for less time than a2
    assert offers(acd.contact_arrived(11.0, "c2", "sales")) == [("c2", "a1")]  # linear: top
    acd.contact_abandoned(12.0, "c2")
    acd.configure_queue(QueueConfig(name="sales", strategy="longest-idle"))
    assert offers(acd.contact_arrived(13.0, "c3", "sales")) == [("c3", "a2")]


def test_ready_ends_a_reject_delay() -> None:
    acd = build([SALES], [agent("a1", reject_delay=30.0)])
    acd.contact_arrived(0.0, "c1", "sales")
    acd.offer_rejected(1.0, "c1", "a1")
    assert offers(acd.agent_ready(5.0, "a1")) == [("c1", "a1")]
    acd.offer_answered(6.0, "c1", "a1")
    assert acd.handle_timer(31.0) == []  # the delay's own timer was voided


def test_ready_after_the_no_answer_break_offers_at_once() -> None:
    acd = build([SALES], [agent("a1", max_no_answer=1, no_answer_delay=30.0)])
    acd.contact_arrived(0.0, "c1", "sales")
    acd.handle_timer(15.0)
    assert acd.agent_reason("a1") == NO_ANSWER_BREAK
    assert offers(acd.agent_ready(16.0, "a1")) == [("c1", "a1")]
