"""The demo's staffing routes as designed: the strategies pick whom they should."""

from __future__ import annotations

from collections.abc import Sequence

from hotline.calls.commands import RingAgent
from hotline.demo.config import demo_contact_center, demo_flow, demo_queues


def rung(outputs: Sequence[object]) -> list[str]:
    return [o.agent for o in outputs if isinstance(o, RingAgent)]


def test_after_sales_rings_the_best_skilled_agent() -> None:
    cc = demo_contact_center()
    for agent in ("1003", "1002", "1004"):
        cc.agent_login(0, agent)
    cc.inbound_call(10, call_id="c1", leg_id="c1-in", caller="1", callee="4000", trunk="local")
    assert rung(cc.ivr_enqueue(20, "c1", "after-sales")) == ["1002"]  # level 9 beats 6 and 7


def test_complaints_ring_every_free_senior_agent() -> None:
    cc = demo_contact_center()
    for agent in ("1004", "1005", "1002"):
        cc.agent_login(0, agent)
    cc.inbound_call(10, call_id="c1", leg_id="c1-in", caller="1", callee="4000", trunk="local")
    assert sorted(rung(cc.ivr_enqueue(20, "c1", "complaints", priority=20))) == ["1004", "1005"]


def test_operator_goes_top_down() -> None:
    cc = demo_contact_center()
    cc.agent_login(0, "1006")
    cc.agent_login(1, "1001")
    cc.inbound_call(10, call_id="c1", leg_id="c1-in", caller="1", callee="4000", trunk="local")
    assert rung(cc.ivr_enqueue(20, "c1", "operator")) == ["1001"]  # priority 0 before 1


def test_every_queue_the_demo_ivr_names_exists() -> None:
    named = {node.queue for node in demo_flow().nodes.values() if node.type == "queue"}
    assert named <= {q.name for q in demo_queues()}
    assert len({q.strategy for q in demo_queues()}) >= 3


def test_every_demo_queue_asks_for_a_rating_when_the_agent_hangs_up_first() -> None:
    from hotline.calls.commands import StartIvr
    from hotline.demo.config import SURVEY_FLOW, demo_survey_flow

    survey = demo_survey_flow()
    assert survey.name == SURVEY_FLOW
    assert {node.type for node in survey.nodes.values()} == {"survey", "hangup"}
    cc = demo_contact_center()
    cc.agent_login(0, "1002")
    cc.inbound_call(10, call_id="c1", leg_id="c1-in", caller="1", callee="4000", trunk="local")
    (ring,) = [o for o in cc.ivr_enqueue(20, "c1", "after-sales") if isinstance(o, RingAgent)]
    cc.leg_answered(22, "c1", ring.leg_id)
    started = [o for o in cc.leg_hung_up(60, "c1", ring.leg_id) if isinstance(o, StartIvr)]
    assert [s.flow for s in started] == [SURVEY_FLOW]
