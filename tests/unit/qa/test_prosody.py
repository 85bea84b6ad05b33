"""Agitation on synthetic voices: harmonic tones whose pitch and loudness rise later in
the call, against the speaker's own start."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from hotline.qa.prosody import agitation, frame_features

RATE = 16_000


def voice(
    seconds: float, pitch: tuple[float, float], level: tuple[float, float], change_at: float
) -> npt.NDArray[np.float32]:
    """A buzzy voice (three harmonics) talking in 2 s turns with 0.5 s pauses, at
    ``pitch[0]`` Hz / ``level[0]`` amplitude before ``change_at`` s and the second after."""
    t = np.arange(round(seconds * RATE)) / RATE
    f = np.where(t < change_at, pitch[0], pitch[1])
    a = np.where(t < change_at, level[0], level[1]) * ((t % 2.5) < 2.0)
    phase = 2 * np.pi * np.cumsum(f) / RATE
    noise = np.random.default_rng(3).standard_normal(len(t)) * 1e-4
    signal = a * (np.sin(phase) + 0.5 * np.sin(2 * phase) + 0.3 * np.sin(3 * phase)) + noise
    return signal.astype(np.float32)


def test_pitch_is_found_within_a_few_percent() -> None:
    _, pitch = frame_features(voice(5, (120, 120), (0.1, 0.1), 99))
    assert np.nanmedian(pitch) == pytest.approx(120, rel=0.05)
    _, pitch = frame_features(voice(5, (240, 240), (0.1, 0.1), 99))
    assert np.nanmedian(pitch) == pytest.approx(240, rel=0.05)


def test_a_steady_voice_is_calm() -> None:
    found = agitation(voice(60, (150, 150), (0.1, 0.1), 99))
    assert found is not None
    assert found["label"] == "calm"
    assert found["score"] < 0.1
    assert found["pitch_hz"] == pytest.approx(150, rel=0.05)
    assert found["raised_at"] is None


def test_louder_and_higher_later_is_agitated_and_a_little_is_raised() -> None:
    agitated = agitation(voice(80, (150, 220), (0.08, 0.3), 45))
    assert agitated is not None
    assert agitated["label"] == "agitated"
    assert 40 <= agitated["raised_at"] <= 50  # the call time of the change
    raised = agitation(voice(80, (150, 165), (0.08, 0.13), 45))
    assert raised is not None
    assert raised["label"] == "raised"
    assert raised["score"] < agitated["score"]
    # Calmer later (a customer who settles down) is not agitation.
    settled = agitation(voice(80, (220, 150), (0.3, 0.08), 45))
    assert settled is not None
    assert settled["label"] == "calm"


def test_too_little_talk_or_silence_is_not_judged() -> None:
    assert agitation(voice(8, (150, 150), (0.1, 0.1), 99)) is None
    assert agitation(np.zeros(RATE * 30, np.float32)) is None
    with pytest.raises(ValueError, match="16000"):
        agitation(np.zeros(8000, np.float32), rate=8000)
