"""A small answering user agent built on the stack: the demo's and the interop tests' peer.

It answers OPTIONS (capabilities), REGISTER (through the :class:`Registrar`), INVITE with an
SDP answer (200, then waits for the ACK), BYE within the calls it answered, and CANCEL. It is
also the reference for how the layers above use the endpoint: consume typed events, answer
with ``endpoint.respond``; no callbacks into the transaction layer.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from hotline.sip import sdp
from hotline.sip.dialog import Dialog
from hotline.sip.endpoint import SipEndpoint
from hotline.sip.errors import ProtocolError
from hotline.sip.events import (
    AckReceived,
    CancelReceived,
    Event,
    RequestReceived,
    TransactionTimedOut,
)
from hotline.sip.message import make_response
from hotline.sip.registrar import Registrar

ALLOWED = ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER")
#: Methods we recognise but do not serve (405 with Allow), others are unknown (501).
KNOWN_NOT_ALLOWED = frozenset(
    {"INFO", "UPDATE", "MESSAGE", "SUBSCRIBE", "NOTIFY", "REFER", "PRACK", "PUBLISH"}
)
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset()


@dataclass
class _Call:
    dialog: Dialog
    invite_transaction_id: str
    confirmed: bool = False


@dataclass
class AnsweringUserAgent:
    """Answers what reaches it; ``stats`` counts outcomes for logs and benchmarks."""

    endpoint: SipEndpoint
    contact_host: str
    contact_port: int
    registrar: Registrar | None = None
    media_port: int = 40000
    make_tag: Callable[[], str] = field(default=lambda: secrets.token_hex(6))
    calls: dict[str, _Call] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)

    def handle_event(self, event: Event, now: float) -> None:
        if isinstance(event, RequestReceived):
            self._count(f"request.{event.request.method}")
            try:
                self._handle_request(event, now)
            except ProtocolError as error:
                response = make_response(
                    event.request, error.status, error.reason, to_tag=self.make_tag()
                )
                self.endpoint.respond(event.transaction_id, response, now)
        elif isinstance(event, AckReceived):
            call = self.calls.get(event.request.call_id)
            if call is not None:
                call.confirmed = True
                self._count("calls.confirmed")
        elif isinstance(event, CancelReceived):
            call = self.calls.pop(event.request.call_id, None)
            if call is not None and not call.confirmed:
                self._count("calls.cancelled")
        elif isinstance(event, TransactionTimedOut):
            self._count("timeouts")
            self.calls.pop(event.request.call_id, None)

    def _count(self, name: str) -> None:
        self.stats[name] = self.stats.get(name, 0) + 1

    def _handle_request(self, event: RequestReceived, now: float) -> None:
        request = event.request
        method = request.method
        if method == "INVITE":
            self._invite(event, now)
        elif method == "BYE":
            call = self.calls.get(request.call_id)
            status = 481
            if call is not None and call.dialog.matches(request):
                status = call.dialog.receive_request(request) or 200
                if status == 200:
                    del self.calls[request.call_id]
                    if not call.confirmed:
                        # The ACK was lost (UDP) and the BYE overtook its retransmission:
                        # the caller had our 2xx, or it could not send this BYE.
                        self._count("calls.confirmed_by_bye")
            self._count(f"bye.{status}")
            self.endpoint.respond(event.transaction_id, make_response(request, status), now)
        else:
            status = respond_out_of_dialog(self.endpoint, self.registrar, event, now, self.make_tag)
            if method == "REGISTER":
                self._count(f"register.{status}")

    def _invite(self, event: RequestReceived, now: float) -> None:
        request = event.request
        tag = self.make_tag()
        respond = self.endpoint.respond
        tid = event.transaction_id
        if request.uri.scheme not in ("sip", "sips", "tel"):
            respond(tid, make_response(request, 416, to_tag=tag), now)
            return
        unsupported = [
            option
            for option in request.get_all("Require")
            if option.lower() not in SUPPORTED_EXTENSIONS
        ]
        if unsupported:
            headers = [("Unsupported", ", ".join(unsupported))]
            respond(tid, make_response(request, 420, to_tag=tag, headers=headers), now)
            return
        content_type = (request.get("Content-Type") or "application/sdp").split(";")[0].strip()
        if request.body and content_type.lower() != "application/sdp":
            headers = [("Accept", "application/sdp")]
            respond(tid, make_response(request, 415, to_tag=tag, headers=headers), now)
            return
        existing = self.calls.get(request.call_id)
        if request.to.tag is not None:
            # A re-INVITE: only within a dialog we know, in CSeq order, without glare.
            if existing is None or not existing.dialog.matches(request):
                respond(tid, make_response(request, 481), now)
                return
            refused = existing.dialog.receive_request(request)
            if refused is not None:
                respond(tid, make_response(request, refused), now)
                return
            tag = existing.dialog.local_tag
        body = b""
        if request.body:
            offer = sdp.SessionDescription.parse(request.body)
            body = bytes(sdp.answer(offer, address=self.contact_host, port=self.media_port))
        headers = [
            ("Contact", f"<sip:hotline@{self.contact_host}:{self.contact_port}>"),
            ("Allow", ", ".join(ALLOWED)),
        ]
        if body:
            headers.append(("Content-Type", "application/sdp"))
        response = make_response(request, 200, to_tag=tag, headers=headers, body=body)
        if existing is not None and request.to.tag is not None:
            existing.dialog.answered_reinvite()
            self._count("calls.reinvited")
        else:
            self.calls[request.call_id] = _Call(Dialog.for_uas(request, response), tid)
            self._count("calls.answered")
        respond(tid, response, now)


def respond_out_of_dialog(
    endpoint: SipEndpoint,
    registrar: Registrar | None,
    event: RequestReceived,
    now: float,
    make_tag: Callable[[], str],
) -> int:
    """Answer a request that is neither a call nor part of one (OPTIONS, REGISTER, methods
    we do not serve); returns the status sent. One place for every user agent of a node."""
    request = event.request
    method = request.method
    allow = [("Allow", ", ".join(ALLOWED))]
    if method == "OPTIONS":
        response = make_response(
            request, 200, to_tag=make_tag(), headers=[*allow, ("Accept", "application/sdp")]
        )
    elif method == "REGISTER" and registrar is not None:
        source = f"{event.transport}:{event.source[0]}:{event.source[1]}"
        response = registrar.handle(request, now, source)
    elif method == "REGISTER" or method in KNOWN_NOT_ALLOWED:
        response = make_response(request, 405, to_tag=make_tag(), headers=allow)
    elif request.to.tag is not None:
        response = make_response(request, 481)  # in-dialog, but no dialog of ours
    else:
        response = make_response(request, 501, to_tag=make_tag())
    endpoint.respond(event.transaction_id, response, now)
    return response.status
