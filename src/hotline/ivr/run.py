"""One caller's journey through one flow, as a sans-IO state machine.

``FlowRun`` takes inputs (``handle``) and timer expiries (``handle_timer``) with the caller's
``now`` and returns the commands the call layer must carry out; ``next_timer`` says when it
next needs ``handle_timer``. It never sleeps, plays audio or opens a socket, so every path
through a flow (timeouts, wrong keys, a dead back end) is tested with an explicit clock.

A run is bounded: nodes that wait on nothing (set, switch, hours) cannot form a loop (flow
validation refuses it), and a run that enters more than ``MAX_NODE_VISITS`` nodes is ended,
so a badly designed flow cannot hold a line forever.
"""

from __future__ import annotations

import json
import re
import string
import urllib.parse
from collections.abc import Mapping
from typing import Literal

from hotline.calls.hours import Calendar
from hotline.events import Event
from hotline.ivr.events import IvrFinished, IvrInputRejected, IvrLookupFailed, IvrNodeEntered
from hotline.ivr.flow import (
    CollectNode,
    Flow,
    HangupNode,
    HoursNode,
    HttpNode,
    MenuNode,
    PlayNode,
    Prompt,
    QueueNode,
    SetNode,
    SpeechNode,
    SurveyNode,
    SwitchNode,
    TransferNode,
    VoicemailNode,
)
from hotline.ivr.io import (
    CallerHungUp,
    Command,
    DigitReceived,
    Enqueue,
    Hangup,
    HttpFailed,
    HttpRequest,
    HttpResponse,
    Input,
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

MAX_NODE_VISITS = 200
# Extra time the run grants the call layer beyond a node's own limit (HTTP timeout, speech
# timeout, voicemail length) before it gives up on an answer that never came.
GRACE_S = 2.0

Phase = Literal["prompt", "input", "speech", "http", "recording", "done"]
Outcome = Literal["queued", "transferred", "hung_up", "caller_hung_up", "failed"]


class _BlankMissing(dict[str, str]):
    """Template mapping where an unset variable reads as empty rather than as '${name}'."""

    def __missing__(self, key: str) -> str:
        return ""


class FlowRun:
    """The state of one call in one flow."""

    def __init__(
        self,
        flow: Flow,
        *,
        call_id: str,
        calendars: Mapping[str, Calendar],
        variables: Mapping[str, str] | None = None,
    ) -> None:
        missing = sorted(
            f"nodes.{node_id}.calendar: no calendar {node.calendar!r}"
            for node_id, node in flow.nodes.items()
            if isinstance(node, HoursNode) and node.calendar not in calendars
        )
        if missing:
            raise ValueError(f"flow {flow.name} v{flow.version}: " + "; ".join(missing))
        self.flow = flow
        self.call_id = call_id
        self.variables: dict[str, str] = {"language": flow.language, **(variables or {})}
        self.finished = False
        self._calendars = calendars
        self._node_id = flow.start
        self._phase: Phase = "prompt"
        self._attempt = 1
        self._digits = ""
        self._deadline: float | None = None
        self._request_id = 0
        self._visits = 0
        self._events: list[Event] = []

    # ---- the sans-IO surface -------------------------------------------------------------

    @property
    def node_id(self) -> str:
        return self._node_id

    def start(self, now: float) -> list[Command]:
        return self._enter(self.flow.start, now)

    def next_timer(self) -> float | None:
        return None if self.finished else self._deadline

    def handle_timer(self, now: float) -> list[Command]:
        if self.finished or self._deadline is None or now < self._deadline:
            return []
        self._deadline = None
        return self._on_timeout(now)

    def handle(self, event: Input, now: float) -> list[Command]:
        if self.finished:
            return []
        if isinstance(event, CallerHungUp):
            self._finish("caller_hung_up", now)
            return []
        if isinstance(event, PromptFinished):
            return self._on_prompt_finished(now) if self._phase == "prompt" else []
        if isinstance(event, DigitReceived):
            return self._on_digit(event.digit, now)
        if isinstance(event, SpeechRecognized):
            return self._on_speech(event, now) if self._phase == "speech" else []
        if isinstance(event, HttpResponse | HttpFailed):
            if self._phase != "http" or event.request_id != self._request_id:
                return []  # a late answer to a request the run already gave up on
            return self._on_http(event, now)
        if isinstance(event, RecordingFinished):
            return self._next(now) if self._phase == "recording" else []
        raise TypeError(f"not an IVR input: {event!r}")

    def drain_events(self) -> list[Event]:
        """Bus events produced since the last call (node entered, input rejected, ...)."""
        events, self._events = self._events, []
        return events

    # ---- node entry ------------------------------------------------------------------------

    def _enter(self, node_id: str, now: float) -> list[Command]:
        while True:
            self._visits += 1
            if self._visits > MAX_NODE_VISITS:
                self._finish("failed", now, f"more than {MAX_NODE_VISITS} nodes entered")
                return [Hangup("ivr: flow did not end")]
            node = self.flow.nodes[node_id]
            self._node_id, self._attempt, self._digits, self._deadline = node_id, 1, "", None
            self._events.append(
                IvrNodeEntered(
                    at=now,
                    call_id=self.call_id,
                    flow=self.flow.name,
                    version=self.flow.version,
                    node=node_id,
                    node_type=node.type,
                )
            )
            if isinstance(node, SetNode):
                for name, value in node.variables.items():
                    self.variables[name] = self._fill(value)
                node_id = node.next
            elif isinstance(node, SwitchNode):
                node_id = node.cases.get(self.variables.get(node.variable, ""), node.default)
            elif isinstance(node, HoursNode):
                is_open = self._calendars[node.calendar].is_open(now)
                node_id = node.open if is_open else node.closed
            else:
                return self._begin(now)

    def _begin(self, now: float) -> list[Command]:
        node = self.flow.nodes[self._node_id]
        if isinstance(node, HttpNode):
            return [self._send_http(node, now)]
        if isinstance(node, QueueNode):
            self._finish("queued", now, node.queue)
            return [Enqueue(node.queue, node.priority, dict(node.skills), dict(self.variables))]
        if isinstance(node, TransferNode):
            target = self._fill(node.target)
            self._finish("transferred", now, target)
            return [Transfer(target)]
        if isinstance(node, HangupNode) and node.prompt is None:
            self._finish("hung_up", now)
            return [Hangup("ivr: flow ended")]
        prompt = getattr(node, "prompt", None)
        assert isinstance(prompt, Prompt)
        self._phase = "prompt"
        barge_in = isinstance(node, MenuNode | CollectNode | SurveyNode) or (
            isinstance(node, SpeechNode) and bool(node.options)
        )
        return [Play((self._item(prompt),), barge_in=barge_in)]

    def _next(self, now: float) -> list[Command]:
        target = getattr(self.flow.nodes[self._node_id], "next", None)
        assert isinstance(target, str)
        return self._enter(target, now)

    # ---- inputs ----------------------------------------------------------------------------

    def _on_prompt_finished(self, now: float) -> list[Command]:
        node = self.flow.nodes[self._node_id]
        if isinstance(node, PlayNode):
            return self._enter(node.next, now)
        if isinstance(node, HangupNode):
            self._finish("hung_up", now)
            return [Hangup("ivr: flow ended")]
        if isinstance(node, VoicemailNode):
            self._wait("recording", now + node.max_seconds + GRACE_S)
            return [RecordVoicemail(node.mailbox, node.max_seconds)]
        if isinstance(node, SpeechNode):
            self._wait("speech", now + node.timeout_s + node.max_speech_s + GRACE_S)
            language = self.variables["language"]
            return [
                StartSpeechRecognition(
                    tuple(node.choices), language, node.timeout_s, node.max_speech_s
                )
            ]
        if isinstance(node, MenuNode | SurveyNode):
            self._wait("input", now + node.timeout_s)
        elif isinstance(node, CollectNode):
            self._wait("input", now + node.first_digit_timeout_s)
        return []

    def _on_digit(self, digit: str, now: float) -> list[Command]:
        node = self.flow.nodes[self._node_id]
        if isinstance(node, SpeechNode):
            return self._on_speech_key(node, digit, now)
        if not isinstance(node, MenuNode | CollectNode | SurveyNode):
            return []
        if self._phase not in ("prompt", "input"):
            return []
        commands: list[Command] = [StopPlayback()] if self._phase == "prompt" else []
        self._phase = "input"
        if isinstance(node, MenuNode):
            target = node.options.get(digit)
            if target is None:
                return commands + self._reject("invalid", now)
            return commands + self._enter(target, now)
        if isinstance(node, SurveyNode):
            if digit.isdigit() and node.lowest <= int(digit) <= node.highest:
                commands.append(SaveSurveyAnswer(node.question, int(digit)))
            return commands + self._enter(node.next, now)
        if digit == node.terminator:
            return commands + self._complete_digits(node, now)
        self._digits += digit
        if len(self._digits) >= node.max_digits:
            return commands + self._complete_digits(node, now)
        self._deadline = now + node.inter_digit_timeout_s
        return commands

    def _complete_digits(self, node: CollectNode, now: float) -> list[Command]:
        digits = self._digits
        valid = node.min_digits <= len(digits) <= node.max_digits and (
            node.pattern is None or re.fullmatch(node.pattern, digits) is not None
        )
        if not valid:
            return self._reject("invalid", now)
        self.variables[node.variable] = digits
        return self._enter(node.next, now)

    def _on_speech_key(self, node: SpeechNode, digit: str, now: float) -> list[Command]:
        """A key on a speech node with ``options``: during the prompt it barges in, while
        listening the call layer has already stopped listening (its result is ignored)."""
        if not node.options or self._phase not in ("prompt", "speech"):
            return []
        commands: list[Command] = [StopPlayback()] if self._phase == "prompt" else []
        target = node.options.get(digit)
        if target is None:
            return commands + self._reject("invalid", now)
        return commands + self._enter(target, now)

    def _on_speech(self, result: SpeechRecognized, now: float) -> list[Command]:
        node = self.flow.nodes[self._node_id]
        assert isinstance(node, SpeechNode)
        if result.no_input:
            return self._reject("timeout", now)
        heard = " ".join((result.text or "").lower().split())
        for phrase, target in node.choices.items():
            if heard and heard == " ".join(phrase.lower().split()):
                # A later node may confirm ("did you say billing?") or log how sure it was.
                self.variables["speech_text"] = phrase
                self.variables["speech_confidence"] = f"{result.confidence:.2f}"
                return self._enter(target, now)
        return self._reject("no_match", now)

    def _on_http(self, answer: HttpResponse | HttpFailed, now: float) -> list[Command]:
        node = self.flow.nodes[self._node_id]
        assert isinstance(node, HttpNode)
        if isinstance(answer, HttpFailed):
            return self._lookup_failed(node, answer.reason, now)
        if not 200 <= answer.status < 300:
            return self._lookup_failed(node, f"HTTP status {answer.status}", now)
        try:
            document = json.loads(answer.body)
        except (ValueError, UnicodeDecodeError):
            return self._lookup_failed(node, "answer is not JSON", now)
        saved = {}
        for variable, path in node.save.items():
            value = _lookup(document, path)
            if value is None:
                return self._lookup_failed(node, f"answer has no {path!r}", now)
            saved[variable] = value
        self.variables.update(saved)
        return self._enter(node.next, now)

    def _on_timeout(self, now: float) -> list[Command]:
        node = self.flow.nodes[self._node_id]
        if self._phase == "http":
            assert isinstance(node, HttpNode)
            self._request_id += 1  # ignore the answer if it still comes
            return self._lookup_failed(node, "no answer in time", now)
        if self._phase == "recording":
            return self._next(now)
        if self._phase == "speech":
            return self._reject("no_match", now)
        if isinstance(node, CollectNode) and self._digits:
            return self._complete_digits(node, now)  # the caller stopped typing: take it
        if isinstance(node, SurveyNode):
            return self._enter(node.next, now)  # no score: never hold a caller for a survey
        return self._reject("timeout", now)

    # ---- helpers ---------------------------------------------------------------------------

    def _reject(
        self, reason: Literal["invalid", "timeout", "no_match"], now: float
    ) -> list[Command]:
        node = self.flow.nodes[self._node_id]
        assert isinstance(node, MenuNode | CollectNode | SpeechNode)
        self._events.append(
            IvrInputRejected(
                at=now,
                call_id=self.call_id,
                flow=self.flow.name,
                node=self._node_id,
                reason=reason,
                attempt=self._attempt,
            )
        )
        if self._attempt >= node.max_attempts:
            return self._enter(node.on_failure, now)
        self._attempt += 1
        self._digits = ""
        self._phase, self._deadline = "prompt", None
        hint = node.invalid_prompt
        if reason == "timeout" and isinstance(node, MenuNode):
            hint = node.timeout_prompt
        prompts = (self._item(hint),) if hint is not None else ()
        return [
            Play(
                (*prompts, self._item(node.prompt)),
                barge_in=not isinstance(node, SpeechNode) or bool(node.options),
            )
        ]

    def _send_http(self, node: HttpNode, now: float) -> HttpRequest:
        self._request_id += 1
        self._wait("http", now + node.timeout_s + GRACE_S)
        quoted = _BlankMissing(
            {k: urllib.parse.quote(v, safe="") for k, v in self.variables.items()}
        )
        url = string.Template(node.url).substitute(quoted)
        body = {key: self._fill(value) for key, value in node.body.items()} if node.body else None
        return HttpRequest(self._request_id, node.method, url, body, node.timeout_s)

    def _lookup_failed(self, node: HttpNode, reason: str, now: float) -> list[Command]:
        self._events.append(
            IvrLookupFailed(
                at=now, call_id=self.call_id, flow=self.flow.name, node=self._node_id, reason=reason
            )
        )
        return self._enter(node.on_error, now)

    def _wait(self, phase: Phase, deadline: float) -> None:
        self._phase, self._deadline = phase, deadline

    def _finish(self, outcome: Outcome, now: float, detail: str = "") -> None:
        self.finished, self._phase, self._deadline = True, "done", None
        self._events.append(
            IvrFinished(
                at=now,
                call_id=self.call_id,
                flow=self.flow.name,
                version=self.flow.version,
                node=self._node_id,
                outcome=outcome,
                detail=detail,
            )
        )

    def _fill(self, template: str) -> str:
        return string.Template(template).substitute(_BlankMissing(self.variables))

    def _item(self, prompt: Prompt) -> PromptItem:
        """The prompt in the caller's language, else the flow's, else any it has."""
        for language in (self.variables["language"], self.flow.language):
            if language in prompt.recording:
                return PromptItem(language, recording=prompt.recording[language])
            if language in prompt.text:
                return PromptItem(language, text=self._fill(prompt.text[language]))
        language, recording = next(iter(prompt.recording.items()), ("", ""))
        if recording:
            return PromptItem(language, recording=recording)
        language, text = next(iter(prompt.text.items()))
        return PromptItem(language, text=self._fill(text))


def _lookup(document: object, path: str) -> str | None:
    """The scalar at a dotted path (``order.status``, ``items.0.name``) as text, or None."""
    value = document
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None
