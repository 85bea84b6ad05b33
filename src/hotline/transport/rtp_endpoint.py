"""One RTP endpoint on a UDP socket: latching, pass-through or transcoding relay, recording tap,
DTMF collection and playback.

This is the per-packet hot path of the built-in engine, so ``datagram_received`` reads the
header with byte indexing, builds no objects for relayed packets and sends the very bytes it
received when both legs share a codec (pass-through). Every packet that cannot be used is
counted under its reason and dropped; nothing raised here may reach the event loop.

Symmetric RTP (RFC 4961 practice for NAT): the endpoint sends to the SDP address until the
first valid packet arrives, then latches to that packet's source and drops packets from any
other source until ``relatch()`` (a re-INVITE moved the peer).
"""

from __future__ import annotations

import asyncio
import logging
import random
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from hotline.media.capture import CallerCapture, CaptureResult
from hotline.media.codecs import Codec, CodecRegistry, Decoder, Encoder, Pcm
from hotline.media.dtmf import InbandDtmfDetector, TelephoneEventReceiver, telephone_event_packets
from hotline.media.engine import (
    CaptureFinished,
    CodecOffer,
    DtmfReceived,
    EndpointStats,
    MediaEvent,
    PlaybackFinished,
)
from hotline.media.jitter import JitterBuffer
from hotline.media.players import Player
from hotline.media.recorder import CallRecorder
from hotline.media.rtp import (
    RtcpReceiverReport,
    RtcpSenderReport,
    RtpParseError,
    RtpStreamStats,
    ntp_from_unix,
    parse_rtcp,
    round_trip_time,
)
from hotline.media.speexdsp import VoiceProcessor

log = logging.getLogger(__name__)

Address = tuple[str, int]
_HEADER = struct.Struct("!BBHII")
_now = time.time  # arrival stamps for jitter, and NTP time for RTT


@dataclass(slots=True)
class _Counters:
    received: int = 0
    sent: int = 0
    forwarded: int = 0
    dropped_malformed: int = 0
    dropped_unexpected_source: int = 0
    dropped_unknown_payload_type: int = 0
    dropped_no_destination: int = 0
    dropped_bad_sequence: int = 0
    rtcp_received: int = 0


class RtpEndpoint(asyncio.DatagramProtocol):
    """A media endpoint; bridged endpoints forward to each other's latched peer."""

    def __init__(
        self,
        endpoint_id: str,
        call_id: str,
        offers: tuple[CodecOffer, ...],
        registry: CodecRegistry,
        *,
        inband_dtmf: bool = False,
        emit: Callable[[MediaEvent], None] | None = None,
    ) -> None:
        self.endpoint_id = endpoint_id
        self.call_id = call_id
        self.offers = offers
        self.registry = registry
        self.transport: asyncio.DatagramTransport | None = None
        self.remote: Address | None = None
        self.latched = False
        self.peer: RtpEndpoint | None = None
        self.counters = _Counters()
        self.stats = RtpStreamStats()
        self.rtt: float | None = None
        self.dtmf_receiver = TelephoneEventReceiver()
        self.inband = InbandDtmfDetector() if inband_dtmf else None
        self.digits: list[str] = []
        self.recorder: CallRecorder | None = None
        self.record_channel = 0
        self._recorded_codec: Codec | None = None
        self._recorded_ssrc: int | None = None
        self.player: Player | None = None
        self.emit = emit or (lambda event: None)
        self.conference_input: JitterBuffer | None = None  # set while in a conference
        # Caller-audio capture (speech input, voicemail), fed with the worker loop's clock.
        self.capture: CallerCapture | None = None
        self.capture_clock: Callable[[], float] = time.monotonic
        # Payload types this endpoint accepts, with the codec each stands for.
        self.codec_by_pt: dict[int, Codec] = {}
        self.telephone_event_pt: int | None = None
        for offer in offers:
            if offer.name.lower() == "telephone-event":
                self.telephone_event_pt = offer.payload_type
            elif f"{offer.name}/{offer.clock_rate}" in registry:
                self.codec_by_pt[offer.payload_type] = registry.get(offer.name, offer.clock_rate)
        self.send_pt: int | None = None  # chosen by the peer's SDP
        self._decoder: Decoder | None = None
        self._encoder: Encoder | None = None
        self._transcode_to: RtpEndpoint | None = None
        # Voice processing on what we relay (``process_toward_peer``); None when off, and
        # then nothing of it runs per packet.
        self._voice: VoiceProcessor | None = None
        self._echo_sink: VoiceProcessor | None = None  # feeds our audio as echo reference
        # Our own stream, for playback and DTMF we originate.
        self.ssrc = random.getrandbits(32)
        self._seq = random.getrandbits(16)
        self._ts = random.getrandbits(32)
        self._dtmf_queue: list[tuple[float, bytes, bool, int]] = []

    # --- asyncio.DatagramProtocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not every loop's datagram transport subclasses DatagramTransport; it quacks like one.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a peer that went away: not our failure, keep running.
        log.debug("rtp socket error", extra={"endpoint": self.endpoint_id, "error": str(exc)})

    def datagram_received(self, data: bytes, addr: Address) -> None:
        counters = self.counters
        if addr != self.remote and self.latched:
            remote = self.remote
            # A peer without rtcp-mux sends RTCP from its own RTCP port: same host, accept.
            rtcp_from_peer = (
                remote is not None
                and addr[0] == remote[0]
                and len(data) > 1
                and 192 <= data[1] <= 223
            )
            if not rtcp_from_peer:
                counters.dropped_unexpected_source += 1
                return
        if len(data) < 8 or data[0] >> 6 != 2:
            counters.dropped_malformed += 1
            return
        second = data[1]
        if 192 <= second <= 223:  # RFC 5761: RTCP shares the port
            self._on_rtcp(data, addr)
            return
        if len(data) < 12:
            counters.dropped_malformed += 1
            return
        if not self.latched:
            self.remote = addr
            self.latched = True
        payload_type = second & 0x7F
        codec = self.codec_by_pt.get(payload_type)
        is_event = payload_type == self.telephone_event_pt
        if codec is None and not is_event:
            counters.dropped_unknown_payload_type += 1
            return
        first = data[0]
        offset = 12 + 4 * (first & 0x0F)
        if first & 0x10:
            if len(data) < offset + 4:
                counters.dropped_malformed += 1
                return
            offset += 4 + 4 * ((data[offset + 2] << 8) | data[offset + 3])
        end = len(data) - data[-1] if first & 0x20 else len(data)
        if offset > end:
            counters.dropped_malformed += 1
            return
        counters.received += 1
        _, _, seq, timestamp, ssrc = _HEADER.unpack_from(data)
        if not self.stats.update(ssrc, seq, timestamp, _now(), len(data)):
            counters.dropped_bad_sequence += 1
            return
        if is_event:
            digit = self.dtmf_receiver.receive(data[offset:end], timestamp)
            if digit is not None:
                self._on_digit(digit.digit, digit.source)
        else:
            if self.recorder is not None:
                if codec is not self._recorded_codec and codec is not None:
                    # The payload type decides how to decode what we keep, whatever SDP said.
                    self.recorder.set_decoder(self.record_channel, codec.decoder(), codec.name)
                    self._recorded_codec = codec
                if ssrc != self._recorded_ssrc:
                    if self._recorded_ssrc is not None:
                        self.recorder.new_stream(self.record_channel)
                    self._recorded_ssrc = ssrc
                self.recorder.add_payload(self.record_channel, data[offset:end], seq)
            if codec is not None and (
                self.conference_input is not None
                or self.inband is not None
                or self.capture is not None
            ):
                # Decoded once for every consumer: a stateful decoder (G.729) must see each
                # payload exactly once.
                pcm = self._decoder_for(codec).decode(data[offset:end])
                if self.conference_input is not None:
                    self.conference_input.put(seq, pcm, _now())
                if self.capture is not None:
                    self._captured(self.capture.add(pcm, self.capture_clock()))
                if self.inband is not None:
                    for found in self.inband.feed(pcm):
                        self._on_digit(found.digit, found.source)
        peer = self.peer
        if peer is None:
            return
        if peer.remote is None or peer.transport is None:
            counters.dropped_no_destination += 1
            return
        if is_event:
            if peer.telephone_event_pt is None:
                return  # the other leg takes in-band DTMF only; we do not synthesise tones
            if peer.telephone_event_pt != payload_type:
                data = bytes([first, (second & 0x80) | peer.telephone_event_pt]) + data[2:]
        elif self._transcode_to is not None and codec is not None:
            data = self._transcode(data, offset, end, codec)
        peer.transport.sendto(data, peer.remote)
        counters.forwarded += 1

    def _on_digit(self, digit: str, source: str) -> None:
        self.digits.append(digit)
        self.emit(DtmfReceived(self.call_id, self.endpoint_id, digit, source))
        if self.capture is not None:
            self._captured(self.capture.digit(digit, self.capture_clock()))
        if self.player is not None:
            self.player.on_dtmf()
            if self.player.stopped:
                self.player = None
                self.emit(PlaybackFinished(self.call_id, self.endpoint_id, interrupted=True))

    def _captured(self, result: CaptureResult | None) -> None:
        """A capture ended by itself: report it (once) and stop feeding it."""
        if result is None:
            return
        self.capture = None
        self.emit(CaptureFinished(self.call_id, self.endpoint_id, result))

    def end_capture(self, now: float) -> None:
        """The endpoint goes away: a capture in progress ends and is reported."""
        capture = self.capture
        if capture is not None:
            self._captured(capture.finish("released", now))

    # --- control -------------------------------------------------------------------------

    def set_remote(self, host: str, port: int, payload_type: int, event_pt: int | None) -> None:
        if payload_type not in self.codec_by_pt:
            raise ValueError(f"payload type {payload_type} was not offered on this endpoint")
        if not self.latched and port:
            self.remote = (host, port)  # port 0: unknown yet, learnt from the first packet
        self.send_pt = payload_type
        if event_pt is not None:
            self.telephone_event_pt = event_pt

    def relatch(self) -> None:
        self.latched = False

    def connect(self, peer: RtpEndpoint) -> None:
        """Relay to ``peer``; transcode only when the two legs chose different codecs."""
        self.peer = peer
        self._voice = self._echo_sink = None  # a new bridge starts unprocessed
        mine = self.codec_by_pt.get(self.send_pt) if self.send_pt is not None else None
        theirs = peer.codec_by_pt.get(peer.send_pt) if peer.send_pt is not None else None
        if mine is not None and theirs is not None and mine.key != theirs.key:
            self._transcode_to = peer
            self._decoder = mine.decoder()
            peer._encoder = theirs.encoder()
        else:
            self._transcode_to = None

    def process_toward_peer(self, processor: VoiceProcessor) -> None:
        """Clean what the (connected) peer hears from us with ``processor``; with echo
        cancellation, what the peer sends us is its reference. Both directions then go
        through the decode/encode path (``_transcode``), so the pass-through path of every
        other bridge stays as it is."""
        peer = self.peer
        if peer is None:
            raise ValueError(f"endpoint {self.endpoint_id} is not bridged")
        self._force_transcode(peer)
        self._voice = processor
        if processor.options.echo_cancel:
            peer._force_transcode(self)
            peer._echo_sink = processor

    def _force_transcode(self, peer: RtpEndpoint) -> None:
        mine, theirs = self.codec, peer.codec
        if mine is None or theirs is None:
            raise ValueError(f"endpoints {self.endpoint_id} and {peer.endpoint_id} have no codec")
        if self._transcode_to is None:
            self._transcode_to = peer
            self._decoder = mine.decoder()
            if peer._encoder is None:
                peer._encoder = theirs.encoder()

    @property
    def passthrough(self) -> bool:
        return self.peer is not None and self._transcode_to is None

    @property
    def codec(self) -> Codec | None:
        return self.codec_by_pt.get(self.send_pt) if self.send_pt is not None else None

    def _decoder_for(self, codec: Codec) -> Decoder:
        if self._decoder is None:
            self._decoder = codec.decoder()
        return self._decoder

    def _transcode(self, data: bytes, offset: int, end: int, codec: Codec) -> bytes:
        peer = self._transcode_to
        assert peer is not None
        assert peer.send_pt is not None
        pcm = self._decoder_for(codec).decode(data[offset:end])
        if self._echo_sink is not None:
            self._echo_sink.reference(pcm)
        if self._voice is not None:
            try:
                pcm = self._voice.process(pcm)
            except (ValueError, RuntimeError) as exc:  # never into the loop: relay as is
                log.warning(
                    "voice processing stopped",
                    extra={"endpoint": self.endpoint_id, "error": str(exc)},
                )
                self._voice = None
        encoder = peer._encoder
        assert encoder is not None
        header = bytearray(data[:12])
        header[0] &= 0xC0  # no CSRC, extension or padding in what we build
        header[1] = (header[1] & 0x80) | peer.send_pt
        return bytes(header) + encoder.encode(pcm)

    def _on_rtcp(self, data: bytes, addr: Address) -> None:
        self.counters.rtcp_received += 1
        try:
            packets = parse_rtcp(data)
        except RtpParseError:
            self.counters.dropped_malformed += 1
            return
        for packet in packets:
            if isinstance(packet, RtcpSenderReport):
                self.stats.on_sender_report(packet, _now())
            if isinstance(packet, RtcpSenderReport | RtcpReceiverReport):
                for block in packet.reports:
                    if block.ssrc == self.ssrc:
                        rtt = round_trip_time(block, ntp_from_unix(_now()))
                        if rtt is not None:
                            self.rtt = rtt

    # --- what we originate -----------------------------------------------------------------

    def _send_own(self, payload: bytes, payload_type: int, marker: bool, timestamp: int) -> None:
        if self.transport is None or self.remote is None:
            self.counters.dropped_no_destination += 1
            return
        self._seq = (self._seq + 1) & 0xFFFF
        header = _HEADER.pack(
            0x80, (0x80 if marker else 0) | payload_type, self._seq, timestamp, self.ssrc
        )
        self.transport.sendto(header + payload, self.remote)
        self.counters.sent += 1

    def send_frame(self, pcm: Pcm) -> None:
        """One 20 ms frame we originate (a conference mix): our SSRC, sequence, timestamps."""
        codec = self.codec
        if codec is not None and self.send_pt is not None:
            if self._encoder is None:
                self._encoder = codec.encoder()
            self._send_own(self._encoder.encode(pcm), self.send_pt, False, self._ts)
        self._ts = (self._ts + len(pcm)) & 0xFFFFFFFF

    @property
    def has_dtmf_queued(self) -> bool:
        return bool(self._dtmf_queue)

    def tick(self, now: float) -> None:
        """Every 20 ms: the next frame of a prompt, due DTMF packets, capture timeouts."""
        if self.capture is not None:
            self._captured(self.capture.tick(now))
        if self.player is not None:
            frame = self.player.next_frame()
            codec = self.codec
            if frame is None:
                self.player = None
                self.emit(PlaybackFinished(self.call_id, self.endpoint_id, interrupted=False))
            elif codec is not None and self.send_pt is not None:
                if self._encoder is None:
                    self._encoder = codec.encoder()
                self._send_own(self._encoder.encode(frame), self.send_pt, False, self._ts)
            self._ts = (self._ts + 160) & 0xFFFFFFFF
        while self._dtmf_queue and self._dtmf_queue[0][0] <= now:
            _, payload, marker, timestamp = self._dtmf_queue.pop(0)
            if self.telephone_event_pt is not None:
                self._send_own(payload, self.telephone_event_pt, marker, timestamp)

    def send_rtcp_report(self, wall_time: float) -> None:
        """RFC 3550 §6.4: an SR when we originate media, else an RR about what we receive."""
        if self.transport is None or self.remote is None:
            return
        blocks = [self.stats.report_block(wall_time)] if self.stats.ssrc is not None else []
        report: RtcpSenderReport | RtcpReceiverReport
        if self.counters.sent:
            report = RtcpSenderReport(
                self.ssrc,
                ntp_from_unix(wall_time),
                self._ts,
                self.counters.sent,
                self.counters.sent * 160,
                blocks,
            )
        else:
            report = RtcpReceiverReport(self.ssrc, blocks)
        self.transport.sendto(bytes(report), self.remote)

    def send_dtmf(self, digits: str, duration: float, now: float) -> None:
        start = max([now] + [due for due, *_ in self._dtmf_queue])
        for digit in digits:
            timestamp = self._ts
            packets = telephone_event_packets(digit, duration=duration)
            for offset, payload, marker in packets:
                self._dtmf_queue.append((start + offset, payload, marker, timestamp))
            span = packets[-1][0] + 0.02
            self._ts = (self._ts + int((span + 0.06) * 8000)) & 0xFFFFFFFF
            start += span + 0.06  # inter-digit gap

    def snapshot(self) -> EndpointStats:
        c = self.counters
        return EndpointStats(
            endpoint_id=self.endpoint_id,
            remote=self.remote,
            latched=self.latched,
            received=c.received,
            sent=c.sent,
            forwarded=c.forwarded,
            lost=self.stats.lost,
            fraction_lost=self.stats.fraction_lost(),
            jitter_ms=self.stats.jitter_seconds * 1000.0,
            rtt_ms=None if self.rtt is None else self.rtt * 1000.0,
            ssrc_changes=self.stats.ssrc_changes,
            dropped_malformed=c.dropped_malformed,
            dropped_unexpected_source=c.dropped_unexpected_source,
            dropped_unknown_payload_type=c.dropped_unknown_payload_type,
            dropped_no_destination=c.dropped_no_destination,
            dropped_bad_sequence=c.dropped_bad_sequence,
            rtcp_received=c.rtcp_received,
            dtmf=tuple(self.digits),
        )

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
