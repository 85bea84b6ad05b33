"""DTMF: RFC 4733 telephone-events (receive and send) and in-band detection by Goertzel.

Carriers differ: most send telephone-event packets, some only tones in the audio. A leg is
configured for one or the other (or both); each detector yields ``DtmfDigit`` once per key
press, whatever the number of retransmitted end packets or the length of the tone.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from hotline.media.codecs import Pcm

Samples = npt.NDArray[np.float64]

EVENT_DIGITS = "0123456789*#ABCD"  # RFC 4733 §3.2: events 0..15
EVENT_PAYLOAD = struct.Struct("!BBH")


class DtmfError(ValueError):
    """A telephone-event payload that cannot be interpreted."""


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """The 4-byte payload of RFC 4733 §2.3."""

    event: int
    end: bool
    volume: int  # 0..63, in -dBm0
    duration: int  # in timestamp units since the event's timestamp

    @classmethod
    def parse(cls, payload: bytes) -> TelephoneEvent:
        if len(payload) < EVENT_PAYLOAD.size:
            raise DtmfError(f"telephone-event payload of {len(payload)} bytes, need 4")
        event, flags, duration = EVENT_PAYLOAD.unpack_from(payload)
        return cls(event, bool(flags & 0x80), flags & 0x3F, duration)

    def __bytes__(self) -> bytes:
        return EVENT_PAYLOAD.pack(
            self.event, (0x80 if self.end else 0) | (self.volume & 0x3F), self.duration
        )

    @property
    def digit(self) -> str | None:
        return EVENT_DIGITS[self.event] if self.event < len(EVENT_DIGITS) else None


@dataclass(frozen=True, slots=True)
class DtmfDigit:
    """One key press, reported once. ``duration`` in seconds; ``source`` says which detector."""

    digit: str
    duration: float
    source: str  # "rfc4733" or "inband"
    timestamp: int = 0  # RTP timestamp of the event's start (RFC 4733) or sample index


@dataclass(slots=True)
class TelephoneEventReceiver:
    """Reports each event once: at its first end packet, or when a newer event starts first.

    RFC 4733 §2.5.1.3: the end packet is sent three times and all share the start timestamp,
    which is what identifies an event; retransmissions of an ended event are ignored. A
    non-end packet with an ended event's timestamp starts a new event (the same key
    replayed from a capture), since nothing but end packets follows an event's end.
    """

    clock_rate: int = 8000
    malformed: int = 0
    _current: int | None = None  # timestamp of the event in progress
    _current_event: TelephoneEvent | None = None
    _ended: set[int] = field(default_factory=set)

    def receive(self, payload: bytes, timestamp: int) -> DtmfDigit | None:
        try:
            event = TelephoneEvent.parse(payload)
        except DtmfError:
            self.malformed += 1
            return None
        if event.digit is None:
            return None
        if timestamp in self._ended:
            if event.end:
                return None  # a retransmitted end packet of an event already reported
            # Only end packets follow an event's end, so this starts a new event that
            # reuses the timestamp: a replayed capture (SIPp's DTMF pcaps) does that.
            self._ended.discard(timestamp)
        reported: DtmfDigit | None = None
        if self._current is not None and timestamp != self._current:
            reported = self._close()  # the previous event lost all its end packets
        self._current = timestamp
        self._current_event = event
        if event.end:
            return self._close() if reported is None else reported
        return reported

    def _close(self) -> DtmfDigit | None:
        if self._current is None or self._current_event is None:
            return None
        event, timestamp = self._current_event, self._current
        self._ended.add(timestamp)
        if len(self._ended) > 32:  # only recent events can still be retransmitted
            self._ended = set(sorted(self._ended, key=lambda t: (t - timestamp) & 0xFFFFFFFF)[-16:])
        self._current = None
        self._current_event = None
        assert event.digit is not None
        return DtmfDigit(event.digit, event.duration / self.clock_rate, "rfc4733", timestamp)

    def flush(self) -> DtmfDigit | None:
        """Report an event whose end never came (call from a timer after ~a second of silence)."""
        return self._close()


def telephone_event_packets(
    digit: str,
    *,
    duration: float = 0.1,
    clock_rate: int = 8000,
    packet_time: float = 0.02,
    volume: int = 10,
    end_repeats: int = 3,
) -> list[tuple[float, bytes, bool]]:
    """The packets of one event as ``(send offset s, payload, marker)``; all share one timestamp.

    RFC 4733 §2.5.1: marker on the first packet, updates every packet time with the growing
    duration, then the end packet three times with the final duration.
    """
    if digit.upper() not in EVENT_DIGITS:
        raise DtmfError(f"not a DTMF digit: {digit!r}")
    code = EVENT_DIGITS.index(digit.upper())
    step = round(packet_time * clock_rate)
    total = max(step, round(duration * clock_rate))
    packets: list[tuple[float, bytes, bool]] = []
    elapsed = step
    while elapsed < total:
        payload = bytes(TelephoneEvent(code, False, volume, elapsed))
        packets.append(((elapsed - step) / clock_rate, payload, not packets))
        elapsed += step
    end_payload = bytes(TelephoneEvent(code, True, volume, min(total, 0xFFFF)))
    end_at = (total - step) / clock_rate
    for _ in range(end_repeats):
        packets.append((end_at, end_payload, not packets))
    return packets


# --- in-band -----------------------------------------------------------------------------

ROW_FREQUENCIES = (697.0, 770.0, 852.0, 941.0)
COLUMN_FREQUENCIES = (1209.0, 1336.0, 1477.0, 1633.0)
KEYPAD = ("123A", "456B", "789C", "*0#D")


def goertzel_power(samples: Samples, frequency: float, sample_rate: int) -> float:
    """Squared magnitude of one DFT term at any (non-integer-bin) frequency."""
    coeff = 2.0 * math.cos(2.0 * math.pi * frequency / sample_rate)
    s1 = s2 = 0.0
    for x in samples.tolist():
        s1, s2 = x + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


@dataclass(slots=True)
class InbandDtmfDetector:
    """Goertzel DTMF detector with ITU-T Q.24 style acceptance.

    Each tone is measured over its own window of about 20 periods of 2.5 % offset, so that a
    tone 1.5 % off its nominal frequency keeps most of its power while one 3.5 % off falls
    near the filter's first null: the same relative tolerance on every tone, as Q.24 asks.
    A frame counts as a digit when the strongest row and column tones hold ``min_tone_ratio``
    of the frame's energy, the twist is within ``max_normal_twist_db`` (column louder) and
    ``max_reverse_twist_db`` (row louder), and the level is above ``min_level``. A digit is
    reported once it has lasted ``min_duration`` s; it must pause ``min_pause`` s before the
    same or another digit counts again.
    """

    sample_rate: int = 8000
    hop: int = 80  # 10 ms
    min_tone_ratio: float = 0.6
    max_normal_twist_db: float = 8.0
    max_reverse_twist_db: float = 4.0
    min_level: float = 100.0  # RMS in 16-bit units, about -50 dBm0
    min_duration: float = 0.04
    min_pause: float = 0.03
    _buffer: Samples = field(default_factory=lambda: np.zeros(0, dtype=np.float64))
    _position: int = 0  # samples consumed so far
    _candidate: str | None = None
    _candidate_frames: int = 0
    _candidate_start: int = 0
    _reported: bool = False
    _silent_frames: int = 0
    _windows: dict[float, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for frequency in ROW_FREQUENCIES + COLUMN_FREQUENCIES:
            self._windows[frequency] = round(20.0 * self.sample_rate / frequency)

    @property
    def window(self) -> int:
        return max(self._windows.values())

    def feed(self, pcm: Pcm) -> list[DtmfDigit]:
        digits: list[DtmfDigit] = []
        self._buffer = np.concatenate([self._buffer, np.asarray(pcm, dtype=np.float64)])
        window = self.window
        while len(self._buffer) >= window:
            frame = self._buffer[:window]
            digit = self.classify(frame)
            self._step(digit, digits)
            self._buffer = self._buffer[self.hop :]
            self._position += self.hop
        return digits

    def classify(self, frame: Samples) -> str | None:
        """The digit this analysis window holds, or None."""
        energy = float(np.dot(frame, frame)) / len(frame)
        if energy < self.min_level**2:
            return None
        powers: dict[float, float] = {}
        for frequency, size in self._windows.items():
            tail = frame[-size:]
            tail_energy = float(np.dot(tail, tail)) / size
            if tail_energy <= 0:
                return None
            raw = goertzel_power(tail, frequency, self.sample_rate)
            powers[frequency] = 2.0 * raw / (size * size * tail_energy)
        row = max(ROW_FREQUENCIES, key=lambda f: powers[f])
        column = max(COLUMN_FREQUENCIES, key=lambda f: powers[f])
        row_power, column_power = powers[row], powers[column]
        if row_power + column_power < self.min_tone_ratio:
            return None
        if row_power <= 0 or column_power <= 0:
            return None
        twist_db = 10.0 * math.log10(column_power / row_power)
        if twist_db > self.max_normal_twist_db or -twist_db > self.max_reverse_twist_db:
            return None
        return KEYPAD[ROW_FREQUENCIES.index(row)][COLUMN_FREQUENCIES.index(column)]

    def _step(self, digit: str | None, out: list[DtmfDigit]) -> None:
        frame_time = self.hop / self.sample_rate
        if digit is None or digit != self._candidate:
            self._silent_frames += 1
            if self._silent_frames * frame_time < self.min_pause and self._reported:
                return  # a short gap or a glitch inside a reported digit: not a new press
            if digit is None:
                self._candidate = None
                self._reported = False
                return
            self._candidate = digit
            self._candidate_frames = 0
            self._candidate_start = self._position
            self._reported = False
        self._silent_frames = 0
        self._candidate_frames += 1
        # Frames overlap: n frames that hold the tone span (n - 1) hops plus one window.
        tone_time = ((self._candidate_frames - 1) * self.hop + self.window) / self.sample_rate
        if not self._reported and tone_time >= self.min_duration:
            self._reported = True
            out.append(DtmfDigit(digit, tone_time, "inband", self._candidate_start))
