"""The IVR flow document: what an operator writes in YAML, validated before any call uses it.

A flow is a named, versioned graph of nodes keyed by id. Each node type is a model below;
``load_flow`` parses YAML, checks every field and every reference between nodes, and reports
problems as :class:`FlowError` whose lines point at the node (``nodes.menu.options.7: no
node 'salse'``) so that an admin can fix a flow without reading a traceback.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DTMF_KEYS = frozenset("0123456789*#")
Language = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
#: Node ids and flow names: they appear in YAML keys, logs and metrics labels.
ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.-]*$"
NodeId = Annotated[str, Field(pattern=ID_PATTERN, max_length=64)]
Seconds = Annotated[float, Field(gt=0, le=3600)]


class FlowError(Exception):
    """A flow document is invalid; ``problems`` are ``location: message`` lines."""

    def __init__(self, flow: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"invalid IVR flow {flow}: " + "; ".join(problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Prompt(_Model):
    """What to say, per language: an uploaded recording wins over TTS text of the same
    language; text may use ``${variable}`` placeholders filled at play time."""

    text: dict[Language, str] = Field(default_factory=dict)
    recording: dict[Language, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _not_empty(self) -> Prompt:
        if not self.text and not self.recording:
            raise ValueError("a prompt needs text or a recording in at least one language")
        for language, text in self.text.items():
            _check_template(text, f"text.{language}")
        return self


def _check_template(text: str, where: str) -> None:
    if not string.Template(text).is_valid():
        raise ValueError(f"{where}: bad placeholder; write ${{name}} and $$ for '$'")


class PlayNode(_Model):
    """Say something, then go on."""

    type: Literal["play"]
    prompt: Prompt
    next: NodeId


class MenuNode(_Model):
    """Say the choices, take one DTMF key; repeat on timeout or a wrong key."""

    type: Literal["menu"]
    prompt: Prompt
    options: dict[str, NodeId]
    timeout_s: Seconds = 5.0
    max_attempts: int = Field(default=3, ge=1, le=10)
    invalid_prompt: Prompt | None = None
    timeout_prompt: Prompt | None = None
    on_failure: NodeId

    @field_validator("options", mode="before")
    @classmethod
    def _keys_as_text(cls, value: object) -> object:
        # YAML reads `1: sales` with an integer key; a key is a DTMF symbol, so text.
        if isinstance(value, dict):
            return {str(key): target for key, target in value.items()}
        return value

    @field_validator("options")
    @classmethod
    def _dtmf_keys(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("a menu needs at least one option")
        for key in value:
            if key not in DTMF_KEYS:
                raise ValueError(f"option {key!r} is not a DTMF key (0-9, *, #)")
        return value


class CollectNode(_Model):
    """Take a number (order, account, ID) digit by digit into a variable."""

    type: Literal["collect"]
    prompt: Prompt
    variable: NodeId
    min_digits: int = Field(default=1, ge=1, le=64)
    max_digits: int = Field(default=20, ge=1, le=64)
    terminator: Literal["#", "*"] | None = "#"
    pattern: str | None = None
    first_digit_timeout_s: Seconds = 8.0
    inter_digit_timeout_s: Seconds = 4.0
    max_attempts: int = Field(default=3, ge=1, le=10)
    invalid_prompt: Prompt | None = None
    next: NodeId
    on_failure: NodeId

    @model_validator(mode="after")
    def _consistent(self) -> CollectNode:
        if self.min_digits > self.max_digits:
            raise ValueError("min_digits is greater than max_digits")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as error:
                raise ValueError(f"pattern is not a regular expression: {error}") from None
        return self


class SpeechNode(_Model):
    """Ask a question and recognise one of a fixed set of phrases (grammar-based ASR).

    ``options`` offers keys beside the phrases ("say billing or press 2"): a key cuts the
    prompt short or ends the listening, as in a menu. Listening starts when the prompt has
    ended; the caller must begin within ``timeout_s`` and is heard for ``max_speech_s``.
    """

    type: Literal["speech"]
    prompt: Prompt
    choices: dict[str, NodeId] = Field(min_length=1, description="phrase -> node")
    options: dict[str, NodeId] = Field(default_factory=dict, description="DTMF key -> node")
    timeout_s: Seconds = 6.0
    max_speech_s: Annotated[float, Field(gt=0, le=60)] = 10.0
    max_attempts: int = Field(default=2, ge=1, le=10)
    invalid_prompt: Prompt | None = None
    on_failure: NodeId

    @field_validator("options", mode="before")
    @classmethod
    def _keys_as_text(cls, value: object) -> object:
        if isinstance(value, dict):
            return {str(key): target for key, target in value.items()}
        return value

    @field_validator("options")
    @classmethod
    def _dtmf_keys(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if key not in DTMF_KEYS:
                raise ValueError(f"option {key!r} is not a DTMF key (0-9, *, #)")
        return value


class HttpNode(_Model):
    """Ask the customer's own system (order status, account check); fields of the JSON
    answer are saved into variables. Any failure (timeout, status, bad JSON, missing
    field) takes ``on_error``: a caller is never stuck because a back end is down."""

    type: Literal["http"]
    method: Literal["GET", "POST"] = "GET"
    # Placeholders only after the host: no variable (some come from HTTP answers) may send
    # a look-up to another host.
    url: str = Field(pattern=r"^https?://[^/$]+(/|$)")
    body: dict[str, str] | None = None
    timeout_s: Seconds = 3.0
    save: dict[NodeId, str] = Field(
        default_factory=dict, description="variable -> dotted path into the JSON answer"
    )
    next: NodeId
    on_error: NodeId

    @model_validator(mode="after")
    def _templates(self) -> HttpNode:
        _check_template(self.url, "url")
        for key, value in (self.body or {}).items():
            _check_template(value, f"body.{key}")
        return self


class SwitchNode(_Model):
    """Branch on a variable's value."""

    type: Literal["switch"]
    variable: NodeId
    cases: dict[str, NodeId] = Field(min_length=1)
    default: NodeId

    @field_validator("cases", mode="before")
    @classmethod
    def _keys_as_text(cls, value: object) -> object:
        if isinstance(value, dict):
            return {str(key): target for key, target in value.items()}
        return value


class HoursNode(_Model):
    """Branch on a business-hours calendar."""

    type: Literal["hours"]
    calendar: NodeId
    open: NodeId
    closed: NodeId


class SetNode(_Model):
    """Set variables; ``language`` switches prompts, others travel with the contact
    (e.g. ``vip``, ``skill.zh``) to the queue and the agent's screen."""

    type: Literal["set"]
    variables: dict[NodeId, str] = Field(min_length=1)
    next: NodeId


class QueueNode(_Model):
    """Hand the caller to an ACD queue; the flow ends here."""

    type: Literal["queue"]
    queue: NodeId
    priority: int = Field(default=0, ge=0, le=100)
    skills: dict[NodeId, int] = Field(default_factory=dict, description="skill -> min level")

    @field_validator("skills")
    @classmethod
    def _levels(cls, value: dict[str, int]) -> dict[str, int]:
        for skill, level in value.items():
            if not 1 <= level <= 10:
                raise ValueError(f"skill {skill!r}: level {level} is outside 1-10")
        return value


class TransferNode(_Model):
    """Send the call elsewhere (a user, an external number); the flow ends here."""

    type: Literal["transfer"]
    target: str = Field(min_length=1)


class VoicemailNode(_Model):
    """Record a message for a mailbox, then go on (usually to a goodbye)."""

    type: Literal["voicemail"]
    mailbox: NodeId
    prompt: Prompt
    max_seconds: Seconds = 120.0
    next: NodeId


class SurveyNode(_Model):
    """Ask for a score by DTMF (1-5 by default), stored on the call's record."""

    type: Literal["survey"]
    question: NodeId
    prompt: Prompt
    lowest: int = Field(default=1, ge=0, le=9)
    highest: int = Field(default=5, ge=0, le=9)
    timeout_s: Seconds = 6.0
    next: NodeId

    @model_validator(mode="after")
    def _range(self) -> SurveyNode:
        if self.lowest >= self.highest:
            raise ValueError("lowest must be below highest")
        return self


class HangupNode(_Model):
    """End the call, optionally after a goodbye."""

    type: Literal["hangup"]
    prompt: Prompt | None = None


Node = Annotated[
    PlayNode
    | MenuNode
    | CollectNode
    | SpeechNode
    | HttpNode
    | SwitchNode
    | HoursNode
    | SetNode
    | QueueNode
    | TransferNode
    | VoicemailNode
    | SurveyNode
    | HangupNode,
    Field(discriminator="type"),
]

#: Node types that never wait for the caller or the network: a loop made only of these would
#: spin forever, so validation refuses it.
IMMEDIATE_NODES = (SwitchNode, HoursNode, SetNode)


class Flow(_Model):
    """One version of a flow."""

    name: NodeId
    version: int = Field(ge=1)
    language: Language = "zh-CN"
    start: NodeId
    nodes: dict[NodeId, Node] = Field(min_length=1)

    def targets(self, node_id: str) -> Iterator[tuple[str, str]]:
        """(field, target node id) for every edge out of ``node_id``."""
        node = self.nodes[node_id]
        for field in ("next", "on_failure", "on_error", "default", "open", "closed"):
            target = getattr(node, field, None)
            if isinstance(target, str):
                yield field, target
        for mapping in ("options", "cases", "choices"):
            for key, target in (getattr(node, mapping, None) or {}).items():
                yield f"{mapping}.{key}", target


def check_references(flow: Flow) -> list[str]:
    """Problems with the graph: unknown targets, unreachable nodes, immediate loops."""
    problems = []
    if flow.start not in flow.nodes:
        problems.append(f"start: no node {flow.start!r}")
    for node_id in flow.nodes:
        for field, target in flow.targets(node_id):
            if target not in flow.nodes:
                problems.append(f"nodes.{node_id}.{field}: no node {target!r}")
    if problems:
        return problems
    reachable, stack = set(), [flow.start]
    while stack:
        node_id = stack.pop()
        if node_id not in reachable:
            reachable.add(node_id)
            stack.extend(target for _, target in flow.targets(node_id))
    problems += [f"nodes.{n}: not reachable from start" for n in flow.nodes if n not in reachable]
    problems += _immediate_loops(flow)
    return problems


def _immediate_loops(flow: Flow) -> list[str]:
    immediate = {n for n, node in flow.nodes.items() if isinstance(node, IMMEDIATE_NODES)}
    visiting: set[str] = set()
    done: set[str] = set()
    loops: list[str] = []

    def visit(node_id: str, path: list[str]) -> None:
        if node_id in done or node_id not in immediate:
            return
        if node_id in visiting:
            cycle = [*path[path.index(node_id) :], node_id]
            loops.append(f"nodes.{node_id}: loop without input: {' -> '.join(cycle)}")
            return
        visiting.add(node_id)
        for _, target in flow.targets(node_id):
            visit(target, [*path, node_id])
        visiting.discard(node_id)
        done.add(node_id)

    for node_id in sorted(immediate):
        visit(node_id, [])
    return loops


def parse_flow(data: object, source: str = "flow") -> Flow:
    """Validate an already-parsed document (from YAML, JSON or the database)."""
    if not isinstance(data, dict):
        raise FlowError(source, ["the document must be a mapping with name, version, nodes"])
    try:
        flow = Flow.model_validate(data)
    except ValidationError as error:
        raise FlowError(source, [_located(detail) for detail in error.errors()]) from None
    problems = check_references(flow)
    if problems:
        raise FlowError(f"{flow.name} v{flow.version}", problems)
    return flow


def load_flow(text: str, source: str = "flow") -> Flow:
    """Parse and validate a YAML flow document."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "document"
        raise FlowError(source, [f"{where}: not valid YAML"]) from None
    return parse_flow(data, source)


_NODE_TAGS = {"play", "menu", "collect", "speech", "http", "switch", "hours", "set", "queue"}
_NODE_TAGS |= {"transfer", "voicemail", "survey", "hangup"}


def _located(detail: object) -> str:
    assert isinstance(detail, dict)
    loc = [str(part) for part in detail["loc"]]
    # pydantic puts the union tag after the node id (nodes.menu.menu.options): drop it.
    if len(loc) >= 3 and loc[0] == "nodes" and loc[2] in _NODE_TAGS:
        del loc[2]
    message = str(detail["msg"]).removeprefix("Value error, ")
    if detail["type"] == "extra_forbidden":
        message = "unknown field"
    elif detail["type"] == "union_tag_invalid":
        message = f"unknown node type; use one of {', '.join(sorted(_NODE_TAGS))}"
    elif detail["type"] == "union_tag_not_found":
        message = "a node needs a type"
    return f"{'.'.join(loc) or 'flow'}: {message}"
