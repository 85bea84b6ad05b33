"""A campaign call's two-second rule: an answered customer reaches an agent in time, or is
taken out of the queue and hears the abandon message (or is hung up on) — never hold music.

Through the contact centre and the ACD with an explicit clock, like ``test_call_kinds``.
"""

from __future__ import annotations

from hotline.acd import AgentState
from hotline.calls import commands as control
from hotline.calls.call import CampaignCallOptions
from hotline.calls.cdr import build_cdr
from hotline.calls.events import CallEvent, CallMachineDetected, CallQueueExited
from hotline.calls.routing import Destination
from hotline.events import Event
from hotline.services.contact_center import ContactCenter, Output
from tests.unit.services.test_call_kinds import dial_of, node, ring_of

SALES = Destination(type="queue", target="sales")


def commands(outputs: list[Output]) -> list[Output]:
    return [o for o in outputs if not isinstance(o, Event)]


def answered_campaign_call(
    ready: tuple[str, ...], abandon_flow: str | None = "campaign-abandon"
) -> tuple[ContactCenter, str, list[Output]]:
    """A campaign call whose customer answered at t=3, with ``ready`` agents."""
    cc, _ = node()
    history: list[Output] = []
    for agent in ("1001", "1002", "1003"):
        history += cc.agent_login(0, agent)
        if agent not in ready:
            history += cc.agent_break(0, agent, "lunch")
    history += cc.dial_campaign(
        1,
        call_id="c1",
        number="021 6888 8888",
        destination=SALES,
        department="sales",
        options=CampaignCallOptions(connect_within=2.0, abandon_flow=abandon_flow),
    )
    customer = dial_of(history).leg_id
    history += cc.leg_answered(3, "c1", customer)
    return cc, customer, history


def test_an_agent_answering_within_two_seconds_keeps_the_call() -> None:
    cc, _customer, history = answered_campaign_call(ready=("1001",))
    agent_leg = ring_of(history, "1001")
    history += cc.leg_answered(4.5, "c1", agent_leg)
    assert cc.calls["c1"].state == "connected"
    assert cc.calls["c1"].next_timer() is None  # the deadline is gone with the connection
    history += cc.handle_timer(5.5)
    assert cc.calls["c1"].state == "connected"
    assert not any(isinstance(o, CallQueueExited) for o in history)


def test_no_agent_in_two_seconds_plays_the_abandon_flow_and_frees_the_ringing_agent() -> None:
    cc, customer, history = answered_campaign_call(ready=("1001",))
    agent_leg = ring_of(history, "1001")  # rings, but does not answer in time
    assert cc.next_timer() == 5.0
    out = cc.handle_timer(5.0)
    assert CallQueueExited(at=5.0, call_id="c1", queue="sales", kind="no_agent_in_time") in out
    cmds = commands(out)
    assert control.CancelLeg(agent_leg) in cmds
    assert control.StopMedia(customer) in cmds
    start = next(o for o in cmds if isinstance(o, control.StartIvr))
    assert (start.flow, start.variables["abandoned"]) == ("campaign-abandon", "1")
    assert cc.calls["c1"].state == "ivr"
    # The agent is free again, and the missed offer is not held against them.
    assert cc.acd.agent_state("1001") is AgentState.AVAILABLE
    # The flow says its message and hangs up: the CDR names the abandon.
    out += cc.ivr_hung_up(9.0, "c1")
    cdr = build_cdr([o for o in history + out if isinstance(o, CallEvent)])
    assert cdr.direction == "outbound"
    assert cdr.agent is None
    assert "c1" not in cc.calls


def test_without_an_abandon_flow_the_customer_is_hung_up_on_at_the_deadline() -> None:
    cc, customer, _history = answered_campaign_call(ready=(), abandon_flow=None)
    out = cc.handle_timer(5.0)
    cmds = commands(out)
    assert control.HangUpLeg(customer) in cmds
    assert any(isinstance(o, CallQueueExited) and o.kind == "no_agent_in_time" for o in out)
    assert "c1" not in cc.calls


def test_the_deadline_counts_from_the_answer_not_from_the_dial() -> None:
    cc, _ = node()
    cc.agent_login(0, "1001")
    cc.agent_break(0, "1001", "lunch")
    out = cc.dial_campaign(
        1,
        call_id="c1",
        number="021 6888 8888",
        destination=SALES,
        options=CampaignCallOptions(connect_within=2.0),
    )
    customer = dial_of(out).leg_id
    cc.trunk_progress(1.2, "c1", customer)
    assert cc.handle_timer(4.0) == []  # 3 s of ringing: no deadline yet
    cc.leg_answered(20, "c1", customer)
    assert cc.next_timer() == 22.0


def test_a_robot_call_has_no_deadline() -> None:
    cc, _ = node()
    out = cc.dial_campaign(
        1,
        call_id="c1",
        number="021 6888 8888",
        destination=Destination(type="flow", target="reminder"),
        options=CampaignCallOptions(connect_within=2.0),
    )
    customer = dial_of(out).leg_id
    out = cc.leg_answered(3, "c1", customer)
    assert any(isinstance(o, control.StartIvr) and o.flow == "reminder" for o in out)
    assert cc.calls["c1"].next_timer() is None


def test_after_a_recording_notice_the_deadline_starts_when_the_flow_queues_the_call() -> None:
    cc, _ = node()
    cc.agent_login(0, "1001")
    cc.agent_break(0, "1001", "lunch")
    out = cc.dial_campaign(
        1,
        call_id="c1",
        number="021 6888 8888",
        destination=Destination(type="flow", target="notice-then-sales"),
        options=CampaignCallOptions(connect_within=2.0),
    )
    out = cc.leg_answered(3, "c1", dial_of(out).leg_id)
    assert any(isinstance(o, control.StartIvr) for o in out)
    assert cc.calls["c1"].next_timer() is None  # the notice plays: no deadline yet
    cc.ivr_enqueue(9.0, "c1", "sales")
    assert cc.calls["c1"].next_timer() == 11.0


def detecting_call(
    machine_flow: str | None, leave_message: bool = False
) -> tuple[ContactCenter, str, list[Output]]:
    cc, _ = node()
    cc.agent_login(0, "1001")
    out = cc.dial_campaign(
        1,
        call_id="c1",
        number="021 6888 8888",
        destination=SALES,
        options=CampaignCallOptions(
            connect_within=2.0,
            detect_machine=True,
            machine_flow=machine_flow,
            leave_message=leave_message,
        ),
    )
    customer = dial_of(out).leg_id
    out = cc.leg_answered(3, "c1", customer)
    return cc, customer, out


def test_a_person_detected_goes_on_to_the_queue_and_the_two_seconds_count_from_then() -> None:
    cc, customer, out = detecting_call(machine_flow=None)
    assert control.DetectMachine("c1", customer, wait_for_beep=False) in commands(out)
    assert not any(isinstance(o, control.EnqueueContact) for o in out)  # nobody rung yet
    assert cc.calls["c1"].state == "detecting"
    out = cc.machine_detected(4.2, "c1", "human", "after_greeting_silence")
    assert (
        CallMachineDetected(at=4.2, call_id="c1", verdict="human", reason="after_greeting_silence")
        in out
    )
    assert ring_of(out, "1001")
    assert cc.calls["c1"].next_timer() == 6.2


def test_an_unsure_verdict_is_treated_as_a_person() -> None:
    cc, _, _ = detecting_call(machine_flow="leave-message")
    out = cc.machine_detected(8.0, "c1", "notsure", "timeout")
    assert ring_of(out, "1001")


def test_a_machine_is_hung_up_on_or_hears_the_message_flow() -> None:
    cc, customer, _ = detecting_call(machine_flow=None)
    out = cc.machine_detected(5.0, "c1", "machine", "long_greeting")
    assert control.HangUpLeg(customer) in commands(out)
    assert "c1" not in cc.calls
    assert cc.acd.agent_state("1001") is AgentState.AVAILABLE  # never offered
    cc, customer, out = detecting_call(machine_flow="leave-message", leave_message=True)
    assert control.DetectMachine("c1", customer, wait_for_beep=True) in commands(out)
    out = cc.machine_detected(12.0, "c1", "machine", "beep")
    start = next(o for o in out if isinstance(o, control.StartIvr))
    assert (start.flow, start.variables["machine"]) == ("leave-message", "1")


def test_a_verdict_after_the_customer_hung_up_is_ignored() -> None:
    cc, customer, _ = detecting_call(machine_flow=None)
    cc.leg_hung_up(3.5, "c1", customer)
    assert cc.machine_detected(4.0, "c1", "human", "after_greeting_silence") == []


def test_without_a_message_a_machine_hears_the_abandon_flow_at_once() -> None:
    cc, customer, out = detecting_call(machine_flow="campaign.7.abandon")
    assert control.DetectMachine("c1", customer, wait_for_beep=False) in commands(out)
    out = cc.machine_detected(5.0, "c1", "machine", "long_greeting")
    start = next(o for o in out if isinstance(o, control.StartIvr))
    assert start.flow == "campaign.7.abandon"


def test_a_campaign_call_rings_for_the_pacings_no_answer_timeout() -> None:
    cc, _ = node()
    out = cc.dial_campaign(
        1,
        call_id="c1",
        number="021 6888 8888",
        destination=SALES,
        options=CampaignCallOptions(ring_timeout=25.0),
    )
    customer = dial_of(out).leg_id
    cc.trunk_progress(2, "c1", customer)
    assert cc.next_timer() == 27.0
    out = cc.handle_timer(27.0)
    assert control.CancelLeg(customer) in commands(out)
    assert "c1" not in cc.calls
