"""The calls the node places (UAC): the agent legs and trunk legs of the B2BUA.

Setting a call up from our side has rules of its own that the answering side never meets:
the ACK of every 2xx (retransmitted ones too, §13.2.2.4), forks (a second 2xx is ACKed and
hung up), CANCEL by §9.1 (only after a provisional answer, on the INVITE's branch, and a 2xx
crossing it is ACKed and ended), one digest retry with the call's credentials (a second
challenge fails the call), and a single :class:`OutgoingFailed` however the attempt ends.
This module owns that set-up phase. Once answered, the call is a dialog like any other and
the user agent (``sip/useragent.py``) handles what happens within it, in the
:class:`CallLeg` both share.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hotline.sip.auth import retry_with_credentials
from hotline.sip.call_events import CallEvent, OutgoingAnswered, OutgoingFailed, OutgoingProgress
from hotline.sip.call_leg import CallLeg
from hotline.sip.dialog import Dialog
from hotline.sip.endpoint import SipEndpoint
from hotline.sip.errors import LocalProtocolError
from hotline.sip.events import Address, TransactionTimedOut, TransportFailed
from hotline.sip.message import Request, Response
from hotline.sip.uas import ALLOWED
from hotline.sip.uri import Uri

#: What we accept inside a dialog, advertised in our INVITEs: REFER lets phones transfer.
DIALOG_ALLOWED = (*ALLOWED, "REFER")


@dataclass
class OutgoingCalls:
    """Our INVITE transactions and the legs they set up (``legs`` is the user agent's)."""

    endpoint: SipEndpoint
    make_tag: Callable[[], str]
    legs: dict[str, CallLeg]
    invites: dict[str, str] = field(default_factory=dict)  # our INVITE's id -> call id

    def is_invite(self, transaction_id: str | None) -> bool:
        """Whether ``transaction_id`` is one of our INVITEs still setting a call up."""
        return transaction_id in self.invites

    def invite(
        self,
        *,
        contact: str,
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
            ("Contact", contact),
            ("Allow", ", ".join(DIALOG_ALLOWED)),
            *extra_headers,
        ]
        if offer:
            headers.append(("Content-Type", "application/sdp"))
        request = Request(headers=headers, body=offer, method="INVITE", uri=Uri.parse(request_uri))
        transport = transport.upper()
        transaction_id = self.endpoint.send_request(request, destination, transport, now)
        self.legs[call_id] = CallLeg(
            transaction_id,
            request,
            tag,
            destination,
            transport,
            outgoing=True,
            credentials=credentials,
        )
        self.invites[transaction_id] = call_id
        return call_id

    def cancel(self, leg: CallLeg, now: float) -> None:
        """Stop ringing a call we placed. The CANCEL goes out once a provisional answer
        arrived (§9.1); the call then ends with OutgoingFailed(487), or, if its 2xx crossed
        our CANCEL, it is ACKed, hung up and reported the same way."""
        call_id = leg.request.call_id
        if not leg.outgoing:
            raise LocalProtocolError(f"call {call_id} is not ours: reject it instead")
        if leg.answered:
            raise LocalProtocolError(f"call {call_id} is answered: hang up instead")
        leg.cancelled = True
        if leg.provisional:
            self._send_cancel(leg, now)

    def _send_cancel(self, leg: CallLeg, now: float) -> None:
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

    def response(self, transaction_id: str, response: Response, now: float) -> list[CallEvent]:
        """A response to one of our INVITEs (see :meth:`is_invite`)."""
        call_id = self.invites[transaction_id]
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
        del self.invites[transaction_id]
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
                self.invites[leg.transaction_id] = call_id
                return []
        if leg.cancelled:
            return self._failed(call_id, 487, "cancelled")
        return self._failed(call_id, status, response.reason)

    def transaction_ended(self, event: TransactionTimedOut | TransportFailed) -> list[CallEvent]:
        """One of our INVITEs got no final answer (Timer B: 408) or could not be sent (503)."""
        assert event.transaction_id is not None
        status = 408 if isinstance(event, TransactionTimedOut) else 503
        reason = "no final answer" if status == 408 else "transport failed"
        return self._failed(self.invites.pop(event.transaction_id), status, reason)

    def stray_2xx(self, response: Response, now: float) -> list[CallEvent]:
        """A 2xx after our INVITE transaction ended (RFC 3261 retransmissions, or forks)."""
        leg = self.legs.get(response.call_id)
        if leg is None or not leg.outgoing or response.cseq.method != "INVITE":
            return []
        return self._answered(leg, response, now)

    def _answered(self, leg: CallLeg, response: Response, now: float) -> list[CallEvent]:
        call_id = leg.request.call_id
        dialog = leg.dialog
        if dialog is not None and response.to.tag == dialog.remote_tag:
            self._ack(dialog, response, leg)  # a retransmitted 2xx: our ACK was lost
            return []
        fresh = Dialog.for_uac(leg.request, response)
        self._ack(fresh, response, leg)
        if dialog is not None or leg.cancelled:
            # A second fork answered, or the answer crossed our CANCEL: end that dialog.
            self._bye(fresh, leg, now)
            if dialog is None:
                return self._failed(call_id, 487, "cancelled")
            return []
        leg.dialog, leg.answered = fresh, True
        return [OutgoingAnswered(call_id, response.body)]

    def _ack(self, dialog: Dialog, response: Response, leg: CallLeg) -> None:
        self.endpoint.send_ack(dialog.ack_for(response), leg.source, leg.transport)

    def _bye(self, dialog: Dialog, leg: CallLeg, now: float) -> None:
        """End a dialog the call does not keep; its answer reports nothing."""
        bye = dialog.create_request("BYE")
        self.endpoint.send_request(bye, leg.source, leg.transport, now)

    def _failed(self, call_id: str, status: int, reason: str) -> list[CallEvent]:
        leg = self.legs.get(call_id)
        if leg is None or leg.answered:
            return []
        del self.legs[call_id]
        for transaction_id in [t for t, c in self.invites.items() if c == call_id]:
            del self.invites[transaction_id]
        return [OutgoingFailed(call_id, status, reason)]
