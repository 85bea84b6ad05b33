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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hotline.sip.auth import retry_with_credentials
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
from hotline.sip.message import Request, Response, make_response
from hotline.sip.registrar import Registrar
from hotline.sip.uas import ALLOWED, respond_out_of_dialog
from hotline.sip.uri import Uri

#: RFC 4028 §5: the smallest session interval we accept (and the default Min-SE).
MIN_SE = 90


def _delta_seconds(value: str | None) -> int | None:
    """The delta-seconds of a ``Session-Expires``/``Min-SE`` value, None if absent or bad."""
    if value is None:
        return None
    head = value.split(";")[0].strip()
    return int(head) if head.isdigit() and len(head) < 10 else None


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

#: What we accept inside a dialog, advertised in our INVITEs: REFER lets phones transfer.
DIALOG_ALLOWED = (*ALLOWED, "REFER")


@dataclass
class _Leg:
    transaction_id: str
    request: Request
    local_tag: str
    source: tuple[str, int]  # where the peer is reached (for our own calls: where we sent)
    transport: str
    dialog: Dialog | None = None
    answered: bool = False
    pending_offer_transaction: str | None = None
    pending_refer: tuple[str, Request] | None = None  # transaction id, the REFER
    # -- calls we place (UAC) ----------------------------------------------------------
    outgoing: bool = False
    credentials: tuple[str, str] | None = None
    provisional: bool = False  # a 1xx arrived: a CANCEL may be sent (§9.1)
    cancelled: bool = False  # the caller asked us to cancel
    cancel_sent: bool = False
    # -- session timer (RFC 4028), when the peer asked for one ----------------------------
    session_interval: int | None = None
    session_deadline: float | None = None


@dataclass
class UserAgent:
    endpoint: SipEndpoint
    contact: str
    make_tag: Callable[[], str] = field(default=lambda: secrets.token_hex(6))
    registrar: Registrar | None = None
    legs: dict[str, _Leg] = field(default_factory=dict)
    _byes: dict[str, str] = field(default_factory=dict)  # BYE transaction id -> call id
    _invites: dict[str, str] = field(default_factory=dict)  # our INVITE's id -> call id
    _options: set[str] = field(default_factory=set)  # our OPTIONS transactions' ids
    _notifies: set[str] = field(default_factory=set)  # our NOTIFYs' transaction ids

    # -- events up --------------------------------------------------------------------
    def handle_event(self, event: Event, now: float) -> list[CallEvent]:
        if (
            self._options
            and isinstance(event, ResponseReceived | TransactionTimedOut | TransportFailed)
            and event.transaction_id in self._options
        ):
            return self._options_outcome(event)
        if isinstance(event, RequestReceived):
            return self._request(event, now)
        if isinstance(event, ResponseReceived) and event.transaction_id in self._invites:
            return self._invite_response(event.transaction_id, event.response, now)
        if isinstance(event, ResponseReceived) and event.transaction_id is None:
            return self._stray_2xx(event.response, now)
        if isinstance(event, TransactionTimedOut | TransportFailed) and (
            event.transaction_id in self._invites
        ):
            status = 408 if isinstance(event, TransactionTimedOut) else 503
            reason = "no final answer" if status == 408 else "transport failed"
            return self._outgoing_failed(self._invites.pop(event.transaction_id), status, reason)
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
        if request.method in ("INVITE", "UPDATE"):
            self._refresh_session(leg, request, now)
        if request.method == "INVITE":
            leg.pending_offer_transaction = tid
            leg.request = request
            return [OfferReceived(call_id, request, request.body)]
        if request.method == "REFER":
            return self._refer(leg, request, tid, now)
        respond(tid, make_response(request, 200), now)  # INFO, UPDATE without body, …
        return []

    def _refer(self, leg: _Leg, request: Request, tid: str, now: float) -> list[CallEvent]:
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
        tid = self.endpoint.send_request(notify, self._dialog_destination(leg), leg.transport, now)
        self._notifies.add(tid)

    def _dialog_destination(self, leg: _Leg) -> Address:
        """Where in-dialog requests go: the remote target, or for our own calls and
        connection transports the address the peer is reached at (NAT-safe)."""
        assert leg.dialog is not None
        target = leg.dialog.remote_target
        if leg.transport != "UDP" or leg.outgoing:
            return leg.source
        return (target.host, target.port or 5060)

    def ring(self, call_id: str, now: float) -> None:
        leg = self._leg(call_id)
        response = make_response(leg.request, 180, to_tag=leg.local_tag)
        self.endpoint.respond(leg.transaction_id, response, now)

    def answer(self, call_id: str, answer_sdp: bytes, now: float) -> None:
        """200 with our SDP to the INVITE, or to the pending re-INVITE."""
        leg = self._leg(call_id)
        headers = [("Contact", self.contact), ("Content-Type", "application/sdp")]
        if leg.pending_offer_transaction is not None:
            if leg.session_interval is not None:
                headers += self._session_timer_headers(leg, leg.request, now)
            response = make_response(leg.request, 200, headers=headers, body=answer_sdp)
            self.endpoint.respond(leg.pending_offer_transaction, response, now)
            leg.pending_offer_transaction = None
            if leg.dialog is not None:
                leg.dialog.answered_reinvite()
            return
        if leg.answered:
            raise LocalProtocolError(f"call {call_id} is already answered")
        headers += self._session_timer_headers(leg, leg.request, now)
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
        destination = self._dialog_destination(leg)
        transaction_id = self.endpoint.send_request(bye, destination, leg.transport, now)
        self._byes[transaction_id] = call_id

    # -- session timers (RFC 4028) --------------------------------------------------------
    def _session_timer_headers(
        self, leg: _Leg, request: Request, now: float
    ) -> list[tuple[str, str]]:
        """Honour a peer's ``Session-Expires``: it refreshes (``refresher=uac``), we end the
        call if no refresh comes in time. Without the header, no timer (not required)."""
        interval = _delta_seconds(request.get("Session-Expires"))
        if interval is None and leg.session_interval is None:
            return []
        interval = max(interval or leg.session_interval or MIN_SE, MIN_SE)
        leg.session_interval = interval
        leg.session_deadline = now + interval
        headers = [("Session-Expires", f"{interval};refresher=uac")]
        supported = ",".join(request.get_all("Supported")).replace(" ", "").split(",")
        if "timer" in supported:
            headers.append(("Require", "timer"))
        return headers

    def _refresh_session(self, leg: _Leg, request: Request, now: float) -> None:
        if leg.session_interval is not None:
            interval = _delta_seconds(request.get("Session-Expires")) or leg.session_interval
            leg.session_interval = max(interval, MIN_SE)
            leg.session_deadline = now + leg.session_interval

    def next_timer(self) -> float | None:
        """When :meth:`handle_timer` has a session to end (None: no session timer runs)."""
        deadlines = [leg.session_deadline for leg in self.legs.values() if leg.session_deadline]
        return min(deadlines) if deadlines else None

    def handle_timer(self, now: float) -> list[CallEvent]:
        """End calls whose refresher went quiet (§10: the other side sends a BYE). The call
        is reported ended at once, as "expired"; the BYE's answer adds nothing."""
        ended: list[CallEvent] = []
        for call_id, leg in list(self.legs.items()):
            if leg.session_deadline is None or leg.session_deadline > now:
                continue
            leg.session_deadline = None
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
        comes once as :class:`OptionsAnswered`."""
        headers = [
            ("From", f"<{from_uri}>;tag={self.make_tag()}"),
            ("To", f"<{request_uri}>"),
            ("Call-ID", f"{secrets.token_hex(8)}@hotline"),
            ("CSeq", "1 OPTIONS"),
            ("Max-Forwards", "70"),
            ("Accept", "application/sdp"),
        ]
        request = Request(headers=headers, method="OPTIONS", uri=Uri.parse(request_uri))
        transaction_id = self.endpoint.send_request(request, destination, transport.upper(), now)
        self._options.add(transaction_id)
        return transaction_id

    def _options_outcome(
        self, event: ResponseReceived | TransactionTimedOut | TransportFailed
    ) -> list[CallEvent]:
        assert event.transaction_id is not None
        if isinstance(event, ResponseReceived):
            if event.response.status < 200:
                return []  # 100 Trying to an OPTIONS: the final answer follows
            self._options.discard(event.transaction_id)
            return [OptionsAnswered(event.transaction_id, event.response.status)]
        self._options.discard(event.transaction_id)
        return [OptionsAnswered(event.transaction_id, None)]

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
        """Place a call (INVITE with our SDP offer); returns its Call-ID. What follows comes
        as OutgoingProgress, then OutgoingAnswered or OutgoingFailed."""
        call_id = call_id or f"{secrets.token_hex(8)}@hotline"
        if call_id in self.legs:
            raise LocalProtocolError(f"call {call_id} exists")
        tag = self.make_tag()
        headers = [
            ("From", f"<{from_uri}>;tag={tag}"),
            ("To", f"<{to_uri}>"),
            ("Call-ID", call_id),
            ("CSeq", "1 INVITE"),
            ("Max-Forwards", "70"),
            ("Contact", self.contact),
            ("Allow", ", ".join(DIALOG_ALLOWED)),
            *extra_headers,
        ]
        if offer:
            headers.append(("Content-Type", "application/sdp"))
        request = Request(headers=headers, body=offer, method="INVITE", uri=Uri.parse(request_uri))
        transport = transport.upper()
        transaction_id = self.endpoint.send_request(request, destination, transport, now)
        self.legs[call_id] = _Leg(
            transaction_id,
            request,
            tag,
            destination,
            transport,
            outgoing=True,
            credentials=credentials,
        )
        self._invites[transaction_id] = call_id
        return call_id

    def cancel(self, call_id: str, now: float) -> None:
        """Stop ringing a call we placed. The CANCEL goes out once a provisional answer
        arrived (§9.1); the call then ends with OutgoingFailed(487), or, if its 2xx crossed
        our CANCEL, it is ACKed, hung up and reported the same way."""
        leg = self._leg(call_id)
        if not leg.outgoing:
            raise LocalProtocolError(f"call {call_id} is not ours: reject it instead")
        if leg.answered:
            raise LocalProtocolError(f"call {call_id} is answered: hang up instead")
        leg.cancelled = True
        if leg.provisional:
            self._send_cancel(leg, now)

    def _send_cancel(self, leg: _Leg, now: float) -> None:
        if leg.cancel_sent:
            return
        leg.cancel_sent = True
        invite = leg.request
        headers = [
            (name, value)
            for name, value in invite.headers
            if name in ("From", "To", "Call-ID", "Max-Forwards", "Route")
        ]
        headers.append(("CSeq", f"{invite.cseq.number} CANCEL"))
        cancel = Request(headers=headers, method="CANCEL", uri=invite.uri)
        branch = invite.top_via.branch
        self.endpoint.send_request(cancel, leg.source, leg.transport, now, branch=branch)

    def _invite_response(
        self, transaction_id: str, response: Response, now: float
    ) -> list[CallEvent]:
        call_id = self._invites[transaction_id]
        leg = self.legs.get(call_id)
        if leg is None:
            return []
        status = response.status
        if status < 200:
            leg.provisional = True
            if leg.cancelled:
                self._send_cancel(leg, now)
                return []
            if status > 100:
                return [OutgoingProgress(call_id, status, response.body)]
            return []
        if status < 300:
            return self._answered(leg, response, now)
        del self._invites[transaction_id]
        if status in (401, 407) and leg.credentials is not None and not leg.cancelled:
            username, password = leg.credentials
            retry = retry_with_credentials(
                leg.request,
                response,
                username=username,
                password=password,
                cnonce=self.make_tag(),
            )
            if retry is not None:
                leg.request = retry
                leg.provisional = False
                leg.transaction_id = self.endpoint.send_request(
                    retry, leg.source, leg.transport, now
                )
                self._invites[leg.transaction_id] = call_id
                return []
        if leg.cancelled:
            return self._outgoing_failed(call_id, 487, "cancelled")
        return self._outgoing_failed(call_id, status, response.reason)

    def _answered(self, leg: _Leg, response: Response, now: float) -> list[CallEvent]:
        call_id = leg.request.call_id
        dialog = leg.dialog
        if dialog is not None and response.to.tag == dialog.remote_tag:
            self._ack(dialog, response, leg)  # a retransmitted 2xx: our ACK was lost
            return []
        fresh = Dialog.for_uac(leg.request, response)
        self._ack(fresh, response, leg)
        if dialog is not None or leg.cancelled:
            # A second fork answered, or the answer crossed our CANCEL: end that dialog.
            self._bye(fresh, leg, call_id, now, report=False)
            if dialog is None:
                return self._outgoing_failed(call_id, 487, "cancelled")
            return []
        leg.dialog, leg.answered = fresh, True
        return [OutgoingAnswered(call_id, response.body)]

    def _stray_2xx(self, response: Response, now: float) -> list[CallEvent]:
        """A 2xx after our INVITE transaction ended (RFC 3261 retransmissions, or forks)."""
        leg = self.legs.get(response.call_id)
        if leg is None or not leg.outgoing or response.cseq.method != "INVITE":
            return []
        return self._answered(leg, response, now)

    def _ack(self, dialog: Dialog, response: Response, leg: _Leg) -> None:
        self.endpoint.send_ack(dialog.ack_for(response), leg.source, leg.transport)

    def _bye(self, dialog: Dialog, leg: _Leg, call_id: str, now: float, *, report: bool) -> None:
        bye = dialog.create_request("BYE")
        transaction_id = self.endpoint.send_request(bye, leg.source, leg.transport, now)
        if report:
            self._byes[transaction_id] = call_id

    def _outgoing_failed(self, call_id: str, status: int, reason: str) -> list[CallEvent]:
        leg = self.legs.get(call_id)
        if leg is None or leg.answered:
            return []
        del self.legs[call_id]
        for transaction_id in [t for t, c in self._invites.items() if c == call_id]:
            del self._invites[transaction_id]
        return [OutgoingFailed(call_id, status, reason)]

    def _leg(self, call_id: str) -> _Leg:
        leg = self.legs.get(call_id)
        if leg is None:
            raise LocalProtocolError(f"no call {call_id}")
        return leg
