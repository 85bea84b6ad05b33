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
from hotline.api.context import ApiContext
from hotline.api.server import HttpServer, HttpStartError
from hotline.api.services.users import ensure_demo_admin
from hotline.api.webhooks import WebhookDispatcher
from hotline.events.bus import EventBus
from hotline.settings import Settings, SettingsError
from hotline.store.database import Database, DatabaseNotMigratedError

log = logging.getLogger(__name__)


class NodeStartError(Exception):
    """A component could not start; the message says which and why."""


class Node:
    """One Hotline process: the store, the bus and the HTTP API; SIP, media and the ACD
    join as they land."""

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
        self.http = HttpServer(
            create_api(self.context),
            settings.http.host,
            settings.http.port,
            tls_certfile=settings.http.tls_certfile,
            tls_keyfile=settings.http.tls_keyfile,
        )
        self.webhooks = WebhookDispatcher(self.database, self.bus)

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
            await self.webhooks.stop()
            await self.database.close()
            raise NodeStartError(str(error)) from None
        assert self.http.address is not None
        host, port = self.http.address
        scheme = "https" if settings.http.tls else "http"
        log.info("http listening", extra={"url": f"{scheme}://{host}:{port}"})
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
            await self.webhooks.stop()
            await self.database.close()
            log.info("hotline stopped")

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
