"""Speech input for IVR menus: recognise one of a node's phrases in a caller's answer.

Engines are a registry (``SpeechRecognizer`` + :func:`register`), so a site can plug in a
model it owns. The shipped engine is pocketsphinx with the US English model inside its
wheel, constrained by a JSGF grammar of the node's phrases: fast (a few hundredths of real
time) and offline. It has no Chinese model. For Mandarin (and English) menus there is
``whisper``: Whisper base transcribes the whole answer and ``ivr/phrase_match.py`` matches
it to the phrases on tone-less pinyin, rejecting off-menu answers
(``ivr/asr_transcribing.py``; registered by ``services/speech_whisper.py``, because the
Whisper engine is in ``qa/``, which ``ivr/`` may not import). A node uses one engine for
all its speech nodes (``TelephonyConfig.speech_engine``).

The rest of this note is about pocketsphinx. A closed grammar maps *any* sound to one of
its phrases ("the weather is nice" comes out as "billing"). The decoder's per-frame
acoustic score is a weak guard: measured on Piper speech through 8 kHz µ-law, menu
phrases scored 0.79-0.89, unrelated sentences 0.53-0.75, but short off-menu words
("hello", "no", "um") reached 0.78-0.93. So the default ``min_confidence`` of 0.70
rejects noise, silence and most unrelated sentences ("the weather is nice today", 0.75,
still passes). Short off-menu words are still forced onto a choice (``bench/ivr/run``
prints the table). Flows that act on speech should confirm the choice or offer DTMF; a
stronger engine can be plugged in. Calibrate on your own callers.
"""

from __future__ import annotations

import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

_PHRASE = re.compile(r"^[a-z']+( [a-z']+)*$")

#: Below this RMS (16-bit; about -56 dBFS, under a phone line's noise floor) an answer is
#: silence. Such audio never reaches the decoder: pure digital silence (muted phones, no
#: comfort noise) makes its normalisation produce garbage that can "match" a phrase.
SILENCE_RMS = 50.0


class SpeechError(Exception):
    """A grammar the engine cannot use (unknown words, unsupported language)."""


@dataclass(frozen=True, slots=True)
class Recognition:
    """The phrase heard (None: nothing in the grammar, or too unsure) and how sure."""

    text: str | None
    confidence: float


class SpeechRecognizer(ABC):
    name: ClassVar[str]

    @abstractmethod
    def supports(self, language: str) -> bool: ...

    @abstractmethod
    def check_phrases(self, phrases: Sequence[str], language: str) -> None:
        """Raise SpeechError if the engine cannot listen for these phrases."""

    @abstractmethod
    def recognize(
        self, pcm: bytes, sample_rate: int, phrases: Sequence[str], language: str
    ) -> Recognition:
        """Recognise 16-bit little-endian mono audio. Blocking CPU work: run off the loop."""


SPEECH_ENGINES: dict[str, Callable[[], SpeechRecognizer]] = {}


def register(name: str, factory: Callable[[], SpeechRecognizer]) -> None:
    SPEECH_ENGINES[name] = factory


class PocketsphinxGrammarRecognizer(SpeechRecognizer):
    name = "pocketsphinx"
    SAMPLE_RATE: ClassVar[int] = 16000  # the packaged acoustic model is wideband

    def __init__(self, min_confidence: float = 0.70) -> None:
        from pocketsphinx import Decoder

        self.min_confidence = min_confidence
        # Batch cepstral mean normalisation over each whole answer: with the default live
        # mode the decoder adapts to what it heard last, so one caller's line would shift
        # the next caller's result.
        self._decoder = Decoder(samprate=self.SAMPLE_RATE, lm=None, cmn="batch", logfn="/dev/null")
        self._searches: dict[tuple[str, ...], str] = {}
        # One decoder for all calls; recognitions come from worker threads. Re-entrant because
        # a new grammar is checked while the lock is held.
        self._lock = threading.RLock()

    def supports(self, language: str) -> bool:
        return language in ("en", "en-US")

    def check_phrases(self, phrases: Sequence[str], language: str) -> None:
        if not self.supports(language):
            raise SpeechError(f"{self.name} has no model for {language!r}")
        for phrase in phrases:
            words = _normalize(phrase)
            if not _PHRASE.match(words):
                raise SpeechError(f"phrase {phrase!r}: use words of letters only")
            with self._lock:
                unknown = [w for w in words.split() if self._decoder.lookup_word(w) is None]
            if unknown:
                raise SpeechError(f"phrase {phrase!r}: {unknown[0]!r} is not in the dictionary")

    def recognize(
        self, pcm: bytes, sample_rate: int, phrases: Sequence[str], language: str
    ) -> Recognition:
        samples = np.frombuffer(pcm, dtype="<i2")
        if (
            samples.size == 0
            or float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) < SILENCE_RMS
        ):
            return Recognition(None, 0.0)
        audio = _to_rate(samples, sample_rate, self.SAMPLE_RATE)
        normalized = tuple(_normalize(p) for p in phrases)
        with self._lock:
            self._activate(normalized, language)
            decoder = self._decoder
            decoder.start_utt()
            decoder.process_raw(audio.tobytes(), full_utt=True)
            decoder.end_utt()
            hypothesis = decoder.hyp()
        if hypothesis is None or not hypothesis.hypstr:
            return Recognition(None, 0.0)
        confidence = float(hypothesis.score)
        if confidence < self.min_confidence or hypothesis.hypstr not in normalized:
            return Recognition(None, confidence)
        return Recognition(phrases[normalized.index(hypothesis.hypstr)], confidence)

    def _activate(self, phrases: tuple[str, ...], language: str) -> None:
        name = self._searches.get(phrases)
        if name is None:
            self.check_phrases(phrases, language)
            name = f"menu{len(self._searches)}"
            grammar = f"#JSGF V1.0;\ngrammar {name};\npublic <choice> = {' | '.join(phrases)};\n"
            self._decoder.add_jsgf_string(name, grammar)
            self._searches[phrases] = name
        self._decoder.activate_search(name)


def _normalize(phrase: str) -> str:
    return " ".join(phrase.lower().split())


def _to_rate(samples: npt.NDArray[np.int16], rate: int, target: int) -> npt.NDArray[np.int16]:
    """Linear-interpolation resampling: enough for recognition of narrowband speech (the
    band above 4 kHz is empty on a phone line, so there is nothing to alias)."""
    if rate == target:
        return samples
    count = round(len(samples) * target / rate)
    positions = np.arange(count) * (rate / target)
    resampled = np.interp(positions, np.arange(len(samples)), samples.astype(np.float64))
    clipped: npt.NDArray[np.int16] = np.clip(np.round(resampled), -32768, 32767).astype(np.int16)
    return clipped


register("pocketsphinx", PocketsphinxGrammarRecognizer)
