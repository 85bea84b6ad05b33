"""Real softphones for call-control tests: baresip instances that talk a tone of their own,
keep what they heard in a WAV, and are driven over ctrl_tcp (dial, hold, resume, transfer,
hangup) as a person would press the keys.

Each party of a test talks its own frequency, so a WAV proves who was heard when.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from hotline.media.wav import read_wav
from tests.interop.conftest import require_peer
from tests.support.baresip import Baresip


def tone_wav(path: Path, hz: float, seconds: float) -> Path:
    subprocess.run(
        [
            require_peer("sox"),
            *["-n", "-r", "8000", "-c", "1", "-e", "signed-integer", "-b", "16", str(path)],
            *["synth", str(seconds), "sine", str(hz), "vol", "0.5"],
        ],
        check=True,
    )
    return path


class Phone(Baresip):
    """One baresip: an agent's desk phone registered to the node (``user`` and
    ``password``), or a customer's phone that only dials (``password`` None)."""

    def __init__(
        self,
        directory: Path,
        *,
        user: str,
        registrar_port: int,
        tone_hz: float,
        password: str | None = None,
        auto_answer: bool = True,
    ) -> None:
        directory.mkdir(parents=True)
        self.user = user
        self.heard_dir = directory / "heard"
        self.heard_dir.mkdir()
        tone = tone_wav(directory / "voice.wav", tone_hz, 120.0)
        answer = "auto" if auto_answer else "manual"
        if password is None:
            account = f"<sip:{user}@127.0.0.1>;regint=0;answermode={answer};audio_codecs=PCMU"
        else:
            account = (
                f"<sip:{user}@127.0.0.1:{registrar_port}>;auth_pass={password};regint=120;"
                f"answermode={answer};audio_codecs=PCMU"
            )
        super().__init__(directory, account, talks=tone, heard_dir=self.heard_dir)

    def heard(self) -> np.ndarray:
        """What the phone's speaker got during its (last) call, 8 kHz mono."""
        return read_wav(self.last_dump(self.heard_dir)).channel(0)


def tone_level(samples: np.ndarray, hz: float, rate: int = 8000) -> float:
    """How much of a window's energy lies within ±20 Hz of ``hz`` (0..1)."""
    window = samples.astype(np.float64) * np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(window)) ** 2
    total = float(spectrum.sum())
    if total <= 0:
        return 0.0
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return float(spectrum[np.abs(freqs - hz) <= 20].sum()) / total


def timeline(samples: np.ndarray, tones: dict[str, float], step: float = 0.25) -> list[str]:
    """Per ``step`` seconds: the name of the tone that dominates (over half the energy),
    "silence" when quiet, "other" for any other sound (music on hold)."""
    size = int(8000 * step)
    labels = []
    for start in range(0, len(samples) - size + 1, size):
        window = samples[start : start + size]
        if np.abs(window).max() < 300:
            labels.append("silence")
            continue
        best = max(tones, key=lambda name: tone_level(window, tones[name]))
        labels.append(best if tone_level(window, tones[best]) > 0.5 else "other")
    return labels


def runs(labels: list[str], minimum: int = 2) -> list[str]:
    """The sequence of labels that last at least ``minimum`` steps in a row (glitches at
    the switch-overs dropped), consecutive repeats merged."""
    out: list[str] = []
    index = 0
    while index < len(labels):
        end = index
        while end < len(labels) and labels[end] == labels[index]:
            end += 1
        if end - index >= minimum and (not out or out[-1] != labels[index]):
            out.append(labels[index])
        index = end
    return out
