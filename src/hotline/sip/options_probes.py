"""OPTIONS probes out (RFC 3261 §11): how the trunk service asks a carrier whether it is up.

A probe is one out-of-dialog OPTIONS and nothing else: no call, no dialog, no leg. It has
its own transactions and its own outcome (:class:`OptionsAnswered`, once), so it stays out
of the call bookkeeping of the user agent, which only hands it the events of its
transactions.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeGuard

from hotline.sip.call_events import CallEvent, OptionsAnswered
from hotline.sip.endpoint import SipEndpoint
from hotline.sip.events import (
    Address,
    Event,
    ResponseReceived,
    TransactionTimedOut,
    TransportFailed,
)
from hotline.sip.message import Request
from hotline.sip.uri import Uri

ProbeEvent = ResponseReceived | TransactionTimedOut | TransportFailed


@dataclass
class OptionsProbes:
    """The OPTIONS we sent and still wait for, by transaction id (the probe id)."""

    endpoint: SipEndpoint
    make_tag: Callable[[], str]
    pending: set[str] = field(default_factory=set)

    def owns(self, event: Event) -> TypeGuard[ProbeEvent]:
        """Whether ``event`` is about one of our probes' transactions."""
        return bool(
            self.pending
            and isinstance(event, ResponseReceived | TransactionTimedOut | TransportFailed)
            and event.transaction_id in self.pending
        )

    def send(
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
        self.pending.add(transaction_id)
        return transaction_id

    def outcome(self, event: ProbeEvent) -> list[CallEvent]:
        """The probe's final answer, or None as its status when none came; [] for a 1xx."""
        assert event.transaction_id is not None
        if isinstance(event, ResponseReceived):
            if event.response.status < 200:
                return []  # 100 Trying to an OPTIONS: the final answer follows
            self.pending.discard(event.transaction_id)
            return [OptionsAnswered(event.transaction_id, event.response.status)]
        self.pending.discard(event.transaction_id)
        return [OptionsAnswered(event.transaction_id, None)]
