"""A per-source token bucket for :class:`hotline.sip.endpoint.RateLimiter`.

The security issue decides the policy (bans, svcrack detection); this is the mechanism it
can start from: each source IP gets ``burst`` messages and earns ``rate`` more per second.
Pure: takes ``now``; idle sources are forgotten so that a scan cannot grow the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hotline.sip.events import Address


@dataclass
class TokenBucketLimiter:
    rate: float = 50.0
    burst: float = 100.0
    max_sources: int = 100_000
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def allow(self, source: Address, now: float) -> bool:
        key = source[0]
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        if key not in self._buckets and len(self._buckets) >= self.max_sources:
            self._forget_idle(now)
        self._buckets[key] = (tokens, now)
        return allowed

    def _forget_idle(self, now: float) -> None:
        full_after = self.burst / self.rate
        self._buckets = {
            key: value for key, value in self._buckets.items() if now - value[1] < full_after
        }
