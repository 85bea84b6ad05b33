"""RTP and RTCP wire types (RFC 3550, profile RFC 3551) and per-stream receive statistics.

Each packet type is a dataclass with ``parse()`` and ``__bytes__`` so that tests can round-trip
captured bytes and so that the engine, the recorder and the stats share one definition of the
wire. The relay hot path does not build these objects per packet (see ``transport.rtp_udp``):
it reads the three header fields it needs with ``struct.unpack_from``; the dataclasses serve
the control path, tests and tools, where clarity matters more than microseconds.

Malformed input raises ``RtpParseError`` (a ``ValueError``): callers count and drop, never crash.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

RTP_VERSION = 2
RTP_HEADER = struct.Struct("!BBHII")
RTCP_HEADER = struct.Struct("!BBH")

# RTCP packet types (RFC 3550 §12.1).
RTCP_SR = 200
RTCP_RR = 201
RTCP_SDES = 202
RTCP_BYE = 203
RTCP_APP = 204

# Seconds between 1900 (NTP epoch) and 1970 (Unix epoch).
NTP_UNIX_OFFSET = 2_208_988_800


class RtpParseError(ValueError):
    """The bytes are not a well-formed RTP/RTCP packet; the remote peer broke the protocol."""


def is_rtcp(data: bytes) -> bool:
    """RFC 5761 §4: with RTP and RTCP on one port, RTCP has packet types 192..223 in byte 1."""
    return len(data) >= 2 and 192 <= data[1] <= 223


@dataclass(slots=True)
class RtpPacket:
    """One RTP packet (RFC 3550 §5.1). ``extension`` keeps the raw profile and body."""

    payload_type: int = 0
    sequence_number: int = 0
    timestamp: int = 0
    ssrc: int = 0
    payload: bytes = b""
    marker: bool = False
    csrc: list[int] = field(default_factory=list)
    extension_profile: int | None = None
    extension: bytes = b""
    padding: int = 0

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        if len(data) < RTP_HEADER.size:
            raise RtpParseError(f"RTP packet too short: {len(data)} bytes")
        first, second, seq, ts, ssrc = RTP_HEADER.unpack_from(data)
        if first >> 6 != RTP_VERSION:
            raise RtpParseError(f"RTP version {first >> 6}, expected 2")
        cc = first & 0x0F
        pos = RTP_HEADER.size + 4 * cc
        if len(data) < pos:
            raise RtpParseError("RTP packet truncated in CSRC list")
        csrc = list(struct.unpack_from(f"!{cc}I", data, RTP_HEADER.size)) if cc else []
        ext_profile: int | None = None
        ext = b""
        if first & 0x10:
            if len(data) < pos + 4:
                raise RtpParseError("RTP packet truncated in extension header")
            ext_profile, ext_words = struct.unpack_from("!HH", data, pos)
            pos += 4
            if len(data) < pos + 4 * ext_words:
                raise RtpParseError("RTP packet truncated in extension body")
            ext = data[pos : pos + 4 * ext_words]
            pos += 4 * ext_words
        end = len(data)
        padding = 0
        if first & 0x20:
            padding = data[-1]
            if padding == 0 or end - padding < pos:
                raise RtpParseError("RTP padding length is invalid")
            end -= padding
        return cls(
            payload_type=second & 0x7F,
            sequence_number=seq,
            timestamp=ts,
            ssrc=ssrc,
            payload=bytes(data[pos:end]),
            marker=bool(second & 0x80),
            csrc=csrc,
            extension_profile=ext_profile,
            extension=bytes(ext),
            padding=padding,
        )

    def __bytes__(self) -> bytes:
        first = RTP_VERSION << 6 | len(self.csrc)
        if self.padding:
            first |= 0x20
        if self.extension_profile is not None:
            first |= 0x10
        out = bytearray(
            RTP_HEADER.pack(
                first,
                (0x80 if self.marker else 0) | self.payload_type,
                self.sequence_number,
                self.timestamp,
                self.ssrc,
            )
        )
        for csrc in self.csrc:
            out += struct.pack("!I", csrc)
        if self.extension_profile is not None:
            if len(self.extension) % 4:
                raise ValueError("RTP header extension must be a whole number of 32-bit words")
            out += struct.pack("!HH", self.extension_profile, len(self.extension) // 4)
            out += self.extension
        out += self.payload
        if self.padding:
            out += bytes(self.padding - 1) + bytes([self.padding])
        return bytes(out)


@dataclass(slots=True)
class ReceptionReport:
    """One report block of an SR or RR (RFC 3550 §6.4.1)."""

    ssrc: int
    fraction_lost: int = 0
    packets_lost: int = 0
    highest_sequence: int = 0
    jitter: int = 0
    lsr: int = 0
    dlsr: int = 0

    SIZE = 24

    @classmethod
    def parse(cls, data: bytes, offset: int = 0) -> ReceptionReport:
        if len(data) < offset + cls.SIZE:
            raise RtpParseError("RTCP report block truncated")
        ssrc, loss_word, highest, jitter, lsr, dlsr = struct.unpack_from("!IIIIII", data, offset)
        lost = loss_word & 0xFFFFFF
        if lost & 0x800000:  # 24-bit signed: duplicates can make it negative
            lost -= 0x1000000
        return cls(ssrc, loss_word >> 24, lost, highest, jitter, lsr, dlsr)

    def __bytes__(self) -> bytes:
        lost = max(-0x800000, min(0x7FFFFF, self.packets_lost)) & 0xFFFFFF
        return struct.pack(
            "!IIIIII",
            self.ssrc,
            (self.fraction_lost & 0xFF) << 24 | lost,
            self.highest_sequence,
            self.jitter,
            self.lsr,
            self.dlsr,
        )


def _rtcp_header(count: int, packet_type: int, body_len: int) -> bytes:
    return RTCP_HEADER.pack(RTP_VERSION << 6 | count, packet_type, (body_len + 4) // 4 - 1)


@dataclass(slots=True)
class RtcpSenderReport:
    """SR (RFC 3550 §6.4.1): sender info plus reception report blocks."""

    ssrc: int
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: list[ReceptionReport] = field(default_factory=list)

    @classmethod
    def parse(cls, data: bytes, count: int) -> RtcpSenderReport:
        if len(data) < 24 + 24 * count:
            raise RtpParseError("RTCP SR truncated")
        ssrc, ntp_hi, ntp_lo, rtp_ts, packets, octets = struct.unpack_from("!IIIIII", data)
        reports = [ReceptionReport.parse(data, 24 + 24 * i) for i in range(count)]
        return cls(ssrc, ntp_hi << 32 | ntp_lo, rtp_ts, packets, octets, reports)

    def __bytes__(self) -> bytes:
        body = struct.pack(
            "!IQIII",
            self.ssrc,
            self.ntp_timestamp,
            self.rtp_timestamp,
            self.packet_count,
            self.octet_count,
        ) + b"".join(bytes(r) for r in self.reports)
        return _rtcp_header(len(self.reports), RTCP_SR, len(body)) + body


@dataclass(slots=True)
class RtcpReceiverReport:
    """RR (RFC 3550 §6.4.2)."""

    ssrc: int
    reports: list[ReceptionReport] = field(default_factory=list)

    @classmethod
    def parse(cls, data: bytes, count: int) -> RtcpReceiverReport:
        if len(data) < 4 + 24 * count:
            raise RtpParseError("RTCP RR truncated")
        (ssrc,) = struct.unpack_from("!I", data)
        return cls(ssrc, [ReceptionReport.parse(data, 4 + 24 * i) for i in range(count)])

    def __bytes__(self) -> bytes:
        body = struct.pack("!I", self.ssrc) + b"".join(bytes(r) for r in self.reports)
        return _rtcp_header(len(self.reports), RTCP_RR, len(body)) + body


@dataclass(slots=True)
class RtcpSdes:
    """SDES (RFC 3550 §6.5) reduced to what we send and read: the CNAME of each source."""

    chunks: list[tuple[int, str]] = field(default_factory=list)

    @classmethod
    def parse(cls, data: bytes, count: int) -> RtcpSdes:
        chunks: list[tuple[int, str]] = []
        pos = 0
        for _ in range(count):
            if len(data) < pos + 4:
                raise RtpParseError("RTCP SDES chunk truncated")
            (ssrc,) = struct.unpack_from("!I", data, pos)
            pos += 4
            cname = ""
            while True:
                if pos >= len(data):
                    raise RtpParseError("RTCP SDES items truncated")
                item = data[pos]
                if item == 0:
                    pos = (pos + 4) & ~3  # skip the null terminator and pad to 32 bits
                    break
                if pos + 2 > len(data) or pos + 2 + data[pos + 1] > len(data):
                    raise RtpParseError("RTCP SDES item truncated")
                length = data[pos + 1]
                if item == 1:
                    cname = data[pos + 2 : pos + 2 + length].decode("utf-8", "replace")
                pos += 2 + length
            chunks.append((ssrc, cname))
        return cls(chunks)

    def __bytes__(self) -> bytes:
        body = bytearray()
        for ssrc, cname in self.chunks:
            raw = cname.encode()[:255]
            chunk = struct.pack("!IBB", ssrc, 1, len(raw)) + raw + b"\x00"
            chunk += bytes(-len(chunk) % 4)
            body += chunk
        return _rtcp_header(len(self.chunks), RTCP_SDES, len(body)) + bytes(body)


@dataclass(slots=True)
class RtcpBye:
    """BYE (RFC 3550 §6.6) with its optional reason."""

    sources: list[int] = field(default_factory=list)
    reason: str = ""

    @classmethod
    def parse(cls, data: bytes, count: int) -> RtcpBye:
        if len(data) < 4 * count:
            raise RtpParseError("RTCP BYE truncated")
        sources = list(struct.unpack_from(f"!{count}I", data))
        reason = ""
        pos = 4 * count
        if len(data) > pos:
            length = data[pos]
            if len(data) < pos + 1 + length:
                raise RtpParseError("RTCP BYE reason truncated")
            reason = data[pos + 1 : pos + 1 + length].decode("utf-8", "replace")
        return cls(sources, reason)

    def __bytes__(self) -> bytes:
        body = b"".join(struct.pack("!I", s) for s in self.sources)
        if self.reason:
            raw = self.reason.encode()[:255]
            body += bytes([len(raw)]) + raw
            body += bytes(-len(body) % 4)
        return _rtcp_header(len(self.sources), RTCP_BYE, len(body)) + body


@dataclass(slots=True)
class RtcpUnknown:
    """A packet type we do not interpret (APP, XR, feedback): kept raw so it round-trips."""

    packet_type: int
    count: int
    body: bytes

    def __bytes__(self) -> bytes:
        return _rtcp_header(self.count, self.packet_type, len(self.body)) + self.body


RtcpPacket = RtcpSenderReport | RtcpReceiverReport | RtcpSdes | RtcpBye | RtcpUnknown


def parse_rtcp(data: bytes) -> list[RtcpPacket]:
    """Split a compound RTCP packet (RFC 3550 §6.1) into its parts."""
    packets: list[RtcpPacket] = []
    pos = 0
    if len(data) < 4:
        raise RtpParseError(f"RTCP packet too short: {len(data)} bytes")
    while pos < len(data):
        if len(data) < pos + 4:
            raise RtpParseError("RTCP compound packet has trailing bytes")
        first, packet_type, words = RTCP_HEADER.unpack_from(data, pos)
        if first >> 6 != RTP_VERSION:
            raise RtpParseError(f"RTCP version {first >> 6}, expected 2")
        end = pos + 4 * (words + 1)
        if end > len(data):
            raise RtpParseError("RTCP length field exceeds the datagram")
        count = first & 0x1F
        body = data[pos + 4 : end]
        if first & 0x20 and body:
            pad = body[-1]
            if pad == 0 or pad > len(body):
                raise RtpParseError("RTCP padding length is invalid")
            body = body[:-pad]
        if packet_type == RTCP_SR:
            packets.append(RtcpSenderReport.parse(body, count))
        elif packet_type == RTCP_RR:
            packets.append(RtcpReceiverReport.parse(body, count))
        elif packet_type == RTCP_SDES:
            packets.append(RtcpSdes.parse(body, count))
        elif packet_type == RTCP_BYE:
            packets.append(RtcpBye.parse(body, count))
        else:
            packets.append(RtcpUnknown(packet_type, count, bytes(body)))
        pos = end
    return packets


def ntp_from_unix(seconds: float) -> int:
    """64-bit NTP timestamp (RFC 3550 §4) for a Unix time in seconds."""
    whole = int(seconds)
    frac = int((seconds - whole) * (1 << 32)) & 0xFFFFFFFF
    return (whole + NTP_UNIX_OFFSET) << 32 | frac


def ntp_middle32(ntp: int) -> int:
    """The middle 32 bits of an NTP timestamp: the LSR/DLSR unit of 1/65536 s."""
    return (ntp >> 16) & 0xFFFFFFFF


def round_trip_time(report: ReceptionReport, arrival_ntp: int) -> float | None:
    """RTT in seconds from a report block about our stream (RFC 3550 §6.4.1, figure 2).

    ``None`` when the peer has not yet received an SR from us (LSR = 0).
    """
    if report.lsr == 0:
        return None
    delta = (ntp_middle32(arrival_ntp) - report.lsr - report.dlsr) & 0xFFFFFFFF
    if delta & 0x80000000:  # negative: clocks or a bogus report; do not invent a figure
        return None
    return delta / 65536.0


# RFC 3550 appendix A.1 constants.
MAX_DROPOUT = 3000
MAX_MISORDER = 100
RTP_SEQ_MOD = 1 << 16


@dataclass(slots=True)
class RtpStreamStats:
    """Receive statistics of one RTP source (RFC 3550 A.1, A.3, A.8).

    ``update()`` takes the header fields and the arrival time in the stream's clock units so
    that it works without building a packet object. A new SSRC restarts the statistics and is
    counted in ``ssrc_changes`` (a re-INVITE, a transfer or a media server switching streams).
    """

    clock_rate: int = 8000
    ssrc: int | None = None
    received: int = 0
    octets: int = 0
    ssrc_changes: int = 0
    bad_sequence_drops: int = 0
    duplicates_or_late: int = 0
    max_seq: int = 0
    cycles: int = 0
    base_seq: int = 0
    bad_seq: int = RTP_SEQ_MOD + 1
    jitter: float = 0.0
    _transit: int | None = None
    _expected_prior: int = 0
    _received_prior: int = 0
    last_sr_ntp: int = 0
    last_sr_arrival: float = 0.0

    def _init_seq(self, seq: int) -> None:
        self.base_seq = seq
        self.max_seq = seq
        self.bad_seq = RTP_SEQ_MOD + 1
        self.cycles = 0
        self.received = 0
        self._expected_prior = 0
        self._received_prior = 0

    def update(self, ssrc: int, seq: int, timestamp: int, arrival: float, size: int = 0) -> bool:
        """Account one packet; ``arrival`` in seconds. False when A.1 says to drop it."""
        if ssrc != self.ssrc:
            if self.ssrc is not None:
                self.ssrc_changes += 1
            self.ssrc = ssrc
            # The first packet of a source is trusted (A.1's probation would drop the first
            # packets of every call from the counts); restarts are still detected below.
            self._init_seq(seq)
            self.jitter = 0.0
            self._transit = None
        if not self._update_seq(seq):
            self.bad_sequence_drops += 1
            return False
        self.octets += size
        # A.8: the transit time difference in timestamp units, smoothed by 1/16.
        transit = int(arrival * self.clock_rate) - timestamp
        if self._transit is not None:
            d = transit - self._transit
            # Timestamps wrap at 2**32; fold the difference back into a signed range.
            d = (d + (1 << 31)) % (1 << 32) - (1 << 31)
            self.jitter += (abs(d) - self.jitter) / 16.0
        self._transit = transit
        return True

    def _update_seq(self, seq: int) -> bool:
        udelta = (seq - self.max_seq) & 0xFFFF
        if udelta < MAX_DROPOUT:
            if seq < self.max_seq:
                self.cycles += RTP_SEQ_MOD
            self.max_seq = seq
        elif udelta <= RTP_SEQ_MOD - MAX_MISORDER:
            if seq == self.bad_seq:
                # Two sequential packets after a big jump: the source restarted.
                self._init_seq(seq)
            else:
                self.bad_seq = (seq + 1) & 0xFFFF
                return False
        else:
            self.duplicates_or_late += 1
        self.received += 1
        return True

    @property
    def extended_max(self) -> int:
        return self.cycles + self.max_seq

    @property
    def expected(self) -> int:
        return 0 if self.ssrc is None else self.extended_max - self.base_seq + 1

    @property
    def lost(self) -> int:
        """Cumulative loss (A.3); negative when duplicates outnumber losses."""
        return self.expected - self.received if self.received else 0

    @property
    def jitter_units(self) -> int:
        return int(self.jitter)

    @property
    def jitter_seconds(self) -> float:
        return self.jitter / self.clock_rate

    def fraction_lost(self) -> int:
        """Loss since the previous call, in 1/256 (A.3); call once per report interval."""
        expected = self.expected
        expected_interval = expected - self._expected_prior
        self._expected_prior = expected
        received_interval = self.received - self._received_prior
        self._received_prior = self.received
        lost_interval = expected_interval - received_interval
        if expected_interval == 0 or lost_interval <= 0:
            return 0
        return (lost_interval << 8) // expected_interval

    def on_sender_report(self, sr: RtcpSenderReport, arrival: float) -> None:
        self.last_sr_ntp = sr.ntp_timestamp
        self.last_sr_arrival = arrival

    def report_block(self, now: float) -> ReceptionReport:
        """A report block about this source, with LSR/DLSR so the sender can compute RTT."""
        lsr = ntp_middle32(self.last_sr_ntp) if self.last_sr_ntp else 0
        dlsr = int((now - self.last_sr_arrival) * 65536) if self.last_sr_ntp else 0
        return ReceptionReport(
            ssrc=self.ssrc or 0,
            fraction_lost=self.fraction_lost(),
            packets_lost=self.lost,
            highest_sequence=self.extended_max & 0xFFFFFFFF,
            jitter=self.jitter_units,
            lsr=lsr,
            dlsr=max(0, dlsr),
        )
