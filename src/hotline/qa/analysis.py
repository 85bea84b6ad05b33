"""The analysis of one recording: transcripts per speaker, then the call's metrics.

Pure code over a WAV file and an :class:`~hotline.qa.asr.AsrEngine`: the node's QA pipeline
runs it in worker processes and ``hotline qa analyze`` runs it in the command's own process.

The language is decided once per call: the speaker who talks most is transcribed first
with the configured language (None: detected), and the other side is transcribed in the
language found, so that a short "喂?" on one side cannot make a Mandarin call half English.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from hotline.media.speexdsp import denoise as speex_denoise
from hotline.qa.analytics import call_analytics
from hotline.qa.asr import AsrEngine, Progress, Segment, Transcript, Word
from hotline.qa.audio import ASR_RATE, CallAudio, read_recording
from hotline.qa.metrics import CallMetrics, call_metrics, voice_activity
from hotline.qa.rules import RuleSet


@dataclass(frozen=True, slots=True)
class Analysis:
    language: str | None
    #: By speaker, in the recording's channel order.
    transcripts: dict[str, Transcript]
    metrics: CallMetrics
    engine: str
    model: str
    audio_seconds: float
    processing_seconds: float
    #: What was read from the words (sentiment, rule categories, personal data,
    #: agitation), as plain data: see docs/qa-analytics.md. ``transcripts`` are then the
    #: redacted ones.
    analytics: dict[str, Any] = field(default_factory=dict)

    def segments(self) -> list[dict[str, Any]]:
        """Every speaker's segments as plain data, in time order (what the store keeps)."""
        out = [
            {"speaker": speaker, **asdict(segment)}
            for speaker, transcript in self.transcripts.items()
            for segment in transcript.segments
        ]
        for segment in out:
            segment["words"] = [dict(word) for word in segment["words"]]
        out.sort(key=lambda segment: (segment["start"], segment["speaker"]))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "engine": self.engine,
            "model": self.model,
            "audio_seconds": self.audio_seconds,
            "processing_seconds": self.processing_seconds,
            "real_time_factor": (
                round(self.processing_seconds / self.audio_seconds, 3)
                if self.audio_seconds
                else None
            ),
            "metrics": self.metrics.to_dict(),
            "analytics": self.analytics,
            "segments": self.segments(),
        }


def analyse_file(
    path: str | Path,
    engine: AsrEngine,
    language: str | None = None,
    *,
    progress: Progress | None = None,
    rules: RuleSet | None = None,
    keep_clear_text: bool = True,
    denoise: bool = False,
) -> Analysis:
    """Read and analyse a recording; a broken file raises ``RecordingError``."""
    started = time.perf_counter()
    audio = read_recording(path)
    return analyse(
        audio,
        engine,
        language,
        progress=progress,
        started=started,
        rules=rules,
        keep_clear_text=keep_clear_text,
        denoise=denoise,
    )


def analyse(
    audio: CallAudio,
    engine: AsrEngine,
    language: str | None = None,
    *,
    progress: Progress | None = None,
    started: float | None = None,
    rules: RuleSet | None = None,
    keep_clear_text: bool = True,
    denoise: bool = False,
) -> Analysis:
    """Transcripts, metrics, then the analytics (``rules``: the default categories when
    None); the transcripts of the result are redacted (``hotline.qa.analytics``).

    ``denoise``: each channel goes through speex noise suppression before the recogniser
    (``hotline.media.speexdsp.denoise``, ``SpeexUnavailableError`` without libspeexdsp);
    talk, silence and agitation are still measured on the recording as it is."""
    started = time.perf_counter() if started is None else started
    activity = {channel.speaker: voice_activity(channel.samples) for channel in audio.channels}
    talk = {speaker: float(mask.sum()) for speaker, mask in activity.items()}
    order = sorted(audio.channels, key=lambda channel: -talk[channel.speaker])
    total = sum(talk.values()) or 1.0
    done = 0.0
    transcripts: dict[str, Transcript] = {}
    call_language = language
    for channel in order:
        share = talk[channel.speaker] / total

        def report(fraction: float, done: float = done, share: float = share) -> None:
            if progress is not None:
                progress(min(1.0, done + share * fraction))

        if talk[channel.speaker] == 0:
            transcripts[channel.speaker] = Transcript(
                language=call_language, duration=round(channel.duration, 3)
            )
            continue
        heard = speex_denoise(channel.samples, ASR_RATE) if denoise else channel.samples
        transcript = engine.transcribe(heard, call_language, progress=report)
        transcripts[channel.speaker] = transcript
        if call_language is None and transcript.segments:
            call_language = transcript.language
        done += share
    by_channel = {channel.speaker: transcripts[channel.speaker] for channel in audio.channels}
    metrics = call_metrics(audio, by_channel, activity)
    clear = Analysis(call_language, by_channel, metrics, engine.name, engine.model_name, 0, 0)
    redacted, analytics = call_analytics(
        clear.segments(),
        call_language,
        {channel.speaker: channel.samples for channel in audio.channels},
        duration=audio.duration,
        rules=rules,
        keep_clear_text=keep_clear_text,
    )
    if progress is not None:
        progress(1.0)
    return Analysis(
        language=call_language,
        transcripts=_with_segments(by_channel, redacted),
        metrics=metrics,
        engine=engine.name,
        model=engine.model_name,
        audio_seconds=round(audio.duration, 3),
        processing_seconds=round(time.perf_counter() - started, 3),
        analytics=analytics,
    )


def _with_segments(
    transcripts: dict[str, Transcript], segments: list[dict[str, Any]]
) -> dict[str, Transcript]:
    """The transcripts with their segments replaced by ``segments`` (plain data, as
    ``Analysis.segments()`` gives them, each speaker's in its own order)."""
    by_speaker: dict[str, list[Segment]] = {speaker: [] for speaker in transcripts}
    for segment in segments:
        by_speaker[segment["speaker"]].append(
            Segment(
                start=segment["start"],
                end=segment["end"],
                text=segment["text"],
                words=tuple(Word(**word) for word in segment["words"]),
            )
        )
    return {
        speaker: replace(transcript, segments=tuple(by_speaker[speaker]))
        for speaker, transcript in transcripts.items()
    }
