"""The redacted copy of a recording: beeped where personal data was said, on that speaker's
channel only (every channel of a mono file), same format and length, written whole or not
at all; formats other than 16-bit PCM and broken files refused by name."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from hotline.qa.redacted_audio import RedactionError, write_redacted_copy

RATE = 8000


def write(path: Path, samples: np.ndarray, width: int = 2) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1 if samples.ndim == 1 else samples.shape[1])
        out.setsampwidth(width)
        out.setframerate(RATE)
        out.writeframes(samples.astype("<i2").tobytes() if width == 2 else samples.tobytes())


def read(path: Path) -> np.ndarray:
    with wave.open(str(path)) as wav:
        data = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        return data.reshape(-1, wav.getnchannels())


def test_mono_is_beeped_in_the_span_only(tmp_path: Path) -> None:
    source = tmp_path / "vm.wav"
    write(source, np.zeros(3 * RATE))
    target = tmp_path / "cache" / "vm@1.wav"
    spans = [{"speaker": "speaker", "start": 1.0, "end": 1.5}]
    assert write_redacted_copy(source, target, spans) == target
    out = read(target)[:, 0]
    assert out.shape == (3 * RATE,)
    assert np.abs(out[int(1.1 * RATE) : int(1.4 * RATE)]).max() > 1000
    assert not out[: int(0.8 * RATE)].any()
    assert not out[int(1.7 * RATE) :].any()
    assert [p.name for p in target.parent.iterdir()] == ["vm@1.wav"]  # no partial left


def test_only_the_speakers_channel_is_beeped(tmp_path: Path) -> None:
    source = tmp_path / "call.wav"
    write(source, np.zeros((2 * RATE, 2)))
    target = tmp_path / "call@1.wav"
    write_redacted_copy(source, target, [{"speaker": "agent", "start": 0.5, "end": 1.0}])
    out = read(target)
    assert not out[:, 0].any()
    assert out[int(0.6 * RATE) : int(0.9 * RATE), 1].any()


def test_other_formats_and_broken_files_are_refused(tmp_path: Path) -> None:
    eight_bit = tmp_path / "u8.wav"
    write(eight_bit, np.full(RATE, 128, dtype=np.uint8), width=1)
    with pytest.raises(RedactionError, match="8-bit audio, not 16-bit PCM"):
        write_redacted_copy(eight_bit, tmp_path / "x.wav", [])
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not a wav at all")
    with pytest.raises(RedactionError, match=r"junk\.wav"):
        write_redacted_copy(junk, tmp_path / "y.wav", [])
    with pytest.raises(RedactionError, match=r"missing\.wav"):
        write_redacted_copy(tmp_path / "missing.wav", tmp_path / "z.wav", [])
    assert not (tmp_path / "x.wav").exists()
