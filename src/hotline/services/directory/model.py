"""What a node's directory is made of, as the values its cores take: the result of a load
(:class:`Directory`, with the :class:`FlowPilot` gray releases) and the settings' part that
every load starts from (:class:`Bootstrap`).

Plain frozen values, in a module of their own: the builder makes them, the loader returns
them, the live directory applies them, and all three import them from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from hotline.acd import AgentProfile, QueueConfig
from hotline.calls.hours import Calendar
from hotline.calls.recording import RecordingMode
from hotline.calls.routing import InboundRoute
from hotline.calls.trunks import TrunkConfig, TrunkGroupConfig
from hotline.ivr.flow import Flow


@dataclass(frozen=True)
class Directory:
    """Everything a node routes calls with, as the values its cores take."""

    queues: tuple[QueueConfig, ...] = ()
    agents: tuple[AgentProfile, ...] = ()
    routes: tuple[InboundRoute, ...] = ()
    calendars: Mapping[str, Calendar] = field(default_factory=dict)
    #: Published version of each flow.
    flows: tuple[Flow, ...] = ()
    recording: Mapping[str, RecordingMode] = field(default_factory=dict)
    #: Queue -> the flow that surveys its callers after the agent hangs up.
    survey_flows: Mapping[str, str] = field(default_factory=dict)
    #: Queue -> the language its calls are analysed in, where the queue forces one.
    qa_languages: Mapping[str, str] = field(default_factory=dict)
    #: Rows left out, each with the reason, for the operator's log.
    problems: tuple[str, ...] = ()
    #: Phone accounts the registrar accepts: username -> {algorithm: HA1}, settings' first.
    accounts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    #: Carrier trunks (enabled ones) and trunk groups, settings' first.
    trunks: tuple[TrunkConfig, ...] = ()
    trunk_groups: tuple[TrunkGroupConfig, ...] = ()
    #: Departments piloting another version of a flow than the published one.
    pilots: tuple[FlowPilot, ...] = ()
    #: When this directory changes by itself (Unix time): the next start or end of a
    #: lending of agents to a campaign. None: not before the store changes.
    next_change: float | None = None


@dataclass(frozen=True)
class FlowPilot:
    """Calls on routes owned by ``department`` run this version of the flow (a gray
    release); everyone else runs the published one."""

    department: str
    flow: Flow


@dataclass(frozen=True)
class Bootstrap:
    """What a node has from its settings besides the database: its SIP realm, settings'
    phone accounts (``sip.users``) and trunks. They always apply and win a name clash."""

    realm: str = "hotline"
    accounts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    trunks: tuple[TrunkConfig, ...] = ()
    trunk_groups: tuple[TrunkGroupConfig, ...] = ()
