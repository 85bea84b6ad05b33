"""Per-call conversation metrics from a recording's channels and its transcripts.

What a QA analyst asks of every call: how long each side talked and the share of the
talking each had, the longest dead air (neither side speaks, between the first and the
last words of the call: hold music on the customer's side counts as sound), how long both
talked at once (over-talk), and how fast each spoke (Chinese characters per minute for a
Mandarin call, words per minute otherwise; shared/SPEECH.md counts one syllable per
Chinese character).

Talk is found per channel by energy in 20 ms frames against a threshold set from the
channel's own noise floor, then smoothed: pauses under 0.3 s between words count as talk
and blips under 0.1 s (a click, a cough) do not. A mono recording has one speaker and no
over-talk.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hotline.qa.asr import Transcript, is_chinese
from hotline.qa.audio import ASR_RATE, CallAudio

FRAME_SECONDS = 0.02
#: Pauses shorter than this inside one speaker's talk are still talk.
BRIDGE_SECONDS = 0.3
#: Sounds shorter than this are not talk.
MIN_TALK_SECONDS = 0.1
#: Talk needs at least this level (dBFS), and 12 dB over the channel's noise floor.
ABSOLUTE_FLOOR_DB = -50.0
OVER_NOISE_DB = 12.0

_CHINESE_CHARACTER = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_FIGURE = re.compile(r"[0-9\uff10-\uff19]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")

Activity = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class SpeakerMetrics:
    speaker: str
    talk_seconds: float
    #: This speaker's share of all talk in the call (0..1).
    talk_ratio: float
    #: Characters (Chinese) or words counted in the transcript.
    speech_units: int
    #: Units per minute of this speaker's talk; None with under a second of talk.
    speech_rate: float | None
    rate_unit: str


@dataclass(frozen=True, slots=True)
class CallMetrics:
    duration_seconds: float
    speakers: tuple[SpeakerMetrics, ...]
    #: Dead air: the longest stretch in which nobody talks, between first and last talk.
    longest_silence_seconds: float
    longest_silence_start: float | None
    silence_seconds: float
    #: Both sides talking at once (stereo recordings only).
    overtalk_seconds: float
    overtalk_count: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def voice_activity(samples: npt.NDArray[np.float32], rate: int = ASR_RATE) -> Activity:
    """Talk or not, per 20 ms frame of one channel (see the module's docstring)."""
    frame = int(rate * FRAME_SECONDS)
    count = len(samples) // frame
    if count == 0:
        return np.zeros(0, dtype=np.bool_)
    frames = np.asarray(samples[: count * frame], dtype=np.float64).reshape(count, frame)
    level = 10.0 * np.log10(np.mean(frames * frames, axis=1) + 1e-12)
    floor = float(np.percentile(level, 10))
    loudest = float(np.percentile(level, 99))
    # A channel that talks nearly all the time has no quiet frames to learn its floor from:
    # never ask more than 25 dB under its loud frames.
    threshold = max(ABSOLUTE_FLOOR_DB, min(floor + OVER_NOISE_DB, loudest - 25.0))
    active: Activity = level > threshold
    return _smooth(active)


def _smooth(active: Activity) -> Activity:
    out = active.copy()
    bridge = round(BRIDGE_SECONDS / FRAME_SECONDS)
    shortest = round(MIN_TALK_SECONDS / FRAME_SECONDS)
    for start, end in _runs(~out):  # close short pauses between talk
        if start > 0 and end < len(out) and end - start < bridge:
            out[start:end] = True
    for start, end in _runs(out):  # drop blips
        if end - start < shortest:
            out[start:end] = False
    return out


def _runs(mask: Activity) -> list[tuple[int, int]]:
    """[start, end) frame indices of each run of True."""
    if len(mask) == 0:
        return []
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def talk_intervals(active: Activity) -> list[tuple[float, float]]:
    """Talk as (start, end) seconds."""
    return [(round(a * FRAME_SECONDS, 3), round(b * FRAME_SECONDS, 3)) for a, b in _runs(active)]


def speech_units(text: str, language: str | None) -> tuple[int, str]:
    """How much was said, and in what unit: Chinese characters, or words.

    In Mandarin a figure counts as the character it was said as: a caller reads a phone or
    card number digit by digit (一三九...), one syllable each, and the recogniser writes
    13966473782; uncounted, a customer who reads out a number seems to speak 30 % slower
    (the labelled set). A Latin word in a Mandarin transcript (an e-mail address, "OK")
    counts one."""
    if is_chinese(language):
        characters = len(_CHINESE_CHARACTER.findall(text))
        figures = len(_FIGURE.findall(text))
        latin = len(_LATIN_WORD.findall(text))
        return characters + figures + latin, "chars/min"
    return len(_WORD.findall(text)), "words/min"


def call_metrics(
    audio: CallAudio,
    transcripts: Mapping[str, Transcript],
    activity: Mapping[str, Activity] | None = None,
) -> CallMetrics:
    """The metrics of one call; ``transcripts`` by speaker (a speaker without one counts
    no words). ``activity`` may be given precomputed (by speaker)."""
    if activity is None:
        activity = {ch.speaker: voice_activity(ch.samples) for ch in audio.channels}
    frames = max((len(mask) for mask in activity.values()), default=0)
    masks = {speaker: np.pad(mask, (0, frames - len(mask))) for speaker, mask in activity.items()}
    talk = {speaker: float(mask.sum()) * FRAME_SECONDS for speaker, mask in masks.items()}
    total_talk = sum(talk.values())
    speakers = []
    for channel in audio.channels:
        transcript = transcripts.get(channel.speaker)
        language = transcript.language if transcript else None
        units, unit = speech_units(transcript.text if transcript else "", language)
        seconds = talk.get(channel.speaker, 0.0)
        speakers.append(
            SpeakerMetrics(
                speaker=channel.speaker,
                talk_seconds=round(seconds, 2),
                talk_ratio=round(seconds / total_talk, 3) if total_talk else 0.0,
                speech_units=units,
                speech_rate=round(units * 60.0 / seconds, 1) if seconds >= 1.0 else None,
                rate_unit=unit,
            )
        )
    anyone = np.zeros(frames, dtype=np.bool_)
    everyone = np.ones(frames, dtype=np.bool_) if len(masks) > 1 else np.zeros(frames, np.bool_)
    for mask in masks.values():
        anyone |= mask
        everyone &= mask
    longest, longest_start, silence = 0.0, None, 0.0
    talked = np.flatnonzero(anyone)
    if len(talked):
        inner = ~anyone[talked[0] : talked[-1] + 1]
        for start, end in _runs(inner):
            seconds = (end - start) * FRAME_SECONDS
            silence += seconds
            if seconds > longest:
                longest, longest_start = seconds, (talked[0] + start) * FRAME_SECONDS
    overtalk = _runs(everyone)
    return CallMetrics(
        duration_seconds=round(audio.duration, 2),
        speakers=tuple(speakers),
        longest_silence_seconds=round(longest, 2),
        longest_silence_start=round(longest_start, 2) if longest_start is not None else None,
        silence_seconds=round(silence, 2),
        overtalk_seconds=round(sum(b - a for a, b in overtalk) * FRAME_SECONDS, 2),
        overtalk_count=len(overtalk),
    )
