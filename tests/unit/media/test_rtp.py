"""RTP/RTCP wire types against captured bytes, and per-stream statistics with an explicit clock."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path

import pytest

from hotline.media.pcap import read_udp
from hotline.media.rtp import (
    ReceptionReport,
    RtcpBye,
    RtcpReceiverReport,
    RtcpSdes,
    RtcpSenderReport,
    RtcpUnknown,
    RtpPacket,
    RtpParseError,
    RtpStreamStats,
    is_rtcp,
    ntp_from_unix,
    ntp_middle32,
    parse_rtcp,
    round_trip_time,
)

SIPP = Path("/usr/share/sip-tester")
CAPTURES = sorted(SIPP.glob("*.pcap"))


def test_the_sipp_captures_are_installed():
    assert len(CAPTURES) == 13, "install sip-tester: scripts/install-system-deps"


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_every_captured_packet_round_trips_byte_for_byte(capture):
    datagrams = list(read_udp(capture))
    assert datagrams
    for datagram in datagrams:
        packet = RtpPacket.parse(datagram.payload)
        assert bytes(packet) == datagram.payload


def test_g711a_capture_fields():
    packets = [RtpPacket.parse(d.payload) for d in read_udp(SIPP / "g711a.pcap")]
    assert len(packets) == 236
    assert {p.payload_type for p in packets} == {8}
    assert {len(p.payload) for p in packets} == {240}  # 30 ms of A-law
    assert len({p.ssrc for p in packets}) == 1
    steps = {(b.timestamp - a.timestamp) & 0xFFFFFFFF for a, b in itertools.pairwise(packets)}
    assert steps == {240}


def test_header_with_csrc_extension_and_padding_round_trips():
    packet = RtpPacket(
        payload_type=96,
        sequence_number=65535,
        timestamp=0xFFFFFFF0,
        ssrc=0xDEADBEEF,
        payload=b"\x01\x02\x03",
        marker=True,
        csrc=[1, 2],
        extension_profile=0xBEDE,
        extension=b"\x10\xff\x00\x00",
        padding=4,
    )
    raw = bytes(packet)
    assert len(raw) == 12 + 8 + 4 + 4 + 3 + 4
    assert RtpPacket.parse(raw) == packet


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x80\x00\x00",
        bytes([0x40]) + bytes(11),  # version 1
        bytes([0x82]) + bytes(11),  # CSRC count 2 but no CSRCs
        bytes([0x90]) + bytes(11) + b"\x00\x00",  # extension header cut short
        bytes([0x90]) + bytes(11) + b"\xbe\xde\x00\x05",  # extension longer than datagram
        bytes([0xA0]) + bytes(11) + b"\x00",  # padding length 0
        bytes([0xA0]) + bytes(11) + b"\x09",  # padding longer than payload
    ],
)
def test_malformed_rtp_raises_a_parse_error(raw):
    with pytest.raises(RtpParseError):
        RtpPacket.parse(raw)


def test_compound_rtcp_round_trips_and_is_told_apart_from_rtp():
    block = ReceptionReport(
        ssrc=7, fraction_lost=25, packets_lost=-3, highest_sequence=70000, jitter=12
    )
    sr = RtcpSenderReport(1, ntp_from_unix(1_700_000_000.25), 160, 50, 8000, [block])
    rr = RtcpReceiverReport(2, [block, ReceptionReport(ssrc=9, lsr=5, dlsr=6)])
    sdes = RtcpSdes([(1, "hotline@127.0.0.1"), (2, "x")])
    bye = RtcpBye([1, 2], "call ended")
    app = RtcpUnknown(204, 1, b"\x00\x00\x00\x01name")
    raw = b"".join(bytes(p) for p in (sr, rr, sdes, bye, app))
    assert is_rtcp(raw)
    assert not is_rtcp(bytes(RtpPacket(payload_type=8)))
    assert parse_rtcp(raw) == [sr, rr, sdes, bye, app]
    for packet in (sr, rr, sdes, bye, app):
        assert len(bytes(packet)) % 4 == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"\x80\xc8",
        bytes(RtcpReceiverReport(2, [ReceptionReport(ssrc=9)]))[:-4],
        b"\x81\xc9\x00\x01" + bytes(4),  # one report block announced, none present
        b"\x40\xc9\x00\x01" + bytes(4),  # version 1
        bytes(RtcpBye([1])) + b"\x80",  # trailing garbage
    ],
)
def test_malformed_rtcp_raises_a_parse_error(raw):
    with pytest.raises(RtpParseError):
        parse_rtcp(raw)


def test_rtt_from_our_sr_and_their_rr():
    sent_at = 1_700_000_000.0
    sr_ntp = ntp_from_unix(sent_at)
    # The peer held our SR for 0.25 s before sending its RR; the path takes 0.05 s each way.
    report = ReceptionReport(ssrc=1, lsr=ntp_middle32(sr_ntp), dlsr=int(0.25 * 65536))
    arrival = ntp_from_unix(sent_at + 0.05 + 0.25 + 0.05)
    rtt = round_trip_time(report, arrival)
    assert rtt == pytest.approx(0.10, abs=1e-3)
    assert round_trip_time(ReceptionReport(ssrc=1), arrival) is None


def test_receiver_stats_report_lsr_dlsr_for_the_sender():
    stats = RtpStreamStats()
    stats.update(5, 100, 0, 10.0)
    sr = RtcpSenderReport(5, ntp_from_unix(1_700_000_000.0), 0, 1, 160)
    stats.on_sender_report(sr, 10.0)
    block = stats.report_block(10.5)
    assert block.lsr == ntp_middle32(sr.ntp_timestamp)
    assert block.dlsr == 32768  # 0.5 s in 1/65536 s


def feed(
    stats: RtpStreamStats, seqs: Iterable[int], ssrc: int = 1, step: int = 160, start: float = 0.0
) -> None:
    for index, seq in enumerate(seqs):
        stats.update(ssrc, seq & 0xFFFF, (seq * step) & 0xFFFFFFFF, start + index * 0.02, 172)


def test_sequence_wrap_extends_the_highest_sequence():
    stats = RtpStreamStats()
    feed(stats, range(65530, 65546))
    assert stats.received == 16
    assert stats.cycles == 1 << 16
    assert stats.extended_max == 65545
    assert stats.lost == 0


def test_cumulative_and_fractional_loss():
    stats = RtpStreamStats()
    feed(stats, [s for s in range(100) if s % 10 != 3])  # 10 % lost
    assert stats.expected == 100
    assert stats.lost == 10
    assert stats.fraction_lost() == (10 << 8) // 100
    feed(stats, range(100, 200), start=2.0)  # no loss in the next interval
    assert stats.fraction_lost() == 0
    assert stats.lost == 10


def test_duplicates_make_loss_negative_as_rfc3550_says():
    stats = RtpStreamStats()
    feed(stats, [1, 2, 3, 3, 4])
    assert stats.lost == -1


def test_jitter_is_zero_for_a_steady_stream_and_grows_with_delay_variation():
    steady = RtpStreamStats()
    feed(steady, range(200))
    assert steady.jitter == pytest.approx(0.0, abs=1.0)

    jittery = RtpStreamStats()
    for seq in range(2000):
        delay = 0.010 if seq % 2 else 0.0  # every other packet 10 ms late: |D| = 80 units
        jittery.update(1, seq, seq * 160, seq * 0.02 + delay)
    # J converges to the mean |D| = 80 timestamp units = 10 ms.
    assert jittery.jitter == pytest.approx(80, rel=0.05)
    assert jittery.jitter_seconds == pytest.approx(0.010, rel=0.05)


def test_ssrc_change_restarts_the_stream_and_is_counted():
    stats = RtpStreamStats()
    feed(stats, range(50), ssrc=1)
    feed(stats, range(9000, 9010), ssrc=2, start=1.0)
    assert stats.ssrc == 2
    assert stats.ssrc_changes == 1
    assert stats.received == 10
    assert stats.lost == 0


def test_a_huge_sequence_jump_is_dropped_until_confirmed_as_a_restart():
    stats = RtpStreamStats()
    feed(stats, range(10))
    assert stats.update(1, 30000, 0, 1.0) is False  # one stray packet: dropped
    assert stats.bad_sequence_drops == 1
    assert stats.update(1, 30001, 160, 1.02) is True  # the next in sequence: a restart
    assert stats.base_seq == 30001
    assert stats.lost == 0
