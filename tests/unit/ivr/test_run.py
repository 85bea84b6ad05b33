"""A caller's path through a flow, with an explicit clock: every command and timer checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hotline.calls.hours import Calendar
from hotline.ivr.events import IvrFinished, IvrInputRejected, IvrLookupFailed, IvrNodeEntered
from hotline.ivr.flow import load_flow
from hotline.ivr.io import (
    CallerHungUp,
    Command,
    DigitReceived,
    Enqueue,
    Hangup,
    HttpFailed,
    HttpRequest,
    HttpResponse,
    Play,
    PromptFinished,
    PromptItem,
    RecordingFinished,
    RecordVoicemail,
    SaveSurveyAnswer,
    SpeechRecognized,
    StartSpeechRecognition,
    StopPlayback,
    Transfer,
)
from hotline.ivr.run import GRACE_S, MAX_NODE_VISITS, FlowRun

FIXTURE = Path(__file__).parents[2] / "fixtures" / "ivr" / "hotline.yaml"
MONDAY_11_SHANGHAI = 1_795_402_800.0  # 2026-11-23T03:00:00Z
SUNDAY_11_SHANGHAI = MONDAY_11_SHANGHAI - 86_400
OFFICE = Calendar.model_validate({"timezone": "Asia/Shanghai", "weekly": {"mon": "09:00-18:00"}})


def hotline_run(variables: dict[str, str] | None = None) -> FlowRun:
    flow = load_flow(FIXTURE.read_text(encoding="utf-8"))
    return FlowRun(flow, call_id="c1", calendars={"office": OFFICE}, variables=variables)


def to_menu(run: FlowRun, now: float = MONDAY_11_SHANGHAI) -> None:
    assert run.start(now) == [Play((PromptItem("zh-CN", recording="prompts/zh/welcome.wav"),))]
    commands = run.handle(PromptFinished(), now + 3)
    assert len(commands) == 1
    assert isinstance(commands[0], Play)
    assert commands[0].barge_in
    assert run.node_id == "main_menu"


def digits(run: FlowRun, keys: str, now: float) -> list[object]:
    out: list[object] = []
    for key in keys:
        out += run.handle(DigitReceived(key), now)
    return out


def test_welcome_hours_menu_to_sales_queue_with_skills() -> None:
    run = hotline_run({"caller": "13800138000"})
    to_menu(run)
    commands = run.handle(DigitReceived("1"), MONDAY_11_SHANGHAI + 4)
    assert commands == [
        StopPlayback(),  # barge-in: the key cut the menu prompt short
        Enqueue("sales", 0, {"sales": 3}, {"language": "zh-CN", "caller": "13800138000"}),
    ]
    assert run.finished
    assert run.next_timer() is None
    events = run.drain_events()
    assert [e.node for e in events if isinstance(e, IvrNodeEntered)] == [
        "welcome",
        "office_hours",
        "main_menu",
        "sales",
    ]
    assert isinstance(events[-1], IvrFinished)
    assert (events[-1].outcome, events[-1].detail) == ("queued", "sales")
    assert run.drain_events() == []


def test_closed_outside_business_hours_says_so_and_hangs_up() -> None:
    run = hotline_run()
    run.start(SUNDAY_11_SHANGHAI)
    commands = run.handle(PromptFinished(), SUNDAY_11_SHANGHAI + 3)
    assert commands == [Play((PromptItem("zh-CN", text="现在是非工作时间。"),))]
    assert run.handle(DigitReceived("1"), SUNDAY_11_SHANGHAI + 4) == []  # no barge-in here
    assert run.handle(PromptFinished(), SUNDAY_11_SHANGHAI + 6) == [Hangup("ivr: flow ended")]
    assert run.drain_events()[-1] == IvrFinished(
        at=SUNDAY_11_SHANGHAI + 6,
        call_id="c1",
        flow="hotline",
        version=1,
        node="closed",
        outcome="hung_up",
    )


def test_menu_timeouts_then_invalid_then_failure_goes_to_operator() -> None:
    run = hotline_run()
    to_menu(run)
    t = MONDAY_11_SHANGHAI + 10
    assert run.handle(PromptFinished(), t) == []
    assert run.next_timer() == t + 5  # the menu's timeout_s
    assert run.handle_timer(t + 4.9) == []  # too early: nothing happens
    retry = run.handle_timer(t + 5)
    assert retry == [
        Play(
            (
                PromptItem("zh-CN", text="请选择。"),
                PromptItem(
                    "zh-CN",
                    text="销售请按1，售后请按2，投诉请按3，人工服务请按0，English press 9.",
                ),
            ),
            barge_in=True,
        )
    ]
    assert run.next_timer() is None  # no timer while the prompt plays
    run.handle(PromptFinished(), t + 12)
    retry = run.handle(DigitReceived("7"), t + 13)  # not an option
    assert isinstance(retry[0], Play)
    assert retry[0].prompts[0] == PromptItem("zh-CN", text="输入有误。")
    run.handle(PromptFinished(), t + 20)
    assert run.handle_timer(t + 25) == [Enqueue("operator", 0, {}, {"language": "zh-CN"})]
    rejected = [e for e in run.drain_events() if isinstance(e, IvrInputRejected)]
    assert [(e.reason, e.attempt) for e in rejected] == [
        ("timeout", 1),
        ("invalid", 2),
        ("timeout", 3),
    ]


def test_switching_to_english_replays_the_menu_in_english() -> None:
    run = hotline_run()
    to_menu(run)
    commands = run.handle(DigitReceived("9"), MONDAY_11_SHANGHAI + 4)
    assert commands == [
        StopPlayback(),
        Play(
            (PromptItem("en", text="Sales 1, after-sales 2, complaints 3, operator 0."),),
            barge_in=True,
        ),
    ]
    assert run.variables["language"] == "en"


def order_lookup(run: FlowRun, t: float) -> HttpRequest:
    to_menu(run)
    run.handle(DigitReceived("2"), t)
    run.handle(PromptFinished(), t + 3)
    commands = digits(run, "20261123#", t + 5)
    assert len(commands) == 1
    request = commands[0]
    assert isinstance(request, HttpRequest)
    assert run.variables["order_number"] == "20261123"
    return request


def test_order_lookup_speaks_the_status_and_routes_vip() -> None:
    run = hotline_run()
    t = MONDAY_11_SHANGHAI + 10
    request = order_lookup(run, t)
    assert request == HttpRequest(1, "GET", "http://127.0.0.1:8080/demo/orders/20261123", None, 2.0)
    assert run.next_timer() == t + 5 + 2 + GRACE_S
    body = json.dumps({"status": "已发货", "customer": {"vip": True}}).encode()
    commands = run.handle(HttpResponse(1, 200, body), t + 6)
    assert commands == [Play((PromptItem("zh-CN", text="您的订单状态：已发货。"),))]
    assert run.handle(PromptFinished(), t + 9) == [
        Enqueue(
            "after-sales",
            50,
            {},
            {
                "language": "zh-CN",
                "order_number": "20261123",
                "order_status": "已发货",
                "vip": "true",
            },
        )
    ]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (HttpResponse(1, 503, b"busy"), "HTTP status 503"),
        (HttpResponse(1, 200, b"<html>"), "answer is not JSON"),
        (HttpResponse(1, 200, b'{"customer": {}}'), "answer has no 'status'"),
        (HttpResponse(1, 200, b'{"status": {"nested": 1}, "customer": {"vip": 1}}'), None),
        (HttpFailed(1, "connection refused"), "connection refused"),
    ],
)
def test_a_broken_back_end_takes_the_fallback(answer: object, reason: str | None) -> None:
    run = hotline_run()
    t = MONDAY_11_SHANGHAI + 10
    order_lookup(run, t)
    commands = run.handle(answer, t + 6)  # type: ignore[arg-type]
    assert commands == [
        Enqueue("after-sales", 0, {}, {"language": "zh-CN", "order_number": "20261123"})
    ]
    failed = [e for e in run.drain_events() if isinstance(e, IvrLookupFailed)]
    assert len(failed) == 1
    if reason is not None:
        assert failed[0].reason == reason


def test_lookup_timeout_falls_back_and_ignores_the_late_answer() -> None:
    run = hotline_run()
    t = MONDAY_11_SHANGHAI + 10
    order_lookup(run, t)
    deadline = run.next_timer()
    assert deadline is not None
    commands = run.handle_timer(deadline)
    assert isinstance(commands[0], Enqueue)
    assert commands[0].queue == "after-sales"
    assert run.handle(HttpResponse(1, 200, b'{"status": "late"}'), deadline + 1) == []


def test_collect_invalid_number_retries_then_gives_up() -> None:
    run = hotline_run()
    t = MONDAY_11_SHANGHAI + 10
    to_menu(run)
    run.handle(DigitReceived("2"), t)
    run.handle(PromptFinished(), t + 3)
    assert run.next_timer() == t + 3 + 8  # first-digit timeout
    retry = digits(run, "123#", t + 5)  # too short
    assert isinstance(retry[0], Play)
    assert retry[0].prompts[0] == PromptItem("en", text="That order number is not valid.")
    assert retry[0].barge_in
    digits(run, "1", t + 6)  # typing over the retry prompt barges in ...
    assert run.next_timer() == t + 6 + 4  # ... and starts the inter-digit timer
    assert run.handle_timer(t + 10) != []  # stopped typing after 1 digit: invalid again
    run.handle(PromptFinished(), t + 15)
    commands = run.handle_timer(t + 15 + 8)  # third attempt: silence
    assert commands == [Enqueue("after-sales", 0, {}, {"language": "zh-CN"})]


def test_collect_takes_the_number_when_the_caller_stops_typing() -> None:
    run = hotline_run()
    t = MONDAY_11_SHANGHAI + 10
    to_menu(run)
    run.handle(DigitReceived("2"), t)
    run.handle(PromptFinished(), t + 3)
    digits(run, "123456", t + 5)
    commands = run.handle_timer(t + 5 + 4)
    assert isinstance(commands[0], HttpRequest)
    assert commands[0].url.endswith("/123456")


def test_collected_digits_never_appear_in_events() -> None:
    run = hotline_run()
    order_lookup(run, MONDAY_11_SHANGHAI + 10)
    assert "20261123" not in repr(run.drain_events())


def test_caller_hang_up_ends_the_run_quietly() -> None:
    run = hotline_run()
    to_menu(run)
    assert run.handle(CallerHungUp(), MONDAY_11_SHANGHAI + 5) == []
    assert run.finished
    assert run.handle(DigitReceived("1"), MONDAY_11_SHANGHAI + 6) == []
    assert run.drain_events()[-1].outcome == "caller_hung_up"  # type: ignore[attr-defined]


SMALL = """
name: small
version: 2
language: en
start: ask
nodes:
  ask:
    type: speech
    prompt: {text: {en: "Say sales or support."}}
    choices: {"sales": vm, "technical support": out}
    timeout_s: 4
    max_attempts: 2
    on_failure: survey
  vm:
    type: voicemail
    mailbox: sales
    prompt: {text: {en: "Leave a message."}}
    max_seconds: 60
    next: survey
  out: {type: transfer, target: "sip:${dest}@example.net"}
  survey:
    type: survey
    question: satisfaction
    prompt: {text: {en: "Rate us from 1 to 5."}}
    next: bye
  bye: {type: hangup}
"""


def small_run(variables: dict[str, str] | None = None) -> FlowRun:
    return FlowRun(load_flow(SMALL), call_id="c2", calendars={}, variables=variables)


def test_speech_match_is_case_and_space_insensitive() -> None:
    run = small_run({"dest": "2000"})
    run.start(0)
    assert run.handle(PromptFinished(), 2) == [
        StartSpeechRecognition(("sales", "technical support"), "en", 4.0)
    ]
    assert run.next_timer() == 2 + 4 + 10 + GRACE_S  # start timeout + longest answer
    assert run.handle(SpeechRecognized("  Technical   SUPPORT "), 4) == [
        Transfer("sip:2000@example.net")
    ]


def test_speech_no_match_retries_then_voicemail_flow_records() -> None:
    run = small_run()
    run.start(0)
    run.handle(PromptFinished(), 2)
    retry = run.handle(SpeechRecognized(None), 5)
    assert retry == [Play((PromptItem("en", text="Say sales or support."),), barge_in=False)]
    run.handle(PromptFinished(), 7)
    assert run.handle(SpeechRecognized("sales"), 9) == [
        Play((PromptItem("en", text="Leave a message."),))
    ]
    assert run.handle(PromptFinished(), 11) == [RecordVoicemail("sales", 60.0)]
    assert run.next_timer() == 11 + 60 + GRACE_S
    assert run.handle(RecordingFinished(), 40) == [
        Play((PromptItem("en", text="Rate us from 1 to 5."),), barge_in=True)
    ]
    run.handle(PromptFinished(), 42)
    assert run.handle(DigitReceived("4"), 43) == [
        SaveSurveyAnswer("satisfaction", 4),
        Hangup("ivr: flow ended"),
    ]


def test_survey_out_of_range_or_silence_stores_nothing() -> None:
    run = small_run()
    run.start(0)
    run.handle(PromptFinished(), 1)
    run.handle_timer(1 + 4 + 10 + GRACE_S)  # no speech result at all: counts as no match
    run.handle(PromptFinished(), 9)
    assert run.handle(SpeechRecognized(None), 10) == [
        Play((PromptItem("en", text="Rate us from 1 to 5."),), barge_in=True)
    ]
    run.handle(PromptFinished(), 12)
    assert run.handle(DigitReceived("8"), 13) == [Hangup("ivr: flow ended")]


def test_late_or_stray_inputs_are_ignored() -> None:
    run = small_run()
    run.start(0)
    assert run.handle(DigitReceived("1"), 1) == []  # speech node: digits mean nothing
    assert run.handle(RecordingFinished(), 1) == []
    assert run.handle(HttpResponse(1, 200, b"{}"), 1) == []
    assert run.handle(SpeechRecognized("sales"), 1) == []  # not listening yet


def test_missing_calendar_is_refused_at_start() -> None:
    flow = load_flow(FIXTURE.read_text(encoding="utf-8"))
    with pytest.raises(ValueError, match=r"nodes\.office_hours\.calendar: no calendar 'office'"):
        FlowRun(flow, call_id="c", calendars={})


def test_a_run_that_never_ends_is_cut_off() -> None:
    flow = load_flow(
        """
name: spin
version: 1
start: menu
nodes:
  menu:
    type: menu
    prompt: {text: {en: "x"}}
    options: {1: menu}
    on_failure: menu
"""
    )
    run = FlowRun(flow, call_id="c", calendars={})
    run.start(0)
    commands: list[Command] = []
    for i in range(MAX_NODE_VISITS + 1):
        commands = run.handle(DigitReceived("1"), i)
        if run.finished:
            break
    assert commands == [StopPlayback(), Hangup("ivr: flow did not end")]
    assert run.drain_events()[-1].outcome == "failed"  # type: ignore[attr-defined]


def test_missing_variable_in_a_prompt_reads_as_empty() -> None:
    flow = load_flow(
        """
name: v
version: 1
language: en
start: say
nodes:
  say: {type: play, prompt: {text: {en: "Hello ${name}."}}, next: bye}
  bye: {type: hangup}
"""
    )
    run = FlowRun(flow, call_id="c", calendars={})
    assert run.start(0) == [Play((PromptItem("en", text="Hello ."),))]


KEYS_TOO = """
name: keys-too
version: 1
language: en
start: ask
nodes:
  ask:
    type: speech
    prompt: {text: {en: "Say billing or press 2."}}
    choices: {"billing": billing}
    options: {2: billing}
    timeout_s: 3
    max_speech_s: 5
    max_attempts: 2
    on_failure: bye
  billing: {type: queue, queue: billing}
  bye: {type: hangup}
"""


def keys_run() -> FlowRun:
    return FlowRun(load_flow(KEYS_TOO), call_id="c3", calendars={})


def test_speech_node_with_options_takes_a_key_during_the_prompt() -> None:
    run = keys_run()
    assert run.start(0) == [Play((PromptItem("en", text="Say billing or press 2."),), True)]
    assert run.handle(DigitReceived("2"), 1) == [
        StopPlayback(),
        Enqueue("billing", 0, {}, {"language": "en"}),
    ]


def test_speech_node_takes_a_key_while_listening_and_ignores_the_late_result() -> None:
    run = keys_run()
    run.start(0)
    assert run.handle(PromptFinished(), 2) == [StartSpeechRecognition(("billing",), "en", 3.0, 5.0)]
    assert run.next_timer() == 2 + 3 + 5 + GRACE_S
    assert run.handle(DigitReceived("2"), 3) == [Enqueue("billing", 0, {}, {"language": "en"})]
    assert run.handle(SpeechRecognized(None), 3.1) == []


def test_wrong_key_and_silence_count_as_attempts() -> None:
    run = keys_run()
    run.start(0)
    retry = run.handle(DigitReceived("7"), 1)
    ask = Play((PromptItem("en", text="Say billing or press 2."),), True)
    assert retry == [StopPlayback(), ask]
    run.handle(PromptFinished(), 3)
    assert run.handle(SpeechRecognized(None, no_input=True), 6) == [Hangup("ivr: flow ended")]
    rejected = [e.reason for e in run.drain_events() if isinstance(e, IvrInputRejected)]
    assert rejected == ["invalid", "timeout"]


def test_a_recognised_phrase_leaves_its_text_and_confidence_for_later_nodes() -> None:
    run = keys_run()
    run.start(0)
    run.handle(PromptFinished(), 2)
    (enqueue,) = run.handle(SpeechRecognized("Billing", confidence=0.834), 4)
    assert isinstance(enqueue, Enqueue)
    assert enqueue.attributes["speech_text"] == "billing"
    assert enqueue.attributes["speech_confidence"] == "0.83"
