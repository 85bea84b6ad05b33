"""Events the IVR puts on the bus: the IVR log that reports and dashboards read.

Digits a caller keys in are never copied here (card and ID numbers pass through IVRs); only
how many were entered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from hotline.events import Event


@dataclass(frozen=True, slots=True, kw_only=True)
class IvrNodeEntered(Event):
    """A call reached a node of a flow."""

    type_name: ClassVar[str] = "ivr.node_entered"
    call_id: str
    flow: str
    version: int
    node: str
    node_type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IvrInputRejected(Event):
    """The caller's input at a node was invalid or missing (why menus fail, per node)."""

    type_name: ClassVar[str] = "ivr.input_rejected"
    call_id: str
    flow: str
    node: str
    reason: Literal["invalid", "timeout", "no_match"]
    attempt: int


@dataclass(frozen=True, slots=True, kw_only=True)
class IvrLookupFailed(Event):
    """An HTTP look-up into a customer's system failed and the flow took its fallback."""

    type_name: ClassVar[str] = "ivr.lookup_failed"
    call_id: str
    flow: str
    node: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IvrFinished(Event):
    """The flow ended for this call, and how."""

    type_name: ClassVar[str] = "ivr.finished"
    call_id: str
    flow: str
    version: int
    node: str
    outcome: Literal["queued", "transferred", "hung_up", "caller_hung_up", "failed"]
    detail: str = ""
