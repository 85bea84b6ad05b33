"""The waveform a QA console draws under its player: the loudest sample per time slice,
one row per speaker.

Why peaks from the server instead of a waveform library in the browser (wavesurfer.js):
a browser can only draw a waveform from decoded audio, so it would download and decode the
whole recording a second time next to the ``<audio>`` element that streams it with range
requests, and every download of a recording's audio is an audited "play". A call of ten
minutes is 19 MB of stereo PCM; its peaks at 1000 slices per speaker are a few kilobytes of
JSON, drawn on a canvas by a few dozen lines of script. Peaks say nothing of what was said,
so they need no redaction.

Pure code: bytes in, numbers out (the reader is ``media.wav``, as for the analysis).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hotline.media.wav import WavError, parse_wav
from hotline.qa.audio import MONO_SPEAKER, STEREO_SPEAKERS, RecordingError

#: Slices per speaker when the caller does not say: about one per pixel of a wide player.
DEFAULT_SLICES = 1000
MAX_SLICES = 4000


@dataclass(frozen=True, slots=True)
class Waveform:
    """``peaks[speaker]``: per slice of ``duration / slices`` seconds, the largest absolute
    sample in 0..1 (rounded to 3 decimals: the canvas has no finer resolution)."""

    duration: float
    speakers: tuple[str, ...]
    peaks: dict[str, list[float]]

    def to_dict(self) -> dict[str, object]:
        return {"duration": self.duration, "speakers": list(self.speakers), "peaks": self.peaks}


def waveform(data: bytes, slices: int = DEFAULT_SLICES, name: str = "<bytes>") -> Waveform:
    """The peaks of a WAV recording (customer left, agent right; a mono file has one
    speaker). A file that cannot be read raises :class:`RecordingError` naming it."""
    if not 1 <= slices <= MAX_SLICES:
        raise ValueError(f"slices must be 1..{MAX_SLICES}, not {slices}")
    try:
        wav = parse_wav(data, name)
    except WavError as error:
        raise RecordingError(str(error)) from None
    if wav.channels == 1:
        speakers: tuple[str, ...] = (MONO_SPEAKER,)
    elif wav.channels == 2:
        speakers = STEREO_SPEAKERS
    else:
        raise RecordingError(f"{name}: {wav.channels} channels; a recording has one or two")
    frames = int(wav.samples.shape[0])
    peaks: dict[str, list[float]] = {}
    for index, speaker in enumerate(speakers):
        magnitude = np.abs(wav.channel(index).astype(np.int32)).astype(np.float32) / 32768.0
        if frames == 0:
            peaks[speaker] = [0.0] * slices
            continue
        # Slice boundaries in frames; a call shorter than ``slices`` frames repeats frames.
        edges = np.linspace(0, frames, slices + 1).astype(np.int64)
        starts = np.minimum(edges[:-1], frames - 1)
        ends = np.maximum(edges[1:], starts + 1)
        loudest = np.maximum.reduceat(magnitude, starts)
        # reduceat takes each start to the next start; a slice whose end differs (the
        # repeated frames of a very short call) is taken on its own.
        for position in np.nonzero(ends != np.append(starts[1:], frames))[0]:
            loudest[position] = magnitude[starts[position] : ends[position]].max()
        peaks[speaker] = [round(float(v), 3) for v in np.minimum(loudest, 1.0)]
    return Waveform(round(frames / wav.sample_rate, 3), speakers, peaks)
