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


# --- music on hold ---------------------------------------------------------------------------

#: A slow arpeggio (C major, then A minor, F major, G major), soft and without silences, so a
#: waiting caller never wonders whether the line dropped. Generated, so no licensed audio
#: ships with the product; operators upload their own music for production.
_MUSIC_CHORDS = (
    (261.63, 329.63, 392.0),
    (220.0, 261.63, 329.63),
    (174.61, 220.0, 261.63),
    (196.0, 246.94, 293.66),
)


def music_on_hold(note_seconds: float = 0.5, level: float = 0.12) -> Pcm:
    """About 6 s of built-in hold music at 8 kHz, meant to loop seamlessly."""
    count = round(note_seconds * 8000)
    t = np.arange(count) / 8000.0
    envelope = np.minimum(1.0, np.minimum(t, note_seconds - t) / 0.03)  # no clicks
    notes = []
    for chord in _MUSIC_CHORDS:
        for frequency in (*chord, chord[1]):
            wave = np.sin(2 * np.pi * frequency * t) + 0.3 * np.sin(4 * np.pi * frequency * t)
            notes.append(wave * envelope / 1.3)
    music = np.concatenate(notes) * level * 32767.0
    return np.asarray(np.round(music), dtype=np.int16)


# --- call-progress tones ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cadence:
    """One call-progress tone: frequencies and a repeating on/off pattern in seconds."""

    frequencies: tuple[float, ...]
    pattern: tuple[float, ...] = ()  # on, off, on, off, ...; empty = continuous
    level: float = 0.1  # about -20 dBm0 per the plans' usual levels

    def cycle(self) -> Pcm:
        """One period of the cadence (one second for a continuous tone)."""
        if not self.pattern:
            return tone(self.frequencies, 1.0, self.level)
        parts = []
        for index, seconds in enumerate(self.pattern):
            if index % 2 == 0:
                parts.append(tone(self.frequencies, seconds, self.level))
            else:
                parts.append(np.zeros(round(seconds * 8000), dtype=np.int16))
        return np.concatenate(parts)

    def player(self) -> Player:
        return Player(self.cycle(), loop=True)


# Tone plans as data. ITU-T E.180 leaves ranges to each country; "itu" uses the common
# European choice (425 Hz), "cn" the Chinese network's 450 Hz plan, "us" the North American
# precise-tone plan. "record_beep" is the periodic recording-warning tone (1400 Hz).
TONE_PLANS: dict[str, dict[str, Cadence]] = {
    "itu": {
        "dial": Cadence((425.0,)),
        "ringback": Cadence((425.0,), (1.0, 4.0)),
        "busy": Cadence((425.0,), (0.5, 0.5)),
        "congestion": Cadence((425.0,), (0.2, 0.2)),
        "call_waiting": Cadence((425.0,), (0.2, 0.2, 0.2, 9.4)),
        "record_beep": Cadence((1400.0,), (0.5, 14.5)),
    },
    "cn": {
        "dial": Cadence((450.0,)),
        "ringback": Cadence((450.0,), (1.0, 4.0)),
        "busy": Cadence((450.0,), (0.35, 0.35)),
        "congestion": Cadence((450.0,), (0.7, 0.7)),
        "call_waiting": Cadence((450.0,), (0.4, 4.0)),
        "record_beep": Cadence((1400.0,), (0.5, 14.5)),
    },
    "us": {
        "dial": Cadence((350.0, 440.0)),
        "ringback": Cadence((440.0, 480.0), (2.0, 4.0)),
        "busy": Cadence((480.0, 620.0), (0.5, 0.5)),
        "congestion": Cadence((480.0, 620.0), (0.25, 0.25)),
        "call_waiting": Cadence((440.0,), (0.3, 9.7)),
        "record_beep": Cadence((1400.0,), (0.5, 14.5)),
    },
}


def progress_tone(plan: str, name: str) -> Cadence:
    """A tone of a country plan; KeyError names what is missing."""
    try:
        return TONE_PLANS[plan][name]
    except KeyError:
        raise KeyError(f"no tone {name!r} in plan {plan!r}") from None
