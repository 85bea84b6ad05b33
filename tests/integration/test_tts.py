"""Prompt rendering with the real engines (Piper's packaged voice, Debian's espeak-ng) and
the cache's guarantees: rendered once, never half-written, recordings confined."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np
import pytest

from hotline.ivr.io import PromptItem
from hotline.ivr.tts import (
    EspeakNgEngine,
    PiperEngine,
    PromptError,
    PromptRenderer,
    TtsEngine,
    create_engines,
)


def audio(path: Path) -> tuple[int, np.ndarray]:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
        frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        return wav.getframerate(), frames


def assert_speech(path: Path, min_seconds: float) -> None:
    rate, samples = audio(path)
    assert len(samples) / rate >= min_seconds
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    assert rms > 500, f"near silence (RMS {rms:.0f})"


class Counting(TtsEngine):
    """Wraps a real engine and counts how often it is asked to render."""

    name = "counting"

    def __init__(self, inner: TtsEngine) -> None:
        self.inner = inner
        self.calls = 0

    @property
    def voice_id(self) -> str:
        return self.inner.voice_id

    def supports(self, language: str) -> bool:
        return self.inner.supports(language)

    def synthesize(self, text: str, language: str, out: Path) -> None:
        self.calls += 1
        self.inner.synthesize(text, language, out)


@pytest.fixture
def recordings(tmp_path: Path) -> Path:
    folder = tmp_path / "prompts"
    folder.mkdir()
    return folder


def test_espeak_renders_mandarin_and_english_once(tmp_path: Path, recordings: Path) -> None:
    engine = Counting(EspeakNgEngine())
    renderer = PromptRenderer([engine], tmp_path / "cache", recordings)
    zh = renderer.path_for(PromptItem("zh-CN", text="您好，欢迎致电。销售请按一。"))
    en = renderer.path_for(PromptItem("en", text="Welcome. For sales, press one."))
    assert_speech(zh, 1.0)
    assert_speech(en, 1.0)
    assert zh != en
    again = renderer.path_for(PromptItem("zh-CN", text="您好，欢迎致电。销售请按一。"))
    assert again == zh
    assert engine.calls == 2  # the repeat came from the cache


def test_piper_voice_from_its_package(tmp_path: Path, recordings: Path) -> None:
    renderer = PromptRenderer([PiperEngine()], tmp_path / "cache", recordings)
    path = renderer.path_for(PromptItem("en", text="Your order has shipped."))
    rate, _ = audio(path)
    assert rate == 22050
    assert_speech(path, 1.0)


def test_engines_are_chosen_by_language_in_order(tmp_path: Path, recordings: Path) -> None:
    piper, espeak = create_engines(["piper", "espeak-ng"])
    assert isinstance(piper, PiperEngine)
    counted_piper, counted_espeak = Counting(piper), Counting(espeak)
    renderer = PromptRenderer([counted_piper, counted_espeak], tmp_path / "cache", recordings)
    renderer.path_for(PromptItem("zh-CN", text="请稍候。"))
    assert (counted_piper.calls, counted_espeak.calls) == (0, 1)
    with pytest.raises(PromptError, match="no TTS engine speaks 'fr'"):
        renderer.path_for(PromptItem("fr", text="Bonjour"))
    with pytest.raises(PromptError, match="unknown TTS engine 'festival'"):
        create_engines(["festival"])


def test_recordings_win_and_stay_inside_their_folder(tmp_path: Path, recordings: Path) -> None:
    (recordings / "zh").mkdir()
    welcome = recordings / "zh" / "welcome.wav"
    with wave.open(str(welcome), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00\x10" * 8000)
    renderer = PromptRenderer([EspeakNgEngine()], tmp_path / "cache", recordings)
    assert renderer.path_for(PromptItem("zh-CN", recording="zh/welcome.wav")) == welcome
    with pytest.raises(PromptError, match="is outside the prompts directory"):
        renderer.path_for(PromptItem("zh-CN", recording="../../etc/passwd"))
    with pytest.raises(PromptError, match=r"'zh/missing\.wav' does not exist"):
        renderer.path_for(PromptItem("zh-CN", recording="zh/missing.wav"))


class Broken(TtsEngine):
    name = "broken"
    voice_id = "broken"

    def supports(self, language: str) -> bool:
        return True

    def synthesize(self, text: str, language: str, out: Path) -> None:
        out.write_bytes(b"RIFF....not a wave")


def test_a_broken_engine_leaves_no_cache_entry(tmp_path: Path, recordings: Path) -> None:
    cache = tmp_path / "cache"
    renderer = PromptRenderer([Broken()], cache, recordings)
    with pytest.raises(PromptError, match="broken produced an unreadable WAV"):
        renderer.path_for(PromptItem("en", text="hello"))
    assert [p for p in cache.rglob("*") if p.is_file()] == []


async def test_concurrent_renders_of_one_prompt_share_a_complete_file(
    tmp_path: Path, recordings: Path
) -> None:
    renderer = PromptRenderer([EspeakNgEngine()], tmp_path / "cache", recordings)
    item = PromptItem("en", text="Please hold, your call is important to us.")
    paths = await asyncio.gather(*(renderer.render(item) for _ in range(4)))
    assert len(set(paths)) == 1
    assert_speech(paths[0], 1.0)
    assert [p.suffix for p in (tmp_path / "cache").rglob("*") if p.is_file()] == [".wav"]
