"""Request and response bodies of the REST API.

Every string has a maximum length matching its column and refuses NUL characters
(PostgreSQL cannot store them); every integer that reaches the database fits in 32 bits.
Bad input is therefore a 422 that names the field, never a database error turned 500.
Update bodies are derived from create bodies: every field optional, ``null`` only where
the column is nullable.
"""

from __future__ import annotations

import copy
import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    UrlConstraints,
    create_model,
    field_validator,
    model_validator,
)

from hotline.ivr.flow import ID_PATTERN
from hotline.store.models import Role

MAX_INT = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_INT)]
_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"


Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=_NO_CONTROL)]
Text64 = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_NO_CONTROL)]
Text128 = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=_NO_CONTROL)]
Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_NO_CONTROL)]
Text254 = Annotated[str, StringConstraints(min_length=1, max_length=254, pattern=_NO_CONTROL)]
OptionalText200 = Annotated[str, StringConstraints(max_length=200, pattern=_NO_CONTROL)]
OptionalText1000 = Annotated[str, StringConstraints(max_length=1000, pattern=_NO_CONTROL)]
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


def update_model(create: type[BaseModel], *, exclude: tuple[str, ...] = ()) -> type[BaseModel]:
    """The PATCH body for ``create``: the same fields and rules, each one optional."""
    fields: dict[str, Any] = {}
    for name, info in create.model_fields.items():
        if name in exclude:
            continue
        optional = copy.copy(info)
        optional.default = None
        optional.default_factory = None
        fields[name] = (info.annotation, optional)
    # Derived from ``create`` so that its validators apply to the fields that are sent.
    model: type[BaseModel] = create_model(
        create.__name__.removesuffix("Create") + "Update", __base__=create, **fields
    )
    model.__doc__ = f"Fields to change; absent fields keep their value. See {create.__name__}."
    return model


# --- departments and skills -------------------------------------------------------------


class DepartmentCreate(Body):
    name: Name


class DepartmentRead(ReadModel):
    id: int
    name: str
    created_at: datetime


class SkillCreate(Body):
    name: Name


class SkillRead(ReadModel):
    id: int
    name: str


# --- users ----------------------------------------------------------------------------


class UserCreate(Body):
    username: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")]
    display_name: OptionalText200 = ""
    password: Annotated[str, StringConstraints(min_length=8, max_length=256)]
    role: Role
    # Supervisors and agents need a department: checked against the row's whole state
    # by the service (services/integrity.py), so that a PATCH of the role alone works.
    department_id: Id | None = None
    active: bool = True


class UserRead(ReadModel):
    id: int
    username: str
    display_name: str
    role: Role
    department_id: int | None
    active: bool
    created_at: datetime


# --- agents ---------------------------------------------------------------------------


class AgentSkillBody(Body):
    skill_id: Id
    level: int = Field(default=1, ge=1, le=10)


class AgentQueueBody(Body):
    queue_id: Id
    priority: int = Field(default=0, ge=0, le=1000, description="0 is offered calls first")


SipPassword = Annotated[
    str, StringConstraints(min_length=8, max_length=128, pattern=r"^[\x21-\x7e]*$")
]


class AgentCreate(Body):
    user_id: Id
    department_id: Id
    extension: Annotated[str, StringConstraints(pattern=r"^[0-9*#+]{1,32}$")]
    skills: list[AgentSkillBody] = Field(default_factory=list, max_length=100)
    queues: list[AgentQueueBody] = Field(
        default_factory=list, max_length=100, description="queues the agent takes calls from"
    )
    sip_password: SipPassword | None = Field(
        default=None,
        description="the phone's digest password (user: the extension); write-only, kept "
        "as HA1s in the node's realm. On update: absent keeps it, null removes the account",
    )

    @field_validator("skills")
    @classmethod
    def _unique_skills(cls, skills: list[AgentSkillBody]) -> list[AgentSkillBody]:
        if len({skill.skill_id for skill in skills}) != len(skills):
            raise ValueError("each skill at most once")
        return skills

    @field_validator("queues")
    @classmethod
    def _unique_queues(cls, queues: list[AgentQueueBody]) -> list[AgentQueueBody]:
        if len({queue.queue_id for queue in queues}) != len(queues):
            raise ValueError("each queue at most once")
        return queues


class AgentSkillRead(ReadModel):
    skill_id: int
    level: int


class AgentQueueRead(ReadModel):
    queue_id: int
    priority: int


class AgentRead(ReadModel):
    id: int
    user_id: int
    department_id: int
    extension: str
    skills: list[AgentSkillRead]
    queues: list[AgentQueueRead]
    has_sip_password: bool
    #: The realm the stored HA1s were computed in (a node with another realm cannot use them).
    sip_realm: str | None


# --- queues ---------------------------------------------------------------------------


class Strategy(StrEnum):
    """The ACD's routing strategies (``hotline.acd.strategies``, docs/acd.md)."""

    LONGEST_IDLE = "longest-idle"
    ROUND_ROBIN = "round-robin"
    FEWEST_CALLS = "fewest-calls"
    LEAST_TALK_TIME = "least-talk-time"
    RING_ALL = "ring-all"
    LINEAR = "linear"
    RANDOM = "random"
    WEIGHTED_RANDOM = "weighted-random"
    SKILLS_BEST_MATCH = "skills-best-match"


class SkillNeed(Body):
    skill: Name
    level: int = Field(default=1, ge=1, le=10, description="the lowest level that will do")


def _skill_need(value: object) -> object:
    # A bare skill name (the API's first form) means level 1.
    return {"skill": value} if isinstance(value, str) else value


class QueueTier(Body):
    """From ``after_seconds`` of waiting on, who else may take the call (docs/acd.md)."""

    after_seconds: int = Field(ge=0, le=86400)
    max_member_priority: int = Field(default=0, ge=0, le=1000)
    relax_levels: int = Field(default=0, ge=0, le=10)
    include_pooled: bool = False


class QueueSettings(Body):
    """How a queue runs (``hotline.acd.QueueConfig``), without its references to other rows."""

    strategy: Strategy = Strategy.LONGEST_IDLE
    service_level_seconds: int = Field(default=20, ge=1, le=3600)
    max_wait_seconds: int | None = Field(
        default=600, ge=1, le=86400, description="null: callers wait as long as they like"
    )
    required_skills: list[Annotated[SkillNeed, BeforeValidator(_skill_need)]] = Field(
        default_factory=list, max_length=50
    )
    ring_timeout_seconds: int = Field(default=15, ge=1, le=600)
    wrap_up_seconds: int = Field(default=0, ge=0, le=3600)
    announce_every_seconds: int | None = Field(
        default=None, ge=10, le=3600, description="position announcements; null: none"
    )
    max_length: int | None = Field(default=None, ge=0, le=100000)
    on_max_wait: Literal["busy", "hang_up", "overflow"] = "busy"
    tiers: list[QueueTier] = Field(default_factory=list, max_length=20)
    recording: Literal["always", "on_demand", "never"] = "always"
    survey_flow: Name | None = Field(
        default=None, description="IVR flow that scores the call after the agent hangs up"
    )

    @model_validator(mode="after")
    def _consistent_settings(self) -> QueueSettings:
        # Fields may be None in a PATCH body (derived from this one): absent, not empty.
        afters = [tier.after_seconds for tier in self.tiers or []]
        if afters and (afters[0] != 0 or afters != sorted(afters)):
            raise ValueError("tiers start at 0 s and are in order of after_seconds")
        needs = [need.skill for need in self.required_skills or []]
        if len(set(needs)) != len(needs):
            raise ValueError("each required skill at most once")
        return self


class QueueCreate(QueueSettings):
    name: Name
    department_id: Id
    overflow_queue_id: Id | None = Field(
        default=None, description="where callers go after max wait (on_max_wait overflow)"
    )
    pooled_department_ids: list[Id] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _overflow_target(self) -> QueueCreate:
        if self.on_max_wait == "overflow" and self.overflow_queue_id is None:
            raise ValueError("on_max_wait overflow needs overflow_queue_id")
        return self


class QueueRead(ReadModel):
    id: int
    name: str
    department_id: int
    strategy: Strategy
    service_level_seconds: int
    max_wait_seconds: int | None
    required_skills: list[SkillNeed]
    ring_timeout_seconds: int
    wrap_up_seconds: int
    announce_every_seconds: int | None
    max_length: int | None
    on_max_wait: str
    overflow_queue_id: int | None
    tiers: list[QueueTier]
    pooled_department_ids: list[int]
    recording: str
    survey_flow: str | None


# --- trunks and routes ----------------------------------------------------------------


class TrunkCreate(Body):
    name: Name
    host: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.:\[\]-]{1,255}$")]
    port: int = Field(default=5060, ge=1, le=65535)
    transport: Literal["udp", "tcp", "tls"] = "udp"
    username: Name | None = None
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        default=None, description="digest password towards the carrier; write-only"
    )
    max_channels: int = Field(default=30, ge=1, le=100000)
    enabled: bool = True
    priority: int = Field(default=0, ge=0, le=1000, description="lower is tried first")
    weight: int = Field(default=1, ge=1, le=1000, description="share in weighted round-robin")
    dial_format: Literal["e164", "national", "international"] = "national"
    caller_id: Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{1,32}$")] | None = Field(
        default=None, description="fixed presented number; none: the call's own"
    )


class TrunkRead(ReadModel):
    id: int
    name: str
    host: str
    port: int
    transport: str
    username: str | None
    has_password: bool
    max_channels: int
    enabled: bool
    priority: int
    weight: int
    dial_format: str
    caller_id: str | None


SipStatusRule = Annotated[str, StringConstraints(pattern=r"^[3-6]([0-9]{2}|xx)$")]


class TrunkGroupCreate(Body):
    name: Name
    strategy: Literal["priority", "weighted_round_robin", "least_used"] = "priority"
    trunk_ids: list[Id] = Field(min_length=1, max_length=100, description="in priority order")
    failover_on: list[SipStatusRule] = Field(
        default_factory=lambda: ["408", "5xx", "604", "606"],
        max_length=50,
        description="SIP answers that move the attempt to the next trunk ('503' or '5xx')",
    )

    @field_validator("trunk_ids")
    @classmethod
    def _unique_trunks(cls, trunk_ids: list[int]) -> list[int]:
        if len(set(trunk_ids)) != len(trunk_ids):
            raise ValueError("each trunk at most once")
        return trunk_ids


class TrunkGroupRead(ReadModel):
    id: int
    name: str
    strategy: str
    trunk_ids: list[int]
    failover_on: list[str]


class InboundRouteCreate(Body):
    did: Annotated[str, StringConstraints(pattern=r"^\+?[0-9*#]{1,64}$")]
    trunk_id: Id | None = None
    target_type: Literal["queue", "ivr_flow", "agent"]
    target_id: Id
    business_hours_id: Id | None = None
    closed_target_type: Literal["queue", "ivr_flow", "agent", "hangup"] | None = Field(
        default=None, description="where calls go outside business hours"
    )
    closed_target_id: Id | None = None
    department_id: Id | None = Field(
        default=None, description="owner of the route's calls (IVR pilots, reports)"
    )

    @model_validator(mode="after")
    def _closed_target(self) -> InboundRouteCreate:
        needs_id = self.closed_target_type not in (None, "hangup")
        if needs_id != (self.closed_target_id is not None):
            raise ValueError("closed_target_id goes with a closed_target_type other than hangup")
        return self


class InboundRouteRead(ReadModel):
    id: int
    did: str
    trunk_id: int | None
    target_type: str
    target_id: int
    business_hours_id: int | None
    closed_target_type: str | None
    closed_target_id: int | None
    department_id: int | None


# --- business hours -------------------------------------------------------------------


class OpeningInterval(Body):
    day: int = Field(ge=0, le=6, description="0 = Monday")
    start: str = Field(pattern=_HHMM.pattern, examples=["09:00"])
    end: str = Field(pattern=_HHMM.pattern, examples=["18:00"])

    @model_validator(mode="after")
    def _ordered(self) -> OpeningInterval:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class BusinessHoursCreate(Body):
    name: Name
    timezone: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_+/-]{1,64}$")] = "UTC"
    weekly: list[OpeningInterval] = Field(default_factory=list, max_length=100)
    holidays: list[date] = Field(default_factory=list, max_length=400)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class BusinessHoursRead(ReadModel):
    id: int
    name: str
    timezone: str
    weekly: list[OpeningInterval]
    holidays: list[date]


# --- wrap-up codes and customers ------------------------------------------------------


class WrapUpCodeCreate(Body):
    department_id: Id
    code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,32}$")]
    label: Text200


class WrapUpCodeRead(ReadModel):
    id: int
    department_id: int
    code: str
    label: str


class CustomerCreate(Body):
    phone: Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{1,64}$")]
    name: OptionalText200 = ""
    email: Text254 | None = None
    external_id: Text128 | None = None
    data: dict[Text64, OptionalText1000] = Field(default_factory=dict, max_length=50)


class CustomerRead(ReadModel):
    id: int
    phone: str
    name: str
    email: str | None
    external_id: str | None
    data: dict[str, str]
    updated_at: datetime


# --- IVR flows ------------------------------------------------------------------------


class IvrDefinition(Body):
    """A flow: named nodes, each with an action and where to go next; run from ``start``.

    The interpreter (ivr/) validates actions in depth; here the structure is checked so
    that a stored version always has a start node that exists.
    """

    model_config = ConfigDict(extra="allow")

    start: Name
    nodes: dict[Name, dict[str, Any]] = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _start_exists(self) -> IvrDefinition:
        if self.start not in self.nodes:
            raise ValueError(f"start node {self.start!r} is not among the nodes")
        return self


#: YAML text as an admin writes it: tabs and line ends allowed, other control characters not.
YamlText = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=200_000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
    ),
]


class IvrSource(Body):
    """A flow given either as a JSON ``definition`` or as the ``yaml`` text an admin wrote
    (kept with its comments, so the editor shows it as written)."""

    definition: IvrDefinition | None = None
    yaml: YamlText | None = None

    @model_validator(mode="after")
    def _one_source(self) -> IvrSource:
        if (self.definition is None) == (self.yaml is None):
            raise ValueError("give exactly one of definition or yaml")
        return self


#: The interpreter's own rule for flow names (``ivr.flow.NodeId``): a name it would refuse
#: would be stored, then left out of the live node with only a log line.
FlowName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=ID_PATTERN),
    Field(description="letters, digits, '_', '.', '-'; not starting with a digit"),
]


class IvrFlowCreate(IvrSource):
    name: FlowName
    department_id: Id


class IvrVersionCreate(IvrSource):
    publish: bool = Field(default=False, description="publish the new version at once")


class IvrFlowUpdate(Body):
    """Rename a flow or move it to another department (its versions stay)."""

    name: FlowName | None = None
    department_id: Id | None = None


class IvrValidate(Body):
    yaml: YamlText


class IvrProblem(BaseModel):
    location: str = Field(description="dotted path in the document, e.g. nodes.menu.options.7")
    node: str | None = Field(description="the node the problem is in, if any")
    line: int | None = Field(description="1-based line in the YAML text, if known")
    message: str


class IvrValidation(BaseModel):
    valid: bool
    problems: list[IvrProblem]


class IvrPublish(Body):
    version: Id


class IvrPilotStart(Body):
    """Pin a version of the flow for one department's calls (a pilot)."""

    version: Id


class IvrPilotRead(ReadModel):
    flow_id: int
    department_id: int
    version: int
    started_at: datetime
    started_by: int | None


class IvrFlowRead(ReadModel):
    id: int
    name: str
    department_id: int
    published_version: int | None
    latest_version: int


class IvrVersionRead(ReadModel):
    flow_id: int
    version: int
    definition: dict[str, Any]
    source: str | None
    created_at: datetime
    created_by: int | None


# --- CDRs, audit, auth ----------------------------------------------------------------


class CdrRead(ReadModel):
    id: int
    call_id: str
    direction: str
    caller: str
    callee: str
    department_id: int | None
    queue_id: int | None
    agent_id: int | None
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime
    wait_seconds: float
    talk_seconds: float
    hold_seconds: float
    disposition: str
    wrapup_code: str | None
    notes: str | None
    details: dict[str, Any] | None = None


class RecordingRead(ReadModel):
    id: int
    call_id: str
    department_id: int | None
    media_type: str
    started_at: datetime
    duration_seconds: float
    size_bytes: int
    sha256: str | None
    kind: Literal["call", "voicemail"] = "call"
    mailbox: str | None = None


class WebhookCreate(Body):
    name: Name
    url: Annotated[AnyHttpUrl, UrlConstraints(max_length=2000)]
    secret: Annotated[str, StringConstraints(min_length=16, max_length=200)] = Field(
        description="signs every body (HMAC-SHA256); write-only"
    )
    event_types: list[Text128] = Field(
        min_length=1, max_length=100, description='event type names, or "*" for all'
    )
    active: bool = True


class WebhookRead(ReadModel):
    id: int
    name: str
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime


class WebhookDeliveryRead(ReadModel):
    id: int
    delivery_id: str
    event_type: str
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    succeeded: bool


class AuditRead(ReadModel):
    id: int
    at: datetime
    actor_id: int | None
    actor: str
    action: str
    resource: str
    resource_id: str | None
    department_id: int | None
    detail: dict[str, Any]
    client: str | None


class LoginBody(Body):
    username: Text64
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class Me(BaseModel):
    id: int
    username: str
    role: Role
    department_id: int | None
    permissions: list[str]
    via: str


class TokenCreate(Body):
    name: Name
    scopes: list[str] = Field(min_length=1, max_length=20)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class TokenRead(ReadModel):
    id: int
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="shown once; only its hash is stored")


# ---- live operations ------------------------------------------------------------------------


class BreakBody(Body):
    reason: Name


class TransferBody(Body):
    """Exactly one target: a queue (the caller waits there) or a user/number (rung)."""

    queue: Name | None = None
    target: Name | None = None

    @model_validator(mode="after")
    def _one_target(self) -> TransferBody:
        if (self.queue is None) == (self.target is None):
            raise ValueError("give exactly one of queue or target")
        return self


PhoneNumber = Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ().-]{1,32}$")]


class OriginateBody(Body):
    """Click-to-call: ring ``agent``'s phone, then dial ``number`` through a trunk group."""

    agent: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_.+-]{1,32}$")]
    number: PhoneNumber
    trunk_group: Name | None = None
    caller_id: PhoneNumber | None = None


class OriginatedCall(BaseModel):
    call_id: str


class LiveTrunk(BaseModel):
    name: str
    host: str
    port: int
    transport: str
    groups: list[str]
    probed: bool
    up: bool
    active_calls: int
    max_channels: int | None
    calls_total: int
    last_probe_status: int | None
    last_probe_at: float | None


class LiveQueue(BaseModel):
    name: str
    department: str
    waiting: int
    longest_wait: float
    offered: int
    answered: int
    abandoned: int
    service_level: float | None
    abandon_rate: float | None
    average_speed_of_answer: float | None
    agents_by_state: dict[str, int]


class LiveAgent(BaseModel):
    agent_id: str
    department: str
    state: str
    reason: str
    seconds_in_state: float
    call_id: str | None
    phone_registered: bool | None
    #: Busy on a call outside the ACD (consulted, supervising, click-to-call): offered
    #: nothing meanwhile, whatever ``state`` says; ``seconds_busy`` is for how long.
    busy: bool = False
    seconds_busy: float | None = None


class LiveParty(BaseModel):
    """A leg beyond customer and agent: ``consult``, ``third_party`` or ``supervisor``."""

    leg_id: str
    role: str
    party: str
    mode: str | None
    answered: bool


class LiveCall(BaseModel):
    call_id: str
    caller: str
    callee: str
    state: str
    department: str | None
    queue: str | None
    agent: str | None
    ringing: list[str]
    held: bool
    started_at: float
    direction: str = "inbound"
    #: Variables the IVR collected (order number, language...): the screen pop's IVR data.
    attributes: dict[str, str] = Field(default_factory=dict)
    parties: list[LiveParty] = []
    recording: str | None = None  # "on", "paused", or None


# ---- agent desktop and wallboard (issue 7, web consoles) ---------------------------------


class WrapUpBody(Body):
    """The agent's wrap-up of a call it handled: a code of its department, free notes."""

    call_id: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=_NO_CONTROL)]
    code: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=_NO_CONTROL)]
    # Notes may have line breaks; other control characters are refused.
    notes: Annotated[
        str, StringConstraints(max_length=2000, pattern=r"^[^\x00-\x09\x0b-\x1f\x7f]*$")
    ] = ""


class RecentContact(BaseModel):
    call_id: str
    started_at: datetime
    disposition: str
    queue_id: int | None
    agent_id: int | None
    talk_seconds: float
    wrapup_code: str | None
    notes: str | None


class ScreenPopCustomer(BaseModel):
    id: int
    phone: str
    name: str
    email: str | None
    external_id: str | None
    data: dict[str, Any]


class ScreenPop(BaseModel):
    """What an agent sees when a call rings: who calls, their profile, their last contacts
    with the call's department, and what they told the IVR."""

    call_id: str
    caller: str
    queue: str | None
    customer: ScreenPopCustomer | None
    recent: list[RecentContact]
    ivr: dict[str, str]


class IntervalCount(BaseModel):
    start: datetime
    offered: int
    handled: int
    abandoned: int
    other: int


class IntervalStats(BaseModel):
    """One day's calls per interval, from the CDRs, in the asked time zone."""

    day: date
    minutes: int
    timezone: str
    intervals: list[IntervalCount]


Extension = Annotated[
    str, StringConstraints(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z_.+-]+$")
]


class PartyBody(Body):
    """The user (extension) to ring into the call: consulted, or added to a conference."""

    target: Extension


class SuperviseBody(Body):
    """How the supervisor joins (or, when on already, switches): ``listen`` (hears both,
    heard by none), ``whisper`` (heard by the agent only), ``barge`` (all hear all).
    ``phone``: the extension rung for the supervisor (default: the caller's own agent
    extension, when it has one)."""

    mode: Literal["listen", "whisper", "barge"]
    phone: Extension | None = None
