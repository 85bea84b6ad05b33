"""The node's user agent, the transaction user that ``calls/`` (the B2BUA) builds on: typed
events up, commands down, no callbacks.

Feed it the endpoint's events with :meth:`UserAgent.handle_event`; it answers what it can
alone (CANCEL bookkeeping, BYE, ACK matching, in-dialog CSeq checks, 481 outside dialogs)
and returns :class:`~hotline.sip.call_events.CallEvent` objects for the decisions that are
the B2BUA's: an incoming call to accept, reject or answer, a re-INVITE offer, a transfer,
the end of a call. Commands (:meth:`ring`, :meth:`answer`, :meth:`reject`, :meth:`hangup`,
the REFER answers) produce messages through the endpoint. Calls are keyed by Call-ID: a
leg has one dialog.

This module owns the calls we answer (UAS) and what happens within every dialog, ours or
theirs. Setting up the calls we place is ``sip/outgoing_calls.py``, OPTIONS probes are
``sip/options_probes.py``, session expiry is ``sip/session_timer.py``; the user agent routes
their events to them and keeps one API for the B2BUA.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hotline.sip.call_events import (
    CallConfirmed,
    CallEnded,
    CallEvent,
    IncomingCall,
    OfferReceived,
    ReferReceived,
)
from hotline.sip.call_leg import CallLeg
from hotline.sip.dialog import Dialog, DialogState
from hotline.sip.endpoint import SipEndpoint
from hotline.sip.errors import LocalProtocolError, RemoteProtocolError
from hotline.sip.events import (
    AckReceived,
    Address,
    CancelReceived,
    Event,
    RequestReceived,
    ResponseReceived,
    TransactionTimedOut,
    TransportFailed,
)
from hotline.sip.headers import NameAddress
from hotline.sip.message import Request, make_response
from hotline.sip.options_probes import OptionsProbes
from hotline.sip.outgoing_calls import OutgoingCalls
from hotline.sip.registrar import Registrar
from hotline.sip.uas import respond_out_of_dialog


@dataclass
class UserAgent:
    endpoint: SipEndpoint
    contact: str
    make_tag: Callable[[], str] = field(default=lambda: secrets.token_hex(6))
    registrar: Registrar | None = None
    legs: dict[str, CallLeg] = field(default_factory=dict)
    _byes: dict[str, str] = field(default_factory=dict)  # BYE transaction id -> call id
    _notifies: set[str] = field(default_factory=set)  # our NOTIFYs' transaction ids
    _outgoing: OutgoingCalls = field(init=False)  # shares ``legs``
    _probes: OptionsProbes = field(init=False)

    def __post_init__(self) -> None:
        self._outgoing = OutgoingCalls(self.endpoint, self.make_tag, self.legs)
        self._probes = OptionsProbes(self.endpoint, self.make_tag)

    # -- events up --------------------------------------------------------------------
    def handle_event(self, event: Event, now: float) -> list[CallEvent]:
        if self._probes.owns(event):
            return self._probes.outcome(event)
        if isinstance(event, RequestReceived):
            return self._request(event, now)
        if isinstance(event, ResponseReceived) and self._outgoing.is_invite(event.transaction_id):
            assert event.transaction_id is not None
            return self._outgoing.response(event.transaction_id, event.response, now)
        if isinstance(event, ResponseReceived) and event.transaction_id is None:
            return self._outgoing.stray_2xx(event.response, now)
        if isinstance(event, TransactionTimedOut | TransportFailed) and (
            self._outgoing.is_invite(event.transaction_id)
        ):
            return self._outgoing.transaction_ended(event)
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
        if isinstance(event, ResponseReceived | TransactionTimedOut | TransportFailed) and (
            event.transaction_id in self._notifies
        ):
            # A lost NOTIFY only leaves the phone unsure how its transfer went; the call
            # itself goes on (or has already ended by our BYE).
            if not isinstance(event, ResponseReceived) or event.response.status >= 200:
                self._notifies.discard(event.transaction_id)
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
                respond_out_of_dialog(self.endpoint, self.registrar, event, now, self.make_tag)
                return []
            tag = self.make_tag()
            self.legs[call_id] = CallLeg(tid, request, tag, event.source, event.transport)
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
        if request.method in ("INVITE", "UPDATE"):
            leg.session.refresh(request, now)
        if request.method == "INVITE":
            leg.pending_offer_transaction = tid
            leg.request = request
            return [OfferReceived(call_id, request, request.body)]
        if request.method == "REFER":
            return self._refer(leg, request, tid, now)
        respond(tid, make_response(request, 200), now)  # INFO, UPDATE without body, …
        return []

    def _refer(self, leg: CallLeg, request: Request, tid: str, now: float) -> list[CallEvent]:
        """§2.4.1 of RFC 3515: exactly one Refer-To; one transfer at a time per dialog."""
        values = request.get_all("Refer-To")  # compact "r" is canonicalised on parse
        if len(values) != 1:
            self.endpoint.respond(tid, make_response(request, 400, "Bad Refer-To"), now)
            return []
        try:
            target = NameAddress.parse(values[0], "Refer-To").uri
        except RemoteProtocolError:
            target = None
        if target is None or not target.is_sip or not target.user:
            self.endpoint.respond(tid, make_response(request, 400, "Bad Refer-To"), now)
            return []
        if leg.pending_refer is not None:
            self.endpoint.respond(tid, make_response(request, 491), now)
            return []
        leg.pending_refer = (tid, request)
        replaces = any(name.lower() == "replaces" for name, _ in target.headers)
        return [ReferReceived(request.call_id, request, target.without_headers(), replaces)]

    # -- commands down ------------------------------------------------------------------
    def answer_refer(
        self, call_id: str, status: int, now: float, reason: str | None = None
    ) -> None:
        """The final answer to the pending REFER: 202 to take the transfer on, or a
        refusal (403, 404, 488…) that leaves the call as it was."""
        leg = self._leg(call_id)
        if leg.pending_refer is None:
            raise LocalProtocolError(f"call {call_id} has no REFER to answer")
        (tid, refer), leg.pending_refer = leg.pending_refer, None
        self.endpoint.respond(tid, make_response(refer, status, reason), now)

    def notify_refer(
        self, call_id: str, status: int, reason: str, now: float, *, final: bool = True
    ) -> None:
        """NOTIFY the referrer how its transfer went (RFC 3515 §2.4.4): ``status`` and
        ``reason`` become the ``message/sipfrag`` status line; a final one ends the
        implicit subscription."""
        leg = self._leg(call_id)
        if leg.dialog is None or leg.dialog.state is DialogState.TERMINATED:
            raise LocalProtocolError(f"call {call_id} has no dialog to notify in")
        state = "terminated;reason=noresource" if final else "active;expires=60"
        notify = leg.dialog.create_request(
            "NOTIFY",
            headers=[
                ("Event", "refer"),
                ("Subscription-State", state),
                ("Contact", self.contact),
                ("Content-Type", "message/sipfrag;version=2.0"),
            ],
            body=f"SIP/2.0 {status} {reason}\r\n".encode(),
        )
        tid = self.endpoint.send_request(notify, leg.dialog_destination(), leg.transport, now)
        self._notifies.add(tid)

    def ring(self, call_id: str, now: float) -> None:
        leg = self._leg(call_id)
        response = make_response(leg.request, 180, to_tag=leg.local_tag)
        self.endpoint.respond(leg.transaction_id, response, now)

    def answer(self, call_id: str, answer_sdp: bytes, now: float) -> None:
        """200 with our SDP to the INVITE, or to the pending re-INVITE."""
        leg = self._leg(call_id)
        headers = [("Contact", self.contact), ("Content-Type", "application/sdp")]
        if leg.pending_offer_transaction is not None:
            if leg.session.interval is not None:
                headers += leg.session.answer_headers(leg.request, now)
            response = make_response(leg.request, 200, headers=headers, body=answer_sdp)
            self.endpoint.respond(leg.pending_offer_transaction, response, now)
            leg.pending_offer_transaction = None
            if leg.dialog is not None:
                leg.dialog.answered_reinvite()
            return
        if leg.answered:
            raise LocalProtocolError(f"call {call_id} is already answered")
        headers += leg.session.answer_headers(leg.request, now)
        response = make_response(
            leg.request, 200, to_tag=leg.local_tag, headers=headers, body=answer_sdp
        )
        leg.dialog = Dialog.for_uas(leg.request, response)
        leg.answered = True
        self.endpoint.respond(leg.transaction_id, response, now)

    def reject(self, call_id: str, status: int, now: float, reason: str | None = None) -> None:
        leg = self._leg(call_id)
        if leg.outgoing:
            raise LocalProtocolError(f"call {call_id} is ours: cancel it instead")
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
        # Reuse the caller's connection; for our own calls, the address we reached the
        # phone at (its registration's source: right behind NAT, too).
        destination = leg.dialog_destination()
        transaction_id = self.endpoint.send_request(bye, destination, leg.transport, now)
        self._byes[transaction_id] = call_id

    # -- session timers (RFC 4028) --------------------------------------------------------
    def next_timer(self) -> float | None:
        """When :meth:`handle_timer` has a session to end (None: no session timer runs)."""
        deadlines = [leg.session.deadline for leg in self.legs.values() if leg.session.deadline]
        return min(deadlines) if deadlines else None

    def handle_timer(self, now: float) -> list[CallEvent]:
        """End calls whose refresher went quiet (§10: the other side sends a BYE). The call
        is reported ended at once, as "expired"; the BYE's answer adds nothing."""
        ended: list[CallEvent] = []
        for call_id, leg in list(self.legs.items()):
            if leg.session.deadline is None or leg.session.deadline > now:
                continue
            leg.session.deadline = None
            if leg.dialog is not None and leg.dialog.state is not DialogState.TERMINATED:
                self.hangup(call_id, now)
            for transaction_id in [t for t, c in self._byes.items() if c == call_id]:
                del self._byes[transaction_id]
            del self.legs[call_id]
            ended.append(CallEnded(call_id, "expired"))
        return ended

    # -- OPTIONS probes (trunk health) ----------------------------------------------------
    def send_options(
        self,
        *,
        request_uri: str,
        destination: Address,
        transport: str,
        from_uri: str,
        now: float,
    ) -> str:
        """Send an out-of-dialog OPTIONS (RFC 3261 §11); returns its probe id. The outcome
        comes once as :class:`~hotline.sip.call_events.OptionsAnswered`."""
        return self._probes.send(
            request_uri=request_uri,
            destination=destination,
            transport=transport,
            from_uri=from_uri,
            now=now,
        )

    # -- calls we place (UAC) -------------------------------------------------------------
    def invite(
        self,
        *,
        request_uri: str,
        destination: Address,
        transport: str,
        from_uri: str,
        to_uri: str,
        offer: bytes,
        now: float,
        call_id: str | None = None,
        extra_headers: Sequence[tuple[str, str]] = (),
        credentials: tuple[str, str] | None = None,
    ) -> str:
        """Place a call (INVITE with our SDP offer, our :attr:`contact`); returns its
        Call-ID. What follows comes as OutgoingProgress, then OutgoingAnswered or
        OutgoingFailed."""
        return self._outgoing.invite(
            contact=self.contact,
            request_uri=request_uri,
            destination=destination,
            transport=transport,
            from_uri=from_uri,
            to_uri=to_uri,
            offer=offer,
            now=now,
            call_id=call_id,
            extra_headers=extra_headers,
            credentials=credentials,
        )

    def cancel(self, call_id: str, now: float) -> None:
        """Stop ringing a call we placed (§9.1: see :meth:`OutgoingCalls.cancel`)."""
        self._outgoing.cancel(self._leg(call_id), now)

    def _leg(self, call_id: str) -> CallLeg:
        leg = self.legs.get(call_id)
        if leg is None:
            raise LocalProtocolError(f"no call {call_id}")
        return leg
