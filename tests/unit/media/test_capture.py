"""Caller-audio capture with an explicit clock: buffer and file modes, bounds, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hotline.media.capture import MAX_BUFFER_SECONDS, CallerCapture
from hotline.media.vad import EndpointingRules
from hotline.media.wav import read_wav

RULES = EndpointingRules(start_timeout=2.0, trailing_silence=0.5, max_duration=8.0)


def tone(level: float = 0.3, hz: float = 440.0, n: int = 160) -> np.ndarray:
    t = np.arange(n) / 8000
    return (np.sin(2 * np.pi * hz * t) * level * 32767).astype(np.int16)


def silence() -> np.ndarray:
    return np.zeros(160, dtype=np.int16)


def feed(capture: CallerCapture, frames: list[np.ndarray], now: float = 0.0):
    for frame in frames:
        now += 0.02
        result = capture.add(frame, now)
        if result is None:
            result = capture.tick(now)
        if result is not None:
            return result, now
    return None, now


def test_buffer_keeps_the_answer_and_only_a_little_of_the_silence_before_it() -> None:
    capture = CallerCapture("c1", "e1", 0.0, rules=RULES)
    result, _ = feed(capture, [silence()] * 50 + [tone()] * 50 + [silence()] * 40)
    assert result is not None
    assert result.reason == "end_of_speech"
    assert result.speech
    samples = np.frombuffer(result.pcm, dtype="<i2")
    # 0.3 s before speech (within a frame), the 1 s answer, the 0.5 s silence after it.
    assert len(samples) / 8000 == pytest.approx(0.3 + 1.0 + 0.5, abs=0.05)
    assert result.duration == pytest.approx(2.5, abs=0.05)  # everything heard
    assert result.path is None


def test_stop_key_ends_a_file_capture_and_the_file_is_playable(tmp_path: Path) -> None:
    path = tmp_path / "vm" / "2026" / "m.wav"
    capture = CallerCapture("c1", "e1", 0.0, rules=RULES, path=str(path), stop_digits="#")
    assert feed(capture, [tone()] * 100)[0] is None  # 2 s of message, written as it goes
    assert capture.digit("5", 2.0) is None  # only the stop key ends it
    result = capture.digit("#", 2.0)
    assert result is not None
    assert (result.reason, result.digit, result.speech) == ("dtmf", "#", True)
    wav = read_wav(path)
    assert (wav.sample_rate, wav.channels) == (8000, 1)
    assert wav.duration == pytest.approx(2.0, abs=0.03)
    assert result.size == path.stat().st_size
    assert len(result.sha256) == 64
    assert capture.finish("stopped", 3.0) is result  # idempotent


def test_buffer_is_bounded_whatever_the_rules_say() -> None:
    rules = EndpointingRules(start_timeout=1.0, trailing_silence=100.0, max_duration=3000.0)
    capture = CallerCapture("c1", "e1", 0.0, rules=rules)
    long_frame = tone(n=8000)  # 1 s frames: a fast way to offer an hour
    result = None
    now = 0.0
    for _ in range(100):
        now += 0.001  # the clock barely moves: only the size bound can end it
        result = capture.add(long_frame, now)
        if result is not None:
            break
    assert result is not None
    assert result.reason == "max_duration"
    assert len(result.pcm) == int(MAX_BUFFER_SECONDS * 8000) * 2


def test_a_path_that_cannot_be_written_is_refused_at_start(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(FileExistsError):  # a file where the directory must be
        CallerCapture("c1", "e1", 0.0, rules=RULES, path=str(blocker / "m.wav"))


def test_a_file_that_breaks_mid_capture_ends_it_with_an_error(tmp_path: Path) -> None:
    path = tmp_path / "m.wav"
    capture = CallerCapture("c1", "e1", 0.0, rules=RULES, path=str(path))
    assert capture._writer is not None
    capture._writer._file.close()  # type: ignore[union-attr]  # the disk went away
    result, _ = feed(capture, [tone()] * 60)
    assert result is not None
    assert result.reason == "error"
    assert result.error
    assert "m.wav" in result.error
    assert capture.tick(5.0) is None  # reported once


def test_silence_only_is_no_input() -> None:
    capture = CallerCapture("c1", "e1", 0.0, rules=RULES)
    result, at = feed(capture, [silence()] * 200)
    assert result is not None
    assert (result.reason, result.speech) == ("no_input", False)
    assert at == pytest.approx(2.0, abs=0.021)
