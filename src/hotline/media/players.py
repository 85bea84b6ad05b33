"""Audio sources played to a leg: tones and files, cut into 20 ms frames for the engine's tick.

Everything is generated or converted ahead of time into one int16 array at 8 kHz, so the
per-tick work is a slice; that keeps a thousand simultaneous prompts affordable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hotline.media.codecs import Pcm
from hotline.media.wav import WavAudio

FRAME = 160  # 20 ms at 8 kHz


def tone(frequencies: tuple[float, ...], duration: float, level: float = 0.25) -> Pcm:
    """The sum of sine tones, ``level`` of full scale shared among them."""
    t = np.arange(round(duration * 8000)) / 8000.0
    wave = np.zeros_like(t)
    for frequency in frequencies:
        wave += np.sin(2 * np.pi * frequency * t)
    scale = level * 32767.0 / max(1, len(frequencies))
    return np.asarray(np.round(wave * scale), dtype=np.int16)


def resample(pcm: Pcm, rate: int, target: int = 8000) -> Pcm:
    """Convert to ``target`` Hz; downsampling low-passes first (windowed sinc) against aliasing."""
    if rate == target or len(pcm) == 0:
        return np.asarray(pcm, dtype=np.int16)
    samples = pcm.astype(np.float64)
    if target < rate:
        cutoff = 0.45 * target / rate  # of the input rate
        taps = np.arange(-32, 33)
        kernel = np.sinc(2 * cutoff * taps) * np.hamming(len(taps))
        samples = np.convolve(samples, kernel / kernel.sum(), mode="same")
    count = int(len(samples) * target / rate)
    positions = np.arange(count) * (rate / target)
    out = np.interp(positions, np.arange(len(samples)), samples)
    return np.asarray(np.clip(np.round(out), -32768, 32767), dtype=np.int16)


def from_wav(audio: WavAudio) -> Pcm:
    """A prompt file as mono 8 kHz: channels averaged, then resampled."""
    mono = audio.samples.astype(np.int32).mean(axis=1)
    return resample(np.asarray(np.round(mono), dtype=np.int16), audio.sample_rate)


@dataclass(slots=True)
class Player:
    """Hands out 20 ms frames of a prepared signal; optionally loops (music on hold)."""

    audio: Pcm
    loop: bool = False
    stop_on_dtmf: bool = False
    position: int = 0
    stopped: bool = False

    def next_frame(self) -> Pcm | None:
        if self.stopped or len(self.audio) == 0:
            return None
        if self.position >= len(self.audio):
            if not self.loop:
                self.stopped = True
                return None
            self.position = 0
        frame = self.audio[self.position : self.position + FRAME]
        self.position += FRAME
        if len(frame) < FRAME:
            frame = np.concatenate([frame, np.zeros(FRAME - len(frame), dtype=np.int16)])
        return frame

    def on_dtmf(self) -> None:
        """Barge-in: a caller who presses a key stops the prompt."""
        if self.stop_on_dtmf:
            self.stopped = True
