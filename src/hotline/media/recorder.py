"""Call recording: stereo WAV (customer left, agent right) streamed to disk as the call runs.

Per packet the recorder only appends the payload bytes to a list (the cheapest thing the hot
path can do); decoding and interleaving happen in ``flush()``, about once a second, on whole
seconds of audio where numpy pays off. The two channels are aligned on the call's clock rather
than on packet counts, so a silent leg (hold, one-way audio) or lost packets become silence in
that channel instead of shifting it against the other.

After each flush the WAV header is rewritten, so a crash of the worker leaves a playable file
up to the last flush. Pause (finance: card numbers) drops audio and leaves the paused time out
of the file; the pauses are listed in the metadata.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hotline.media.codecs import Decoder, Pcm
from hotline.media.wav import WavWriter

CUSTOMER = 0  # left
AGENT = 1  # right


@dataclass(frozen=True, slots=True)
class RecordingMetadata:
    """What the recordings service stores about a finished file."""

    call_id: str
    path: str
    legs: tuple[str, str]
    codecs: tuple[str, str]
    started: float
    stopped: float
    duration: float  # seconds of audio in the file (pauses excluded)
    pauses: tuple[tuple[float, float], ...]
    sha256: str
    size: int


#: Gaps of up to this many packets (1 s at 20 ms) are filled with silence in place; a longer
#: gap is a new stream (SSRC change, a phone that stopped sending) that the clock aligns.
MAX_FILL = 50


@dataclass(slots=True)
class _Channel:
    """One side's audio: payloads as they came (with their sequence numbers), then decoded
    in order at flush time, which is the recording path's jitter buffer. Reordering and loss
    are repaired in the batch, so the per-packet path stays an append."""

    decoder: Decoder | None
    codec: str
    pending: list[tuple[int, bytes]] = field(default_factory=list)
    backlog: Pcm = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    last: int | None = None  # extended sequence number of the last packet decoded
    late: int = 0  # arrived after later packets were already written: dropped
    filled: int = 0  # lost packets replaced with silence

    def take_pending(self) -> None:
        pending, self.pending = self.pending, []
        if not pending or self.decoder is None:
            return
        ordered = self._in_order(pending)
        if not ordered:
            return
        payloads = [payload for _, payload in ordered]
        decoded = self.decoder.decode(b"".join(payloads))
        gaps = [(i, ext - ordered[i - 1][0] - 1) for i, (ext, _) in enumerate(ordered) if i]
        gaps = [(i, gap) for i, gap in gaps if 0 < gap <= MAX_FILL]
        if gaps:
            decoded = self._fill(decoded, payloads, gaps)
        self.backlog = np.concatenate([self.backlog, decoded])

    def _in_order(self, pending: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
        """Unwrap 16-bit sequence numbers, drop late and duplicate packets, sort."""
        reference = self.last if self.last is not None else pending[0][0]
        keyed: dict[int, bytes] = {}
        for seq, payload in pending:
            base = reference & ~0xFFFF
            ext = base | seq
            if ext < reference - 0x8000:
                ext += 0x10000
            elif ext > reference + 0x8000:
                ext -= 0x10000
            if self.last is not None and ext <= self.last:
                self.late += 1
                continue
            keyed.setdefault(ext, payload)
        ordered = sorted(keyed.items())
        if ordered:
            self.last = ordered[-1][0]
        return ordered

    def _fill(self, decoded: Pcm, payloads: list[bytes], gaps: list[tuple[int, int]]) -> Pcm:
        total = sum(len(p) for p in payloads)
        per_byte = len(decoded) / total if total else 0.0
        offsets = np.cumsum([len(p) for p in payloads])
        pieces: list[Pcm] = []
        start = 0
        for index, gap in gaps:
            cut = round(offsets[index - 1] * per_byte)
            pieces.append(decoded[start:cut])
            frame = round(len(payloads[index - 1]) * per_byte)
            pieces.append(np.zeros(gap * frame, dtype=np.int16))
            self.filled += gap
            start = cut
        pieces.append(decoded[start:])
        return np.concatenate(pieces)


class CallRecorder:
    """One call's stereo recording. All times are the caller's clock (seconds, monotonic)."""

    def __init__(
        self,
        path: str | Path,
        *,
        call_id: str,
        now: float,
        legs: tuple[str, str] = ("customer", "agent"),
        decoders: tuple[Decoder | None, Decoder | None] = (None, None),
        codecs: tuple[str, str] = ("PCMU", "PCMU"),
        sample_rate: int = 8000,
        max_lead: float = 0.3,
        hold: float = 0.2,
        fsync: bool = False,
    ) -> None:
        self.call_id = call_id
        self.legs = legs
        self.sample_rate = sample_rate
        self.started = now
        self.writer = WavWriter(path, sample_rate, 2, fsync=fsync)
        self._channels = (_Channel(decoders[0], codecs[0]), _Channel(decoders[1], codecs[1]))
        self._max_lead = int(max_lead * sample_rate)
        # Packets up to ``hold`` s late still land in place; only later ones leave a gap.
        self._hold = hold
        self._clock_origin = now  # the file's sample 0, shifted forward by pauses
        self._paused_at: float | None = None
        self._pauses: list[tuple[float, float]] = []
        self.dropped_while_paused = 0
        self.metadata: RecordingMetadata | None = None

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def set_decoder(self, channel: int, decoder: Decoder, codec: str) -> None:
        """A leg changed codec (re-INVITE): decode what came before with the old one."""
        current = self._channels[channel]
        current.take_pending()
        current.decoder = decoder
        current.codec = codec

    def new_stream(self, channel: int) -> None:
        """The side's RTP stream changed (new SSRC: a phone that restarted its media, the
        far end of a transfer, music from elsewhere): its sequence numbers start afresh, so
        what came before is put in order on its own and the next packets are not taken for
        late ones of the old stream."""
        current = self._channels[channel]
        current.take_pending()
        current.last = None

    def add_payload(self, channel: int, payload: bytes, seq: int) -> None:
        """The per-packet path: keep the encoded payload and its RTP sequence number for
        the next flush, which puts them in order."""
        if self._paused_at is not None:
            self.dropped_while_paused += 1
            return
        self._channels[channel].pending.append((seq, payload))

    @property
    def repaired(self) -> tuple[int, int]:
        """Packets dropped as too late, and lost packets filled with silence (both sides)."""
        return (
            sum(channel.late for channel in self._channels),
            sum(channel.filled for channel in self._channels),
        )

    def add_pcm(self, channel: int, pcm: Pcm) -> None:
        if self._paused_at is not None:
            self.dropped_while_paused += 1
            return
        target = self._channels[channel]
        target.take_pending()
        target.backlog = np.concatenate([target.backlog, np.asarray(pcm, dtype=np.int16)])

    def flush(self, now: float, *, drain: bool = False) -> None:
        """Write audio up to ``now`` (padding a quiet channel with silence) and fix the header."""
        for channel in self._channels:
            channel.take_pending()
        if self._paused_at is None:
            elapsed = now - (0.0 if drain else self._hold) - self._clock_origin
            due = int(elapsed * self.sample_rate) - self.writer.frames
        else:
            due = 0
        longest = max(len(c.backlog) for c in self._channels)
        # A peer whose clock runs fast gets ahead of ours; never hold more than max_lead back.
        due = max(due, longest if drain else longest - self._max_lead, 0)
        if due:
            frames = np.zeros((due, 2), dtype=np.int16)
            for index, channel in enumerate(self._channels):
                used = min(due, len(channel.backlog))
                frames[:used, index] = channel.backlog[:used]
                channel.backlog = channel.backlog[used:]
            self.writer.write(frames)
        self.writer.flush()

    def pause(self, now: float) -> None:
        if self._paused_at is not None:
            return
        self.flush(now, drain=True)
        self._paused_at = now

    def resume(self, now: float) -> None:
        if self._paused_at is None:
            return
        self._pauses.append((self._paused_at, now))
        self._clock_origin = now - self.writer.frames / self.sample_rate
        self._paused_at = None

    def close(self, now: float) -> RecordingMetadata:
        """Write everything received, finish the file and hash it. Idempotent."""
        if self.metadata is not None:
            return self.metadata
        if self._paused_at is not None:
            self.resume(now)
        self.flush(now, drain=True)
        self.writer.close()
        digest = hashlib.sha256()
        with open(self.writer.path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 16), b""):
                digest.update(block)
        self.metadata = RecordingMetadata(
            call_id=self.call_id,
            path=str(self.writer.path),
            legs=self.legs,
            codecs=(self._channels[0].codec, self._channels[1].codec),
            started=self.started,
            stopped=now,
            duration=self.writer.frames / self.sample_rate,
            pauses=tuple(self._pauses),
            sha256=digest.hexdigest(),
            size=self.writer.path.stat().st_size,
        )
        return self.metadata
