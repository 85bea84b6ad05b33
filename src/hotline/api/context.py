"""What the API needs from its node, handed in by the composition root.

One object instead of module globals: tests build an API over their own database, bus and
clock, and two APIs in one process never share state.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import CollectorRegistry

from hotline.api.security import LoginRateLimiter, Passwords
from hotline.events.bus import EventBus
from hotline.services.campaign_dialler import CampaignDialler
from hotline.services.operations import LiveOperations
from hotline.store.database import Database


@dataclass
class ApiContext:
    node_name: str
    database: Database
    bus: EventBus
    secret_key: str
    login_attempts_per_minute: int = 5
    #: Session cookies only over HTTPS (set when TLS is served or behind a TLS proxy).
    secure_cookies: bool = False
    #: Monotonic seconds; tests pass a fake clock to step through rate-limit windows.
    clock: Callable[[], float] = time.monotonic
    #: Where recordings' files live; a recording's ``path`` is relative to it.
    recordings_dir: Path | None = None
    #: Queue size of each WebSocket client's subscription (drop-oldest beyond it).
    websocket_queue_size: int = 256
    #: The live contact centre (agent states, call controls, wallboard); None on a node
    #: without telephony, whose live endpoints then answer 503.
    operations: LiveOperations | None = None
    #: ``settings.modules.dialer``: outbound campaigns and do-not-call lists are served
    #: (switched off, their routes are not mounted at all).
    dialer: bool = True
    #: Every optional module and whether the node's settings have it (``/modules``).
    modules: dict[str, bool] = field(default_factory=lambda: {"dialer": True})
    #: The node's live dialler (campaign figures, the desktop's preview); None when the
    #: module is off or the node runs no telephony.
    campaigns: CampaignDialler | None = None
    #: Extra readiness checks by name (SIP transports, media workers), added by the root.
    readiness_checks: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)
    registry: CollectorRegistry = field(
        default_factory=lambda: CollectorRegistry(auto_describe=True)
    )
    passwords: Passwords = field(default_factory=Passwords)
    limiter: LoginRateLimiter = field(init=False)
    websocket_clients: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.limiter = LoginRateLimiter(self.login_attempts_per_minute, 60.0, self.clock)
