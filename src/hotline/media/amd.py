"""Answering-machine detection: is the party that answered an outbound call a person?

A campaign that dials for agents must connect a person to an agent within about two
seconds of their "hello" (they hang up on silence, and regulators count the silent call as
abandoned), yet must not tie an agent up with a voicemail greeting. The answer is in the
rhythm of the first seconds of audio, as Asterisk's ``app_amd`` has long used it: a person
says a few words ("喂?", "Hello?", "Yes?") and waits for us; a machine says many words
without stopping ("Hello, you have reached ..."), or nothing at all for a while (a mailbox
that plays its greeting late), or a beep. The rules, in the order they are tested on every
10 ms of audio:

- ``beep``: a steady single tone then silence (:class:`BeepDetector`): machine;
- ``initial_silence``: no word for ``initial_silence_ms`` from the start: machine;
- ``max_word_length``: one word (voice with gaps shorter than
  ``between_words_silence_ms``) lasting ``maximum_word_ms``: machine;
- ``max_words``: more than ``maximum_words`` words: machine;
- ``long_greeting``: ``greeting_ms`` of voice since the first word: machine;
- ``after_greeting_silence``: after at least one word, ``after_greeting_silence_ms`` of
  silence: human (the person waits for us to speak);
- ``timeout``: ``total_analysis_ms`` without any of these: notsure.

A *word* is voice (10 ms blocks at or above the threshold) lasting at least
``min_word_ms``; shorter bursts (a click, a cough of line noise) count as silence, so they
neither start a greeting nor break the silence that decides. The threshold is
``silence_threshold_dbfs``, -40 dBFS by default: about Asterisk's ``silence_threshold =
256`` (mean absolute sample) and the endpointer's default (``media.vad``), 10 dB above
comfort noise at -50 dBFS and 10-25 dB below speech through G.711. On a noisier line it
rises to ``noise_margin_db`` above the quietest block of the last second, since that block
is the line's noise whenever anyone paused in it; it never rises above
``max_threshold_dbfs``, because in continuous speech (or speech from the first sample,
before any pause) that block is speech. A noise floor learnt more slowly would come too
late: the verdict is due within the first two seconds.

Pure and streaming like the rest of ``media``: frames of any length go in, the verdict
comes out once, and time is the audio itself (samples fed), so no clock is needed: a
stream with gaps (no packets) must be fed silence by the caller to keep counting.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from hotline.media.codecs import Pcm

Samples = npt.NDArray[np.float64]
AmdVerdict = Literal["human", "machine", "notsure"]

#: Analysis step: 10 ms gives each rule a 10 ms resolution and costs nothing.
BLOCK_MS = 10
_FULL_SCALE = 32768.0


def level_dbfs(samples: Samples) -> float:
    """RMS level of 16-bit samples in dB relative to full scale (-inf for digital silence)."""
    if samples.size == 0:
        return -math.inf
    mean_square = float(np.dot(samples, samples)) / samples.size
    if mean_square <= 0.0:
        return -math.inf
    return 10.0 * math.log10(mean_square / (_FULL_SCALE * _FULL_SCALE))


@dataclass(frozen=True, slots=True)
class AmdSettings:
    """The knobs of Asterisk's ``AMD()`` application, with its defaults; times in ms."""

    initial_silence_ms: int = 2500  # silence before the first word longer than this: machine
    greeting_ms: int = 1500  # voice in the greeting reaching this: machine
    after_greeting_silence_ms: int = 800  # silence after a short greeting: human
    total_analysis_ms: int = 5000  # no decision by then: notsure
    min_word_ms: int = 100  # voice shorter than this is a click, not a word
    between_words_silence_ms: int = 50  # silence that separates two words
    maximum_words: int = 3  # more words than this: machine
    maximum_word_ms: int = 5000  # one word this long: machine (a tone, a TV)
    #: A 10 ms block at or above this RMS level is voice; see the module docstring.
    silence_threshold_dbfs: float = -40.0
    #: On a noisy line the threshold rises to this far above the quietest 10 ms of the last
    #: second (None: a fixed threshold), but never above ``max_threshold_dbfs``.
    noise_margin_db: float | None = 8.0
    max_threshold_dbfs: float = -30.0
    detect_beep: bool = True

    def __post_init__(self) -> None:
        for name in (
            "initial_silence_ms",
            "greeting_ms",
            "after_greeting_silence_ms",
            "total_analysis_ms",
            "min_word_ms",
            "between_words_silence_ms",
            "maximum_word_ms",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 < value <= 60_000:
                raise ValueError(f"{name} must be 1..60000 ms, not {value!r}")
        if not isinstance(self.maximum_words, int) or not 1 <= self.maximum_words <= 100:
            raise ValueError(f"maximum_words must be 1..100, not {self.maximum_words!r}")
        if not -96.0 <= self.silence_threshold_dbfs <= 0.0:
            raise ValueError(
                f"silence_threshold_dbfs {self.silence_threshold_dbfs} is outside -96..0"
            )
        if not self.silence_threshold_dbfs <= self.max_threshold_dbfs <= 0.0:
            raise ValueError(
                f"max_threshold_dbfs {self.max_threshold_dbfs} is outside silence_threshold_dbfs..0"
            )
        if self.noise_margin_db is not None and not 0.0 < self.noise_margin_db <= 40.0:
            raise ValueError(f"noise_margin_db {self.noise_margin_db} is outside 0..40 dB")


DEFAULT_SETTINGS = AmdSettings()


@dataclass(frozen=True, slots=True)
class AmdResult:
    """The verdict, why, and when (ms of audio from the start of the analysis).

    ``beep_at_ms`` is where a beep ended, if one was heard by the time of the verdict;
    ``words`` and ``voice_ms`` are the counts the rules saw, for logs and tuning.
    """

    verdict: AmdVerdict
    reason: str  # beep, initial_silence, max_word_length, max_words, long_greeting, ...
    at_ms: int
    beep_at_ms: int | None = None
    words: int = 0
    voice_ms: int = 0


class AnsweringMachineDetector:
    """One answered call's detection; see the module docstring.

    After the verdict, ``feed`` keeps listening for a beep (when ``detect_beep``) so that a
    campaign leaving a message knows when the mailbox records: see :attr:`beep_at_ms`.
    """

    def __init__(self, settings: AmdSettings = DEFAULT_SETTINGS, sample_rate: int = 8000) -> None:
        if sample_rate % 100 != 0 or not 8000 <= sample_rate <= 48000:
            raise ValueError(f"sample rate {sample_rate} is not a multiple of 100 in 8000..48000")
        self.settings = settings
        self.sample_rate = sample_rate
        self._block = sample_rate * BLOCK_MS // 1000
        self._pending: Samples = np.zeros(0, dtype=np.float64)
        self._recent_levels: deque[float] = deque(maxlen=1000 // BLOCK_MS)
        self._beeps = BeepDetector(sample_rate) if self.settings.detect_beep else None
        self._beep_at: int | None = None
        self._result: AmdResult | None = None
        self._elapsed = 0  # ms analysed
        self._voiced_run = 0  # ms of voice in a row
        self._silent_run = 0  # ms of silence in a row
        self._in_word = False
        self._word_start = 0
        self._last_word_end = 0  # where silence that counts began (0: the start)
        self._words = 0
        self._voice = 0  # ms of voice inside words since the first word

    @property
    def result(self) -> AmdResult | None:
        return self._result

    @property
    def beep_at_ms(self) -> int | None:
        """Where a beep ended (ms from the start), heard before or after the verdict."""
        return self._beep_at

    def feed(self, pcm: Pcm) -> AmdResult | None:
        """Decoded mono 16-bit audio of any length; the verdict once, when it is reached."""
        samples = np.asarray(pcm, dtype=np.float64).ravel()
        if self._pending.size:
            samples = np.concatenate([self._pending, samples])
        blocks = samples.size // self._block
        self._pending = samples[blocks * self._block :]
        decided: AmdResult | None = None
        for index in range(blocks):
            block = samples[index * self._block : (index + 1) * self._block]
            if self._beeps is not None and self._beep_at is None:
                self._beep_at = self._beeps.feed(block)
            if self._result is None:
                self._result = self._step(block)
                decided = self._result
            elif self._beeps is None or self._beep_at is not None:
                break  # decided and nothing left to listen for
        return decided

    def _step(self, block: Samples) -> AmdResult | None:
        rules = self.settings
        self._elapsed += BLOCK_MS
        now = self._elapsed
        if self._is_voice(level_dbfs(block)):
            self._voiced_run += BLOCK_MS
            self._silent_run = 0
            if self._in_word:
                self._voice += BLOCK_MS
            elif self._voiced_run >= rules.min_word_ms:
                self._in_word = True
                self._words += 1
                self._word_start = now - self._voiced_run
                self._voice += self._voiced_run
        else:
            self._silent_run += BLOCK_MS
            self._voiced_run = 0
            if self._in_word and self._silent_run >= rules.between_words_silence_ms:
                self._in_word = False
                self._last_word_end = now - self._silent_run
        # Voice not yet long enough to be a word may still become one: not silence yet.
        silence = 0 if self._in_word else now - self._last_word_end - self._voiced_run
        if self._beep_at is not None:
            return self._decide("machine", "beep")
        if self._words == 0 and silence >= rules.initial_silence_ms:
            return self._decide("machine", "initial_silence")
        if self._in_word and now - self._word_start >= rules.maximum_word_ms:
            return self._decide("machine", "max_word_length")
        if self._words > rules.maximum_words:
            return self._decide("machine", "max_words")
        if self._voice >= rules.greeting_ms:
            return self._decide("machine", "long_greeting")
        if self._words > 0 and silence >= rules.after_greeting_silence_ms:
            return self._decide("human", "after_greeting_silence")
        if now >= rules.total_analysis_ms:
            return self._decide("notsure", "timeout")
        return None

    def _is_voice(self, level: float) -> bool:
        rules = self.settings
        self._recent_levels.append(level)
        threshold = rules.silence_threshold_dbfs
        if rules.noise_margin_db is not None:
            # The quietest block of the last second is the line's noise whenever anyone
            # paused in it; in continuous speech it is speech, hence the ceiling.
            floor = min(self._recent_levels) + rules.noise_margin_db
            threshold = min(max(threshold, floor), rules.max_threshold_dbfs)
        return level >= threshold

    def _decide(self, verdict: AmdVerdict, reason: str) -> AmdResult:
        return AmdResult(verdict, reason, self._elapsed, self._beep_at, self._words, self._voice)


# --- beeps --------------------------------------------------------------------------------


@dataclass(slots=True)
class _ToneRun:
    frequency: float
    levels: list[float]  # dBFS of each 10 ms block since (and just before) the tone began
    first_block: int  # index of levels[0]
    peak: float = -math.inf


class BeepDetector:
    """ "Leave a message after the tone": a steady single tone, then silence.

    Every 10 ms a 40 ms Hann window is transformed; it holds a tone when one peak between
    ``low_hz`` and ``high_hz`` carries ``purity`` of the window's energy in the telephone
    band (within +-60 Hz of the peak, the window's main lobe). A beep is a run of such
    windows on one frequency (within 2 %) whose loud part (blocks within 6 dB of the
    loudest) lasts ``min_ms``..``max_ms`` and is followed by a block at least 10 dB quieter.
    Speech fails the purity test (its energy spreads over several harmonics whose pitch
    moves), DTMF and the call-progress tones of North America fail it by having two tones,
    and a tone that runs into speech or into another tone (the three notes of a SIT) fails
    the silence after it.

    ``feed`` returns, once, the offset in ms from the start of the stream at which the beep
    ended: where the mailbox starts recording.
    """

    WINDOW_BLOCKS = 4  # 40 ms: a +-50 Hz main lobe, narrower than speech's harmonic spacing

    def __init__(
        self,
        sample_rate: int = 8000,
        min_ms: int = 150,
        *,
        max_ms: int = 2500,
        low_hz: float = 400.0,
        high_hz: float = 2000.0,
        purity: float = 0.8,
        min_level_dbfs: float = -45.0,
    ) -> None:
        if sample_rate % 100 != 0 or not 8000 <= sample_rate <= 48000:
            raise ValueError(f"sample rate {sample_rate} is not a multiple of 100 in 8000..48000")
        if not 0 < min_ms <= max_ms:
            raise ValueError(f"beep length {min_ms}..{max_ms} ms is empty")
        self.sample_rate = sample_rate
        self.min_ms = min_ms
        self.max_ms = max_ms
        self.low_hz = low_hz
        self.high_hz = high_hz
        self.purity = purity
        self.min_level_dbfs = min_level_dbfs
        self._block = sample_rate * BLOCK_MS // 1000
        window = self._block * self.WINDOW_BLOCKS
        self._fft_size = 1 << max(10, (3 * window - 1).bit_length())
        self._taper = np.hanning(window)
        self._frequencies = np.fft.rfftfreq(self._fft_size, 1.0 / sample_rate)
        top = min(3600.0, 0.45 * sample_rate)
        self._band = (self._frequencies >= 250.0) & (self._frequencies <= top)
        self._candidates = np.flatnonzero(
            (self._frequencies >= low_hz) & (self._frequencies <= high_hz)
        )
        self._pending: Samples = np.zeros(0, dtype=np.float64)
        self._recent: list[Samples] = []
        self._recent_levels: list[float] = []
        self._blocks = 0
        self._run: _ToneRun | None = None
        self._reported = False

    def feed(self, pcm: Pcm | Samples) -> int | None:
        if self._reported:
            return None
        samples = np.asarray(pcm, dtype=np.float64).ravel()
        if self._pending.size:
            samples = np.concatenate([self._pending, samples])
        blocks = samples.size // self._block
        self._pending = samples[blocks * self._block :]
        for index in range(blocks):
            ended = self._step(samples[index * self._block : (index + 1) * self._block])
            if ended is not None:
                self._reported = True
                return ended
        return None

    def tone_in(self, window: Samples) -> float | None:
        """The frequency of the single tone this window holds, or None."""
        spectrum = np.fft.rfft(window * self._taper, self._fft_size)
        power = spectrum.real**2 + spectrum.imag**2
        total = float(power[self._band].sum())
        if total <= 0.0:
            return None
        candidates = self._candidates
        peak = int(candidates[np.argmax(power[candidates])])
        # Parabolic interpolation of the log power puts the peak between bins.
        a, b, c = (math.log(float(power[i]) + 1e-12) for i in (peak - 1, peak, peak + 1))
        offset = 0.5 * (a - c) / (a - 2.0 * b + c) if a - 2.0 * b + c < 0.0 else 0.0
        frequency = float(self._frequencies[peak]) + offset * self.sample_rate / self._fft_size
        lobe = np.abs(self._frequencies - frequency) <= 60.0
        if float(power[lobe & self._band].sum()) < self.purity * total:
            return None
        return frequency

    def _step(self, block: Samples) -> int | None:
        self._blocks += 1
        level = level_dbfs(block)
        self._recent.append(block)
        self._recent_levels.append(level)
        if len(self._recent) > self.WINDOW_BLOCKS:
            del self._recent[0], self._recent_levels[0]
        frequency: float | None = None
        if len(self._recent) == self.WINDOW_BLOCKS:
            window = np.concatenate(self._recent)
            if level_dbfs(window) >= self.min_level_dbfs:
                frequency = self.tone_in(window)
        run = self._run
        if run is not None and frequency is not None and _same_tone(run.frequency, frequency):
            run.levels.append(level)
            run.peak = max(run.peak, level)
            if len(run.levels) * BLOCK_MS > self.max_ms + 100:
                run.levels = run.levels[-(self.max_ms // BLOCK_MS + 10) :]  # too long anyway
                run.first_block = self._blocks - len(run.levels)
                run.peak = math.inf  # can no longer be a beep
            return None
        ended = self._close(run, level) if run is not None else None
        self._run = None
        if frequency is not None:
            levels = list(self._recent_levels)
            self._run = _ToneRun(frequency, levels, self._blocks - len(levels), max(levels))
        return ended

    def _close(self, run: _ToneRun, level: float) -> int | None:
        """The run of tone windows ended with this block: was it a beep? Where did it end?"""
        if not math.isfinite(run.peak):
            return None
        levels = [*run.levels, level]
        loud = [i for i, value in enumerate(levels) if value >= run.peak - 6.0]
        start, end = loud[0], loud[-1]
        length = (end - start + 1) * BLOCK_MS
        if not self.min_ms <= length <= self.max_ms:
            return None
        if end == len(levels) - 1 or level > run.peak - 10.0:
            return None  # no silence after it: it ran into speech or another tone
        return (run.first_block + end + 1) * BLOCK_MS


def _same_tone(reference: float, frequency: float) -> bool:
    return abs(frequency - reference) <= max(10.0, 0.02 * reference)
