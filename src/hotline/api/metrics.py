"""The API's own Prometheus metrics, read from live objects at scrape time.

Each node has its own ``CollectorRegistry`` (in the API context, not prometheus_client's
global one), so two nodes in one test process never mix their numbers. Other components
(SIP, media, ACD) add their collectors to the same registry in the composition root.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from hotline.api.context import ApiContext


class ApiCollector(Collector):
    def __init__(self, context: ApiContext) -> None:
        self.context = context

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        bus = self.context.bus
        yield CounterMetricFamily(
            "hotline_events_published", "Events published on the node's bus", value=bus.published
        )
        dropped = CounterMetricFamily(
            "hotline_events_dropped",
            "Events dropped because a subscriber's queue was full",
            labels=["subscriber"],
        )
        subscribers: dict[str, int] = {}
        totals: dict[str, int] = {}
        for subscription in bus.subscriptions:
            subscribers[subscription.name] = subscribers.get(subscription.name, 0) + 1
            totals[subscription.name] = totals.get(subscription.name, 0) + subscription.dropped
        for name, total in sorted(totals.items()):
            dropped.add_metric([name], total)
        yield dropped
        gauge = GaugeMetricFamily(
            "hotline_event_subscribers", "Open bus subscriptions", labels=["subscriber"]
        )
        for name, count in sorted(subscribers.items()):
            gauge.add_metric([name], count)
        yield gauge
        yield CounterMetricFamily(
            "hotline_logins_throttled",
            "Login attempts refused by the rate limiter",
            value=self.context.limiter.rejected,
        )
        yield GaugeMetricFamily(
            "hotline_websocket_clients",
            "WebSocket event stream clients connected",
            value=self.context.websocket_clients,
        )
        yield from self._trunks()

    def _trunks(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        operations = self.context.operations
        views = operations.trunks() if operations is not None else []
        up = GaugeMetricFamily("hotline_trunk_up", "1 if the trunk is up", labels=["trunk"])
        active = GaugeMetricFamily(
            "hotline_trunk_active_calls", "Calls on the trunk now", labels=["trunk"]
        )
        total = CounterMetricFamily(
            "hotline_trunk_calls", "Outbound call attempts on the trunk", labels=["trunk"]
        )
        for view in views:
            up.add_metric([view.name], 1.0 if view.up else 0.0)
            active.add_metric([view.name], view.active_calls)
            total.add_metric([view.name], view.calls_total)
        yield up
        yield active
        yield total
