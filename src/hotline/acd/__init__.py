"""Automatic call distribution as a pure core: queues, agents, skills, the agent state
machine, routing strategies, overflow, callbacks, wrap-up and live queue statistics.

It takes events with ``now`` and returns decisions; it never touches SIP or RTP. Policy
lives here, side effects in ``hotline.calls``. ``docs/acd.md`` describes the rules.
"""

from hotline.acd.config import AgentProfile, ExitAction, ExitKind, QueueConfig, Tier
from hotline.acd.distributor import Acd
from hotline.acd.errors import AcdError
from hotline.acd.queues import ContactState
from hotline.acd.skills import SkillRequirement
from hotline.acd.states import AgentInput, AgentState

__all__ = [
    "Acd",
    "AcdError",
    "AgentInput",
    "AgentProfile",
    "AgentState",
    "ContactState",
    "ExitAction",
    "ExitKind",
    "QueueConfig",
    "SkillRequirement",
    "Tier",
]
