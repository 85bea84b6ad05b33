"""The detector on what a capture returns: the silence the capture skipped before the first
word is given back, so a short greeting followed by silence is a person, a long one or
silence throughout a machine."""

from __future__ import annotations

import numpy as np

from hotline.media.capture import SAMPLE_RATE, CaptureResult
from hotline.services.telephony.machine_detection import decide

RNG = np.random.default_rng(7)


def syllables(count: int, length: float = 0.22, gap: float = 0.12) -> np.ndarray:
    """Voiced bursts like syllables: a 140 Hz buzz with harmonics, shaped, at -12 dBFS."""
    parts = []
    t = np.arange(int(length * SAMPLE_RATE)) / SAMPLE_RATE
    for _ in range(count):
        pitch = 140.0 * (1 + 0.1 * RNG.standard_normal())
        buzz = sum(np.sin(2 * np.pi * pitch * k * t) / k for k in range(1, 8))
        burst = np.hanning(t.size) * buzz * 0.25 * 32767 / 2
        parts += [burst, np.zeros(int(gap * SAMPLE_RATE))]
    return np.concatenate(parts)


def capture(
    leading: float, speech: np.ndarray, trailing: float, reason: str = "end_of_speech"
) -> CaptureResult:
    """What the worker returns: 0.3 s before the first word, the words, the silence after."""
    pre = np.zeros(int(min(leading, 0.3) * SAMPLE_RATE))
    tail = np.zeros(int(trailing * SAMPLE_RATE))
    kept = np.concatenate([pre, speech, tail]).astype("<i2")
    duration = leading + (speech.size + tail.size) / SAMPLE_RATE
    return CaptureResult(
        call_id="c1",
        endpoint_id="e1",
        reason=reason,  # type: ignore[arg-type]
        duration=duration,
        speech=speech.size > 0,
        pcm=kept.tobytes(),
    )


def test_a_short_hello_then_silence_is_a_person() -> None:
    verdict, reason, beep = decide(capture(0.6, syllables(2), 0.9))
    assert (verdict, beep) == ("human", False)
    assert reason == "after_greeting_silence"


def test_a_long_greeting_is_a_machine() -> None:
    verdict, _, _ = decide(capture(0.4, syllables(14), 0.0, reason="max_duration"))
    assert verdict == "machine"


def test_silence_throughout_is_a_machine_by_its_initial_silence() -> None:
    verdict, reason, _ = decide(capture(2.5, np.zeros(0), 0.0, reason="no_input"))
    assert (verdict, reason) == ("machine", "initial_silence")
