"""Reading call recordings for analysis: stereo split by speaker (customer left, agent
right, as the recorder writes them), resampling to Whisper's 16 kHz, and clear errors for
files that are broken, cut off or not WAV at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hotline.media.recorder import AGENT, CUSTOMER
from hotline.qa.audio import (
    ASR_RATE,
    STEREO_SPEAKERS,
    RecordingError,
    parse_recording,
    read_recording,
    resample,
)

from .signals import talk, write_wav


def test_stereo_speakers_follow_the_recorders_channels() -> None:
    assert STEREO_SPEAKERS[CUSTOMER] == "customer"
    assert STEREO_SPEAKERS[AGENT] == "agent"


def test_stereo_8k_call_splits_into_customer_and_agent_at_16k(tmp_path: Path) -> None:
    customer = talk(2.0, [(0.0, 1.0)], rate=8000)
    agent = talk(2.0, [(1.0, 2.0)], rate=8000)
    audio = read_recording(write_wav(tmp_path / "call.wav", [customer, agent], 8000))
    assert audio.source_rate == 8000
    assert audio.stereo
    assert [channel.speaker for channel in audio.channels] == ["customer", "agent"]
    for channel in audio.channels:
        assert channel.samples.dtype == np.float32
        assert len(channel.samples) == 2 * ASR_RATE
    left, right = (channel.samples for channel in audio.channels)
    first, second = slice(1000, ASR_RATE - 1000), slice(ASR_RATE + 1000, -1000)
    assert np.abs(left[first]).max() > 0.2 > np.abs(left[second]).max() * 100
    assert np.abs(right[second]).max() > 0.2 > np.abs(right[first]).max() * 100
    assert audio.duration == pytest.approx(2.0)


def test_mono_16k_file_is_one_speaker_unchanged(tmp_path: Path) -> None:
    signal = talk(1.0, [(0.2, 0.8)])
    audio = read_recording(write_wav(tmp_path / "vm.wav", [signal], ASR_RATE))
    assert [channel.speaker for channel in audio.channels] == ["speaker"]
    assert not audio.stereo
    assert np.allclose(audio.channels[0].samples, signal, atol=1 / 32768)


@pytest.mark.parametrize(("from_rate", "freq"), [(8000, 440.0), (48000, 1000.0), (22050, 700.0)])
def test_resampling_keeps_a_tone_and_the_length(from_rate: int, freq: float) -> None:
    t = np.arange(from_rate) / from_rate
    tone = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    out = resample(tone, from_rate, ASR_RATE)
    assert len(out) == ASR_RATE
    expected = 0.5 * np.sin(2 * np.pi * freq * np.arange(ASR_RATE) / ASR_RATE)
    assert np.abs(out[200:-200] - expected[200:-200]).max() < 1e-3


def test_resampling_down_removes_what_the_lower_rate_cannot_carry() -> None:
    t = np.arange(ASR_RATE) / ASR_RATE
    high = (0.5 * np.sin(2 * np.pi * 6000 * t)).astype(np.float32)  # over 8 kHz's Nyquist
    out = resample(high, ASR_RATE, 8000)
    assert np.abs(out[200:-200]).max() < 0.01


def test_not_a_wav_file_is_a_recording_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("these are not the samples you are looking for")
    with pytest.raises(RecordingError, match="not a RIFF/WAVE file"):
        read_recording(path)


def test_missing_and_empty_files_are_recording_errors(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="cannot read"):
        read_recording(tmp_path / "nowhere.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(RecordingError, match="empty file"):
        read_recording(tmp_path / "empty.wav")


def test_file_cut_off_in_its_header_or_before_its_audio(tmp_path: Path) -> None:
    data = write_wav(tmp_path / "call.wav", [talk(1.0, [(0, 1)], 8000)] * 2, 8000).read_bytes()
    with pytest.raises(RecordingError, match=r"no data chunk|fmt chunk too short"):
        parse_recording(data[:30], "cut.wav")
    with pytest.raises(RecordingError, match=r"cut\.wav: no audio"):
        parse_recording(data[:44], "cut.wav")


def test_file_cut_off_in_its_audio_is_read_up_to_the_cut(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "call.wav", [talk(1.0, [(0, 1)], 8000)] * 2, 8000)
    data = path.read_bytes()
    audio = parse_recording(data[: 44 + 4000 * 4 + 3], "crashed.wav")  # half a second, and a bit
    assert audio.duration == pytest.approx(0.5)


def test_unsupported_formats_say_what_they_are(tmp_path: Path) -> None:
    data = bytearray(write_wav(tmp_path / "a.wav", [talk(0.1, [])], 8000).read_bytes())
    data[20:22] = (2).to_bytes(2, "little")  # ADPCM
    with pytest.raises(RecordingError, match="unsupported WAV format 2"):
        parse_recording(bytes(data), "adpcm.wav")
    frames = np.zeros((800, 3), dtype=np.int16)
    from hotline.media.wav import WavWriter

    writer = WavWriter(tmp_path / "three.wav", 8000, 3)
    writer.write(frames)
    writer.close()
    with pytest.raises(RecordingError, match="3 channels"):
        read_recording(tmp_path / "three.wav")
