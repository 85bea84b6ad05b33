"""A speech recogniser for menus in Mandarin (and English): transcribe the whole answer
with an open speech-to-text model, then match the text to the node's phrases on sound.

Unlike a closed grammar (``PocketsphinxGrammarRecognizer``), an open model writes what the
caller said even when it is off the menu ("今天天气怎么样"), so off-menu answers can be
rejected instead of forced onto a choice: :mod:`hotline.ivr.phrase_match` scores the text
against each phrase on tone-less pinyin, and below its threshold the answer is no match.

The transcription itself comes in as an :class:`AnswerTranscriber`, because the Whisper
engine lives in ``qa/`` and ``ivr/`` may not import it (``.importlinter``,
ivr-through-interfaces and the layer table of docs/architecture.md). The ``whisper`` engine
that a node uses is put together and registered by ``services/speech_whisper.py``, which
may use both layers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import ClassVar, Protocol

import numpy as np
import numpy.typing as npt

from hotline.ivr.asr import SILENCE_RMS, Recognition, SpeechError, SpeechRecognizer
from hotline.ivr.phrase_match import DEFAULT_THRESHOLD, PhraseError, check_phrases, match

log = logging.getLogger(__name__)

#: Languages the matcher handles: Mandarin on pinyin, English on words.
CHINESE = ("zh", "cmn")
ENGLISH = ("en",)


class AnswerTranscriber(Protocol):
    """Speech to text for one short answer (blocking CPU work)."""

    def __call__(self, pcm: npt.NDArray[np.int16], sample_rate: int, language: str) -> str:
        """Transcribe mono 16-bit audio; ``language`` is ISO 639-1 ("zh", "en")."""
        ...


def base_language(language: str) -> str:
    """ "zh-CN" → "zh", "en-US" → "en": what a speech-to-text model is told."""
    return language.split("-", 1)[0].lower()


class TranscribingRecognizer(SpeechRecognizer):
    """Any transcriber plus pinyin-aware matching; ``threshold`` is the score (0..1) an
    answer needs to count as a phrase. The confidence reported is that score."""

    name: ClassVar[str] = "transcribing"

    def __init__(
        self, transcriber: AnswerTranscriber, *, threshold: float = DEFAULT_THRESHOLD
    ) -> None:
        self.transcriber = transcriber
        self.threshold = threshold
        self._checked: set[tuple[tuple[str, ...], str]] = set()

    def supports(self, language: str) -> bool:
        return base_language(language) in CHINESE + ENGLISH

    def check_phrases(self, phrases: Sequence[str], language: str) -> None:
        if not self.supports(language):
            raise SpeechError(f"{self.name} does not listen for {language!r} (zh, en)")
        key = (tuple(phrases), language)
        if key in self._checked:
            return
        try:
            check_phrases(phrases, chinese=self._chinese(language))
        except PhraseError as error:
            raise SpeechError(str(error)) from None
        self._checked.add(key)

    def recognize(
        self, pcm: bytes, sample_rate: int, phrases: Sequence[str], language: str
    ) -> Recognition:
        self.check_phrases(phrases, language)
        samples = np.frombuffer(pcm, dtype="<i2")
        if (
            samples.size == 0
            or float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) < SILENCE_RMS
        ):
            return Recognition(None, 0.0)
        text = self.transcriber(samples, sample_rate, base_language(language))
        result = match(text, phrases, threshold=self.threshold, chinese=self._chinese(language))
        # DEBUG: an answer may carry what a caller would not want in the node's log.
        log.debug(
            "speech answer heard",
            extra={
                "asr_text": text,
                "asr_tokens": " ".join(result.heard),
                "asr_phrase": result.phrase,
                "asr_score": round(result.score, 3),
            },
        )
        return Recognition(result.phrase, result.score)

    @staticmethod
    def _chinese(language: str) -> bool:
        return base_language(language) in CHINESE
