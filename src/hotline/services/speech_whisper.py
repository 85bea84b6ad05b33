"""The ``whisper`` speech engine for IVR menus: Whisper base transcribes the caller's
answer and :class:`~hotline.ivr.asr_transcribing.TranscribingRecognizer` matches it to the
node's phrases on pinyin (Mandarin) or words (English).

It is put together here because it joins two layers that may not import each other:
``ivr/`` (the recogniser interface and the matching) and ``qa/`` (the Whisper engine and
the packaged model: reused, not copied). Importing this module registers the engine in
``ivr.asr.SPEECH_ENGINES``; ``services/caller_audio.py`` imports it, so the recogniser's
process knows it.

The factory runs once per recogniser process (the pool's initializer): it joins the
packaged model if needed, loads it and transcribes a second of a synthetic voice so that
CTranslate2 has allocated its buffers before the first caller answers (the first
transcription of a fresh model is the slowest). Two threads: an answer is short and the
caller is waiting, unlike the QA pipeline's nice-10 single-thread batch work.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt

from hotline.ivr.asr import register
from hotline.ivr.asr_transcribing import TranscribingRecognizer
from hotline.qa.asr import FasterWhisperEngine
from hotline.qa.audio import resample, to_float
from hotline.qa.models import default_cache_dir, packaged_base_model

log = logging.getLogger(__name__)

ENGINE_NAME = "whisper"
WHISPER_RATE = 16_000
#: CPU threads per recognition: measured on 2 cores, 1.1 s per answer with one, 0.67 s with two.
THREADS = 2


class WhisperAnswerTranscriber:
    """A loaded Whisper model that transcribes one answer (any rate; resampled to 16 kHz
    by windowed sinc, as the QA pipeline does)."""

    def __init__(self, model_dir: Path | None = None, *, threads: int = THREADS) -> None:
        path = model_dir or packaged_base_model(default_cache_dir())
        self.engine = FasterWhisperEngine(
            path, threads=threads, word_timestamps=False, temperature_fallback=False
        )
        started = time.perf_counter()
        self.engine.load()
        self._warm_up()
        log.info(
            "speech recogniser ready",
            extra={
                "speech_engine": ENGINE_NAME,
                "speech_model": self.engine.model_name,
                "load_seconds": round(time.perf_counter() - started, 3),
            },
        )

    def __call__(self, pcm: npt.NDArray[np.int16], sample_rate: int, language: str) -> str:
        samples = resample(to_float(pcm), sample_rate, WHISPER_RATE)
        return self.engine.transcribe(samples, language).text

    def _warm_up(self) -> None:
        # One second of a vowel-like buzz (harmonics of 140 Hz): the Silero VAD keeps it
        # (measured), so the VAD, the encoder and the decoder all run once. What it
        # decodes to (nothing, usually) does not matter.
        t = np.arange(WHISPER_RATE) / WHISPER_RATE
        voice = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in range(1, 12))
        samples = (0.2 * voice / np.max(np.abs(voice))).astype(np.float32)
        self.engine.transcribe(samples, "zh")


class WhisperRecognizer(TranscribingRecognizer):
    """The registered engine; built once per recogniser process."""

    name = ENGINE_NAME

    def __init__(self) -> None:
        super().__init__(WhisperAnswerTranscriber())


register(ENGINE_NAME, WhisperRecognizer)
