"""Helpers that run ``hotline`` as a real process, as an operator would."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# `make test` (and so CI) runs property tests with fixed examples and no example database, so
# a green run is reproducible and a rare bug cannot turn CI red at random. `make fuzz` runs
# them with fresh random examples, many times: that is where new bugs are hunted.
settings.register_profile("repeatable", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HOTLINE_HYPOTHESIS", "repeatable"))

HOTLINE = [sys.executable, "-m", "hotline"]


class HotlineProcess:
    """A running ``hotline`` subprocess whose stderr lines are collected as they come."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [*HOTLINE, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # Nodes under test run without speech analytics unless a test asks for it
            # (``HOTLINE_MODULES__QA``): transcribing every recorded call would take the
            # shared cores from the peers whose timing the tests measure.
            env={"HOTLINE_MODULES__QA": "false", **os.environ, **(env or {})},
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._queue.put(line)

    # Generous: a node starts in a few seconds alone, but CI machines and developers' machines
    # run other work on the same two cores; a slow start is not what these tests check.
    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None and self._queue.empty():
                    break
                continue
            self.lines.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} not logged; got:\n{''.join(self.lines)}")

    def logged_or_wait(self, text: str, timeout: float = 60.0) -> str:
        """A one-time line (a start message) whether it was already read by an earlier wait
        or is still to come: start messages of background tasks ("IVR prompts ready" with
        a warm prompt cache) may come before the one waited for first."""
        for line in self.lines:
            if text in line:
                return line
        return self.wait_for(text, timeout)

    def terminate(self, timeout: float = 30.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def drain(self) -> str:
        """All lines so far; once the process has exited, every line it wrote."""
        if self.proc.poll() is not None:
            self._reader.join(timeout=5)
        while not self._queue.empty():
            self.lines.append(self._queue.get())
        return "".join(self.lines)


@pytest.fixture(scope="session")
def prompt_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One TTS cache for every node the tests start: prompts are rendered once per run,
    not once per node (the cache is content-addressed, so sharing it is safe)."""
    return tmp_path_factory.mktemp("prompt-cache")


@pytest.fixture
def run_hotline(prompt_cache: Path) -> Iterator[type[HotlineProcess]]:
    started: list[HotlineProcess] = []

    class Tracked(HotlineProcess):
        def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
            super().__init__(args, {"HOTLINE_PROMPT_CACHE_DIR": str(prompt_cache), **(env or {})})
            started.append(self)

    yield Tracked
    for process in started:
        if process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
