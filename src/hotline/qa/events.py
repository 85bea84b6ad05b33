"""What the speech analysis tells the rest of the node.

The QA pipeline publishes :class:`RecordingAnalysed` on the bus once a recording's findings
are committed, so that what builds on them (automatic scorecards, webhooks, the wallboard)
reads a stored result and never races the analysis.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hotline.events.base import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingAnalysed(Event):
    """A recording's analysis is stored (``qa_results`` row ``recording_id``)."""

    type_name: ClassVar[str] = "qa.recording_analysed"
    recording_id: str
    call_id: str | None
    language: str | None
    #: Names of the rule categories the call hit (``analytics["categories"]``).
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskAlertRaised(Event):
    """A live call's customer said something a risk rule catches (docs/qa-live-alerts.md):
    raised once per category per call, for supervisors (wallboard) and webhooks."""

    type_name: ClassVar[str] = "qa.risk_alert_raised"
    call_id: str
    queue: str
    agent: str | None
    #: The rule category, e.g. ``complaint``, ``legal_threat``, ``cancellation``.
    category: str
    #: What the customer said, as transcribed (the chunk that hit, with its lead-in).
    text: str
    #: When the words ended (Unix seconds): ``at - spoken_at`` is the alert's delay.
    spoken_at: float | None = None
    language: str | None = None
