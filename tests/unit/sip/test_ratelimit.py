"""The per-source token bucket behind the endpoint's rate-limit hook."""

from __future__ import annotations

from hotline.sip.endpoint import SipEndpoint
from hotline.sip.events import MessageRejected
from hotline.sip.ratelimit import TokenBucketLimiter


def test_burst_then_rate() -> None:
    limiter = TokenBucketLimiter(rate=2.0, burst=3.0)
    source = ("198.51.100.1", 5060)
    assert [limiter.allow(source, 0.0) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow(source, 0.5)  # one token earned
    assert not limiter.allow(source, 0.5)
    assert limiter.allow(("198.51.100.2", 5060), 0.5)  # other sources are not affected


def test_endpoint_drops_what_the_limiter_refuses() -> None:
    limiter = TokenBucketLimiter(rate=1.0, burst=1.0)
    endpoint = SipEndpoint(sent_by={"UDP": ("192.0.2.1", 5060)}, rate_limiter=limiter)
    options = (
        b"OPTIONS sip:a@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.1;branch=z9hG4bK1\r\n"
        b"From: <sip:x@y>;tag=1\r\nTo: <sip:a@192.0.2.1>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n"
    )
    endpoint.receive(options, ("198.51.100.1", 5060), "UDP", 0.0)
    endpoint.receive(options.replace(b"bK1", b"bK2"), ("198.51.100.1", 5060), "UDP", 0.1)
    first = endpoint.next_event()
    second = endpoint.next_event()
    assert not isinstance(first, MessageRejected)
    assert isinstance(second, MessageRejected)
    assert second.reason == "rate limited"


def test_idle_sources_are_forgotten_when_the_table_is_full() -> None:
    limiter = TokenBucketLimiter(rate=10.0, burst=10.0, max_sources=2)
    limiter.allow(("a", 1), 0.0)
    limiter.allow(("b", 1), 0.0)
    limiter.allow(("c", 1), 5.0)
    assert set(limiter._buckets) == {"c"}
