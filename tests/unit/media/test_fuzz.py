"""Random bytes never crash a parser or the relay hot path: they parse, or raise the parser's
own error (which callers count and drop)."""

from __future__ import annotations

import contextlib
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.media.default_codecs import default_registry
from hotline.media.dtmf import TelephoneEventReceiver
from hotline.media.engine import CodecOffer
from hotline.media.rtp import RtpPacket, RtpParseError, parse_rtcp
from hotline.media.wav import WavError, parse_wav
from hotline.transport.rtp_endpoint import RtpEndpoint

REGISTRY = default_registry(with_g729=False)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_rtp_and_rtcp_parsers_raise_only_their_error(data: bytes) -> None:
    for parse in (RtpPacket.parse, parse_rtcp):
        with contextlib.suppress(RtpParseError):
            parse(data)


@settings(max_examples=200, deadline=None)
@given(
    st.builds(
        RtpPacket,
        payload_type=st.integers(0, 127),
        sequence_number=st.integers(0, 0xFFFF),
        timestamp=st.integers(0, 0xFFFFFFFF),
        ssrc=st.integers(0, 0xFFFFFFFF),
        payload=st.binary(max_size=64),
        marker=st.booleans(),
        csrc=st.lists(st.integers(0, 0xFFFFFFFF), max_size=15),
        padding=st.integers(0, 255),
    )
)
def test_valid_rtp_round_trips(packet: RtpPacket) -> None:
    assert RtpPacket.parse(bytes(packet)) == packet


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_wav_parser_raises_only_wav_error(data: bytes) -> None:
    with contextlib.suppress(WavError):
        parse_wav(b"RIFF\x00\x00\x00\x00WAVE" + data)


class _Sink:
    def __init__(self) -> None:
        self.sent = 0

    def sendto(self, data: bytes, addr: Any = None) -> None:
        self.sent += 1

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def bridged() -> tuple[RtpEndpoint, RtpEndpoint]:
    offers = (CodecOffer("PCMU", 0), CodecOffer("PCMA", 8), CodecOffer("telephone-event", 101))
    a = RtpEndpoint("a", "c", offers, REGISTRY, inband_dtmf=True)
    b = RtpEndpoint("b", "c", offers, REGISTRY)
    for endpoint, port in ((a, 4000), (b, 4002)):
        endpoint.transport = cast(Any, _Sink())
        endpoint.set_remote("127.0.0.1", port, 0, 101)
    b.send_pt = 8  # different codecs: the transcoding path is fuzzed too
    a.connect(b)
    b.connect(a)
    return a, b


@settings(max_examples=400, deadline=None)
@given(
    first=st.sampled_from([0x80, 0x81, 0x90, 0xA0, 0xB3, 0x40, 0x00]),
    second=st.sampled_from([0, 8, 101, 0x80 | 8, 18, 200, 201, 203]),
    rest=st.binary(max_size=200),
)
def test_the_relay_hot_path_counts_and_drops_anything(
    bridged: tuple[RtpEndpoint, RtpEndpoint], first: int, second: int, rest: bytes
) -> None:
    a, _ = bridged
    a.datagram_received(bytes([first, second]) + rest, ("127.0.0.1", 4000))


def test_telephone_event_receiver_ignores_garbage() -> None:
    receiver = TelephoneEventReceiver()
    for data in (b"", b"\x00", b"\xff\xff\xff\xff", b"\x10\x80\x00\x00"):
        receiver.receive(data, 1)
