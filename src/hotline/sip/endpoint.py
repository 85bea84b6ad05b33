"""The transaction layer and transport-facing edge of a SIP element, sans-IO (aioquic shape).

A :class:`SipEndpoint` takes what transports received (``receive(data, source, transport,
now)``), matches it to transactions (§17.1.3, §17.2.3), applies the server transport rules of
§18.2 (``received``/``rport``) and yields :mod:`hotline.sip.events`. Its user answers with
:meth:`respond` and starts client transactions with :meth:`send_request`. What must go on
the wire is collected by :meth:`take_outgoing`; :meth:`get_timer` says when to call
:meth:`handle_timer`. One endpoint serves every transport of a node, so that a transaction's
messages and its timers live in one place whatever carried them.

Malformed input never raises out of here: a request we can answer gets its ``400`` (or 505,
513) with a reason phrase, anything else is dropped; both are reported as
:class:`MessageRejected`.
"""

from __future__ import annotations

import heapq
import re
import secrets
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from hotline.sip.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from hotline.sip.events import (
    AckReceived,
    Address,
    CancelReceived,
    Event,
    MessageRejected,
    RequestReceived,
    ResponseReceived,
    TransactionTimedOut,
    TransportFailed,
)
from hotline.sip.headers import Via, split_list
from hotline.sip.message import Request, Response, make_response, parse_message
from hotline.sip.transaction import (
    ClientTransaction,
    ServerTransaction,
    State,
    TimerValues,
)

MAGIC_COOKIE = "z9hG4bK"  # §8.1.1.7
RELIABLE = frozenset({"TCP", "TLS", "WS", "WSS"})
#: §18.1.1: a request within 200 bytes of a 1500-byte MTU goes over TCP instead of UDP.
UDP_MTU_LIMIT = 1300

_RAW_HEADER = re.compile(
    r"(?im)^(via|v|from|f|to|t|call-id|i|cseq)[ \t]*:[^\r\n]*(?:\r?\n[ \t]+[^\r\n]*)*"
)


class RateLimiter(Protocol):
    """A per-source admission hook (the security layer implements bans and budgets)."""

    def allow(self, source: Address, now: float) -> bool: ...


@dataclass(frozen=True, slots=True)
class Outgoing:
    """Bytes to send, where, and over which transport (the adapter owns connections)."""

    data: bytes
    destination: Address
    transport: str


@dataclass
class _ServerEntry:
    transaction: ServerTransaction
    source: Address
    transport: str


@dataclass
class _ClientEntry:
    transaction: ClientTransaction
    destination: Address
    transport: str


@dataclass
class _Pending2xx:
    """A 2xx to INVITE that the UA core retransmits until its ACK (§13.3.1.4)."""

    transaction_id: str
    request: Request
    response: Response
    interval: float
    give_up: float
    deadline: float


@dataclass
class SipEndpoint:
    """Transactions of every transport of one node. See the module docstring."""

    sent_by: dict[str, Address]
    timers: TimerValues = field(default_factory=TimerValues)
    rate_limiter: RateLimiter | None = None
    make_token: Callable[[], str] = field(default=lambda: secrets.token_hex(8))
    _servers: dict[str, _ServerEntry] = field(default_factory=dict)
    _clients: dict[str, _ClientEntry] = field(default_factory=dict)
    _pending_2xx: dict[tuple[str, int], _Pending2xx] = field(default_factory=dict)
    _heap: list[tuple[float, str]] = field(default_factory=list)
    _scheduled: dict[str, float] = field(default_factory=dict)
    _events: deque[Event] = field(default_factory=deque)
    _outgoing: list[Outgoing] = field(default_factory=list)
    #: Responses by status code, for the node's metrics: what we answered (retransmissions
    #: not counted) and what peers answered us.
    responses_sent: Counter[int] = field(default_factory=Counter)
    responses_received: Counter[int] = field(default_factory=Counter)

    # -- the adapter's side ---------------------------------------------------------------
    def receive(self, data: bytes, source: Address, transport: str, now: float) -> None:
        """Feed one datagram or one stream frame."""
        if self.rate_limiter is not None and not self.rate_limiter.allow(source, now):
            self._events.append(MessageRejected(source, "rate limited", None))
            return
        if not data.strip(b"\r\n"):
            return  # keep-alive
        try:
            message = parse_message(data)
        except ProtocolError as error:
            self._reject(data, source, transport, error)
            return
        try:
            if isinstance(message, Request):
                self._receive_request(message, source, transport, now)
            else:
                self._receive_response(message, now)
        except ProtocolError as error:
            self._reject(data, source, transport, error)

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def take_outgoing(self) -> list[Outgoing]:
        outgoing, self._outgoing = self._outgoing, []
        return outgoing

    def get_timer(self) -> float | None:
        heap = self._heap
        while heap and self._scheduled.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def handle_timer(self, now: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= now:
            deadline, key = heapq.heappop(heap)
            if self._scheduled.get(key) != deadline:
                continue
            del self._scheduled[key]
            if key.startswith("s|"):
                server = self._servers.get(key[2:])
                if server is not None:
                    server.transaction.handle_timer(now)
                    self._flush_server(key[2:], server, now)
            elif key.startswith("c|"):
                client = self._clients.get(key[2:])
                if client is not None:
                    client.transaction.handle_timer(now)
                    self._flush_client(key[2:], client, now)
            else:
                self._retransmit_2xx(key, now)

    def transport_error(self, destination: Address, transport: str) -> None:
        """The adapter could not send to ``destination``: fail its transactions (§17.1.4)."""
        for transaction_id, client in list(self._clients.items()):
            if client.destination == destination and client.transport == transport:
                client.transaction.transport_error()
                self._events.append(TransportFailed(transaction_id))
                self._flush_client(transaction_id, client, 0.0)

    # -- the transaction user's side ------------------------------------------------------
    def respond(self, transaction_id: str, response: Response, now: float) -> None:
        """Send a response within a server transaction."""
        server = self._servers.get(transaction_id)
        if server is None:
            raise LocalProtocolError(f"no server transaction {transaction_id}")
        transaction = server.transaction
        transaction.send_response(response, now)
        self.responses_sent[response.status] += 1
        request = transaction.request
        if (
            request.method == "INVITE"
            and 200 <= response.status < 300
            and server.transport not in RELIABLE
        ):
            key = (request.call_id, request.cseq.number)
            t1 = self.timers.t1
            pending = _Pending2xx(transaction_id, request, response, t1, now + 64 * t1, now + t1)
            self._pending_2xx[key] = pending
            self._schedule(self._pending_key(key), pending.deadline)
        self._flush_server(transaction_id, server, now)

    def send_request(
        self,
        request: Request,
        destination: Address,
        transport: str,
        now: float,
        *,
        branch: str | None = None,
    ) -> str:
        """Start a client transaction (adds our Via with a fresh branch); ACK for a 2xx is
        not a transaction: use :meth:`send_ack`. A CANCEL passes its INVITE's ``branch``:
        §9.1 wants the same top Via, so that the peer matches it to the INVITE."""
        transport = transport.upper()
        if (
            branch is None
            and transport == "UDP"
            and len(bytes(request)) > UDP_MTU_LIMIT
            and "TCP" in self.sent_by
        ):
            transport = "TCP"
        branch = branch or MAGIC_COOKIE + self.make_token()
        host, port = self.sent_by[transport]
        via = Via(transport, host, port, (("branch", branch), ("rport", None)))
        request.headers.insert(0, ("Via", str(via)))
        request._cache.clear()
        reliable = transport in RELIABLE
        transaction = ClientTransaction.start(request, reliable, now, self.timers)
        transaction_id = f"{branch}|{request.method}"
        client = _ClientEntry(transaction, destination, transport)
        self._clients[transaction_id] = client
        self._flush_client(transaction_id, client, now)
        return transaction_id

    def send_ack(self, ack: Request, destination: Address, transport: str) -> None:
        """Send the ACK of a 2xx (a new branch, no transaction: §13.2.2.4, §17.1.1.3)."""
        transport = transport.upper()
        if ack.get("Via") is None:
            host, port = self.sent_by[transport]
            via = Via(transport, host, port, (("branch", MAGIC_COOKIE + self.make_token()),))
            ack.headers.insert(0, ("Via", str(via)))
            ack._cache.clear()
        self._outgoing.append(Outgoing(bytes(ack), destination, transport))

    def send_stateless(
        self, message: Request | Response, destination: Address, transport: str
    ) -> None:
        if isinstance(message, Response):
            self.responses_sent[message.status] += 1
        self._outgoing.append(Outgoing(bytes(message), destination, transport.upper()))

    @property
    def transaction_count(self) -> int:
        return len(self._servers) + len(self._clients)

    # -- internals ------------------------------------------------------------------------
    def _receive_request(
        self, request: Request, source: Address, transport: str, now: float
    ) -> None:
        transport = transport.upper()
        self._stamp_via(request, source)
        transaction_id = self._server_key(request)
        server = self._servers.get(transaction_id)
        accepted = server is not None and server.transaction.state is State.ACCEPTED
        if server is not None and not (request.method == "ACK" and accepted):
            server.transaction.receive_request(request, now)
            self._flush_server(transaction_id, server, now)
            return
        if request.method == "ACK":
            # The ACK of a 2xx: a new transaction in RFC 3261, or one reusing the INVITE's
            # branch, which RFC 6026 §7.1 has the Accepted state pass up. Either way the
            # 2xx retransmissions stop here.
            self._stop_2xx(request.call_id, request.cseq.number)
            self._events.append(AckReceived(request, source, transport))
            return
        if request.method == "BYE":
            # A BYE means the peer has our 2xx even if its ACK was lost (§15.1.2 lets the
            # peer send BYE at once): stop retransmitting it.
            for call_id, number in [k for k in self._pending_2xx if k[0] == request.call_id]:
                self._stop_2xx(call_id, number)
        reliable = transport in RELIABLE
        transaction = ServerTransaction.start(request, reliable, self.timers)
        server = _ServerEntry(transaction, source, transport)
        self._servers[transaction_id] = server
        if request.method == "CANCEL":
            self._receive_cancel(transaction_id, server, request, now)
            return
        if request.method == "INVITE":
            # Transaction-layer 100 Trying at once: stops the client's Timer A early.
            transaction.send_response(make_response(request, 100), now)
        self._flush_server(transaction_id, server, now)
        self._events.append(RequestReceived(transaction_id, request, source, transport))

    def _receive_cancel(
        self, transaction_id: str, server: _ServerEntry, cancel: Request, now: float
    ) -> None:
        invite_id = self._server_key(cancel, method="INVITE")
        invite = self._servers.get(invite_id)
        if invite is None or invite.transaction.state is not State.PROCEEDING:
            status = 481 if invite is None else 200
            server.transaction.send_response(make_response(cancel, status), now)
            self._flush_server(transaction_id, server, now)
            return
        last = invite.transaction.last_response
        to_tag = last.to.tag if last is not None else None
        server.transaction.send_response(make_response(cancel, 200, to_tag=to_tag), now)
        self._flush_server(transaction_id, server, now)
        self._events.append(CancelReceived(invite_id, cancel))

    def _receive_response(self, response: Response, now: float) -> None:
        self.responses_received[response.status] += 1
        via = response.top_via
        branch = via.branch or ""
        transaction_id = f"{branch}|{response.cseq.method}"
        client = self._clients.get(transaction_id)
        if client is None:
            if response.cseq.method == "INVITE" and 200 <= response.status < 300:
                self._events.append(ResponseReceived(None, response))
            return
        client.transaction.receive_response(response, now)
        self._flush_client(transaction_id, client, now)

    def _server_key(self, request: Request, method: str | None = None) -> str:
        via = request.top_via
        method = method or ("INVITE" if request.method == "ACK" else request.method)
        host, port = via.sent_by
        branch = via.branch
        if branch is not None and branch.startswith(MAGIC_COOKIE):
            return f"{branch}|{host}:{port}|{method}"
        # RFC 2543 peers (§17.2.3's fallback): no usable branch.
        tag = request.from_.tag or ""
        return f"2543|{request.call_id}|{request.cseq.number}|{tag}|{host}:{port}|{method}"

    def _stamp_via(self, request: Request, source: Address) -> None:
        """§18.2.1 ``received`` and RFC 3581 ``rport`` on the top Via."""
        via = request.top_via
        stamped = via.with_received(source[0], source[1])
        if stamped == via:
            return
        for index, (name, value) in enumerate(request.headers):
            if name == "Via":
                items = split_list(value)
                items[0] = str(stamped)
                request.headers[index] = ("Via", ", ".join(items))
                break
        request._cache.clear()

    def _response_destination(self, server: _ServerEntry) -> Address:
        """§18.2.2: the connection's peer for streams; for UDP the source port when rport
        was asked for, else ``received`` (or sent-by) and the sent-by port."""
        if server.transport in RELIABLE:
            return server.source
        via = server.transaction.request.top_via
        if via.wants_rport:
            return server.source
        host = via.received or via.host
        return host, via.port or 5060

    def _flush_server(self, transaction_id: str, server: _ServerEntry, now: float) -> None:
        transaction = server.transaction
        if transaction.outbox:
            destination = self._response_destination(server)
            for message in transaction.outbox:
                self._outgoing.append(Outgoing(bytes(message), destination, server.transport))
            transaction.outbox.clear()
        if transaction.timed_out:
            transaction.timed_out = False
            self._events.append(TransactionTimedOut(transaction_id, transaction.request))
        key = "s|" + transaction_id
        if transaction.terminated:
            del self._servers[transaction_id]
            self._scheduled.pop(key, None)
            return
        deadline = transaction.next_deadline()
        if deadline is not None:
            self._schedule(key, deadline)

    def _flush_client(self, transaction_id: str, client: _ClientEntry, now: float) -> None:
        transaction = client.transaction
        for message in transaction.outbox:
            self._outgoing.append(Outgoing(bytes(message), client.destination, client.transport))
        transaction.outbox.clear()
        for response in transaction.passed_up:
            self._events.append(ResponseReceived(transaction_id, response))
        transaction.passed_up.clear()
        if transaction.timed_out:
            transaction.timed_out = False
            self._events.append(TransactionTimedOut(transaction_id, transaction.request))
        key = "c|" + transaction_id
        if transaction.terminated:
            self._clients.pop(transaction_id, None)
            self._scheduled.pop(key, None)
            return
        deadline = transaction.next_deadline()
        if deadline is not None:
            self._schedule(key, deadline)

    def _schedule(self, key: str, deadline: float) -> None:
        if self._scheduled.get(key) == deadline:
            return
        self._scheduled[key] = deadline
        heapq.heappush(self._heap, (deadline, key))

    def _stop_2xx(self, call_id: str, number: int) -> None:
        if self._pending_2xx.pop((call_id, number), None) is not None:
            self._scheduled.pop(self._pending_key((call_id, number)), None)

    @staticmethod
    def _pending_key(key: tuple[str, int]) -> str:
        return f"2xx|{key[1]}|{key[0]}"

    def _retransmit_2xx(self, key: str, now: float) -> None:
        _, number, call_id = key.split("|", 2)
        pending_key = (call_id, int(number))
        pending = self._pending_2xx.get(pending_key)
        if pending is None:
            return
        server = self._servers.get(pending.transaction_id)
        if now >= pending.give_up or server is None:
            # §13.3.1.4: no ACK after 64*T1: the TU should end the session with a BYE.
            del self._pending_2xx[pending_key]
            self._events.append(TransactionTimedOut(pending.transaction_id, pending.request))
            return
        server.transaction.send_response(pending.response, now)
        self._flush_server(pending.transaction_id, server, now)
        pending.interval = min(pending.interval * 2, self.timers.t2)
        pending.deadline = min(now + pending.interval, pending.give_up)
        self._schedule(key, pending.deadline)

    def _reject(self, data: bytes, source: Address, transport: str, error: ProtocolError) -> None:
        reason = "".join(c for c in error.reason if " " <= c <= "~")[:100] or "Bad Request"
        status: int | None = None
        start = data.lstrip(b"\r\n")[:8].upper()
        is_request = not start.startswith(b"SIP/") and not start.startswith(b"ACK ")
        if is_request and isinstance(error, RemoteProtocolError):
            response = _best_effort_response(data, error.status, reason)
            if response is not None:
                status = error.status
                self.responses_sent[status] += 1
                self._outgoing.append(Outgoing(response, source, transport.upper()))
        self._events.append(MessageRejected(source, reason, status))


def _best_effort_response(data: bytes, status: int, reason: str) -> bytes | None:
    """A response to a request we could not parse: copy the raw Via/From/To/Call-ID/CSeq
    lines (§8.2.6.2) if we can find a Via at all; without Via there is nobody to answer."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    lines = [match.group(0) for match in _RAW_HEADER.finditer(head)]
    if not any(re.match(r"(?i)(via|v)[ \t]*:", line) for line in lines):
        return None
    text = "\r\n".join([f"SIP/2.0 {status} {reason}", *lines, "Content-Length: 0", "", ""])
    return text.encode("utf-8", "replace")
