"""Call recordings as the analysis reads them: one 16 kHz float32 signal per speaker.

The node records a call as stereo 16-bit PCM at 8 kHz with the customer on the left channel
and the agent on the right (``hotline.media.recorder``); a voicemail is mono. Whisper takes
16 kHz mono float32, so each channel is resampled here (8 kHz passed as it is reads as
nonsense). Other WAV files (an operator's own, a test call) are accepted in any format the
media layer's reader knows, any rate, one or two channels.

A file that is not a WAV, is cut off before its audio starts, or has no audio at all raises
:class:`RecordingError` with a message that names the file and the problem; the file itself
is only ever read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hotline.media.wav import WavError, parse_wav

ASR_RATE = 16_000
#: Speaker names of a stereo call recording, by channel (``hotline.media.recorder``).
STEREO_SPEAKERS = ("customer", "agent")
#: The one speaker of a mono file (a voicemail, a WAV from elsewhere).
MONO_SPEAKER = "speaker"

Samples = npt.NDArray[np.float32]


class RecordingError(ValueError):
    """The recording cannot be analysed as it is; the message says why."""


@dataclass(frozen=True, slots=True)
class Channel:
    """One speaker's side of a recording, 16 kHz float32 in -1..1."""

    speaker: str
    samples: Samples

    @property
    def duration(self) -> float:
        return len(self.samples) / ASR_RATE


@dataclass(frozen=True, slots=True)
class CallAudio:
    """A recording split by speaker: ``channels`` in file order."""

    source_rate: int
    channels: tuple[Channel, ...]

    @property
    def duration(self) -> float:
        return max((channel.duration for channel in self.channels), default=0.0)

    @property
    def stereo(self) -> bool:
        return len(self.channels) == 2


def read_recording(path: str | Path) -> CallAudio:
    """Read a WAV recording and split it into speakers (see the module's docstring)."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise RecordingError(f"{name}: cannot read: {error.strerror or error}") from None
    return parse_recording(data, name)


def parse_recording(data: bytes, name: str = "<bytes>") -> CallAudio:
    if not data:
        raise RecordingError(f"{name}: empty file")
    try:
        wav = parse_wav(data, name)
    except WavError as error:
        raise RecordingError(str(error)) from None
    if wav.samples.shape[0] == 0:
        raise RecordingError(f"{name}: no audio (the data chunk is empty or cut off)")
    if wav.channels == 1:
        speakers: tuple[str, ...] = (MONO_SPEAKER,)
    elif wav.channels == 2:
        speakers = STEREO_SPEAKERS
    else:
        raise RecordingError(f"{name}: {wav.channels} channels; a recording has one or two")
    channels = tuple(
        Channel(speaker, resample(to_float(wav.channel(index)), wav.sample_rate, ASR_RATE))
        for index, speaker in enumerate(speakers)
    )
    return CallAudio(wav.sample_rate, channels)


def to_float(pcm: npt.NDArray[np.int16]) -> Samples:
    return (pcm.astype(np.float32) / 32768.0).astype(np.float32)


# Windowed-sinc interpolation: 16 input samples either side of each output sample (a
# Blackman window keeps the stop band ~70 dB down), cut off just under the lower Nyquist.
_HALF_WIDTH = 16
_ROLLOFF = 0.95
_CHUNK = 8192


def resample(samples: Samples, from_rate: int, to_rate: int) -> Samples:
    """Resample a mono float signal by band-limited (windowed-sinc) interpolation.

    Any pair of rates. When the ratio is a fraction with a small numerator (8 → 16 kHz is
    2/1, 48 → 16 kHz is 1/3) each of its few phases is one convolution (fast, in numpy's C
    loop); other ratios (44.1 → 16 kHz) compute every output sample's taps in chunks. The
    output has ``round(len * to_rate / from_rate)`` samples.
    """
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive ({from_rate} → {to_rate})")
    samples = np.asarray(samples, dtype=np.float32)
    if from_rate == to_rate or len(samples) == 0:
        return samples.copy()
    ratio = to_rate / from_rate
    cutoff = _ROLLOFF * min(1.0, ratio)  # in units of the input's Nyquist
    half = int(np.ceil(_HALF_WIDTH / min(1.0, ratio)))
    taps = np.arange(-half + 1, half + 1)
    padded = np.concatenate(
        [np.zeros(half, np.float32), samples, np.zeros(half + 1, np.float32)]
    ).astype(np.float64)
    n_out = round(len(samples) * ratio)
    step = math.gcd(from_rate, to_rate)
    up, down = to_rate // step, from_rate // step
    if up <= _MAX_PHASES:
        return _resample_polyphase(padded, n_out, up, down, cutoff, half, taps)
    out = np.empty(n_out, dtype=np.float32)
    for start in range(0, n_out, _CHUNK):
        times = np.arange(start, min(n_out, start + _CHUNK)) / ratio
        base = np.floor(times).astype(np.int64)
        offsets = base[:, None] + taps[None, :]  # input samples around each output time
        weights = _kernel(times[:, None] - offsets, cutoff, half)
        out[start : start + len(times)] = np.sum(padded[offsets + half] * weights, axis=1)
    return out


_MAX_PHASES = 16


def _resample_polyphase(
    padded: npt.NDArray[np.float64],
    n_out: int,
    up: int,
    down: int,
    cutoff: float,
    half: int,
    taps: npt.NDArray[np.int64],
) -> Samples:
    out = np.empty(n_out, dtype=np.float32)
    for phase in range(up):
        # Output n sits at input time n*down/up: the phases are the n with the same
        # fractional part, so they share one kernel.
        first = next((n for n in range(up) if (n * down) % up == phase), None)
        if first is None or first >= n_out:
            continue
        indices = np.arange(first, n_out, up)
        base = (indices * down) // up
        kernel = _kernel(phase / up - taps.astype(np.float64), cutoff, half)
        # y[j] = sum_k padded[j + k] * kernel[k]: a correlation, i.e. a convolution with
        # the kernel reversed; output j corresponds to base j - half + 1.
        correlated = np.convolve(padded, kernel[::-1], mode="valid")
        out[indices] = correlated[base + 1]
    return out


def _kernel(distance: npt.NDArray[np.float64], cutoff: float, half: int) -> npt.NDArray[np.float64]:
    window = (
        0.42 + 0.5 * np.cos(np.pi * distance / half) + 0.08 * np.cos(2 * np.pi * distance / half)
    )
    window[np.abs(distance) >= half] = 0.0
    return cutoff * np.sinc(cutoff * distance) * window
