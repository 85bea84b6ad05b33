"""/metrics of the live contact centre: read from the live objects at scrape time."""

from __future__ import annotations

from collections import Counter

from prometheus_client import CollectorRegistry, generate_latest

from hotline.calls.events import LegMediaStats
from hotline.demo.config import demo_contact_center
from hotline.events.bus import EventBus
from hotline.services.metrics import CallQuality, LiveCollector
from hotline.services.operations import LiveOperations


async def _nothing(_: object) -> None:
    return None


async def test_calls_queues_agents_sip_and_rtp_are_exposed() -> None:
    center = demo_contact_center()
    operations = LiveOperations(center, _nothing)
    await operations.agent_login("1002")
    center.inbound_call(
        10.0, call_id="c1", leg_id="l1", caller="13800000000", callee="4000", trunk="local"
    )
    sent: Counter[int] = Counter({200: 3, 404: 1})
    received: Counter[int] = Counter({180: 2})
    quality = CallQuality(EventBus())
    quality.add(
        LegMediaStats(
            at=20.0,
            call_id="c1",
            leg_id="l1",
            role="customer",
            received=500,
            lost=3,
            jitter_ms=2.0,
            sent=490,
        )
    )
    registry = CollectorRegistry()
    registry.register(LiveCollector(operations, lambda: (sent, received), quality))
    text = generate_latest(registry).decode()
    lines = set(text.splitlines())
    assert "hotline_calls_in_progress 1.0" in lines
    assert 'hotline_agents{state="available"} 1.0' in lines
    assert 'hotline_queue_waiting{queue="after-sales"} 0.0' in lines
    assert 'hotline_sip_responses_total{code="404",direction="sent"} 1.0' in lines
    assert 'hotline_sip_responses_total{code="180",direction="received"} 2.0' in lines
    assert 'hotline_rtp_packets_received_total{role="customer"} 500.0' in lines
    assert 'hotline_rtp_packets_lost_total{role="customer"} 3.0' in lines
    await quality.stop()
