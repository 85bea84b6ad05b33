"""asyncio adapters for SIP over UDP, TCP and TLS around one sans-IO :class:`SipEndpoint`.

The aioquic pattern: on every datagram or stream frame, feed the endpoint with ``now``,
hand its events to the transaction user, transmit what it returns and re-arm the single
``loop.call_at`` timer. Stream connections are kept by peer address so that responses and
later requests reuse the connection the peer opened (§18.2.2, RFC 5923 spirit); CRLF
keep-alive pings are answered with a pong (RFC 5626 §3.5.1).

The clock is wall-clock Unix time (registrar bindings outlive the process); the timer is
armed on the loop's monotonic clock by difference.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from hotline.sip.endpoint import Outgoing, SipEndpoint
from hotline.sip.events import Address, Event, MessageRejected
from hotline.sip.message import FramingError, KeepAlive, StreamFramer

log = logging.getLogger(__name__)

EventHandler = Callable[[Event, float], None]


class SipTransportError(Exception):
    """A listener could not be opened; the message says which and why."""


@dataclass
class SipStack:
    """The endpoint, its listeners and its one timer."""

    endpoint: SipEndpoint
    handler: EventHandler
    clock: Callable[[], float] = time.time
    udp: asyncio.DatagramTransport | None = None
    servers: list[asyncio.Server] = field(default_factory=list)
    connections: dict[tuple[str, Address], _StreamProtocol] = field(default_factory=dict)
    addresses: dict[str, Address] = field(default_factory=dict)
    _timer: asyncio.TimerHandle | None = None
    _timer_at: float | None = None
    _pending_connects: dict[tuple[str, Address], list[bytes]] = field(default_factory=dict)
    _ssl_client: ssl.SSLContext | None = None

    # -- listeners ------------------------------------------------------------------------
    async def listen_udp(self, host: str, port: int) -> Address:
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _DatagramProtocol(self), local_addr=(host, port)
            )
        except OSError as error:
            raise SipTransportError(
                f"cannot listen on udp:{host}:{port}: {_reason(error)}"
            ) from None
        self.udp = transport
        address: Address = transport.get_extra_info("sockname")[:2]
        self.addresses["UDP"] = address
        return address

    async def listen_stream(
        self, host: str, port: int, tls: ssl.SSLContext | None = None
    ) -> Address:
        loop = asyncio.get_running_loop()
        name = "TLS" if tls is not None else "TCP"
        try:
            server = await loop.create_server(
                lambda: _StreamProtocol(self, name), host, port, ssl=tls, reuse_address=True
            )
        except OSError as error:
            raise SipTransportError(
                f"cannot listen on {name.lower()}:{host}:{port}: {_reason(error)}"
            ) from None
        self.servers.append(server)
        address: Address = server.sockets[0].getsockname()[:2]
        self.addresses[name] = address
        return address

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.udp is not None:
            self.udp.close()
        for connection in list(self.connections.values()):
            connection.close()
        for server in self.servers:
            server.close()

    async def wait_closed(self) -> None:
        for server in self.servers:
            await server.wait_closed()

    # -- feeding the core -----------------------------------------------------------------
    def receive(self, data: bytes, source: Address, transport: str) -> None:
        now = self.clock()
        self.endpoint.receive(data, source, transport, now)
        self.process(now)

    def process(self, now: float | None = None) -> None:
        """Drain events to the handler, transmit, re-arm the timer."""
        now = self.clock() if now is None else now
        endpoint = self.endpoint
        while (event := endpoint.next_event()) is not None:
            if isinstance(event, MessageRejected):
                log.info(
                    "sip message rejected",
                    extra={
                        "source": f"{event.source[0]}:{event.source[1]}",
                        "reason": event.reason,
                    },
                )
            try:
                self.handler(event, now)
            except Exception:
                log.exception("sip event handler failed", extra={"event": type(event).__name__})
        for outgoing in endpoint.take_outgoing():
            self._send(outgoing)
        self._rearm()

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        now = self.clock()
        self.endpoint.handle_timer(now)
        self.process(now)

    def _rearm(self) -> None:
        deadline = self.endpoint.get_timer()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_at(
                loop.time() + max(0.0, deadline - self.clock()), self._on_timer
            )

    # -- sending --------------------------------------------------------------------------
    def _send(self, outgoing: Outgoing) -> None:
        transport = outgoing.transport
        if transport == "UDP":
            if self.udp is not None:
                self.udp.sendto(outgoing.data, outgoing.destination)
            return
        key = (transport, outgoing.destination)
        connection = self.connections.get(key)
        if connection is not None:
            connection.write(outgoing.data)
            return
        pending = self._pending_connects.get(key)
        if pending is not None:
            pending.append(outgoing.data)
            return
        self._pending_connects[key] = [outgoing.data]
        asyncio.get_running_loop().create_task(self._connect(transport, outgoing.destination))

    async def _connect(self, transport: str, destination: Address) -> None:
        loop = asyncio.get_running_loop()
        key = (transport, destination)
        tls: ssl.SSLContext | None = None
        if transport == "TLS":
            if self._ssl_client is None:
                self._ssl_client = ssl.create_default_context()
            tls = self._ssl_client
        try:
            _, protocol = await loop.create_connection(
                lambda: _StreamProtocol(self, transport), destination[0], destination[1], ssl=tls
            )
        except OSError:
            self._pending_connects.pop(key, None)
            self.endpoint.transport_error(destination, transport)
            self.process()
            return
        for data in self._pending_connects.pop(key, []):
            protocol.write(data)


def _reason(error: OSError) -> str:
    """The OS's words ("Address already in use"); uvloop hides them in ``__cause__``."""
    cause = error.__cause__
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror
    return error.strerror or str(error)


class _DatagramProtocol(asyncio.DatagramProtocol):
    def __init__(self, stack: SipStack) -> None:
        self.stack = stack

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.stack.receive(data, (addr[0], addr[1]), "UDP")

    def error_received(self, exc: Exception) -> None:
        log.debug("udp error", extra={"error": str(exc)})


class _StreamProtocol(asyncio.Protocol):
    def __init__(self, stack: SipStack, name: str) -> None:
        self.stack = stack
        self.name = name
        self.framer = StreamFramer()
        self.transport: asyncio.Transport | None = None
        self.peer: Address = ("", 0)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        peer = transport.get_extra_info("peername")
        self.peer = (peer[0], peer[1])
        self.stack.connections[(self.name, self.peer)] = self

    def data_received(self, data: bytes) -> None:
        for item in self.framer.feed(data):
            if isinstance(item, bytes):
                self.stack.receive(item, self.peer, self.name)
            elif isinstance(item, KeepAlive):
                if item.ping and self.transport is not None:
                    self.transport.write(b"\r\n")
            elif isinstance(item, FramingError):
                log.info(
                    "closing sip stream", extra={"peer": f"{self.peer}", "reason": item.reason}
                )
                self.close()

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.stack.connections.get((self.name, self.peer)) is self:
            del self.stack.connections[(self.name, self.peer)]
