"""Mixer semantics checked by tone frequencies: each participant speaks its own tone, and what
each one hears is read back from the spectrum of its output."""

from __future__ import annotations

import numpy as np
import pytest

from hotline.media.codecs import Pcm
from hotline.media.mixer import Mixer, Role
from hotline.media.players import tone

TONES = {"customer": 400.0, "agent": 1000.0, "supervisor": 1800.0}


def heard_frequencies(mixer: Mixer) -> dict[str, set[float]]:
    """Run 200 ms of ticks and report, per participant, which speakers' tones it hears."""
    signals = {who: tone((f,), 0.2, 0.2) for who, f in TONES.items()}
    outputs: dict[str, list[Pcm]] = {who: [] for who in mixer.participants}
    for start in range(0, 1600, 160):
        mixed = mixer.mix({who: s[start : start + 160] for who, s in signals.items()})
        for who, frame in mixed.items():
            outputs[who].append(frame)
    result = {}
    for who, frames in outputs.items():
        audio = np.concatenate(frames).astype(np.float64)
        spectrum = np.abs(np.fft.rfft(audio))
        total = spectrum.max() or 1.0
        result[who] = {
            f for f in TONES.values() if spectrum[int(f * len(audio) / 8000)] > total / 10
        }
    return result


def conference(supervisor_role: Role = Role.PARTICIPANT) -> Mixer:
    mixer = Mixer()
    for who in TONES:
        mixer.add(who)
    if supervisor_role is Role.LISTEN:
        mixer.listen("supervisor")
    elif supervisor_role is Role.WHISPER:
        mixer.whisper("supervisor", {"agent"})
    return mixer


def test_two_parties_hear_each_other_and_never_themselves():
    mixer = Mixer()
    mixer.add("customer")
    mixer.add("agent")
    heard = heard_frequencies(mixer)
    assert heard == {"customer": {1000.0}, "agent": {400.0}}


def test_listen_supervisor_hears_both_and_is_heard_by_nobody():
    heard = heard_frequencies(conference(Role.LISTEN))
    assert heard["supervisor"] == {400.0, 1000.0}
    assert heard["customer"] == {1000.0}
    assert heard["agent"] == {400.0}


def test_whisper_reaches_the_agent_only():
    heard = heard_frequencies(conference(Role.WHISPER))
    assert heard["agent"] == {400.0, 1800.0}
    assert heard["customer"] == {1000.0}
    assert heard["supervisor"] == {400.0, 1000.0}


def test_barge_everyone_hears_everyone_else():
    mixer = conference(Role.LISTEN)
    mixer.barge("supervisor")
    assert mixer.role("supervisor") is Role.PARTICIPANT
    heard = heard_frequencies(mixer)
    assert heard["customer"] == {1000.0, 1800.0}
    assert heard["agent"] == {400.0, 1800.0}
    assert heard["supervisor"] == {400.0, 1000.0}


def test_leaving_updates_whisper_targets_and_missing_input_is_silence():
    mixer = conference(Role.WHISPER)
    mixer.remove("agent")
    assert mixer.participants == ["customer", "supervisor"]
    out = mixer.mix({"supervisor": np.full(160, 1000, dtype=np.int16)})
    assert not out["customer"].any()  # the whisper had one target, who left
    assert not out["supervisor"].any()
    with pytest.raises(KeyError):
        mixer.whisper("supervisor", {"agent"})
    with pytest.raises(ValueError, match="already"):
        mixer.add("customer")


def test_loud_sums_saturate_instead_of_wrapping():
    mixer = Mixer()
    for who in ("a", "b", "c"):
        mixer.add(who)
    loud = np.full(160, 30000, dtype=np.int16)
    out = mixer.mix({"a": loud, "b": loud, "c": loud})
    assert out["a"].tolist() == [32767] * 160
