"""Answering-machine detection on synthetic signals shaped like calls, and on espeak-ng speech."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from hotline.media.amd import AmdResult, AmdSettings, AnsweringMachineDetector, BeepDetector
from hotline.media.g711 import pcmu
from hotline.media.players import from_wav
from hotline.media.wav import read_wav

RATE = 8000
Signal = npt.NDArray[np.float64]


def dbfs(level: float) -> float:
    return 32768.0 * 10 ** (level / 20)


def silence(seconds: float) -> Signal:
    return np.zeros(round(seconds * RATE))


def syllable(seconds: float, level: float = -20.0, seed: int = 0, pitch: float = 140.0) -> Signal:
    """A voiced syllable: harmonics of a gliding pitch plus noise, under a smooth envelope."""
    rng = np.random.default_rng(seed)
    n = round(seconds * RATE)
    t = np.arange(n) / RATE
    f0 = pitch * (1.0 + 0.15 * np.sin(np.pi * t / seconds))  # intonation moves the pitch
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 12))
    signal = np.asarray(voice, dtype=np.float64) + 0.3 * rng.standard_normal(n)
    envelope = np.sin(np.pi * np.arange(n) / n) ** 0.5
    signal *= envelope
    rms = float(np.sqrt(np.mean(signal**2)))
    return signal * dbfs(level) / rms


def words(count: int, word_s: float = 0.25, gap_s: float = 0.12, seed: int = 0) -> Signal:
    parts: list[Signal] = []
    for index in range(count):
        parts.append(syllable(word_s, seed=seed + index, pitch=120.0 + 10 * index))
        parts.append(silence(gap_s))
    return np.concatenate(parts[:-1])


def tone(frequencies: tuple[float, ...], seconds: float, level: float = -18.0) -> Signal:
    t = np.arange(round(seconds * RATE)) / RATE
    wave = sum(np.sin(2 * np.pi * f * t) for f in frequencies)
    signal = np.asarray(wave, dtype=np.float64)
    return signal * dbfs(level) / float(np.sqrt(np.mean(signal**2)))


def line(signal: Signal, noise_dbfs: float | None = -50.0, seed: int = 1) -> np.ndarray:
    """Through the phone network: comfort noise, then G.711 µ-law."""
    if noise_dbfs is not None:
        signal = signal + np.random.default_rng(seed).standard_normal(signal.size) * dbfs(
            noise_dbfs
        )
    pcm = np.asarray(np.clip(np.round(signal), -32768, 32767), dtype=np.int16)
    codec = pcmu().encoder()
    return codec.decode(codec.encode(pcm))


def run(
    pcm: np.ndarray, frame: int = 160, settings: AmdSettings | None = None
) -> tuple[AmdResult, AnsweringMachineDetector]:
    detector = AnsweringMachineDetector(settings or AmdSettings())
    found: list[AmdResult] = []
    for start in range(0, pcm.size, frame):
        result = detector.feed(pcm[start : start + frame])
        if result is not None:
            found.append(result)
    assert len(found) == 1, found
    assert detector.result == found[0]
    return found[0], detector


def call(*parts: Signal, noise_dbfs: float | None = -50.0) -> np.ndarray:
    return line(np.concatenate([*parts, silence(6.0)]), noise_dbfs)


# --- the rules --------------------------------------------------------------------------


def test_short_greeting_then_silence_is_a_human_quickly() -> None:
    result, _ = run(call(silence(0.4), words(2)))  # "喂, 你好?"
    assert (result.verdict, result.reason) == ("human", "after_greeting_silence")
    speech_end = 0.4 + 2 * 0.25 + 0.12
    assert result.at_ms / 1000 == pytest.approx(speech_end + 0.8, abs=0.05)
    assert result.at_ms < 2500
    assert result.words == 2


def test_long_silence_before_anything_is_a_machine() -> None:
    result, _ = run(call(silence(3.0), words(6)))
    assert (result.verdict, result.reason, result.at_ms) == ("machine", "initial_silence", 2500)
    assert result.words == 0


def test_many_words_are_a_machine() -> None:
    result, _ = run(call(silence(0.3), words(8, word_s=0.15, gap_s=0.1)))
    assert (result.verdict, result.reason) == ("machine", "max_words")
    assert result.words == 4  # the fourth word is one more than maximum_words = 3


def test_one_long_utterance_is_a_machine_greeting() -> None:
    # Three long "words" with short pauses: few words, but 1.5 s of voice.
    result, _ = run(call(silence(0.3), words(3, word_s=0.7, gap_s=0.15)))
    assert (result.verdict, result.reason) == ("machine", "long_greeting")
    assert result.voice_ms == 1500
    assert result.at_ms / 1000 == pytest.approx(0.3 + 0.7 * 2 + 0.15 * 2 + 0.1, abs=0.06)


def test_continuous_voice_hits_the_maximum_word_length() -> None:
    settings = AmdSettings(greeting_ms=4000, maximum_word_ms=2000)
    result, _ = run(call(silence(0.2), syllable(3.0, seed=3)), settings=settings)
    assert (result.verdict, result.reason) == ("machine", "max_word_length")


def test_talk_that_never_settles_times_out_as_notsure() -> None:
    # Two words, pauses of 0.7 s (under after_greeting_silence), never 1.5 s of voice.
    settings = AmdSettings(maximum_words=20)
    parts = [silence(0.2)] + [
        np.concatenate([syllable(0.12, seed=i), silence(0.7)]) for i in range(9)
    ]
    result, _ = run(line(np.concatenate(parts)), settings=settings)
    assert (result.verdict, result.reason, result.at_ms) == ("notsure", "timeout", 5000)


def test_a_beep_during_the_analysis_is_a_machine() -> None:
    # A mailbox that only beeps: without the beep rule, a 0.4 s "word" then silence would
    # be taken for a person's "hello".
    result, _ = run(call(silence(0.8), tone((1000.0,), 0.4)))
    assert (result.verdict, result.reason) == ("machine", "beep")
    assert result.beep_at_ms == pytest.approx(1200, abs=20)
    assert result.at_ms < 1300


def test_without_beep_detection_a_lone_beep_looks_like_a_short_hello() -> None:
    result, _ = run(
        call(silence(0.8), tone((1000.0,), 0.4)), settings=AmdSettings(detect_beep=False)
    )
    assert result.verdict == "human"
    assert result.beep_at_ms is None


def test_clicks_do_not_start_a_greeting_or_break_the_silence_after_it() -> None:
    click = tone((700.0, 1900.0), 0.03, level=-10.0)
    result, _ = run(call(silence(1.0), click, silence(1.0), click, silence(1.0)))
    assert (result.verdict, result.reason, result.at_ms) == ("machine", "initial_silence", 2500)
    result, _ = run(call(silence(0.3), words(1), silence(0.4), click, silence(2.0)))
    assert (result.verdict, result.reason) == ("human", "after_greeting_silence")
    assert result.at_ms / 1000 == pytest.approx(0.3 + 0.25 + 0.8, abs=0.05)


def test_line_noise_at_minus_50_dbfs_is_silence_and_clean_lines_work_too() -> None:
    noisy, _ = run(call(silence(0.5), words(1), noise_dbfs=-50.0))
    clean, _ = run(call(silence(0.5), words(1), noise_dbfs=None))
    assert noisy.verdict == clean.verdict == "human"
    assert abs(noisy.at_ms - clean.at_ms) <= 20
    only_noise, _ = run(line(silence(6.0), -50.0))
    assert only_noise.reason == "initial_silence"


@pytest.mark.parametrize("frame", [1, 37, 80, 160, 161, 333, 4000])
def test_any_frame_size_gives_the_same_verdict(frame: int) -> None:
    pcm = call(silence(0.6), words(2))
    reference, _ = run(pcm)
    result, _ = run(pcm, frame=frame)
    assert result == reference


def test_the_verdict_is_given_once_and_feeding_on_is_harmless() -> None:
    detector = AnsweringMachineDetector()
    pcm = call(silence(0.3), words(1))
    results = [detector.feed(pcm[i : i + 160]) for i in range(0, pcm.size, 160)]
    given = [r for r in results if r is not None]
    assert len(given) == 1
    assert detector.result == given[0]
    assert detector.feed(np.zeros(160, dtype=np.int16)) is None


def test_after_the_verdict_the_beep_is_still_reported() -> None:
    # A long greeting is decided before its beep; a campaign that leaves a message waits
    # for the beep to start speaking.
    pcm = call(silence(0.3), words(3, word_s=0.8), silence(0.5), tone((1000.0,), 0.4))
    result, detector = run(pcm)
    assert result.reason == "long_greeting"
    assert result.beep_at_ms is None
    beep_end = 0.3 + 3 * 0.8 + 2 * 0.12 + 0.5 + 0.4
    assert detector.beep_at_ms == pytest.approx(beep_end * 1000, abs=20)


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="greeting_ms"):
        AmdSettings(greeting_ms=0)
    with pytest.raises(ValueError, match="maximum_words"):
        AmdSettings(maximum_words=0)
    with pytest.raises(ValueError, match="silence_threshold_dbfs"):
        AmdSettings(silence_threshold_dbfs=3.0)
    with pytest.raises(ValueError, match="sample rate"):
        AnsweringMachineDetector(sample_rate=8001)


# --- the beep detector ------------------------------------------------------------------


def beep_in(pcm: np.ndarray, frame: int = 160, **options: int) -> list[int]:
    detector = BeepDetector(**options)
    found = [detector.feed(pcm[i : i + frame]) for i in range(0, pcm.size, frame)]
    return [f for f in found if f is not None]


@pytest.mark.parametrize("frequency", [440.0, 1000.0, 1400.0, 1950.0])
def test_a_steady_tone_then_silence_is_a_beep_reported_once_where_it_ended(
    frequency: float,
) -> None:
    pcm = line(np.concatenate([silence(0.5), tone((frequency,), 0.4), silence(1.0)]))
    found = beep_in(pcm)
    assert len(found) == 1
    assert found[0] == pytest.approx(900, abs=20)


def test_beep_length_limits() -> None:
    short = line(np.concatenate([silence(0.3), tone((1000.0,), 0.1), silence(0.5)]))
    assert beep_in(short) == []
    minimum = line(np.concatenate([silence(0.3), tone((1000.0,), 0.16), silence(0.5)]))
    assert beep_in(minimum) == [pytest.approx(460, abs=20)]
    endless = line(np.concatenate([silence(0.3), tone((1000.0,), 4.0), silence(0.5)]))
    assert beep_in(endless) == []


def test_dtmf_and_call_progress_dual_tones_are_not_beeps() -> None:
    for pair in ((697.0, 1209.0), (941.0, 1336.0), (852.0, 1477.0), (480.0, 620.0)):
        pcm = line(np.concatenate([silence(0.2), tone(pair, 0.4), silence(0.5)]))
        assert beep_in(pcm) == [], pair


def test_speech_is_not_a_beep() -> None:
    for seed in range(5):
        pcm = line(np.concatenate([silence(0.2), words(6, word_s=0.3, seed=seed), silence(0.5)]))
        assert beep_in(pcm) == [], seed


def test_a_tone_running_into_another_tone_or_speech_is_not_a_beep() -> None:
    sit = np.concatenate([tone((950.0,), 0.33), tone((1400.0,), 0.33), tone((1800.0,), 0.33)])
    assert beep_in(line(np.concatenate([silence(0.2), sit, silence(0.5)]))) == [
        pytest.approx(200 + 990, abs=20)  # only the last note is followed by silence
    ]
    into_speech = np.concatenate([silence(0.2), tone((1000.0,), 0.3), syllable(0.4, -18.0)])
    assert beep_in(line(np.concatenate([into_speech, silence(0.01)]))) == []


def test_a_quiet_beep_on_a_noisy_line_is_found() -> None:
    pcm = line(
        np.concatenate([silence(0.5), tone((1000.0,), 0.3, level=-35.0), silence(0.5)]), -50.0
    )
    assert beep_in(pcm) == [pytest.approx(800, abs=20)]


@pytest.mark.parametrize("frame", [1, 55, 160, 999])
def test_beep_detector_takes_any_frame_size(frame: int) -> None:
    pcm = line(np.concatenate([silence(0.37), tone((1000.0,), 0.25), silence(0.5)]))
    assert beep_in(pcm, frame=frame) == [pytest.approx(620, abs=20)]


# --- real synthetic speech ----------------------------------------------------------------


def espeak(text: str, voice: str, path: Path) -> np.ndarray:
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), "--", text], check=True)
    pcm = from_wav(read_wav(path)).astype(np.float64)
    loud = np.flatnonzero(np.abs(pcm) > 200)
    speech = pcm[loud[0] : loud[-1] + 1]
    return speech * dbfs(-20.0) / float(np.sqrt(np.mean(speech**2)))


def test_espeak_hello_is_a_human_and_a_mailbox_greeting_with_beep_a_machine(
    tmp_path: Path,
) -> None:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    hello = espeak("Hello?", "en-us", tmp_path / "hello.wav")
    result, _ = run(call(silence(0.5), hello))
    assert result.verdict == "human"
    assert result.at_ms < 2500
    greeting = espeak(
        "Hi, you've reached John. I can't take your call right now, please leave a message "
        "after the tone.",
        "en-us",
        tmp_path / "greeting.wav",
    )
    result, detector = run(call(silence(0.3), greeting, silence(0.4), tone((1000.0,), 0.4)))
    assert result.verdict == "machine"
    assert result.reason in ("long_greeting", "max_words")
    beep_end = 0.3 + greeting.size / RATE + 0.8
    assert detector.beep_at_ms == pytest.approx(beep_end * 1000, abs=30)
    wei = espeak("喂, 你好?", "cmn-latn-pinyin", tmp_path / "wei.wav")
    result, _ = run(call(silence(0.3), wei))
    assert result.verdict == "human"


def test_on_a_noisy_line_the_threshold_rises_above_the_noise() -> None:
    pcm = call(silence(0.5), words(1), noise_dbfs=-38.0)  # noise above the -40 dBFS floor
    adaptive, _ = run(pcm)
    assert (adaptive.verdict, adaptive.reason) == ("human", "after_greeting_silence")
    fixed, _ = run(pcm, settings=AmdSettings(noise_margin_db=None))
    assert fixed.verdict == "machine"  # the noise itself is one endless greeting


def test_speech_from_the_first_sample_is_heard() -> None:
    # No pause before "hello": the noise floor is not known yet, the ceiling keeps the
    # threshold below speech.
    result, _ = run(call(words(1)))
    assert (result.verdict, result.reason) == ("human", "after_greeting_silence")
    assert result.at_ms / 1000 == pytest.approx(0.25 + 0.8, abs=0.05)
