"""The live contact centre (``routes/live.py``): what wallboards and agent desktops read
(queues, agents, calls, trunks, the screen pop) and the bodies of agent states and call controls.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from hotline.api.schemas.base import NO_CONTROL, Body, Name

# --- agent states and call controls ------------------------------------------------------


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


PhoneNumber = Annotated[str, StringConstraints(pattern=r"^\+?[0-9 ().-]{1,32}$")]


class OriginateBody(Body):
    """Click-to-call: ring ``agent``'s phone, then dial ``number`` through a trunk group."""

    agent: Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z_.+-]{1,32}$")]
    number: PhoneNumber
    trunk_group: Name | None = None
    caller_id: PhoneNumber | None = None


class OriginatedCall(BaseModel):
    call_id: str


# --- what wallboards and desktops read ---------------------------------------------------


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
    #: What created the call (one call model, the same controls for each): ``inbound``,
    #: ``click_to_call``, ``campaign`` or ``practice``.
    kind: str = "inbound"
    #: Variables the IVR collected (order number, language...): the screen pop's IVR data.
    attributes: dict[str, str] = Field(default_factory=dict)
    parties: list[LiveParty] = []
    recording: str | None = None  # "on", "paused", or None


# --- the agent desktop: wrap-up and screen pop -------------------------------------------


class WrapUpBody(Body):
    """The agent's wrap-up of a call it handled: a code of its department, free notes."""

    call_id: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=NO_CONTROL)]
    code: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=NO_CONTROL)]
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


class ScreenPopCampaign(BaseModel):
    """The contact a campaign call (or a preview's dial) was placed for: the outbound
    banner of the desktop. The wrap-up code the agent picks becomes its disposition."""

    campaign: str
    contact_id: int
    name: str
    data: dict[str, Any]
    attempts: int


class ScreenPop(BaseModel):
    """What an agent sees when a call rings: who calls, their profile, their last contacts
    with the call's department, what they told the IVR, and the campaign contact of an
    outbound campaign call."""

    call_id: str
    caller: str
    queue: str | None
    customer: ScreenPopCustomer | None
    recent: list[RecentContact]
    ivr: dict[str, str]
    campaign: ScreenPopCampaign | None = None
