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
from hotline.api.server import HttpServer, HttpStartError
from hotline.demo.orders import demo_orders_router
from hotline.settings import Settings
from hotline.sip.auth import make_ha1s
from hotline.transport.sip_service import SipService, SipServiceConfig
from hotline.transport.sip_transport import SipTransportError

log = logging.getLogger(__name__)


class NodeStartError(Exception):
    """A component could not start; the message says which and why."""


class Node:
    """One Hotline process: the HTTP API and SIP; media and the ACD join as they land."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        api = create_api(settings.node_name)
        if settings.demo:
            api.include_router(demo_orders_router())
        self.http = HttpServer(api, settings.http.host, settings.http.port)
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
            await self.http.start()
        except HttpStartError as error:
            raise NodeStartError(str(error)) from None
        assert self.http.address is not None
        host, port = self.http.address
        log.info("http listening", extra={"url": f"http://{host}:{port}"})
        try:
            sip_addresses = await self.sip.start()
        except SipTransportError as error:
            self.sip.stop()
            await self.http.stop()
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
            self.sip.stop()
            await self.http.stop()
            log.info("hotline stopped")


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
