"""The server-side user agent that ``calls/`` (the B2BUA) builds on: typed events up,
commands down, no callbacks.

Feed it the endpoint's events with :meth:`UserAgent.handle_event`; it answers what it can
alone (CANCEL bookkeeping, BYE, ACK matching, in-dialog CSeq checks, 481 outside dialogs)
and returns :class:`CallEvent` objects for the decisions that are the B2BUA's: an incoming
call to accept, reject or answer, a re-INVITE offer, the end of a call. Commands
(:meth:`ring`, :meth:`answer`, :meth:`reject`, :meth:`hangup`) produce messages through the
endpoint. Calls are keyed by Call-ID: a UAS leg has one dialog.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from hotline.sip.dialog import Dialog, DialogState
from hotline.sip.endpoint import SipEndpoint
from hotline.sip.errors import LocalProtocolError
from hotline.sip.events import (
    AckReceived,
    CancelReceived,
    Event,
    RequestReceived,
    ResponseReceived,
    TransactionTimedOut,
)
from hotline.sip.message import Request, make_response


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
class CallEnded:
    """The call is over. ``reason``: "bye" (remote), "hangup" (us), "cancelled", "rejected",
    "timeout" (no ACK, or our BYE unanswered)."""

    call_id: str
    reason: str


CallEvent = IncomingCall | CallConfirmed | OfferReceived | CallEnded


@dataclass
class _Leg:
    transaction_id: str
    request: Request
    local_tag: str
    source: tuple[str, int]
    transport: str
    dialog: Dialog | None = None
    answered: bool = False
    pending_offer_transaction: str | None = None


@dataclass
class UserAgent:
    endpoint: SipEndpoint
    contact: str
    make_tag: Callable[[], str] = field(default=lambda: secrets.token_hex(6))
    legs: dict[str, _Leg] = field(default_factory=dict)
    _byes: dict[str, str] = field(default_factory=dict)  # BYE transaction id -> call id

    # -- events up --------------------------------------------------------------------
    def handle_event(self, event: Event, now: float) -> list[CallEvent]:
        if isinstance(event, RequestReceived):
            return self._request(event, now)
        if isinstance(event, AckReceived):
            leg = self.legs.get(event.request.call_id)
            if leg is not None and leg.dialog is not None and leg.answered:
                return [CallConfirmed(leg.request.call_id)]
            return []
        if isinstance(event, CancelReceived):
            leg = self.legs.get(event.request.call_id)
            if leg is not None and not leg.answered:
                response = make_response(leg.request, 487, to_tag=leg.local_tag)
                self.endpoint.respond(leg.transaction_id, response, now)
                del self.legs[event.request.call_id]
                return [CallEnded(event.request.call_id, "cancelled")]
            return []
        if isinstance(event, ResponseReceived) and event.transaction_id in self._byes:
            if event.response.status >= 200:
                call_id = self._byes.pop(event.transaction_id)
                ended = self.legs.pop(call_id, None) is not None
                return [CallEnded(call_id, "hangup")] if ended else []
            return []
        if isinstance(event, TransactionTimedOut):
            call_id = self._byes.pop(event.transaction_id, event.request.call_id)
            if self.legs.pop(call_id, None) is not None:
                return [CallEnded(call_id, "timeout")]
        return []

    def _request(self, event: RequestReceived, now: float) -> list[CallEvent]:
        request = event.request
        call_id = request.call_id
        leg = self.legs.get(call_id)
        respond = self.endpoint.respond
        tid = event.transaction_id
        if request.to.tag is None:
            if request.method != "INVITE":
                return []  # out-of-dialog requests other than INVITE are not calls
            tag = self.make_tag()
            self.legs[call_id] = _Leg(tid, request, tag, event.source, event.transport)
            return [IncomingCall(call_id, request, request.body)]
        if leg is None or leg.dialog is None or not leg.dialog.matches(request):
            respond(tid, make_response(request, 481), now)
            return []
        refused = leg.dialog.receive_request(request)
        if refused is not None:
            respond(tid, make_response(request, refused), now)
            return []
        if request.method == "BYE":
            respond(tid, make_response(request, 200), now)
            del self.legs[call_id]
            return [CallEnded(call_id, "bye")]
        if request.method == "INVITE":
            leg.pending_offer_transaction = tid
            leg.request = request
            return [OfferReceived(call_id, request, request.body)]
        respond(tid, make_response(request, 200), now)  # INFO, UPDATE without body, …
        return []

    # -- commands down ------------------------------------------------------------------
    def ring(self, call_id: str, now: float) -> None:
        leg = self._leg(call_id)
        response = make_response(leg.request, 180, to_tag=leg.local_tag)
        self.endpoint.respond(leg.transaction_id, response, now)

    def answer(self, call_id: str, answer_sdp: bytes, now: float) -> None:
        """200 with our SDP to the INVITE, or to the pending re-INVITE."""
        leg = self._leg(call_id)
        headers = [("Contact", self.contact), ("Content-Type", "application/sdp")]
        if leg.pending_offer_transaction is not None:
            response = make_response(leg.request, 200, headers=headers, body=answer_sdp)
            self.endpoint.respond(leg.pending_offer_transaction, response, now)
            leg.pending_offer_transaction = None
            if leg.dialog is not None:
                leg.dialog.answered_reinvite()
            return
        if leg.answered:
            raise LocalProtocolError(f"call {call_id} is already answered")
        response = make_response(
            leg.request, 200, to_tag=leg.local_tag, headers=headers, body=answer_sdp
        )
        leg.dialog = Dialog.for_uas(leg.request, response)
        leg.answered = True
        self.endpoint.respond(leg.transaction_id, response, now)

    def reject(self, call_id: str, status: int, now: float, reason: str | None = None) -> None:
        leg = self._leg(call_id)
        if leg.answered:
            raise LocalProtocolError(f"call {call_id} is answered: hang up instead")
        if not 300 <= status <= 699:
            raise LocalProtocolError(f"reject needs a 3xx-6xx status, not {status}")
        response = make_response(leg.request, status, reason, to_tag=leg.local_tag)
        self.endpoint.respond(leg.transaction_id, response, now)
        del self.legs[call_id]

    def hangup(self, call_id: str, now: float) -> None:
        """BYE an answered call (the CallEnded comes with the BYE's final response)."""
        leg = self._leg(call_id)
        if leg.dialog is None or leg.dialog.state is DialogState.TERMINATED:
            raise LocalProtocolError(f"call {call_id} has no dialog to end")
        bye = leg.dialog.create_request("BYE")
        target = leg.dialog.remote_target
        destination = (target.host, target.port or 5060)
        if leg.transport != "UDP":
            destination = leg.source  # reuse the caller's connection
        transaction_id = self.endpoint.send_request(bye, destination, leg.transport, now)
        self._byes[transaction_id] = call_id

    def _leg(self, call_id: str) -> _Leg:
        leg = self.legs.get(call_id)
        if leg is None:
            raise LocalProtocolError(f"no call {call_id}")
        return leg
