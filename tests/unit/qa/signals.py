"""Synthetic call audio for the QA tests: tones standing in for talk, at known times."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from hotline.media.wav import WavWriter


def talk(
    seconds: float, spans: list[tuple[float, float]], rate: int = 16_000, freq: float = 300.0
) -> npt.NDArray[np.float32]:
    """A channel of ``seconds`` that "talks" (a -12 dBFS tone with a little noise under
    it everywhere) in each (start, end) span."""
    rng = np.random.default_rng(7)
    out = (rng.standard_normal(round(seconds * rate)) * 1e-4).astype(np.float32)
    t = np.arange(len(out)) / rate
    for start, end in spans:
        a, b = round(start * rate), round(end * rate)
        out[a:b] += (0.25 * np.sin(2 * np.pi * freq * t[a:b])).astype(np.float32)
    return out


def pcm16(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.int16]:
    return np.clip(np.round(samples * 32767), -32768, 32767).astype(np.int16)


def write_wav(path: Path, channels: list[npt.NDArray[np.float32]], rate: int) -> Path:
    frames = np.stack([pcm16(channel) for channel in channels], axis=1)
    writer = WavWriter(path, rate, len(channels))
    writer.write(frames)
    writer.close()
    return path
