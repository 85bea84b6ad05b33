"""A small reader for classic libpcap files holding UDP over IPv4.

It exists so that tests, tools and the scripted RTP sender can replay the captures shipped
with SIPp (``/usr/share/sip-tester/*.pcap``) without a dependency on scapy or dpkt. Only what
those captures use is supported: Ethernet, Linux cooked (SLL) and raw-IP link types, IPv4
without fragments, UDP. Anything else raises ``PcapError`` with the reason.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113

_MAGIC = {
    0xA1B2C3D4: ("<", 1e-6),
    0xD4C3B2A1: (">", 1e-6),
    0xA1B23C4D: ("<", 1e-9),
    0x4D3CB2A1: (">", 1e-9),
}


class PcapError(ValueError):
    """The file is not a pcap this reader understands."""


@dataclass(frozen=True, slots=True)
class UdpDatagram:
    """One captured UDP datagram: capture time (s), addresses and the payload."""

    time: float
    source: tuple[str, int]
    destination: tuple[str, int]
    payload: bytes


def _ipv4(raw: bytes) -> str:
    return ".".join(str(b) for b in raw)


def read_udp(path: str | Path) -> Iterator[UdpDatagram]:
    """Yield every UDP/IPv4 datagram of the capture in file order; skip other frames."""
    data = Path(path).read_bytes()
    if len(data) < 24:
        raise PcapError(f"{path}: too short for a pcap header")
    (magic,) = struct.unpack_from("<I", data)
    if magic not in _MAGIC:
        raise PcapError(f"{path}: not a classic pcap file (magic {magic:#x}); pcapng?")
    endian, tick = _MAGIC[magic]
    linktype = struct.unpack_from(endian + "I", data, 20)[0] & 0x0FFFFFFF
    if linktype not in (LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LINUX_SLL):
        raise PcapError(f"{path}: link type {linktype} not supported")
    record = struct.Struct(endian + "IIII")
    pos = 24
    while pos + record.size <= len(data):
        sec, frac, caplen, _wirelen = record.unpack_from(data, pos)
        pos += record.size
        frame = data[pos : pos + caplen]
        pos += caplen
        if len(frame) < caplen:
            raise PcapError(f"{path}: last record truncated")
        datagram = _udp_from_frame(frame, linktype, sec + frac * tick)
        if datagram is not None:
            yield datagram


def _udp_from_frame(frame: bytes, linktype: int, when: float) -> UdpDatagram | None:
    if linktype == LINKTYPE_ETHERNET:
        if len(frame) < 14:
            return None
        ethertype = struct.unpack_from("!H", frame, 12)[0]
        offset = 14
        if ethertype == 0x8100 and len(frame) >= 18:  # one VLAN tag
            ethertype = struct.unpack_from("!H", frame, 16)[0]
            offset = 18
        if ethertype != 0x0800:
            return None
    elif linktype == LINKTYPE_LINUX_SLL:
        if len(frame) < 16 or struct.unpack_from("!H", frame, 14)[0] != 0x0800:
            return None
        offset = 16
    else:
        offset = 0
    ip = frame[offset:]
    if len(ip) < 20 or ip[0] >> 4 != 4:
        return None
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack_from("!H", ip, 2)[0]
    flags_frag = struct.unpack_from("!H", ip, 6)[0]
    if ip[9] != 17 or flags_frag & 0x3FFF:  # not UDP, or a fragment
        return None
    udp = ip[ihl:total]
    if len(udp) < 8:
        return None
    sport, dport, length = struct.unpack_from("!HHH", udp)
    return UdpDatagram(
        time=when,
        source=(_ipv4(ip[12:16]), sport),
        destination=(_ipv4(ip[16:20]), dport),
        payload=bytes(udp[8:length]),
    )
