"""One node's SIP service: endpoint, registrar, user agent and listeners, wired together.

The composition root builds it (through the telephony runtime) from settings; tests and
benchmarks build it directly with port 0. With ``on_call_event`` the transaction user is the
node's :class:`UserAgent`, whose call events go to that callback (the B2BUA); without it,
the :class:`AnsweringUserAgent` answers every call by itself (benchmarks, interop tests).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hotline.sip.auth import (
    AccountCredentials,
    DigestAuthenticator,
    MemoryCredentialStore,
    NonceKeeper,
)
from hotline.sip.call_events import CallEvent
from hotline.sip.endpoint import RateLimiter, SipEndpoint
from hotline.sip.events import Address, Event
from hotline.sip.registrar import BindingStore, MemoryBindingStore, Registrar
from hotline.sip.uas import AnsweringUserAgent
from hotline.sip.useragent import UserAgent
from hotline.transport.sip_bindings import JsonFileBindingStore
from hotline.transport.sip_tls import ensure_self_signed, server_context
from hotline.transport.sip_transport import SipStack

log = logging.getLogger(__name__)


@dataclass
class SipServiceConfig:
    host: str = "127.0.0.1"
    udp_port: int | None = 0
    tcp_port: int | None = 0
    tls_port: int | None = None
    realm: str = "hotline"
    #: username -> {algorithm: HA1}; empty means REGISTER without authentication.
    users: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    nonce_secret: bytes = b"change-me"
    bindings_file: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    min_expires: int = 60
    #: Digest challenges offered, best first. MD5 only by default: baresip 1.0 (libre) fails
    #: the whole REGISTER with ENOSYS when any challenge names SHA-256, as do many older
    #: desk phones; enable SHA-256 (RFC 8760) per deployment when the phones support it.
    digest_algorithms: tuple[str, ...] = ("MD5",)
    rate_limiter: RateLimiter | None = None
    #: Accounts that change while the node runs (the live directory's); when given, REGISTER
    #: is always authenticated against them, even while they are empty, and ``users`` is
    #: ignored (the composition root puts settings' accounts in them).
    credentials: AccountCredentials | None = None


CallEventHandler = Callable[[CallEvent, float], None]


class SipService:
    def __init__(
        self, config: SipServiceConfig, on_call_event: CallEventHandler | None = None
    ) -> None:
        self.config = config
        self.endpoint = SipEndpoint(sent_by={}, rate_limiter=config.rate_limiter)
        store: BindingStore = (
            JsonFileBindingStore(config.bindings_file)
            if config.bindings_file is not None
            else MemoryBindingStore()
        )
        authenticator = None
        self.credentials = config.credentials
        if config.credentials is not None:
            authenticator = DigestAuthenticator(
                config.realm,
                config.credentials,
                NonceKeeper(config.nonce_secret),
                config.digest_algorithms,
            )
        elif config.users:
            credentials = MemoryCredentialStore()
            for username, ha1s in config.users.items():
                credentials.entries[(username, config.realm)] = dict(ha1s)
            authenticator = DigestAuthenticator(
                config.realm,
                credentials,
                NonceKeeper(config.nonce_secret),
                config.digest_algorithms,
            )
        self.registrar = Registrar(store, authenticator, min_expires=config.min_expires)
        self.agent = AnsweringUserAgent(self.endpoint, config.host, 0, self.registrar)
        self.user_agent = UserAgent(self.endpoint, "", registrar=self.registrar)
        self._on_call_event = on_call_event
        self._session_timer: asyncio.TimerHandle | None = None
        self._session_at: float | None = None
        handler = self._to_user_agent if on_call_event is not None else self.agent.handle_event
        self.stack = SipStack(self.endpoint, handler)

    def _to_user_agent(self, event: Event, now: float) -> None:
        assert self._on_call_event is not None
        for call_event in self.user_agent.handle_event(event, now):
            self._on_call_event(call_event, now)
        self._arm_session_timer()

    def _arm_session_timer(self) -> None:
        """The user agent's own timer (RFC 4028 session expiry), beside the endpoint's."""
        deadline = self.user_agent.next_timer()
        if deadline == self._session_at:
            return
        if self._session_timer is not None:
            self._session_timer.cancel()
            self._session_timer = None
        self._session_at = deadline
        if deadline is not None:
            delay = max(0.0, deadline - self.stack.clock())
            self._session_timer = asyncio.get_running_loop().call_later(
                delay, self._on_session_timer
            )

    def _on_session_timer(self) -> None:
        self._session_timer, self._session_at = None, None
        now = self.stack.clock()
        assert self._on_call_event is not None
        for call_event in self.user_agent.handle_timer(now):
            self._on_call_event(call_event, now)
        self.flush()
        self._arm_session_timer()

    def flush(self) -> None:
        """Send what commands issued outside an event handler queued (an INVITE placed
        from a task, a BYE from the API) and re-arm the timer."""
        self.stack.process()

    async def start(self) -> dict[str, Address]:
        config = self.config
        stack = self.stack
        if config.udp_port is not None:
            await stack.listen_udp(config.host, config.udp_port)
        if config.tcp_port is not None:
            await stack.listen_stream(config.host, config.tcp_port)
        if config.tls_port is not None:
            if config.tls_cert is None or config.tls_key is None:
                raise ValueError("TLS needs tls_cert and tls_key")
            ensure_self_signed(
                config.tls_cert, config.tls_key, config.host, datetime.datetime.now(datetime.UTC)
            )
            await stack.listen_stream(
                config.host, config.tls_port, server_context(config.tls_cert, config.tls_key)
            )
        for name, address in stack.addresses.items():
            self.endpoint.sent_by[name] = address
        first = next(iter(stack.addresses.values()))
        self.agent.contact_port = first[1]
        host, port = stack.addresses.get("UDP", first)
        self.user_agent.contact = f"<sip:hotline@{host}:{port}>"
        return dict(stack.addresses)

    def stop(self) -> None:
        if self._session_timer is not None:
            self._session_timer.cancel()
        self.stack.close()
