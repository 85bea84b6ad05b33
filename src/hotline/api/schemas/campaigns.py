"""Outbound campaigns, their contact lists, attempts and do-not-call lists
(``routes/campaigns.py``).

The bodies check each field on its own (lengths, ranges, choices); what needs the dialler's
own parsers (calling hours, retry rules, time zones, regions) or other rows (the queue, the
flow) is checked by ``services/campaigns.py``, which also checks a PATCH against the stored
campaign (a robot needs its flow, the others their queue).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from hotline.api.schemas.base import NO_CONTROL, Body, Id, Name, ReadModel, update_model

#: A campaign's name is its URL: letters, digits and ``_.-``, starting with a letter or digit.
CampaignName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")]
Mode = Literal["preview", "progressive", "predictive", "robot"]
Status = Literal["draft", "running", "paused", "stopped", "completed"]
ContactStatus = Literal["pending", "dialling", "done", "exhausted", "do_not_call"]
CallerId = Annotated[str, StringConstraints(pattern=r"^\+?[0-9]{1,32}$")]
Message = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Region = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
TimeZone = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_+/-]{1,64}$")]
HoursKey = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=NO_CONTROL)]
HoursValue = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_CONTROL)]
RawNumber = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_CONTROL)]
Column = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_CONTROL)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_CONTROL)]

DEFAULT_HOURS = {"mon-fri": "09:00-20:00"}


class CampaignCreate(Body):
    name: CampaignName
    department_id: Id
    mode: Mode = "progressive"
    caller_id: CallerId | None = None
    trunk_group: Name | None = Field(default=None, description="null: the node's default group")
    queue_id: Id | None = Field(
        default=None, description="whose agents take the calls; required unless mode is robot"
    )
    flow: Name | None = Field(default=None, description="IVR flow of a robot campaign")
    abandon_target: float = Field(
        default=0.03, gt=0, le=0.2, description="abandoned / answered, at most (0.03 = 3 %)"
    )
    max_ratio: float = Field(default=3.0, ge=1, le=20, description="calls per ready agent, cap")
    calling_hours: dict[HoursKey, HoursValue] = Field(
        default_factory=lambda: dict(DEFAULT_HOURS),
        max_length=14,
        description="in the contact's time zone",
        examples=[{"mon-fri": "09:00-20:00", "sat": "10:00-18:00"}],
    )
    default_region: Region = Field(default="CN", description="for numbers without +country")
    default_time_zone: TimeZone = "Asia/Shanghai"
    retry_rules: dict[str, Any] = Field(
        default_factory=dict,
        max_length=20,
        examples=[{"busy": {"delay_seconds": 300, "max_attempts": 5}}],
    )
    amd_enabled: bool = False
    machine_action: Literal["hangup", "message"] = "hangup"
    machine_message: Message | None = Field(default=None, description="TTS after the beep")
    abandon_message: Message | None = Field(
        default=None, description="played when no agent is free within 2 s"
    )
    recording_notice: Message | None = Field(
        default=None, description="played to the customer before the agent"
    )
    priority: int = Field(default=0, ge=-1000, le=1000)
    robot_lines: int = Field(
        default=10, ge=1, le=1000, description="calls a robot campaign keeps going at once"
    )


CampaignUpdate = update_model(CampaignCreate)


class CampaignRead(ReadModel):
    id: int
    name: str
    department_id: int
    mode: str
    status: str
    caller_id: str | None
    trunk_group: str | None
    queue_id: int | None
    flow: str | None
    abandon_target: float
    max_ratio: float
    calling_hours: dict[str, Any]
    default_region: str
    default_time_zone: str
    retry_rules: dict[str, Any]
    amd_enabled: bool
    machine_action: str
    machine_message: str | None
    abandon_message: str | None
    recording_notice: str | None
    priority: int
    robot_lines: int
    created_at: datetime
    updated_at: datetime


class ContactMapping(Body):
    """Which columns of the list hold what (names from ``/contacts/header``)."""

    phone: list[Column] = Field(min_length=1, max_length=10, description="first: primary")
    name: Column | None = None
    time_zone: Column | None = None
    external_id: Column | None = None
    priority: Column | None = None
    fields: list[Column] = Field(
        default_factory=list, max_length=100, description="kept as the contact's data"
    )


class ListProblemRead(Body):
    line: int
    column: str | None
    message: str


class ContactImportRead(Body):
    rows: int = Field(description="data rows read")
    imported: int = Field(description="new contacts")
    merged: int = Field(description="rows merged into contacts already in the campaign")
    merged_in_file: int = Field(description="rows merged into an earlier row of the file")
    dry_run: bool
    problems: list[ListProblemRead]
    problems_truncated: int = Field(description="problems left out of the list above")


class ListHeaderRead(Body):
    columns: list[str]


class ContactRead(ReadModel):
    id: int
    name: str
    phones: list[str]
    primary_phone: str
    time_zone: str | None
    external_id: str | None
    priority: int
    data: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_outcome: str | None
    disposition: str | None
    source_line: int | None
    created_at: datetime


class ContactPage(Body):
    count: int = Field(description="matching contacts in all")
    items: list[ContactRead]
    next: int | None = Field(description="pass as ?after= for the next page; null: last page")


class AttemptRead(ReadModel):
    id: int
    contact_id: int
    call_id: str
    number: str
    started_at: datetime
    answered_at: datetime | None
    connected_at: datetime | None
    ended_at: datetime | None
    outcome: str | None
    amd_verdict: str | None
    sip_status: int | None
    agent: str | None
    disposition: str | None


class AttemptPage(Body):
    count: int
    items: list[AttemptRead]
    next: int | None


class DoNotCallAdd(Body):
    """One number or several; each is normalised to E.164 (``default_region`` for numbers
    without a country code: the campaign's own for a campaign's list)."""

    number: RawNumber | None = None
    numbers: list[RawNumber] = Field(default_factory=list, max_length=10_000)
    reason: Reason | None = None
    default_region: Region | None = None

    @model_validator(mode="after")
    def _some_number(self) -> DoNotCallAdd:
        if self.number is None and not self.numbers:
            raise ValueError("give number or numbers")
        return self


class DoNotCallRead(ReadModel):
    id: int
    number: str
    campaign_id: int | None
    reason: str | None
    added_at: datetime
    added_by: str | None


class InvalidNumberRead(Body):
    number: str
    message: str


class DoNotCallAdded(Body):
    added: list[DoNotCallRead]
    already_listed: list[str]
    invalid: list[InvalidNumberRead]


class DoNotCallPage(Body):
    count: int
    items: list[DoNotCallRead]
    next: int | None


class CampaignStats(Body):
    contacts: dict[str, int] = Field(description="contacts per status")
    attempts: dict[str, int] = Field(description="finished attempts per outcome")
    in_progress: int = Field(description="attempts whose call has not ended")
    abandon_rate: float | None = Field(
        description="abandoned / (answered + abandoned) attempts; null before any answer"
    )


# ---- lendings of agents, the live view, the preview card -------------------------------------


class LendingCreate(Body):
    """A department's agents serve the campaign's queue from ``starts_at`` to ``ends_at``,
    after their own queues (member priority 0 comes first: keep 1 so inbound calls win)."""

    department_id: Id
    starts_at: datetime
    ends_at: datetime
    member_priority: int = Field(default=1, ge=0, le=9)
    note: Reason | None = None

    @model_validator(mode="after")
    def _period(self) -> LendingCreate:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("starts_at and ends_at need a time zone (e.g. Z or +08:00)")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class LendingRead(ReadModel):
    id: int
    campaign_id: int
    department_id: int
    starts_at: datetime
    ends_at: datetime
    member_priority: int
    note: str | None
    created_at: datetime
    created_by: str | None


class LiveFiguresRead(ReadModel):
    """Since this node started dialling the campaign (``/stats`` has its whole life)."""

    agents_logged_in: int
    agents_ready: int
    agents_talking: int
    agents_wrapping: int
    ringing: int
    waiting: int
    dialled: int
    answered: int
    connected: int
    abandoned: int
    abandon_rate: float
    abandon_target: float
    calls_per_agent: float
    occupancy: float
    carrier_pressure: int


class CampaignLiveRead(ReadModel):
    campaign: str
    status: str
    mode: str
    #: Whether this node dials the campaign now (its figures are then those below).
    running_here: bool
    figures: LiveFiguresRead | None


class PreviewCardRead(ReadModel):
    campaign: str
    contact_id: int
    name: str
    number: str
    phones: list[str]
    data: dict[str, Any]
    attempts: int
    last_outcome: str | None


class PreviewStatusRead(ReadModel):
    """Whether the agent serves a running preview campaign, and the card already theirs."""

    serves: bool
    card: PreviewCardRead | None


class PreviewDialled(ReadModel):
    call_id: str
