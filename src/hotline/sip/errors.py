"""Who broke the protocol, and what to answer (the h11 idea, with SIP status codes).

A :class:`RemoteProtocolError` means the peer sent something we cannot accept; it carries the
status and reason phrase a server should answer with (``400 Bad Request`` by default), or is
simply dropped when it cannot be answered (a bad response, or a request without usable Via).
A :class:`LocalProtocolError` means our own caller asked the stack to do something the RFC
forbids; it is a bug above us, never the network's fault.
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base of every SIP protocol error; ``status``/``reason`` suggest the answer."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class RemoteProtocolError(ProtocolError):
    """The peer sent something malformed or not allowed here."""


class LocalProtocolError(ProtocolError):
    """Our caller asked for something the protocol does not allow."""

    def __init__(self, reason: str, status: int = 500) -> None:
        super().__init__(reason, status)
