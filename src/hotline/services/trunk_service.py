"""The node's carrier trunks, live: their states, and OPTIONS probes through the node's UA.

The policy is ``calls/trunks.py`` (health hysteresis, capacity, order, failover) and the
probe schedule is its :class:`~hotline.calls.trunks.ProbeSchedule`; this adapter only sends
what the schedule says is due, feeds the answers back with ``now``, publishes
``TrunkHealthChanged`` on the bus and keeps one timer. The trunk states it owns are the
same objects the trunk groups of outbound calls read, so a trunk that went down is skipped
by the next call at once.

Only trunks that belong to a trunk group are probed: an inbound-only trunk (the demo's
"local" one is this node itself) carries no outbound call whose routing would depend on it.

:meth:`TrunkService.reconfigure` swaps trunks and groups while calls run (the live
directory calls it): a kept trunk keeps its state object (health, channels in use), so
calls in progress give their channel back to the trunk they took it from; a new trunk is
probed at once; a removed or disabled one leaves the groups (no new call takes it) and is
marked down, so an attempt already under way does not fail over onto it either. While
calls still hold a removed trunk's channels its state is kept aside, and a trunk enabled
again gets it back (health reset, probed at once): those calls count against its
``max_channels``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from hotline.calls.events import TrunkHealthChanged
from hotline.calls.trunks import (
    ProbeSchedule,
    TrunkConfig,
    TrunkGroup,
    TrunkGroupConfig,
    TrunkState,
    trunk_states,
)
from hotline.events.bus import EventBus
from hotline.services.operations import TrunkView
from hotline.sip.call_events import OptionsAnswered
from hotline.sip.errors import ProtocolError
from hotline.transport.sip_service import SipService

log = logging.getLogger(__name__)


class TrunkService:
    """See the module docstring. Build it, ``start()`` after SIP listens, ``stop()``."""

    def __init__(
        self,
        sip: SipService,
        trunks: Sequence[TrunkConfig],
        groups: Sequence[TrunkGroupConfig],
        bus: EventBus,
        clock: Callable[[], float],
        *,
        local_host: str = "127.0.0.1",
    ) -> None:
        self.sip = sip
        self.bus = bus
        self.clock = clock
        self.local_host = local_host
        self.states: dict[str, TrunkState] = trunk_states(trunks)
        self.groups: dict[str, TrunkGroup] = self._build_groups(groups, self.states)
        probed = {name for group in groups for name in group.trunks}
        self.schedule = ProbeSchedule([s for n, s in self.states.items() if n in probed])
        self._probes: dict[str, str] = {}  # probe id -> trunk name
        self._retired: dict[str, TrunkState] = {}  # removed trunks whose calls go on
        self._last: dict[str, tuple[int | None, float]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._running = False

    @staticmethod
    def _build_groups(
        groups: Sequence[TrunkGroupConfig], states: dict[str, TrunkState]
    ) -> dict[str, TrunkGroup]:
        built: dict[str, TrunkGroup] = {}
        for group in groups:
            if group.name in built:
                raise ValueError(f"two trunk groups are named {group.name!r}")
            built[group.name] = TrunkGroup.build(group, states)
        return built

    def start(self) -> None:
        self._running = True
        self._on_timer()

    def reconfigure(
        self, trunks: Sequence[TrunkConfig], groups: Sequence[TrunkGroupConfig]
    ) -> None:
        """Run with these trunks and groups from now on (see the module docstring).
        Raises ``ValueError`` (and changes nothing) for duplicate names or a group naming
        an unknown trunk."""
        fresh = trunk_states(trunks)
        states: dict[str, TrunkState] = {}
        revived: list[TrunkState] = []
        for name, state in fresh.items():
            kept = self.states.get(name)
            if kept is None:
                kept = self._retired.get(name)  # back: its calls still hold its channels
                if kept is not None:
                    revived.append(kept)
            if kept is None:
                states[name] = state
                continue
            old = kept.config
            if (old.host, old.port, old.transport) != (
                state.config.host,
                state.config.port,
                state.config.transport,
            ):
                # Another address: its health so far says nothing about the new one.
                kept.up, kept.next_probe_at = True, 0.0
                kept._failures = kept._successes = 0
            kept.config = state.config
            states[name] = kept
        built = self._build_groups(groups, states)
        for state in revived:  # marked down when it left; a fresh start, as a new trunk
            state.up, state.next_probe_at = True, 0.0
            state._failures = state._successes = 0
        for name, state in self.states.items():
            if name not in states:
                state.up = False  # attempts under way skip it; their calls on it go on
                self._last.pop(name, None)
                self._retired[name] = state
        # A retired trunk's state is kept while calls hold its channels, so that a trunk
        # disabled and enabled again counts them against ``max_channels``.
        self._retired = {
            name: state
            for name, state in self._retired.items()
            if name not in states and state.active_calls > 0
        }
        for group_name, group in built.items():  # weighted round robin carries on
            previous = self.groups.get(group_name)
            if previous is not None:
                group._current_weight.update(previous._current_weight)
        probed = {name for group in groups for name in group.trunks}
        outstanding = {
            name: deadline
            for name, deadline in self.schedule._outstanding.items()
            if name in probed and name in states
        }
        self.states, self.groups = states, built
        self.schedule = ProbeSchedule(
            [s for n, s in states.items() if n in probed], _outstanding=outstanding
        )
        self._probes = {pid: name for pid, name in self._probes.items() if name in outstanding}
        if self._running:  # probe new trunks now, re-arm for the rest
            if self._timer is not None:
                self._timer.cancel()
            self._timer, self._timer_at = None, None
            self._on_timer()

    def stop(self) -> None:
        self._running = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # ---- probes --------------------------------------------------------------------------

    def _on_timer(self) -> None:
        self._timer, self._timer_at = None, None
        if not self._running:
            return
        now = self.clock()
        for change in self.schedule.handle_timer(now):
            self._health_changed(change)
        for trunk in self.schedule.due(now):
            self._probe(trunk, now)
        self.sip.flush()
        self._rearm()

    def _probe(self, trunk: TrunkState, now: float) -> None:
        config = trunk.config
        host = config.host if ":" not in config.host else f"[{config.host}]"
        parameters = "" if config.transport == "udp" else f";transport={config.transport}"
        try:
            probe_id = self.sip.user_agent.send_options(
                request_uri=f"sip:{host}:{config.port}{parameters}",
                destination=(config.host, config.port),
                transport=config.transport,
                from_uri=f"sip:hotline@{self.local_host}",
                now=now,
            )
        except (ProtocolError, KeyError) as error:  # KeyError: no listener of that transport
            log.warning("trunk %s cannot be probed: %r", trunk.name, error)
            self._record(trunk.name, None, now)
            return
        self._probes[probe_id] = trunk.name

    def options_answered(self, event: OptionsAnswered, now: float) -> None:
        """The SIP side's report of one probe (called from the SIP event callback)."""
        name = self._probes.pop(event.probe_id, None)
        if name is None:
            return
        self._record(name, event.status, now)
        self._rearm()

    def _record(self, name: str, status: int | None, now: float) -> None:
        self._last[name] = (status, now)
        change = self.schedule.answered(name, status, now)
        if change is not None:
            self._health_changed(change)

    def _health_changed(self, change: TrunkHealthChanged) -> None:
        level = logging.INFO if change.up else logging.WARNING
        log.log(
            level,
            "trunk %s is %s: %s",
            change.trunk,
            "up" if change.up else "down",
            change.reason,
            extra={"trunk": change.trunk},
        )
        self.bus.publish(change)

    def _rearm(self) -> None:
        if not self._running:
            return
        deadline = self.schedule.next_timer()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            delay = max(0.0, deadline - self.clock())
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    # ---- views ---------------------------------------------------------------------------

    def views(self) -> list[TrunkView]:
        probed = {t.name for t in self.schedule.trunks}
        views = []
        for name, state in self.states.items():
            config = state.config
            status, at = self._last.get(name, (None, None))
            views.append(
                TrunkView(
                    name=name,
                    host=config.host,
                    port=config.port,
                    transport=config.transport,
                    groups=tuple(g for g, group in self.groups.items() if state in group.trunks),
                    probed=name in probed,
                    up=state.up,
                    active_calls=state.active_calls,
                    max_channels=config.max_channels,
                    calls_total=state.calls_total,
                    last_probe_status=status,
                    last_probe_at=at,
                )
            )
        return views
