"""Waiting contacts: order, ageing, tiers, exits, callbacks and announcements."""

from __future__ import annotations

import pytest

from hotline.acd import (
    Acd,
    AcdError,
    ContactState,
    ExitAction,
    ExitKind,
    QueueConfig,
    SkillRequirement,
    Tier,
)
from hotline.acd.events import (
    CallbackAccepted,
    CallbackOffered,
    ContactExited,
    ContactOffered,
    ContactQueued,
    PositionAnnounced,
)

from .support import agent, build, busy, of_type, offers


def one_busy_agent(*queues: QueueConfig) -> Acd:
    acd = build(list(queues), [agent("a1", {q.name: 0 for q in queues})])
    busy(acd, 0.0, "a1", "c0", queue=queues[0].name)
    return acd


def test_priority_class_beats_any_wait_and_fifo_within_a_class() -> None:
    acd = build([QueueConfig(name="sales")], [agent("a1")])
    busy(acd, 0.0, "a1", "c0")
    acd.contact_arrived(1.0, "old", "sales")
    acd.contact_arrived(2.0, "older-vip", "sales", priority=1)
    acd.contact_arrived(3.0, "vip", "sales", priority=1)
    acd.contact_arrived(4.0, "new", "sales")
    assert acd.waiting_contacts("sales") == ["older-vip", "vip", "old", "new"]


def test_base_score_adds_seconds_of_seniority() -> None:
    acd = build([QueueConfig(name="sales")], [agent("a1")])
    busy(acd, 0.0, "a1", "c0")
    acd.contact_arrived(10.0, "plain", "sales")
    acd.contact_arrived(40.0, "scored", "sales", base_score=60.0)  # score 60 + wait
    acd.contact_arrived(41.0, "small", "sales", base_score=20.0)
    # At t=50: plain 40, scored 70, small 29.
    assert acd.waiting_contacts("sales") == ["scored", "plain", "small"]


def test_contact_needs_are_added_to_the_queue_requirements() -> None:
    queue = QueueConfig(name="sales", required_skills=(SkillRequirement("sales", 3),))
    acd = build(
        [queue],
        [
            agent("en", skills={"sales": 9, "en": 9}),
            agent("zh", skills={"sales": 3, "zh": 6}),
            agent("zh-new", skills={"sales": 2, "zh": 10}),
        ],
    )
    events = acd.contact_arrived(0.0, "c1", "sales", needs=[SkillRequirement("zh", 5)])
    assert offers(events) == [("c1", "zh")]


def test_tiers_widen_to_lower_priority_members_then_lower_levels() -> None:
    queue = QueueConfig(
        name="sales",
        required_skills=(SkillRequirement("sales", 8),),
        tiers=(
            Tier(0.0, max_member_priority=0),
            Tier(30.0, max_member_priority=1),
            Tier(60.0, max_member_priority=1, relax_levels=3),
        ),
    )
    acd = build(
        [queue],
        [
            agent("first", {"sales": 0}, skills={"sales": 9}),
            agent("backup", {"sales": 1}, skills={"sales": 8}),
            agent("junior", {"sales": 1}, skills={"sales": 5}),
        ],
    )
    busy(acd, 0.0, "first", "c0")
    assert offers(acd.contact_arrived(1.0, "c1", "sales")) == []
    assert acd.next_timer() == 31.0
    assert offers(acd.handle_timer(31.0)) == [("c1", "backup")]
    acd.offer_answered(31.0, "c1", "backup")
    acd.contact_arrived(40.0, "c2", "sales")
    assert offers(acd.handle_timer(70.0)) == []  # tier 1: junior's level is too low
    assert offers(acd.handle_timer(100.0)) == [("c2", "junior")]  # tier 2 relaxes by 3


def test_tier_widening_applies_when_an_agent_frees_up_too() -> None:
    queue = QueueConfig(
        name="sales",
        tiers=(Tier(0.0, max_member_priority=0), Tier(30.0, max_member_priority=1)),
    )
    acd = build([queue], [agent("backup", {"sales": 1})])
    acd.agent_break(0.0, "backup", "lunch")
    acd.contact_arrived(0.0, "c1", "sales")
    assert offers(acd.agent_ready(10.0, "backup")) == []
    acd.agent_break(11.0, "backup", "lunch")
    assert offers(acd.agent_ready(45.0, "backup")) == [("c1", "backup")]


def test_max_wait_overflows_into_another_queue_keeping_seniority() -> None:
    sales = QueueConfig(
        name="sales", max_wait=60.0, on_max_wait=ExitAction(ExitKind.OVERFLOW, "backup")
    )
    backup = QueueConfig(name="backup")
    acd = build([sales, backup], [agent("s1", {"sales": 0}), agent("b1", {"backup": 0})])
    busy(acd, 0.0, "s1", "c0", queue="sales")
    busy(acd, 0.0, "b1", "x0", queue="backup")
    acd.contact_arrived(1.0, "c1", "sales")
    acd.contact_arrived(30.0, "x1", "backup")
    events = acd.handle_timer(61.0)
    exited = of_type(events, ContactExited)[0]
    assert (exited.kind, exited.target, exited.reason, exited.waited) == (
        ExitKind.OVERFLOW,
        "backup",
        "max_wait",
        60.0,
    )
    assert acd.contact_queue("c1") == "backup"
    assert acd.waiting_contacts("backup") == ["c1", "x1"]  # arrived earlier, so ahead
    stats = acd.queue_statistics("sales", 61.0)
    assert (stats.offered, stats.exited, stats.abandoned) == (2, 1, 0)


def test_max_wait_to_voicemail_removes_the_contact() -> None:
    sales = QueueConfig(
        name="sales", max_wait=60.0, on_max_wait=ExitAction(ExitKind.VOICEMAIL, "box")
    )
    acd = one_busy_agent(sales)
    acd.contact_arrived(1.0, "c1", "sales")
    events = acd.handle_timer(61.0)
    assert of_type(events, ContactExited)[0].kind is ExitKind.VOICEMAIL
    assert acd.contact_state("c1") is None


def test_overflow_loop_ends_in_busy_not_in_a_lost_contact() -> None:
    a = QueueConfig(name="a", max_length=0, on_full=ExitAction(ExitKind.OVERFLOW, "b"))
    b = QueueConfig(name="b", max_length=0, on_full=ExitAction(ExitKind.OVERFLOW, "a"))
    acd = build([a, b], [])
    events = acd.contact_arrived(0.0, "c1", "a")
    exits = [(e.queue, e.kind) for e in of_type(events, ContactExited)]
    assert exits == [("a", ExitKind.OVERFLOW), ("b", ExitKind.BUSY)]
    assert acd.contact_state("c1") is None


def test_max_length_counts_ringing_and_waiting() -> None:
    sales = QueueConfig(name="sales", max_length=2)
    acd = build([sales], [agent("a1")])
    acd.contact_arrived(0.0, "c1", "sales")  # ringing
    acd.contact_arrived(1.0, "c2", "sales")  # waiting
    events = acd.contact_arrived(2.0, "c3", "sales")
    exited = of_type(events, ContactExited)[0]
    assert (exited.kind, exited.reason) == (ExitKind.BUSY, "full")
    assert acd.contact_state("c3") is None


def test_join_empty_refused_when_no_member_is_logged_in() -> None:
    sales = QueueConfig(name="sales", join_empty=False)
    acd = build([sales], [agent("a1")], login=False)
    events = acd.contact_arrived(0.0, "c1", "sales")
    assert of_type(events, ContactExited)[0].reason == "empty"
    acd.agent_login(1.0, "a1")
    acd.agent_break(1.0, "a1", "lunch")  # on break still counts as logged in
    assert of_type(acd.contact_arrived(2.0, "c2", "sales"), ContactQueued)


def test_leave_when_empty_keeps_callbacks() -> None:
    sales = QueueConfig(name="sales", leave_when_empty=True)
    acd = build([sales], [agent("a1")])
    busy(acd, 0.0, "a1", "c0")
    acd.contact_arrived(1.0, "c1", "sales")
    acd.contact_arrived(2.0, "c2", "sales")
    acd.callback_accepted(3.0, "c2")
    acd.agent_logout(4.0, "a1")  # pending: on a call
    acd.contact_ended(5.0, "c0")
    assert acd.contact_state("c1") is None
    assert acd.waiting_contacts("sales") == ["c2"]


def test_callback_offer_then_accepted_keeps_the_place_and_is_offered_as_callback() -> None:
    sales = QueueConfig(
        name="sales", max_wait=120.0, on_max_wait=ExitAction(ExitKind.CALLBACK_OFFER)
    )
    acd = build([sales], [agent("a1")])
    busy(acd, 0.0, "a1", "c0")
    acd.contact_arrived(1.0, "c1", "sales")
    acd.contact_arrived(2.0, "c2", "sales")
    events = acd.handle_timer(121.0)
    assert [(e.contact_id, e.position) for e in of_type(events, CallbackOffered)] == [("c1", 1)]
    accepted = of_type(acd.callback_accepted(130.0, "c1"), CallbackAccepted)
    assert accepted[0].position == 1
    acd.handle_timer(122.0)  # c2's offer; c1's callback offer is not repeated
    assert acd.waiting_contacts("sales") == ["c1", "c2"]
    events = acd.contact_ended(200.0, "c0")
    offered = of_type(events, ContactOffered)
    assert [(o.contact_id, o.callback) for o in offered] == [("c1", True)]


def test_announcements_give_position_and_estimated_wait() -> None:
    sales = QueueConfig(name="sales", announce_every=30.0, expected_handle_seconds=120.0)
    acd = build([sales], [agent("a1"), agent("a2")])
    busy(acd, 0.0, "a1", "c0")
    busy(acd, 0.0, "a2", "x0")
    queued = of_type(acd.contact_arrived(1.0, "c1", "sales"), ContactQueued)[0]
    assert (queued.position, queued.estimated_wait) == (1, 60.0)  # 1 x 120 s / 2 staffed
    acd.contact_arrived(2.0, "c2", "sales")
    events = of_type(acd.handle_timer(31.0), PositionAnnounced)
    assert [(e.contact_id, e.position, e.estimated_wait) for e in events] == [("c1", 1, 60.0)]
    events = of_type(acd.handle_timer(32.0), PositionAnnounced)
    assert [(e.contact_id, e.position, e.estimated_wait) for e in events] == [("c2", 2, 120.0)]
    # Recent handle times replace the configured guess: c0 took 40 s talk + 0 wrap-up.
    acd.contact_ended(40.0, "c0")  # a1 is offered c1
    acd.offer_answered(41.0, "c1", "a1")
    events = of_type(acd.handle_timer(62.0), PositionAnnounced)
    assert [(e.contact_id, e.position, e.estimated_wait) for e in events] == [("c2", 1, 20.0)]


def test_bad_configurations_are_refused() -> None:
    with pytest.raises(AcdError):
        QueueConfig(name="q", tiers=(Tier(10.0),))
    with pytest.raises(AcdError):
        QueueConfig(name="q", on_max_wait=ExitAction(ExitKind.OVERFLOW, "q"))
    with pytest.raises(AcdError):
        ExitAction(ExitKind.VOICEMAIL)
    with pytest.raises(AcdError):
        SkillRequirement("zh", 11)
    with pytest.raises(AcdError):
        agent("a1", skills={"zh": 0})
    acd = build([QueueConfig(name="q")], [])
    with pytest.raises(AcdError, match="unknown queue"):
        acd.contact_arrived(0.0, "c1", "nowhere")
    acd.contact_arrived(0.0, "c1", "q")
    with pytest.raises(AcdError, match="already"):
        acd.contact_arrived(0.0, "c1", "q")
    assert acd.contact_state("c1") is ContactState.WAITING


def test_max_wait_reached_while_ringing_applies_when_the_offer_fails() -> None:
    sales = QueueConfig(
        name="sales",
        ring_timeout=15.0,
        max_wait=10.0,
        on_max_wait=ExitAction(ExitKind.VOICEMAIL, "box"),
    )
    acd = build([sales], [agent("a1")])
    acd.contact_arrived(0.0, "c1", "sales")
    assert acd.handle_timer(10.0) == []  # ringing: the offer runs its course
    events = acd.handle_timer(15.0)
    exited = of_type(events, ContactExited)
    assert [(e.contact_id, e.reason, e.waited) for e in exited] == [("c1", "max_wait", 15.0)]


def test_callback_and_abandon_of_a_connected_contact_are_ignored() -> None:
    from hotline.acd.events import InputIgnored

    acd = build([QueueConfig(name="sales")], [agent("a1")])
    busy(acd, 0.0, "a1", "c1")
    assert of_type(acd.callback_accepted(1.0, "c1"), InputIgnored)
    assert of_type(acd.contact_abandoned(1.0, "c1"), InputIgnored)
    assert acd.contact_state("c1") is ContactState.CONNECTED


def test_estimated_wait_shares_the_line_among_staffed_members_only() -> None:
    acd = build(
        [QueueConfig(name="sales", expected_handle_seconds=100.0)],
        [agent("a1"), agent("a2"), agent("a3"), agent("a4")],
    )
    acd.agent_break(0.0, "a3", "lunch")
    acd.agent_logout(0.0, "a4")
    assert acd.estimated_wait("sales", 4) == 200.0  # 4 x 100 s / 2 staffed


def test_switching_pooling_on_live_routes_waiting_contacts_to_pooled_agents() -> None:
    """Slack season: the loans queue starts drawing on the cards department."""
    loans = QueueConfig(name="loans", department="loans")
    cards = QueueConfig(name="cards", department="cards")
    acd = build([loans, cards], [agent("k1", {"cards": 0}, department="cards")])
    acd.contact_arrived(0.0, "c1", "loans")
    pooled = QueueConfig(
        name="loans",
        department="loans",
        pooled_departments=frozenset({"cards"}),
        tiers=(Tier(0.0, include_pooled=True),),
    )
    assert offers(acd.configure_queue(pooled, now=5.0)) == [("c1", "k1")]


def test_reconfigured_max_wait_counts_from_joining() -> None:
    acd = build([QueueConfig(name="sales")], [])
    acd.contact_arrived(0.0, "c1", "sales")
    acd.contact_arrived(50.0, "c2", "sales")
    strict = QueueConfig(name="sales", max_wait=60.0, on_max_wait=ExitAction(ExitKind.BUSY))
    events = acd.configure_queue(strict, now=100.0)
    assert events == []
    exits = of_type(acd.handle_timer(100.0), ContactExited)
    assert [(e.contact_id, e.waited) for e in exits] == [("c1", 100.0)]
    exits = of_type(acd.handle_timer(110.0), ContactExited)
    assert [(e.contact_id, e.waited) for e in exits] == [("c2", 60.0)]


def test_a_queue_added_while_agents_are_available_can_route_to_them_at_once() -> None:
    acd = build([QueueConfig(name="sales")], [agent("a1", {"sales": 0, "later": 0})])
    acd.configure_queue(QueueConfig(name="later"), now=1.0)
    assert offers(acd.contact_arrived(2.0, "c1", "later")) == [("c1", "a1")]


def test_tier_widens_at_its_timer_despite_float_rounding() -> None:
    """Found by the invariant test: 16.62288713517623 - 8.62288713517623 < 8.0 in floats."""
    joined = 8.62288713517623
    assert (joined + 8.0) - joined < 8.0
    queue = QueueConfig(
        name="sales",
        tiers=(Tier(0.0, max_member_priority=0), Tier(8.0, max_member_priority=1)),
    )
    acd = build([queue], [agent("backup", {"sales": 1})])
    acd.contact_arrived(joined, "c1", "sales")
    timer = acd.next_timer()
    assert timer == joined + 8.0
    assert offers(acd.handle_timer(timer)) == [("c1", "backup")]
