"""The composition root: builds one Hotline node from settings and runs it until told to stop.

Every long-lived object is created here and handed to the objects that need it; there are
no module-level singletons elsewhere. Components start in dependency order and stop in
reverse, so that calls in progress can be ended before their transports go away.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from hotline import __version__
from hotline.api.app import create_api
from hotline.api.context import ApiContext
from hotline.api.server import HttpServer, HttpStartError
from hotline.api.services.users import ensure_demo_admin
from hotline.api.webhooks import WebhookDispatcher
from hotline.demo.orders import demo_orders_router
from hotline.events.bus import EventBus
from hotline.settings import Settings, SettingsError
from hotline.sip.auth import make_ha1s
from hotline.store.database import Database, DatabaseNotMigratedError
from hotline.transport.sip_service import SipService, SipServiceConfig
from hotline.transport.sip_transport import SipTransportError

log = logging.getLogger(__name__)


class NodeStartError(Exception):
    """A component could not start; the message says which and why."""


class Node:
    """One Hotline process: the store, the bus, the HTTP API and SIP; media, the ACD and
    call control join as they are wired."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        try:
            secret_key = settings.effective_secret_key
        except SettingsError as error:
            raise NodeStartError(str(error)) from None
        self.bus = EventBus()
        self.database = Database(settings.effective_database_url)
        self.context = ApiContext(
            node_name=settings.node_name,
            database=self.database,
            bus=self.bus,
            secret_key=secret_key,
            login_attempts_per_minute=settings.login_attempts_per_minute,
            secure_cookies=settings.http.tls,
            recordings_dir=settings.data_dir / "recordings",
        )
        api = create_api(self.context)
        if settings.demo:
            api.include_router(demo_orders_router())
        self.http = HttpServer(
            api,
            settings.http.host,
            settings.http.port,
            tls_certfile=settings.http.tls_certfile,
            tls_keyfile=settings.http.tls_keyfile,
        )
        self.webhooks = WebhookDispatcher(self.database, self.bus)
        self.sip = SipService(_sip_config(settings))

    async def run(self, stop: asyncio.Event) -> None:
        """Start every component, wait for ``stop``, then shut down in reverse order."""
        settings = self.settings
        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise NodeStartError(
                f"cannot create data directory {settings.data_dir}: {error.strerror}"
            ) from None
        log.info(
            "starting hotline",
            extra={
                "version": __version__,
                "node": settings.node_name,
                "mode": "demo" if settings.demo else "serve",
                "data_dir": str(settings.data_dir.resolve()),
            },
        )
        try:
            await self._open_database()
            self.webhooks.start()
            await self.http.start()
        except (HttpStartError, DatabaseNotMigratedError) as error:
            await self._shutdown()
            raise NodeStartError(str(error)) from None
        assert self.http.address is not None
        host, port = self.http.address
        scheme = "https" if settings.http.tls else "http"
        log.info("http listening", extra={"url": f"{scheme}://{host}:{port}"})
        try:
            sip_addresses = await self.sip.start()
        except SipTransportError as error:
            await self._shutdown()
            raise NodeStartError(str(error)) from None
        for transport, (sip_host, sip_port) in sip_addresses.items():
            log.info(
                "sip listening",
                extra={"transport": transport.lower(), "address": f"{sip_host}:{sip_port}"},
            )
        if settings.demo and not settings.sip.users:
            log.info(
                f"demo SIP account: user 'demo', password 'demo', realm '{settings.sip.realm}'"
            )
        log.info("hotline ready; stop with Ctrl-C or SIGTERM")
        try:
            await stop.wait()
        finally:
            log.info("stopping hotline")
            await self._shutdown()
            log.info("hotline stopped")

    async def _shutdown(self) -> None:
        """Stop components in reverse order of start. Each stop is safe for a component
        that never started, so a failed start and a normal stop share this one path."""
        self.sip.stop()
        await self.http.stop()
        await self.webhooks.stop()
        await self.database.close()

    async def _open_database(self) -> None:
        # A demo must work with one command, so it migrates itself; a production node
        # never changes its schema behind the operator's back.
        if self.settings.demo:
            await self.database.upgrade()
            created = await ensure_demo_admin(self.context)
            if created:
                log.warning("demo user created: admin / %s (demo only; loopback only)", created)
        await self.database.check_migrated()
        log.info("database ready", extra={"database": self.database.safe_url})


# -- SIP wiring (issue 3) ---------------------------------------------------------------------
def _sip_config(settings: Settings) -> SipServiceConfig:
    """SIP service settings; a demo gets a well-known account and a self-signed certificate."""
    sip = settings.sip
    users: dict[str, dict[str, str]] = {}
    for name, user in sip.users.items():
        users[name] = {"MD5": user.ha1_md5}
        if user.ha1_sha256:
            users[name]["SHA-256"] = user.ha1_sha256
    if settings.demo and not users:
        users["demo"] = make_ha1s("demo", sip.realm, "demo")
    secret = sip.nonce_secret.encode() if sip.nonce_secret else secrets.token_bytes(32)
    tls_dir = settings.data_dir / "tls"
    return SipServiceConfig(
        host=sip.host,
        udp_port=sip.udp_port,
        tcp_port=sip.tcp_port,
        tls_port=sip.tls_port if sip.tls_enabled else None,
        realm=sip.realm,
        users=users,
        nonce_secret=secret,
        bindings_file=settings.data_dir / "sip-bindings.json",
        tls_cert=sip.tls_cert or tls_dir / "sip-cert.pem",
        tls_key=sip.tls_key or tls_dir / "sip-key.pem",
        min_expires=sip.min_expires,
        digest_algorithms=tuple(sip.digest_algorithms),
    )
