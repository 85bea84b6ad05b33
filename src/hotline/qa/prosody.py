"""Agitation from the voice: is a speaker louder and higher later in the call than they
were at its start?

An upset caller raises their voice and their pitch. Loudness and pitch differ from one
person, phone and line to the next, so each speaker is compared with themselves: the
first :data:`BASELINE_SECONDS` of their voiced talk are the baseline, and the loudest
:data:`WINDOW_SECONDS` stretch of voiced talk after it is measured against it (median
energy in dB, median pitch in semitones). ``score`` 0..1 grows with both rises; ``label``
is ``calm``, ``raised`` or ``agitated``.

numpy only (no librosa, no numba): energy per 40 ms frame, pitch by normalised
autocorrelation (FFT) in 60..400 Hz on voiced frames, of the 16 kHz signal halved to 8 kHz.

What it cannot do: tell anger from excitement or laughter; see agitation that is there
from the first second (there is no calmer baseline) or in the words alone (sentiment
does that); survive a phone's automatic gain control that flattens a raised voice; judge
a speaker with less than :data:`MIN_VOICED_SECONDS` of voiced talk (left out).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

RATE = 16_000
#: Pitch and energy are measured at half the rate (voices' pitch is far under 4 kHz):
#: a quarter of the FFT work of 16 kHz frames, for a 5-minute call well under 0.1 s.
WORK_RATE = 8_000
FRAME = 320  # 40 ms at 8 kHz: two periods of a 50 Hz voice
HOP = 320  # 40 ms
MIN_HZ, MAX_HZ = 60.0, 400.0
#: Periodicity (normalised autocorrelation peak) above which a frame is voiced.
VOICED_PERIODICITY = 0.5
ABSOLUTE_FLOOR_DB = -50.0
OVER_NOISE_DB = 12.0
BASELINE_SECONDS = 20.0
WINDOW_SECONDS = 5.0
MIN_VOICED_SECONDS = 10.0
#: A rise of this much counts fully: +10 dB louder, +4 semitones higher.
FULL_ENERGY_DB = 10.0
FULL_PITCH_SEMITONES = 4.0
RAISED, AGITATED = 0.35, 0.65


def _frames(samples: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    if len(samples) < FRAME:
        return np.zeros((0, FRAME))
    count = 1 + (len(samples) - FRAME) // HOP
    index = np.arange(FRAME)[None, :] + HOP * np.arange(count)[:, None]
    frames: npt.NDArray[np.float64] = samples[index]
    return frames


def frame_features(
    samples: npt.NDArray[np.float32], rate: int = RATE
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Per frame: energy in dBFS, and pitch in Hz (NaN where not voiced)."""
    if rate != RATE:
        raise ValueError(f"prosody needs {RATE} Hz audio, not {rate}")
    even = samples[: len(samples) // 2 * 2].astype(np.float64)
    frames = _frames((even[0::2] + even[1::2]) / 2)  # a pair average: low-pass, then halve
    rate = WORK_RATE
    if not len(frames):
        return np.zeros(0), np.zeros(0)
    power = np.mean(frames**2, axis=1)
    energy = 10 * np.log10(np.maximum(power, 1e-12))
    # Over the noise floor (the quietest tenth of the frames), but never above a level
    # 30 dB under the loudest talk: a channel that talks all the time has no noise frames.
    noise, loudest = np.percentile(energy, [10, 95])
    floor = max(ABSOLUTE_FLOOR_DB, min(float(noise) + OVER_NOISE_DB, float(loudest) - 30.0))
    pitch = np.full(len(frames), np.nan)
    loud = np.flatnonzero(energy > floor)
    if len(loud):
        x = frames[loud] - frames[loud].mean(axis=1, keepdims=True)
        x *= np.hanning(FRAME)
        spectrum = np.fft.rfft(x, 2 * FRAME, axis=1)
        corr = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :FRAME]
        # Unbias for the shrinking overlap of the window with itself.
        window_corr = np.fft.irfft(np.abs(np.fft.rfft(np.hanning(FRAME), 2 * FRAME)) ** 2)[:FRAME]
        corr = corr / np.maximum(window_corr, 1e-9)
        corr /= np.maximum(corr[:, :1], 1e-12)
        low, high = int(rate / MAX_HZ), int(rate / MIN_HZ)
        part = corr[:, low : high + 1]
        peak = part.max(axis=1)
        # The shortest lag almost as good as the best (against octave-down errors), then
        # parabolic interpolation around it.
        best = np.argmax(part >= 0.9 * peak[:, None], axis=1)
        rows = np.arange(len(part))
        for _ in range(8):  # climb to the top of that peak
            up = (best + 1 < part.shape[1]) & (
                part[rows, np.minimum(best + 1, part.shape[1] - 1)] > part[rows, best]
            )
            best = best + up
        lag = best + low
        y0 = corr[np.arange(len(corr)), np.clip(lag - 1, 0, FRAME - 1)]
        y1 = corr[np.arange(len(corr)), lag]
        y2 = corr[np.arange(len(corr)), np.clip(lag + 1, 0, FRAME - 1)]
        denominator = y0 - 2 * y1 + y2
        shift = np.where(np.abs(denominator) > 1e-12, 0.5 * (y0 - y2) / denominator, 0.0)
        refined = lag + np.clip(shift, -0.5, 0.5)
        voiced = peak >= VOICED_PERIODICITY
        pitch[loud[voiced]] = rate / refined[voiced]
    return energy, pitch


def _semitones(hz: float, reference: float) -> float:
    return 12 * math.log2(hz / reference)


def agitation(samples: npt.NDArray[np.float32], rate: int = RATE) -> dict[str, Any] | None:
    """One speaker's agitation (``analytics["agitation"][speaker]``), or None with too
    little voiced talk to judge. ``raised_at`` is where the loudest later stretch starts."""
    energy, pitch = frame_features(samples, rate)
    voiced = np.flatnonzero(~np.isnan(pitch))
    seconds_per_frame = HOP / WORK_RATE
    if len(voiced) * seconds_per_frame < MIN_VOICED_SECONDS:
        return None
    base_count = int(BASELINE_SECONDS / seconds_per_frame)
    window = int(WINDOW_SECONDS / seconds_per_frame)
    base = voiced[:base_count]
    later = voiced[base_count:]
    base_energy = float(np.median(energy[base]))
    base_pitch = float(np.median(pitch[base]))
    summary: dict[str, Any] = {
        "energy_db": round(float(np.median(energy[voiced])), 1),
        "pitch_hz": round(float(np.median(pitch[voiced])), 1),
        "score": 0.0,
        "label": "calm",
        "raised_at": None,
    }
    if len(later) < window:
        return summary  # all of the talk is the baseline: nothing to compare
    best_score, best_at = 0.0, None
    step = max(1, window // 4)
    for first in range(0, len(later) - window + 1, step):
        chunk = later[first : first + window]
        rise_db = float(np.median(energy[chunk])) - base_energy
        rise_st = _semitones(float(np.median(pitch[chunk])), base_pitch)
        score = 0.5 * min(1.0, max(0.0, rise_db / FULL_ENERGY_DB)) + 0.5 * min(
            1.0, max(0.0, rise_st / FULL_PITCH_SEMITONES)
        )
        if score > best_score:
            best_score, best_at = score, round(float(chunk[0] * seconds_per_frame), 2)
    summary["score"] = round(best_score, 3)
    summary["label"] = (
        "agitated" if best_score >= AGITATED else "raised" if best_score >= RAISED else "calm"
    )
    summary["raised_at"] = best_at if best_score >= RAISED else None
    return summary
