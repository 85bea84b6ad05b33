"""The tables of a Hotline node.

Configuration (departments, users, agents, skills, queues, trunks, inbound routes, IVR flows,
business hours, wrap-up codes) is edited through the API; history (CDRs, queue log,
recordings, audit log) is written by the node and must never be lost, so those tables have
no update path in the repositories and the audit log is protected by database triggers.
Outbound campaigns (campaigns, their contacts and attempts, the do-not-call list) are both:
edited through the API and advanced by the campaign runner (``hotline.store.campaigns``).
Every schema change is an Alembic migration under ``migrations/``; a test checks that the
migrations and these models agree on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from hotline.store.types import UtcDateTime, utcnow

# Named constraints so that migrations can refer to them on every dialect (SQLite's batch
# mode needs names to alter a table).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UtcDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}  # noqa: RUF012


class Role(enum.StrEnum):
    """What a user may do; the permission table lives in ``hotline.api.rbac``."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"
    QA = "qa"
    AUDITOR = "auditor"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as plain strings with a CHECK: adding a value is a migration, not an
    # ALTER TYPE dance on PostgreSQL.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
    )


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Skill(Base):
    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Agent(Base):
    """The telephony side of a user who takes calls: extension and skills."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), unique=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    extension: Mapped[str] = mapped_column(String(32), unique=True)
    skills: Mapped[list[AgentSkill]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="AgentSkill.skill_id"
    )
    queues: Mapped[list[AgentQueue]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="AgentQueue.queue_id"
    )
    # The phone account: digest HA1s (H(extension:realm:password)) for MD5 and SHA-256,
    # never the password; the realm they were computed in is kept beside them, because a
    # node with another realm cannot use them (the live directory reports that).
    sip_realm: Mapped[str | None] = mapped_column(String(100))
    sip_ha1_md5: Mapped[str | None] = mapped_column(String(32))
    sip_ha1_sha256: Mapped[str | None] = mapped_column(String(64))

    @property
    def has_sip_password(self) -> bool:
        return bool(self.sip_ha1_md5)


class AgentSkill(Base):
    __tablename__ = "agent_skills"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    skill_id: Mapped[int] = mapped_column(
        ForeignKey("skills.id", ondelete="RESTRICT"), primary_key=True
    )
    level: Mapped[int] = mapped_column(Integer, default=1)


class AgentQueue(Base):
    """An agent's membership of a queue; ``priority`` 0 is offered calls first."""

    __tablename__ = "agent_queues"

    agent_id: Mapped[int] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    # A queue that still has members cannot be deleted: its agents would silently lose work.
    queue_id: Mapped[int] = mapped_column(
        ForeignKey("queues.id", ondelete="RESTRICT"), primary_key=True
    )
    priority: Mapped[int] = mapped_column(Integer, default=0)


class Queue(Base):
    """A queue as the ACD runs it (``hotline.acd.QueueConfig``); the live node builds its
    queues from these rows (``hotline.services.directory``)."""

    __tablename__ = "queues"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    #: A name from the ACD's strategy registry (``hotline.acd.strategies``).
    strategy: Mapped[str] = mapped_column(String(32), default="longest-idle")
    service_level_seconds: Mapped[int] = mapped_column(Integer, default=20)
    #: None: callers wait as long as they like (the API proposes 600).
    max_wait_seconds: Mapped[int | None] = mapped_column(Integer)
    #: ``[{"skill": name, "level": 1-10}]``: what every contact of the queue needs.
    required_skills: Mapped[list[Any]] = mapped_column(default=list)
    ring_timeout_seconds: Mapped[int] = mapped_column(Integer, default=15)
    wrap_up_seconds: Mapped[int] = mapped_column(Integer, default=0)
    announce_every_seconds: Mapped[int | None] = mapped_column(Integer)
    max_length: Mapped[int | None] = mapped_column(Integer)
    #: What a contact that waited ``max_wait_seconds`` gets: busy, hang_up or overflow
    #: (into ``overflow_queue_id``).
    on_max_wait: Mapped[str] = mapped_column(String(16), default="busy")
    overflow_queue_id: Mapped[int | None] = mapped_column(
        ForeignKey("queues.id", ondelete="RESTRICT")
    )
    #: ``[{"after_seconds", "max_member_priority", "relax_levels", "include_pooled"}]``.
    tiers: Mapped[list[Any]] = mapped_column(default=list)
    #: Departments whose agents a tier with ``include_pooled`` may draw on.
    pooled_department_ids: Mapped[list[Any]] = mapped_column(default=list)
    #: always, on_demand (the agent starts it) or never (card payments, say).
    recording: Mapped[str] = mapped_column(String(16), default="always")
    #: The IVR flow that asks the queue's callers for a score after the agent hangs up.
    survey_flow: Mapped[str | None] = mapped_column(String(100))
    #: The language its recorded calls are transcribed in ("zh", "en"); None: the QA
    #: module's setting (``qa.language``, detected per call when "auto").
    qa_language: Mapped[str | None] = mapped_column(String(8))


class Trunk(Base):
    __tablename__ = "trunks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=5060)
    transport: Mapped[str] = mapped_column(String(8), default="udp")
    username: Mapped[str | None] = mapped_column(String(100))
    max_channels: Mapped[int] = mapped_column(Integer, default=30)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Digest credentials towards the carrier: the node must answer challenges with it, so
    # it is stored as given (like a webhook secret), write-only in the API, redacted in audit.
    password: Mapped[str | None] = mapped_column(String(200))
    # The fields of ``calls.trunks.TrunkConfig`` an operator sets per trunk.
    priority: Mapped[int] = mapped_column(Integer, default=0)
    weight: Mapped[int] = mapped_column(Integer, default=1)
    dial_format: Mapped[str] = mapped_column(String(16), default="national")
    caller_id: Mapped[str | None] = mapped_column(String(64))

    @property
    def has_password(self) -> bool:
        return bool(self.password)


class TrunkGroup(Base):
    """Trunks that carry the same outbound calls, and how one is chosen (``TrunkGroupConfig``)."""

    __tablename__ = "trunk_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    strategy: Mapped[str] = mapped_column(String(32), default="priority")
    failover_on: Mapped[list[Any]] = mapped_column(default=list)
    members: Mapped[list[TrunkGroupMember]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="TrunkGroupMember.position"
    )

    @property
    def trunk_ids(self) -> list[int]:
        return [member.trunk_id for member in self.members]


class TrunkGroupMember(Base):
    """A trunk in a group; ``position`` keeps the order the operator gave."""

    __tablename__ = "trunk_group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("trunk_groups.id", ondelete="CASCADE"), primary_key=True
    )
    # A trunk still in a group cannot be deleted: the group would silently lose capacity.
    trunk_id: Mapped[int] = mapped_column(
        ForeignKey("trunks.id", ondelete="RESTRICT"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)


class BusinessHours(Base):
    """A calendar: weekly opening intervals plus dated exceptions (holidays)."""

    __tablename__ = "business_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    weekly: Mapped[list[Any]] = mapped_column(default=list)
    holidays: Mapped[list[Any]] = mapped_column(default=list)


class IvrFlow(Base):
    """A named flow; its definitions are immutable versions, and one is published."""

    __tablename__ = "ivr_flows"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    published_version: Mapped[int | None] = mapped_column(Integer)


class IvrFlowVersion(Base):
    __tablename__ = "ivr_flow_versions"
    __table_args__ = (UniqueConstraint("flow_id", "version", name="uq_ivr_flow_versions_flow"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_id: Mapped[int] = mapped_column(ForeignKey("ivr_flows.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column()
    #: The YAML text the version was saved from, comments included (None when saved as JSON).
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class IvrFlowPilot(Base):
    """A department's calls run another version of a flow than the published one (a gray
    release); promoting the pilot publishes that version and deletes this row."""

    __tablename__ = "ivr_flow_pilots"
    __table_args__ = (UniqueConstraint("flow_id", "department_id", name="uq_ivr_flow_pilots_flow"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    flow_id: Mapped[int] = mapped_column(ForeignKey("ivr_flows.id", ondelete="CASCADE"))
    # A department that pilots a flow cannot be deleted: end the pilot first.
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class InboundRoute(Base):
    """Which DID (number dialled) goes where, optionally only from one trunk."""

    __tablename__ = "inbound_routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    did: Mapped[str] = mapped_column(String(64), unique=True)
    trunk_id: Mapped[int | None] = mapped_column(ForeignKey("trunks.id", ondelete="RESTRICT"))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(Integer)
    business_hours_id: Mapped[int | None] = mapped_column(
        ForeignKey("business_hours.id", ondelete="RESTRICT")
    )
    #: Where calls go outside business hours (None: to the same target, which is told the
    #: line is closed); ``closed_target_type`` "hangup" needs no id.
    closed_target_type: Mapped[str | None] = mapped_column(String(16))
    closed_target_id: Mapped[int | None] = mapped_column(Integer)
    #: The department that owns the route's calls: picks IVR pilot versions, scopes CDRs.
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT")
    )


class WrapUpCode(Base):
    __tablename__ = "wrapup_codes"
    __table_args__ = (UniqueConstraint("department_id", "code", name="uq_wrapup_codes_dept"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    code: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(200))


class Cdr(Base):
    """One finished call: written once when the call ends, never updated."""

    __tablename__ = "cdrs"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(128), unique=True)
    direction: Mapped[str] = mapped_column(String(8))
    caller: Mapped[str] = mapped_column(String(64), index=True)
    callee: Mapped[str] = mapped_column(String(64))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id", ondelete="SET NULL"))
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(index=True)
    answered_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime] = mapped_column()
    wait_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    talk_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    hold_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    disposition: Mapped[str] = mapped_column(String(16))
    wrapup_code: Mapped[str | None] = mapped_column(String(32))
    notes: Mapped[str | None] = mapped_column(Text)
    #: The whole record as the call layer folded it: agent legs, IVR flow and version,
    #: queues, hang-up side and cause, transfers, recording ids, survey answers.
    details: Mapped[dict[str, Any] | None] = mapped_column()


class QueueLogEntry(Base):
    """Every step of every contact (queued, offered, answered, abandoned, agent states)."""

    __tablename__ = "queue_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    call_id: Mapped[str | None] = mapped_column(String(128), index=True)
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("queues.id", ondelete="SET NULL"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    event: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Recording(Base):
    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(128), index=True)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    path: Mapped[str] = mapped_column(String(1024))
    media_type: Mapped[str] = mapped_column(String(64), default="audio/wav")
    started_at: Mapped[datetime] = mapped_column()
    duration_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64))
    #: "call" (a conversation, stereo) or "voicemail" (a caller's message, mono).
    kind: Mapped[str] = mapped_column(String(16), default="call", server_default="call", index=True)
    mailbox: Mapped[str | None] = mapped_column(String(64))  # for voicemail: whose it is


class Customer(Base):
    """CRM profile cache, looked up by caller number for the screen pop."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    external_id: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AuditEntry(Base):
    """Append-only: triggers in the migration refuse UPDATE and DELETE on every dialect."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    resource: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str | None] = mapped_column(String(64))
    department_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    client: Mapped[str | None] = mapped_column(String(64))


class ApiToken(Base):
    """A bearer token for integrations; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class Webhook(Base):
    """An outgoing subscription: events of the chosen types are POSTed, HMAC-signed.

    The secret is stored as given: the node needs it to sign every body (unlike a token,
    which is only ever compared).
    """

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    event_types: Mapped[list[Any]] = mapped_column(default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebhookDelivery(Base):
    """One attempt to deliver one event to one webhook: the delivery log."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), index=True
    )
    delivery_id: Mapped[str] = mapped_column(String(64), index=True)
    event_type: Mapped[str] = mapped_column(String(100))
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    succeeded: Mapped[bool] = mapped_column(Boolean)


class Campaign(Base):
    """An outbound campaign: whom it calls (its contacts), how (mode, pacing limits, AMD)
    and when (calling hours, retry rules); the runner dials the ``running`` ones."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    #: preview, progressive, predictive (agents take the calls) or robot (an IVR flow does).
    mode: Mapped[str] = mapped_column(String(16), default="progressive")
    #: draft, running, paused, stopped or completed (``hotline.store.campaigns``).
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    caller_id: Mapped[str | None] = mapped_column(String(64))
    #: A trunk group's name; None: the node's default group.
    trunk_group: Mapped[str | None] = mapped_column(String(100))
    #: The queue whose agents take the answered calls (None only for robot campaigns). A
    #: queue with campaigns cannot be deleted.
    queue_id: Mapped[int | None] = mapped_column(
        ForeignKey("queues.id", ondelete="RESTRICT"), index=True
    )
    #: The IVR flow a robot campaign runs on answered calls.
    flow: Mapped[str | None] = mapped_column(String(100))
    #: Abandoned / answered that predictive pacing keeps under (0.03: 3 %).
    abandon_target: Mapped[float] = mapped_column(Float, default=0.03)
    #: At most this many calls in progress per ready agent.
    max_ratio: Mapped[float] = mapped_column(Float, default=3.0)
    #: ``{"mon-fri": "09:00-20:00", ...}`` in the contact's time zone
    #: (``hotline.dialer.calling_hours``).
    calling_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Region for numbers without a country code, and the time zone of contacts without one.
    default_region: Mapped[str] = mapped_column(String(8), default="CN")
    default_time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    #: Per outcome, how often and when to call again (``hotline.dialer.retry_rules``).
    retry_rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    amd_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    #: What a detected machine gets: hangup, or message (``machine_message`` after the beep).
    machine_action: Mapped[str] = mapped_column(String(16), default="hangup")
    machine_message: Mapped[str | None] = mapped_column(Text)
    #: Played to an answered customer no agent takes within 2 s.
    abandon_message: Mapped[str | None] = mapped_column(Text)
    #: Played to the customer before the agent is connected.
    recording_notice: Mapped[str | None] = mapped_column(Text)
    #: Among running campaigns sharing agents, the higher is dialled first.
    priority: Mapped[int] = mapped_column(Integer, default=0)
    #: Calls a robot campaign keeps going at once (its trunk group's channels permitting).
    robot_lines: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CampaignContact(Base):
    """A person a campaign calls, with every number they may be reached on; deduplicated
    on ``primary_phone`` within the campaign."""

    __tablename__ = "campaign_contacts"
    __table_args__ = (
        UniqueConstraint("campaign_id", "primary_phone", name="uq_campaign_contacts_phone"),
        # The runner's query: a campaign's pending contacts that are due.
        Index("ix_campaign_contacts_due", "campaign_id", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), default="")
    #: E.164 numbers, the primary one first.
    phones: Mapped[list[Any]] = mapped_column(default=list)
    primary_phone: Mapped[str] = mapped_column(String(32))
    #: IANA zone the calling hours are read in; None: the campaign's default.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(128))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    #: The list's other columns, for the agent's screen and the robot's flow.
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: pending, dialling, done, exhausted (retries used up) or do_not_call.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    last_outcome: Mapped[str | None] = mapped_column(String(32))
    disposition: Mapped[str | None] = mapped_column(String(64))
    #: The line of the imported file the contact came from (first line, if merged).
    source_line: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CampaignAttempt(Base):
    """One call placed to a contact; ``call_id`` is the CDR's, so every attempt has its
    CDR once the call has ended."""

    __tablename__ = "campaign_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("campaign_contacts.id", ondelete="CASCADE"), index=True
    )
    call_id: Mapped[str] = mapped_column(String(128), unique=True)
    #: The number dialled (E.164).
    number: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column()
    connected_at: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    #: answered, busy, no_answer, machine, failed, abandoned, congestion, invalid_number,
    #: do_not_call; None while the call runs.
    outcome: Mapped[str | None] = mapped_column(String(32))
    amd_verdict: Mapped[str | None] = mapped_column(String(32))
    sip_status: Mapped[int | None] = mapped_column(Integer)
    #: The extension of the agent who took the call.
    agent: Mapped[str | None] = mapped_column(String(64))
    #: The agent's wrap-up code, or the dialler's own (``machine``, ``abandoned``).
    disposition: Mapped[str | None] = mapped_column(String(64))


class DoNotCallEntry(Base):
    """A number never to be dialled: by every campaign (``campaign_id`` NULL, the global
    list) or by one campaign.

    A unique constraint treats NULLs as distinct, so it would let the global list hold a
    number twice; a partial unique index on the number alone covers the global rows.
    """

    __tablename__ = "do_not_call"
    __table_args__ = (
        UniqueConstraint("number", "campaign_id", name="uq_do_not_call_number"),
        Index(
            "uq_do_not_call_global_number",
            "number",
            unique=True,
            sqlite_where=text("campaign_id IS NULL"),
            postgresql_where=text("campaign_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32))
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str | None] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: The username who added it (None: the dialler, on a customer's request in a call).
    added_by: Mapped[str | None] = mapped_column(String(64))


class CampaignLending(Base):
    """A department's agents lent to a campaign from ``starts_at`` to ``ends_at`` (the low
    season's sales drive): meanwhile they are members of the campaign's queue at
    ``member_priority``, after their own queues (member priority 0), so an inbound call
    still goes to them first and the campaign takes the time between."""

    __tablename__ = "campaign_lendings"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    member_priority: Mapped[int] = mapped_column(Integer, default=1)
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))


class ModuleSwitch(Base):
    """An optional module switched off (or back on) from the admin console. No row: the
    module runs as the node's settings say. Kept in the store so that the switch holds
    across restarts and for every node sharing the database."""

    __tablename__ = "module_switches"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    changed_by: Mapped[str | None] = mapped_column(String(64))


class QaJob(Base):
    """One recording's speech analysis (docs/qa.md), queued when the recording is saved and
    claimed by the node's QA workers: ``queued`` → ``running`` → ``done``, or back to
    ``queued`` with ``next_attempt_at`` after a failed try, ``failed`` for a recording that
    can never be read (broken WAV) and ``dead`` after the last try; ``error`` says why.

    Keyed on the recording's own id (the stem of its file name), not on the recordings
    row: the call history writes that row in batches, possibly after the job is queued.
    """

    __tablename__ = "qa_jobs"
    __table_args__ = (Index("ix_qa_jobs_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[str] = mapped_column(String(128), unique=True)
    call_id: Mapped[str | None] = mapped_column(String(128))
    #: The queue the call was in when recorded (by name: the language it is analysed in is
    #: that queue's ``qa_language`` at the time of the analysis).
    queue: Mapped[str | None] = mapped_column(String(100))
    #: The WAV file, relative to the node's recordings directory.
    path: Mapped[str] = mapped_column(String(1024))
    #: "call" (stereo: customer left, agent right) or "voicemail" (mono).
    kind: Mapped[str] = mapped_column(String(16), default="call")
    #: When the recording started (what ``hotline qa reanalyze --since`` selects on).
    recorded_at: Mapped[datetime] = mapped_column(index=True)
    #: queued, running, done, failed, dead.
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    error: Mapped[str | None] = mapped_column(Text)
    #: 0..1 while running (audio seconds transcribed / seconds in the recording).
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class QaResult(Base):
    """What the analysis of one recording found: the transcript (segments per speaker with
    word timestamps), the per-call metrics (talk time, silence, over-talk, speech rate) and
    the engine that made them. Replaced whole when the recording is analysed again."""

    __tablename__ = "qa_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[str] = mapped_column(String(128), unique=True)
    #: The call's language as detected or forced ("zh", "en", ...).
    language: Mapped[str | None] = mapped_column(String(16))
    #: [{"speaker", "start", "end", "text", "words": [{"start", "end", "text", "probability"}]}]
    segments: Mapped[list[Any]] = mapped_column(default=list)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: What was read from the words: {"sentiment": ..., "categories": [...], "pii": [...],
    #: "agitation": ...} (docs/qa.md); empty for results of before migration 0012.
    analytics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    engine: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    audio_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    processing_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    analysed_at: Mapped[datetime] = mapped_column(default=utcnow)


class QaScorecard(Base):
    """A QA scorecard (docs/qa-scorecards.md): weighted items, each tied to a rule category,
    a metric threshold or a sentiment condition (``hotline.qa.scorecards``), graded on every
    analysed call of the queues it applies to while ``active``."""

    __tablename__ = "qa_scorecards"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Queue ids it applies to; null: every call.
    queue_ids: Mapped[list[Any] | None] = mapped_column()
    #: [{"key", "label", "kind", "weight", "critical", "params"}]
    items: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(64))


class QaScore(Base):
    """One call graded with one scorecard: the automatic score, and the final one after a
    reviewer's override (``status`` auto → reviewed, disputed → resolved). ``final_score``
    (0..100, null when no item could be judged) is what search and reports filter on."""

    __tablename__ = "qa_scores"
    __table_args__ = (
        UniqueConstraint("recording_id", "scorecard_id", name="uq_qa_scores_recording_card"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[str] = mapped_column(String(128), index=True)
    call_id: Mapped[str | None] = mapped_column(String(128), index=True)
    scorecard_id: Mapped[int] = mapped_column(
        ForeignKey("qa_scorecards.id", ondelete="RESTRICT"), index=True
    )
    scorecard_name: Mapped[str] = mapped_column(String(100))
    auto_score: Mapped[float | None] = mapped_column(Float)
    final_score: Mapped[float | None] = mapped_column(Float, index=True)
    #: The items as graded (``ItemScore.to_dict()``), with a reviewer's overrides applied
    #: (``auto_outcome`` keeps what the machine said).
    items: Mapped[list[Any]] = mapped_column(default=list)
    #: auto, reviewed, disputed, resolved.
    status: Mapped[str] = mapped_column(String(16), default="auto", index=True)
    reviewer: Mapped[str | None] = mapped_column(String(64))
    agent_id: Mapped[int | None] = mapped_column(Integer, index=True)
    agent_username: Mapped[str | None] = mapped_column(String(64))
    queue_id: Mapped[int | None] = mapped_column(Integer)
    queue: Mapped[str | None] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: When the call started (what reports and ``?from=&to=`` select on).
    started_at: Mapped[datetime] = mapped_column(index=True)
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column()


class QaReview(Base):
    """Every human change to a score (override, dispute, resolution), never updated."""

    __tablename__ = "qa_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    score_id: Mapped[int] = mapped_column(
        ForeignKey("qa_scores.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(64))
    #: override, dispute, resolve.
    action: Mapped[str] = mapped_column(String(16))
    #: The item overridden; null for the total or a dispute of the whole score.
    item_key: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)
    comment: Mapped[str] = mapped_column(Text)
