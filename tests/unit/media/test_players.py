"""Players: call-progress cadences per plan, file resampling, looping and barge-in."""

from __future__ import annotations

import numpy as np
import pytest

from hotline.media.codecs import Pcm
from hotline.media.players import (
    FRAME,
    Player,
    from_wav,
    music_on_hold,
    progress_tone,
    resample,
    tone,
)
from hotline.media.wav import WavAudio


def peak(samples: Pcm, rate: int = 8000) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.argmax(spectrum)) * rate / len(samples)


def rms(samples: Pcm) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


@pytest.mark.parametrize(
    ("plan", "frequency", "on", "off"),
    [("cn", 450.0, 0.35, 0.35), ("itu", 425.0, 0.5, 0.5)],
)
def test_busy_tone_has_its_plans_frequency_and_cadence(plan, frequency, on, off):
    cycle = progress_tone(plan, "busy").cycle()
    assert len(cycle) == round((on + off) * 8000)
    burst, gap = cycle[: round(on * 8000)], cycle[round(on * 8000) :]
    assert peak(burst) == pytest.approx(frequency, abs=3)
    assert rms(burst) > 1000
    assert not gap.any()


def test_china_ringback_is_one_second_in_five():
    cycle = progress_tone("cn", "ringback").cycle()
    assert len(cycle) == 5 * 8000
    loud = np.abs(cycle.astype(np.int32)) > 0
    assert loud[:8000].mean() > 0.95
    assert not loud[8000:].any()


def test_us_dial_tone_is_continuous_and_dual():
    cycle = progress_tone("us", "dial").cycle()
    spectrum = np.abs(np.fft.rfft(cycle.astype(np.float64)))
    strongest = sorted(np.argsort(spectrum)[-2:] * 8000 / len(cycle))
    assert strongest == pytest.approx([350.0, 440.0], abs=2)
    with pytest.raises(KeyError, match="no tone 'howler'"):
        progress_tone("cn", "howler")


def test_a_tone_player_loops_in_whole_frames():
    player = progress_tone("itu", "congestion").player()
    frames = [player.next_frame() for _ in range(100)]  # 2 s of a 0.4 s cycle
    assert all(f is not None and len(f) == FRAME for f in frames)


def test_a_prompt_stops_on_dtmf_only_when_interruptible():
    prompt = Player(tone((440.0,), 1.0), stop_on_dtmf=True)
    assert prompt.next_frame() is not None
    prompt.on_dtmf()
    assert prompt.next_frame() is None
    music = Player(tone((440.0,), 1.0), loop=True)
    music.on_dtmf()
    assert music.next_frame() is not None


def test_a_44100_hz_stereo_file_becomes_8_khz_mono_without_aliasing():
    rate = 44100
    t = np.arange(rate) / rate
    speech_band = 6000 * np.sin(2 * np.pi * 1000 * t)
    above_nyquist = 6000 * np.sin(2 * np.pi * 5000 * t)  # would fold back to 3 kHz
    mixed = speech_band + above_nyquist
    samples = np.stack([mixed, mixed], axis=1).astype(np.int16)
    pcm = from_wav(WavAudio(rate, samples))
    assert len(pcm) == 8000
    assert peak(pcm) == pytest.approx(1000, abs=3)
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    assert spectrum[2950:3050].max() < spectrum[1000] / 30  # the 5 kHz tone was filtered


def test_empty_and_same_rate_resampling():
    assert len(resample(np.zeros(0, dtype=np.int16), 16000)) == 0
    same = tone((440.0,), 0.1)
    assert np.array_equal(resample(same, 8000), same)


def test_built_in_music_on_hold_loops_without_a_click() -> None:
    music = music_on_hold()
    assert 5.0 < len(music) / 8000 < 10.0
    assert abs(int(music[0])) < 200
    assert abs(int(music[-1])) < 200
    assert 1000 < np.abs(music.astype(np.int32)).max() < 8000  # soft, never clipping
