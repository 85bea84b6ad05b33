"""What the node's user agent tells the B2BUA about its calls: one frozen dataclass per
happening, and the :data:`CallEvent` union that ``UserAgent.handle_event`` and
``UserAgent.handle_timer`` return.

They sit one layer above ``sip/events.py`` (the endpoint's transaction events): the user
agent translates those into these. Both sides of a call (the calls we answer and the calls
we place) and the OPTIONS probes report here, so the B2BUA matches on one union.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.sip.message import Request
from hotline.sip.uri import Uri


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """A new INVITE: answer with ``ring``/``answer``/``reject``. ``offer`` is its SDP body."""

    call_id: str
    request: Request
    offer: bytes


@dataclass(frozen=True, slots=True)
class CallConfirmed:
    """The ACK of our 2xx arrived: media may flow both ways."""

    call_id: str


@dataclass(frozen=True, slots=True)
class OfferReceived:
    """A re-INVITE (hold, resume, codec change): answer it with ``answer`` again."""

    call_id: str
    request: Request
    offer: bytes


@dataclass(frozen=True, slots=True)
class ReferReceived:
    """An in-dialog REFER (the phone's transfer): answer with ``answer_refer``, then report
    with ``notify_refer``. ``target`` is the Refer-To URI without its headers; ``replaces``
    says it carried a ``Replaces`` header (attended transfer between two dialogs)."""

    call_id: str
    request: Request
    target: Uri
    replaces: bool


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The call is over. ``reason``: "bye" (remote), "hangup" (us), "cancelled", "rejected",
    "timeout" (no ACK, or our BYE unanswered), "expired" (no session refresh, RFC 4028)."""

    call_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class OutgoingProgress:
    """A provisional answer (180 ringing, 183 with early media) to a call we placed."""

    call_id: str
    status: int
    sdp: bytes


@dataclass(frozen=True, slots=True)
class OutgoingAnswered:
    """A call we placed was answered (2xx); the ACK is already on its way."""

    call_id: str
    answer: bytes


@dataclass(frozen=True, slots=True)
class OutgoingFailed:
    """A call we placed ended before it was answered: its final status (408 for no answer
    within Timer B, 503 when the transport failed, 487 after our CANCEL). Sent once."""

    call_id: str
    status: int
    reason: str


@dataclass(frozen=True, slots=True)
class OptionsAnswered:
    """The outcome of an OPTIONS we sent with :meth:`UserAgent.send_options` (a trunk's
    health probe): its final status, or None when no answer came (Timer F) or the transport
    failed."""

    probe_id: str
    status: int | None


CallEvent = (
    IncomingCall
    | CallConfirmed
    | OfferReceived
    | CallEnded
    | OutgoingProgress
    | OutgoingAnswered
    | OutgoingFailed
    | OptionsAnswered
    | ReferReceived
)
