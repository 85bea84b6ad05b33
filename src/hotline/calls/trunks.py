"""Carrier trunks: which trunk an outbound call tries, in what order, and when to move on.

Pure policy with an explicit clock, so the transport only sends what this decides:
- **Health** by OPTIONS probes with hysteresis: a trunk goes down after ``down_after``
  failed probes in a row and comes back after ``up_after`` good ones, so one lost packet does
  not flap routing. A probe fails on no answer, 408 or 5xx; any other answer (even 404 or
  405, which some carriers send to OPTIONS) proves the trunk is there.
- **Capacity**: ``max_channels`` calls at once per trunk, counted from the INVITE until the
  leg ends; a full trunk is skipped, never queued behind.
- **Order** within a group by strategy (``priority``, ``weighted_round_robin``,
  ``least_used``), then **failover** within the same attempt on the answers in
  ``failover_on``.

Default failover: 408, any 5xx, and 604/606. Not 600 Busy Everywhere or 603 Decline: those
speak for the callee, and trying another carrier would only ring a person who refused.
Operators may add ``6xx`` or single codes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from hotline.calls.events import TrunkHealthChanged
from hotline.calls.numbers import DialFormat

Strategy = Literal["priority", "weighted_round_robin", "least_used"]
_CODE_PATTERN = re.compile(r"^[3-6]([0-9]{2}|xx)$")


class TrunkConfig(BaseModel):
    """One carrier connection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    host: str = Field(min_length=1)
    port: int = Field(default=5060, ge=1, le=65535)
    transport: Literal["udp", "tcp", "tls"] = "udp"
    username: str | None = None
    password: SecretStr | None = None
    max_channels: int | None = Field(default=None, ge=1, description="None: no limit")
    priority: int = Field(default=0, ge=0, description="lower is tried first")
    weight: int = Field(default=1, ge=1, le=1000)
    dial_format: DialFormat = "national"
    caller_id: str | None = Field(default=None, description="fixed presented number")
    probe_interval_s: float = Field(default=30.0, gt=0)
    probe_timeout_s: float = Field(
        default=5.0, gt=0, description="a probe unanswered this long counts as failed"
    )
    down_after: int = Field(default=3, ge=1)
    up_after: int = Field(default=2, ge=1)
    setup_timeout_s: float = Field(
        default=8.0,
        gt=0,
        description="an INVITE with neither ringing nor a final answer this long fails over",
    )


class TrunkGroupConfig(BaseModel):
    """Trunks that can carry the same calls, and how to choose among them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64)
    strategy: Strategy = "priority"
    trunks: tuple[str, ...] = Field(min_length=1)
    failover_on: tuple[str, ...] = ("408", "5xx", "604", "606")
    caller_ids: tuple[str, ...] = Field(
        default=(), description="numbers calls through this group may present (our DIDs)"
    )
    default_caller_id: str | None = Field(
        default=None, description="presented when the call asks for no allowed number"
    )

    @field_validator("failover_on")
    @classmethod
    def _codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for code in value:
            if not _CODE_PATTERN.match(code):
                raise ValueError(f"{code!r} is not a SIP status like '503' or a class like '5xx'")
        return value

    def fails_over_on(self, status: int | None) -> bool:
        """Whether an attempt moves to the next trunk; ``None`` is no answer at all."""
        if status is None:
            return True
        text = str(status)
        return any(code in (text, text[0] + "xx") for code in self.failover_on)


@dataclass
class TrunkState:
    """A trunk's live state: health, probes and channels in use."""

    config: TrunkConfig
    up: bool = True
    active_calls: int = 0
    calls_total: int = 0
    next_probe_at: float = 0.0
    _failures: int = 0
    _successes: int = 0

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def has_capacity(self) -> bool:
        limit = self.config.max_channels
        return limit is None or self.active_calls < limit

    @property
    def usable(self) -> bool:
        return self.up and self.has_capacity

    def probe_due(self, now: float) -> bool:
        return now >= self.next_probe_at

    def record_probe(self, status: int | None, now: float) -> TrunkHealthChanged | None:
        """Record an OPTIONS answer (``None``: none came) and maybe change health."""
        self.next_probe_at = now + self.config.probe_interval_s
        failed = status is None or status == 408 or 500 <= status < 600
        if failed:
            self._failures, self._successes = self._failures + 1, 0
            if self.up and self._failures >= self.config.down_after:
                self.up = False
                reason = "no answer" if status is None else f"answered {status}"
                return TrunkHealthChanged(
                    at=now,
                    trunk=self.name,
                    up=False,
                    reason=f"{self._failures} probes failed, last {reason}",
                )
        else:
            self._successes, self._failures = self._successes + 1, 0
            if not self.up and self._successes >= self.config.up_after:
                self.up = True
                return TrunkHealthChanged(
                    at=now, trunk=self.name, up=True, reason=f"{self._successes} probes answered"
                )
        return None

    def acquire(self) -> None:
        if not self.has_capacity:
            raise RuntimeError(f"trunk {self.name} has no free channel")
        self.active_calls += 1
        self.calls_total += 1

    def release(self) -> None:
        if self.active_calls <= 0:
            raise RuntimeError(f"trunk {self.name}: release without acquire")
        self.active_calls -= 1


@dataclass
class TrunkGroup:
    """Orders a group's usable trunks for each new attempt."""

    config: TrunkGroupConfig
    trunks: list[TrunkState]
    _current_weight: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, config: TrunkGroupConfig, trunks: Mapping[str, TrunkState]) -> TrunkGroup:
        missing = [name for name in config.trunks if name not in trunks]
        if missing:
            raise ValueError(f"trunk group {config.name}: no trunk {missing[0]!r}")
        return cls(config, [trunks[name] for name in config.trunks])

    def order(self) -> list[TrunkState]:
        """The trunks one attempt will try, first choice first; down or full ones left out."""
        usable = [t for t in self.trunks if t.usable]
        if self.config.strategy == "least_used":
            return sorted(usable, key=lambda t: (t.active_calls, t.config.priority))
        if self.config.strategy == "weighted_round_robin":
            return self._smooth_weighted(usable)
        return sorted(usable, key=lambda t: t.config.priority)

    def _smooth_weighted(self, usable: list[TrunkState]) -> list[TrunkState]:
        # Smooth weighted round robin (as in nginx's upstream): every pick adds each trunk's
        # weight to its running score and takes the highest, which spreads picks evenly
        # (weights 5:1:1 give a,a,b,a,c,a,a rather than a,a,a,a,a,b,c).
        if not usable:
            return []
        total = sum(t.config.weight for t in usable)
        for trunk in usable:
            self._current_weight[trunk.name] = (
                self._current_weight.get(trunk.name, 0) + trunk.config.weight
            )
        ranked = sorted(usable, key=lambda t: -self._current_weight[t.name])
        self._current_weight[ranked[0].name] -= total
        return ranked


class OutboundAttempt:
    """One outbound call's walk through a trunk group until answered or out of trunks.

    ``next_trunk`` takes a channel on the trunk it returns; the caller gives it back with
    ``failed`` (then maybe tries the next) or, for an answered call, ``ended``.
    """

    def __init__(self, group: TrunkGroup) -> None:
        self._group = group
        self._remaining = group.order()
        self._current: TrunkState | None = None
        self.tried: list[str] = []

    @property
    def in_use(self) -> TrunkState | None:
        """The trunk whose channel this attempt holds now."""
        return self._current

    def next_trunk(self) -> TrunkState | None:
        if self._current is not None:
            raise RuntimeError("the current trunk has not failed or ended yet")
        while self._remaining:
            trunk = self._remaining.pop(0)
            if trunk.usable:  # it may have filled up or gone down since the attempt began
                trunk.acquire()
                self._current = trunk
                self.tried.append(trunk.name)
                return trunk
        return None

    def failed(self, status: int | None) -> bool:
        """The current trunk's INVITE failed; True if the attempt should try the next."""
        trunk = self._take_current()
        trunk.release()
        return self._group.config.fails_over_on(status) and bool(self._remaining)

    def ended(self) -> None:
        """The answered call on the current trunk is over."""
        self._take_current().release()

    def _take_current(self) -> TrunkState:
        if self._current is None:
            raise RuntimeError("no trunk is in use by this attempt")
        trunk, self._current = self._current, None
        return trunk


@dataclass
class ProbeSchedule:
    """When to send each trunk's OPTIONS, and which probes went unanswered.

    The SIP layer's own timeout for an OPTIONS (Timer F, 32 s) is far longer than a useful
    probe interval, so a probe counts as failed after the trunk's ``probe_timeout_s`` (at
    most its interval); an answer that comes later is ignored. One probe per trunk is out
    at a time.
    """

    trunks: list[TrunkState]
    _outstanding: dict[str, float] = field(default_factory=dict)  # trunk -> deadline

    def due(self, now: float) -> list[TrunkState]:
        """Trunks to probe now; each is marked as having a probe out."""
        due = [t for t in self.trunks if t.name not in self._outstanding and t.probe_due(now)]
        for trunk in due:
            timeout = min(trunk.config.probe_timeout_s, trunk.config.probe_interval_s)
            self._outstanding[trunk.name] = now + timeout
        return due

    def answered(self, trunk: str, status: int | None, now: float) -> TrunkHealthChanged | None:
        """A probe's outcome (``None``: the transport failed); late answers are ignored."""
        if self._outstanding.pop(trunk, None) is None:
            return None
        return self._state(trunk).record_probe(status, now)

    def handle_timer(self, now: float) -> list[TrunkHealthChanged]:
        """Count the probes whose time ran out as failed."""
        changes = []
        for name, deadline in list(self._outstanding.items()):
            if deadline <= now:
                del self._outstanding[name]
                change = self._state(name).record_probe(None, now)
                if change is not None:
                    changes.append(change)
        return changes

    def next_timer(self) -> float | None:
        """The next probe to send or to give up on."""
        times = [self._outstanding.get(t.name, t.next_probe_at) for t in self.trunks]
        return min(times) if times else None

    def _state(self, name: str) -> TrunkState:
        return next(t for t in self.trunks if t.name == name)


def trunk_states(configs: Iterable[TrunkConfig]) -> dict[str, TrunkState]:
    states: dict[str, TrunkState] = {}
    for config in configs:
        if config.name in states:
            raise ValueError(f"two trunks are named {config.name!r}")
        states[config.name] = TrunkState(config)
    return states
