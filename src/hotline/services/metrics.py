"""Prometheus metrics of the live contact centre: calls, queues, agents, SIP and RTP.

Read from live objects at scrape time (nothing is counted twice or kept in a second place),
except the RTP figures: a leg's packets and losses are known when the leg ends
(``LegMediaStats``), so :class:`CallQuality` sums those events as they come. The
composition root registers :class:`LiveCollector` on the API's registry (``/metrics``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from hotline.calls.events import LegMediaStats
from hotline.events.bus import EventBus, Subscription
from hotline.services.operations import LiveOperations


class CallQuality:
    """Running totals of RTP packets received and lost at our endpoints, per leg role."""

    def __init__(self, bus: EventBus) -> None:
        self.received: Counter[str] = Counter()
        self.lost: Counter[str] = Counter()
        self.legs: Counter[str] = Counter()
        self._subscription: Subscription[LegMediaStats] = bus.subscribe(
            LegMediaStats, maxsize=10_000, name="metrics"
        )
        self._task: asyncio.Task[None] | None = None

    def add(self, stats: LegMediaStats) -> None:
        self.received[stats.role] += stats.received
        self.lost[stats.role] += max(stats.lost, 0)
        self.legs[stats.role] += 1

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._follow(), name="call-quality")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._subscription.close()

    async def _follow(self) -> None:
        async for stats in self._subscription:
            self.add(stats)


class LiveCollector(Collector):
    def __init__(
        self,
        operations: LiveOperations,
        sip_responses: Callable[[], tuple[Mapping[int, int], Mapping[int, int]]],
        quality: CallQuality,
    ) -> None:
        self.operations = operations
        self.sip_responses = sip_responses
        self.quality = quality

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        operations = self.operations
        yield GaugeMetricFamily(
            "hotline_calls_in_progress", "Calls in progress", value=len(operations.calls())
        )
        waiting = GaugeMetricFamily(
            "hotline_queue_waiting", "Callers waiting in the queue", labels=["queue"]
        )
        longest = GaugeMetricFamily(
            "hotline_queue_longest_wait_seconds",
            "How long the first caller in the queue has waited",
            labels=["queue"],
        )
        for queue in operations.queues():
            waiting.add_metric([queue.name], queue.waiting)
            longest.add_metric([queue.name], queue.longest_wait)
        yield waiting
        yield longest
        states: Counter[str] = Counter(agent.state for agent in operations.agents())
        agents = GaugeMetricFamily("hotline_agents", "Agents by state", labels=["state"])
        for state, count in sorted(states.items()):
            agents.add_metric([state], count)
        yield agents
        sent, received = self.sip_responses()
        responses = CounterMetricFamily(
            "hotline_sip_responses",
            "SIP responses by status code: sent by this node, or received from peers",
            labels=["direction", "code"],
        )
        for direction, counts in (("sent", sent), ("received", received)):
            for code, count in sorted(counts.items()):
                responses.add_metric([direction, str(code)], count)
        yield responses
        packets = CounterMetricFamily(
            "hotline_rtp_packets_received",
            "RTP packets received on ended legs, by leg role",
            labels=["role"],
        )
        lost = CounterMetricFamily(
            "hotline_rtp_packets_lost",
            "RTP packets lost on the way to us on ended legs, by leg role",
            labels=["role"],
        )
        for role in sorted(self.quality.legs):
            packets.add_metric([role], self.quality.received[role])
            lost.add_metric([role], self.quality.lost[role])
        yield packets
        yield lost
