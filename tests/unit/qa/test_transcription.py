"""Whisper (tiny.en, packaged on PyPI) transcribes an espeak-ng clip through our engine
with word timestamps, at 8 kHz as a phone call records it and resampled to 16 kHz."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hotline.qa.asr import FasterWhisperEngine, is_chinese, to_simplified
from hotline.qa.audio import ASR_RATE, resample

from .speech import espeak, tiny_en


@pytest.mark.slow
def test_tiny_en_transcribes_a_call_clip_with_word_times(tmp_path: Path) -> None:
    engine = FasterWhisperEngine(tiny_en())
    clip = espeak("I would like to cancel my order please.", tmp_path)
    samples = resample(clip, 8000, ASR_RATE)
    seen: list[float] = []
    transcript = engine.transcribe(samples, None, progress=seen.append)
    words = re.findall(r"[a-z]+", transcript.text.lower())
    assert {"cancel", "my", "order", "please"} <= set(words)
    assert transcript.language == "en"
    assert transcript.duration == round(len(samples) / ASR_RATE, 3)
    timed = [word for segment in transcript.segments for word in segment.words]
    assert len(timed) >= 6
    assert all(0 <= w.start <= w.end <= transcript.duration + 0.5 for w in timed)
    assert [w.start for w in timed] == sorted(w.start for w in timed)
    cancel = next(w for w in timed if "cancel" in w.text.lower())
    assert 0 < cancel.probability <= 1
    assert seen[-1] == 1.0


def test_mandarin_is_written_in_simplified_characters() -> None:
    # Whisper writes Mandarin in traditional characters; QA keywords are simplified.
    assert (
        to_simplified("這是繁體字，請稍等，我幫您查詢訂單") == "这是繁体字，请稍等，我帮您查询订单"
    )
    assert is_chinese("zh")
    assert not is_chinese("en")
    assert not is_chinese(None)
