"""An adaptive jitter buffer with packet-loss concealment, for the paths that need audio in
order and on time: recording of a mixed call, the mixer, ASR. The relay path never buffers.

Sans-IO, like the rest of ``media``: ``put()`` takes a decoded frame with its sequence
number and arrival time, ``get()`` is called once per 20 ms playout tick by the owner's clock.
The playout delay starts at ``min_delay`` and follows twice the smoothed interarrival jitter:
an underrun raises it at once (a gap is worse than latency), a buffer that stays deeper than
needed is trimmed one frame at a time.

Concealment repeats the last good frame with a fade (halving per lost frame, silent after
``max_conceal`` frames): enough to hide single losses without the buzz of long repetition.
ITU-T G.711 Appendix I's pitch-based method would be better for long gaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hotline.media.codecs import Pcm


@dataclass(slots=True)
class JitterBufferStats:
    played: int = 0
    concealed: int = 0
    late: int = 0  # arrived after their playout time: dropped
    duplicates: int = 0
    trimmed: int = 0  # dropped to bring the delay back down
    underruns: int = 0


@dataclass(slots=True)
class JitterBuffer:
    frame_time: float = 0.02
    frame: int = 160
    min_delay: float = 0.04
    max_delay: float = 0.3
    max_conceal: int = 5
    stats: JitterBufferStats = field(default_factory=JitterBufferStats)
    target: float = 0.0
    jitter: float = 0.0
    _frames: dict[int, Pcm] = field(default_factory=dict)
    _next: int | None = None  # extended sequence number of the next frame to play
    _highest: int | None = None
    _started: bool = False
    _last: Pcm | None = None
    _lost_run: int = 0
    _transit: float | None = None
    _deep_ticks: int = 0

    def __post_init__(self) -> None:
        self.target = self.min_delay

    def _extend(self, seq: int) -> int:
        """Unwrap a 16-bit sequence number next to the highest seen."""
        if self._highest is None:
            return seq
        base = self._highest & ~0xFFFF
        candidate = base | seq
        if candidate < self._highest - 0x8000:
            candidate += 0x10000
        elif candidate > self._highest + 0x8000:
            candidate -= 0x10000
        return candidate

    def put(self, seq: int, pcm: Pcm, arrival: float) -> None:
        ext = self._extend(seq)
        if self._next is None:
            self._next = ext
        if ext < self._next:
            self.stats.late += 1
            return
        if ext in self._frames:
            self.stats.duplicates += 1
            return
        self._frames[ext] = pcm
        if self._highest is None or ext > self._highest:
            self._highest = ext
        # RFC 3550 A.8 in seconds: the variation of transit time, smoothed by 1/16.
        transit = arrival - ext * self.frame_time
        if self._transit is not None:
            self.jitter += (abs(transit - self._transit) - self.jitter) / 16.0
        self._transit = transit
        wanted = min(self.max_delay, max(self.min_delay, 2.0 * self.jitter + self.frame_time))
        if wanted > self.target:
            self.target = wanted

    @property
    def depth(self) -> float:
        """Seconds of audio buffered ahead of the playout point."""
        if self._next is None or self._highest is None:
            return 0.0
        return max(0, self._highest - self._next + 1) * self.frame_time

    def get(self) -> Pcm | None:
        """The frame for this tick; None until playout starts (enough is buffered)."""
        if self._next is None:
            return None
        if not self._started:
            if self.depth < self.target:
                return None
            self._started = True
        frame = self._frames.pop(self._next, None)
        self._next += 1
        if frame is None:
            if self._highest is None or self._next - 1 > self._highest:
                # Nothing at all buffered: an underrun. Wait longer from now on.
                self.stats.underruns += 1
                self.target = min(self.max_delay, self.target + self.frame_time)
            return self._conceal()
        self._lost_run = 0
        self._last = frame
        self.stats.played += 1
        self._adapt()
        return frame

    def _conceal(self) -> Pcm:
        self.stats.concealed += 1
        self._lost_run += 1
        if self._last is None or self._lost_run > self.max_conceal:
            return np.zeros(self.frame, dtype=np.int16)
        scale = 0.5**self._lost_run
        return np.asarray(self._last.astype(np.float64) * scale, dtype=np.int16)

    def _adapt(self) -> None:
        """Trim one frame when the buffer stayed a frame deeper than the target for 1 s."""
        if self.depth > self.target + self.frame_time:
            self._deep_ticks += 1
            if self._deep_ticks >= round(1.0 / self.frame_time) and self._next is not None:
                self._frames.pop(self._next, None)
                self._next += 1
                self.stats.trimmed += 1
                self._deep_ticks = 0
                # Let the target relax towards what the jitter now asks for.
                wanted = max(self.min_delay, 2.0 * self.jitter + self.frame_time)
                self.target = max(wanted, self.target - self.frame_time)
        else:
            self._deep_ticks = 0
