"""What the SIP endpoint tells its user (the UA core, later the B2BUA of ``calls/``).

Frozen dataclasses, matched on type. They are SIP-layer events, not bus events: the layers
above translate the ones that matter into ``hotline.events`` types.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.sip.message import Request, Response

Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A new request (not a retransmission); answer it with ``endpoint.respond``."""

    transaction_id: str
    request: Request
    source: Address
    transport: str


@dataclass(frozen=True, slots=True)
class AckReceived:
    """An ACK outside any transaction: the ACK of a 2xx to INVITE (§13.3.1.4)."""

    request: Request
    source: Address
    transport: str


@dataclass(frozen=True, slots=True)
class CancelReceived:
    """A CANCEL matched a pending INVITE; the endpoint already answered the CANCEL with
    200, the user should now answer the INVITE with 487 (§9.2)."""

    invite_transaction_id: str
    request: Request


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """A response for one of our client transactions (``transaction_id``), or a stray 2xx
    to an INVITE whose transaction is gone (``transaction_id`` None), which the UAC core must
    still ACK (§13.2.2.4)."""

    transaction_id: str | None
    response: Response


@dataclass(frozen=True, slots=True)
class TransactionTimedOut:
    """Timer B or F fired (no final response), or Timer H (no ACK for our final)."""

    transaction_id: str
    request: Request


@dataclass(frozen=True, slots=True)
class TransportFailed:
    """The transport could not deliver a transaction's message (§17.1.4)."""

    transaction_id: str


@dataclass(frozen=True, slots=True)
class MessageRejected:
    """Input we refused: malformed (answered with ``status`` when a request could be
    answered, else dropped) or rate-limited. For logs, metrics and the security layer."""

    source: Address
    reason: str
    status: int | None


Event = (
    RequestReceived
    | AckReceived
    | CancelReceived
    | ResponseReceived
    | TransactionTimedOut
    | TransportFailed
    | MessageRejected
)
