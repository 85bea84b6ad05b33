"""End of speech: when a caller has finished answering, from the energy of their audio.

A live call has no "end of file". Speech input and voicemail must decide by themselves when
the caller has started, and when they have stopped, talking. This is the classic
energy-based endpointer of IVR platforms: a frame is *voiced* when its RMS level reaches a
threshold; speech has *started* after ``min_speech`` seconds of consecutive voiced frames
(a click or a cough shorter than that does not count); it has *ended* after
``trailing_silence`` seconds without a voiced frame. Two limits bound every capture:
``start_timeout`` (nobody speaks: no input) and ``max_duration`` (someone never stops: a TV
in the background, an open line).

Sans-IO with an explicit clock: ``feed`` takes a decoded frame with ``now`` and ``poll``
takes only ``now``, because a phone that sends no packets at all (silence suppression, a
muted or broken line) must still time out. Both return the verdict once it is reached, and
None until then.

Why energy and not a trained VAD: the lines it listens to are narrowband, the prompts are
short, and the recogniser behind it already rejects noise (``ivr.asr.SILENCE_RMS`` and its
confidence floor). A neural VAD (Silero) can be plugged in place of ``is_voiced`` later; the
timing rules stay the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from hotline.media.codecs import Pcm

Verdict = Literal["end_of_speech", "no_input", "max_duration"]

#: -40 dBFS: well above a phone line's noise floor (about -60 to -50 dBFS) and well below
#: speech at normal level through G.711 (-30 to -15 dBFS).
DEFAULT_THRESHOLD_DBFS = -40.0


@dataclass(frozen=True, slots=True)
class EndpointingRules:
    """When a capture ends. Every time is in seconds; they cross the worker pipe as is."""

    start_timeout: float  # from the start of the capture until speech must have begun
    trailing_silence: float  # silence after speech that ends the answer
    max_duration: float  # the whole capture, whatever happens
    threshold_dbfs: float = DEFAULT_THRESHOLD_DBFS
    min_speech: float = 0.1  # voiced time in a row before speech counts as begun

    def __post_init__(self) -> None:
        for name in ("start_timeout", "trailing_silence", "max_duration"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
        if not -96.0 <= self.threshold_dbfs <= 0.0:
            raise ValueError(f"threshold_dbfs {self.threshold_dbfs} is outside -96..0")
        if not 0.0 <= self.min_speech <= 2.0:
            raise ValueError(f"min_speech {self.min_speech} is outside 0..2 s")

    @property
    def threshold_rms(self) -> float:
        return float(32768.0 * 10.0 ** (self.threshold_dbfs / 20.0))


def frame_rms(frame: Pcm) -> float:
    """The RMS level of 16-bit samples (0 for an empty frame)."""
    if frame.size == 0:
        return 0.0
    samples = frame.astype(np.float64)
    return float(np.sqrt(np.mean(samples * samples)))


class EndOfSpeech:
    """One answer's endpointing; see the module docstring."""

    def __init__(self, rules: EndpointingRules, now: float, sample_rate: int = 8000) -> None:
        self.rules = rules
        self.sample_rate = sample_rate
        self.started_at = now
        self.speech_started_at: float | None = None
        self.last_voice_at: float | None = None
        self.verdict: Verdict | None = None
        self._voiced_run = 0.0  # seconds of voiced audio in a row, before speech began
        self._threshold = rules.threshold_rms

    @property
    def speech_started(self) -> bool:
        return self.speech_started_at is not None

    def is_voiced(self, frame: Pcm) -> bool:
        return frame_rms(frame) >= self._threshold

    def feed(self, frame: Pcm, now: float) -> Verdict | None:
        """One decoded frame as it arrived; the verdict when this frame settles it."""
        if self.verdict is not None:
            return None
        if self.is_voiced(frame):
            self.last_voice_at = now
            if self.speech_started_at is None:
                self._voiced_run += frame.size / self.sample_rate
                if self._voiced_run >= self.rules.min_speech - 1e-9:
                    self.speech_started_at = now
        elif self.speech_started_at is None:
            self._voiced_run = 0.0
        return self.poll(now)

    def poll(self, now: float) -> Verdict | None:
        """The verdict if time alone settles it (called on every tick, packets or not)."""
        if self.verdict is not None:
            return None
        rules = self.rules
        if self.speech_started_at is not None and self.last_voice_at is not None:
            if now - self.last_voice_at >= rules.trailing_silence:
                self.verdict = "end_of_speech"
        elif now - self.started_at >= rules.start_timeout:
            self.verdict = "no_input"
        if self.verdict is None and now - self.started_at >= rules.max_duration:
            self.verdict = "max_duration"
        return self.verdict
