"""Speech recognition for call analysis: the :class:`AsrEngine` interface and its
faster-whisper implementation.

An engine turns one speaker's 16 kHz float32 audio into a :class:`Transcript` of segments
with word timestamps and the language it heard. Any engine a customer owns (a larger
Whisper, a Paraformer model through sherpa-onnx...) plugs in behind the same interface.

:class:`FasterWhisperEngine` runs a CTranslate2 Whisper model from a directory on disk
(never a download): by default the Whisper base model packaged with Hotline
(``hotline.qa.models``). It is tuned for a CPU shared with live calls: int8, one thread,
greedy decoding (beam 1) and Silero VAD so that the silent half of each channel of a stereo
call costs nothing. Whisper writes Mandarin in traditional characters; transcripts in
Chinese are converted to simplified (``zhconv``), which costs fewer errors than steering
the model with a simplified prompt (shared/SPEECH.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

Progress = Callable[[float], None]


@dataclass(frozen=True, slots=True)
class Word:
    """One word (for Chinese: usually one or a few characters), times in seconds."""

    start: float
    end: float
    text: str
    probability: float


@dataclass(frozen=True, slots=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()


@dataclass(frozen=True, slots=True)
class Transcript:
    """What an engine heard in one signal. ``language`` is ISO 639-1 ("zh", "en")."""

    language: str | None
    segments: tuple[Segment, ...] = ()
    language_probability: float = 0.0
    #: Seconds of audio given, and of it what the VAD kept as speech.
    duration: float = 0.0
    speech_duration: float = 0.0

    @property
    def text(self) -> str:
        joiner = "" if is_chinese(self.language) else " "
        return joiner.join(segment.text.strip() for segment in self.segments).strip()


class AsrEngine(Protocol):
    """Speech to text for one speaker's signal."""

    @property
    def name(self) -> str:
        """The engine, e.g. ``faster-whisper``."""
        ...

    @property
    def model_name(self) -> str:
        """The model, as stored with each transcript (a directory name, a model id)."""
        ...

    def transcribe(
        self,
        samples_16k: npt.NDArray[np.float32],
        language: str | None,
        *,
        progress: Progress | None = None,
    ) -> Transcript:
        """Transcribe 16 kHz mono float32 audio; ``language`` None detects it.
        ``progress`` (if given) hears the fraction of the signal done, 0..1."""
        ...


def is_chinese(language: str | None) -> bool:
    return language is not None and language.lower().startswith(("zh", "yue"))


def to_simplified(text: str) -> str:
    import zhconv  # type: ignore[import-untyped]

    converted: str = zhconv.convert(text, "zh-cn")
    return converted


@dataclass
class FasterWhisperEngine:
    """A faster-whisper model on the CPU; the model loads on first use (in the worker
    process that uses it, not in the node)."""

    model_path: Path
    threads: int = 1
    compute_type: str = "int8"
    beam_size: int = 1
    vad: bool = True
    #: Word times (what the QA transcript and search need); a menu answer needs none.
    word_timestamps: bool = True
    #: Decode again at higher temperatures when a window comes out repetitive or unlikely
    #: (faster-whisper's default). Off, a window is decoded once: for a menu answer of a
    #: few words a retry is what makes the slow tail, and a bad answer is only a reprompt.
    temperature_fallback: bool = True
    _model: Any = field(default=None, init=False, repr=False)

    name: str = field(default="faster-whisper", init=False)

    @property
    def model_name(self) -> str:
        return self.model_path.name

    def load(self) -> Any:
        """Load the model now (else on first use): keeps load time out of a timing."""
        if self._model is None:
            from faster_whisper import WhisperModel  # type: ignore[import-untyped]

            if not (self.model_path / "model.bin").is_file():
                raise FileNotFoundError(
                    f"{self.model_path}: no model.bin; qa.model must name a faster-whisper "
                    "(CTranslate2) model directory"
                )
            self._model = WhisperModel(
                str(self.model_path),
                device="cpu",
                compute_type=self.compute_type,
                cpu_threads=self.threads,
                num_workers=1,
            )
        return self._model

    def transcribe(
        self,
        samples_16k: npt.NDArray[np.float32],
        language: str | None,
        *,
        progress: Progress | None = None,
    ) -> Transcript:
        model = self.load()
        samples = np.ascontiguousarray(samples_16k, dtype=np.float32)
        duration = len(samples) / 16_000
        if duration == 0:
            return Transcript(language=language)
        if not model.model.is_multilingual and language not in (None, "en"):
            raise ValueError(f"{self.model_name} is an English-only model; language {language}")
        pieces, info = model.transcribe(
            samples,
            language=language,
            beam_size=self.beam_size,
            vad_filter=self.vad,
            word_timestamps=self.word_timestamps,
            without_timestamps=not self.word_timestamps,
            condition_on_previous_text=False,
            **({} if self.temperature_fallback else {"temperature": 0.0}),
        )
        chinese = is_chinese(info.language)
        segments: list[Segment] = []
        for piece in pieces:  # a generator: decoding happens as it is read
            text = to_simplified(piece.text) if chinese else piece.text
            words = tuple(
                Word(
                    start=round(float(word.start), 3),
                    end=round(float(word.end), 3),
                    text=to_simplified(word.word) if chinese else word.word,
                    probability=round(float(word.probability), 4),
                )
                for word in piece.words or ()
            )
            segments.append(
                Segment(round(float(piece.start), 3), round(float(piece.end), 3), text, words)
            )
            if progress is not None:
                progress(min(1.0, float(piece.end) / duration))
        if progress is not None:
            progress(1.0)
        return Transcript(
            language=info.language,
            segments=tuple(segments),
            language_probability=round(float(info.language_probability), 4),
            duration=round(duration, 3),
            speech_duration=round(float(info.duration_after_vad), 3),
        )
