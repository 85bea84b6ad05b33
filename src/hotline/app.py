"""The composition root: builds one Hotline node from settings and runs it until told to stop.

Every long-lived object is created here and handed to the objects that need it; there are
no module-level singletons elsewhere. Components start in dependency order and stop in
reverse, so that calls in progress can be ended before their transports go away.
"""

from __future__ import annotations

import asyncio
import logging

from hotline import __version__
from hotline.api.app import create_api
from hotline.api.server import HttpServer, HttpStartError
from hotline.demo.orders import demo_orders_router
from hotline.settings import Settings

log = logging.getLogger(__name__)


class NodeStartError(Exception):
    """A component could not start; the message says which and why."""


class Node:
    """One Hotline process: today the HTTP API; SIP, media and the ACD join as they land."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        api = create_api(settings.node_name)
        if settings.demo:
            api.include_router(demo_orders_router())
        self.http = HttpServer(api, settings.http.host, settings.http.port)

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
        log.warning(
            "SIP transports are not part of this build yet; configured for "
            f"udp:{settings.sip.host}:{settings.sip.udp_port} "
            f"tcp:{settings.sip.host}:{settings.sip.tcp_port}"
        )
        log.info("hotline ready; stop with Ctrl-C or SIGTERM")
        try:
            await stop.wait()
        finally:
            log.info("stopping hotline")
            await self.http.stop()
            log.info("hotline stopped")
