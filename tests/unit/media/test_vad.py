"""End-of-speech rules with an explicit clock and synthetic 20 ms frames."""

from __future__ import annotations

import numpy as np
import pytest

from hotline.media.vad import EndOfSpeech, EndpointingRules, frame_rms

FRAME = 0.02


def voiced(level: float = 0.3) -> np.ndarray:
    t = np.arange(160) / 8000
    return (np.sin(2 * np.pi * 300 * t) * level * 32767).astype(np.int16)


def quiet() -> np.ndarray:
    rng = np.random.default_rng(7)
    return (rng.standard_normal(160) * 20).astype(np.int16)  # a line's noise, ~-64 dBFS


RULES = EndpointingRules(start_timeout=3.0, trailing_silence=0.8, max_duration=10.0)


def run(detector: EndOfSpeech, frames: list[np.ndarray], start: float = 0.0) -> tuple[str, float]:
    now = start
    for frame in frames:
        now += FRAME
        verdict = detector.feed(frame, now)
        if verdict is not None:
            return verdict, now
    raise AssertionError("no verdict")


def test_answer_ends_after_trailing_silence() -> None:
    detector = EndOfSpeech(RULES, now=0.0)
    frames = [quiet()] * 25 + [voiced()] * 40 + [quiet()] * 100
    verdict, at = run(detector, frames)
    assert verdict == "end_of_speech"
    speech_end = (25 + 40) * FRAME
    assert at == pytest.approx(speech_end + 0.8, abs=FRAME)
    assert detector.speech_started_at == pytest.approx(26 * FRAME + 0.08, abs=FRAME)


def test_short_click_is_not_speech_and_silence_is_no_input() -> None:
    detector = EndOfSpeech(RULES, now=0.0)
    frames = [quiet()] * 10 + [voiced(0.9)] * 2 + [quiet()] * 500  # 40 ms: a click
    verdict, at = run(detector, frames)
    assert verdict == "no_input"
    assert at == pytest.approx(3.0, abs=FRAME)
    assert not detector.speech_started


def test_pauses_inside_an_answer_shorter_than_the_trailing_silence_do_not_end_it() -> None:
    detector = EndOfSpeech(RULES, now=100.0)
    frames = ([voiced()] * 20 + [quiet()] * 30) * 3 + [quiet()] * 60  # 0.6 s pauses
    verdict, at = run(detector, frames, start=100.0)
    assert verdict == "end_of_speech"
    assert at == pytest.approx(100.0 + (50 * 2 + 20) * FRAME + 0.8, abs=FRAME)


def test_no_packets_at_all_times_out_by_the_clock() -> None:
    detector = EndOfSpeech(RULES, now=5.0)
    assert detector.poll(7.9) is None
    assert detector.poll(8.0) == "no_input"
    assert detector.poll(9.0) is None  # the verdict is given once


def test_speech_then_no_packets_ends_by_the_clock() -> None:
    detector = EndOfSpeech(RULES, now=0.0)
    run_until = [voiced()] * 30
    now = 0.0
    for frame in run_until:
        now += FRAME
        assert detector.feed(frame, now) is None
    assert detector.poll(now + 0.79) is None
    assert detector.poll(now + 0.8) == "end_of_speech"


def test_someone_who_never_stops_is_cut_at_max_duration() -> None:
    detector = EndOfSpeech(RULES, now=0.0)
    verdict, at = run(detector, [voiced()] * 1000)
    assert verdict == "max_duration"
    assert at == pytest.approx(10.0, abs=FRAME)


def test_threshold_follows_the_level_in_dbfs() -> None:
    loud_rules = EndpointingRules(1.0, 0.5, 5.0, threshold_dbfs=-10.0)
    detector = EndOfSpeech(loud_rules, now=0.0)
    assert not detector.is_voiced(voiced(0.1))  # -23 dBFS RMS: under -10
    assert detector.is_voiced(voiced(0.9))
    assert frame_rms(np.zeros(0, dtype=np.int16)) == 0.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start_timeout": 0},
        {"trailing_silence": -1},
        {"max_duration": float("nan")},
        {"max_duration": float("inf")},
        {"threshold_dbfs": 3.0},
        {"min_speech": 5.0},
    ],
)
def test_bad_rules_are_refused(kwargs: dict[str, float]) -> None:
    values = {"start_timeout": 1.0, "trailing_silence": 1.0, "max_duration": 1.0, **kwargs}
    with pytest.raises(ValueError, match=r"outside|positive"):
        EndpointingRules(**values)
