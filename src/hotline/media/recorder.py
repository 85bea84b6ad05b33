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


@dataclass(slots=True)
class _Channel:
    decoder: Decoder | None
    codec: str
    pending: list[bytes] = field(default_factory=list)
    backlog: Pcm = field(default_factory=lambda: np.zeros(0, dtype=np.int16))

    def take_pending(self) -> None:
        if self.pending and self.decoder is not None:
            decoded = self.decoder.decode(b"".join(self.pending))
            self.backlog = np.concatenate([self.backlog, decoded])
        self.pending.clear()


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

    def add_payload(self, channel: int, payload: bytes) -> None:
        """The per-packet path: keep the encoded payload for the next flush."""
        if self._paused_at is not None:
            self.dropped_while_paused += 1
            return
        self._channels[channel].pending.append(payload)

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
