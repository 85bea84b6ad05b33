"""The per-call state that the parts of the telephony runtime share, and the one way back
into the runtime they have.

A leg (``LegState``) is one SIP dialog and its media endpoint; a call (``CallState``) is
the customer call its legs belong to, with its job queue, IVR session, tasks and running
recording. ``CallTable`` holds both for the node and hands out new call ids. Every part
(SIP signalling, the command executor, recording, the IVR port) reads and updates these
same objects, so they live here, below all of them.

``CallRuntime`` is what a part may ask of the facade (``Telephony``): hand an input to the
contact centre now, or queue a job on a call. Parts take it instead of the facade itself,
so none of them depends on the module that composes them.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from hotline.ivr.session import IvrSession
from hotline.media import engine as media
from hotline.services.contact_center import Output
from hotline.services.mixing import CallMix

#: ``external``: the outside party of a transfer, dialled through a carrier trunk.
Role = Literal["customer", "agent", "consult", "third_party", "supervisor", "external"]
Job = Callable[[], Awaitable[None]]


@dataclass
class LegState:
    leg_id: str  # the SIP Call-ID of this leg
    call_id: str  # the customer call it belongs to
    role: Role
    offer: bytes = b""  # the customer's SDP offer
    endpoint: media.EndpointDescription | None = None
    ended: bool = False
    phone_held: bool = False  # the phone's last re-INVITE said sendonly/inactive


@dataclass
class CallState:
    call_id: str
    customer_leg: str
    language: str = "zh-CN"
    jobs: asyncio.Queue[Job] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None
    ivr: IvrSession | None = None
    ivr_task: asyncio.Task[None] | None = None
    prompt_task: asyncio.Task[None] | None = None
    recording: tuple[str, str, float] | None = None  # recording id, relative path, started
    department: str | None = None  # the call's, for the recordings it leaves
    queue: str | None = None  # the call's queue when its recording started
    trunk: str | None = None  # the carrier trunk of its customer (in or out), if any
    audio_task: asyncio.Task[None] | None = None  # listening to the caller (speech, voicemail)
    voicemails: int = 0
    voicemail_endpoint: str | None = None  # set while a voicemail is being recorded
    mix: CallMix | None = None  # its legs' mix in the engine (conference, supervisor)


class CallTable:
    """The legs and calls in progress on this node, by SIP Call-ID and by call id."""

    def __init__(self) -> None:
        self.legs: dict[str, LegState] = {}
        self.calls: dict[str, CallState] = {}
        self._ids = itertools.count(1)
        self._id_prefix = secrets.token_hex(3)

    def new_call_id(self) -> str:
        """A call id unique on this node (and, by its random prefix, across restarts)."""
        return f"{self._id_prefix}-{next(self._ids)}"

    def recording_call(self, recording_id: str) -> CallState | None:
        """The call whose running recording this is."""
        return next(
            (c for c in self.calls.values() if c.recording and c.recording[0] == recording_id),
            None,
        )

    def live_endpoint(self, leg_id: str) -> str | None:
        """The media endpoint of a leg that has not ended, if it has one."""
        leg = self.legs.get(leg_id)
        if leg is None or leg.endpoint is None or leg.ended:
            return None
        return leg.endpoint.endpoint_id

    def forget(self, call_id: str) -> None:
        """Drop a call that is over, and its legs."""
        self.calls.pop(call_id, None)
        for leg_id in [k for k, leg in self.legs.items() if leg.call_id == call_id]:
            del self.legs[leg_id]


class CallRuntime(Protocol):
    """What the parts may ask of the facade that composes them."""

    def decide(self, decision: Callable[[], list[Output]]) -> bool:
        """Ask the contact centre (synchronously, now) and carry out what it returns;
        False when it refused the input, so the caller can undo what the input assumed."""
        ...

    def submit(self, call: CallState, job: Job) -> None:
        """Run ``job`` on the call's job queue, after the call's earlier commands."""
        ...
