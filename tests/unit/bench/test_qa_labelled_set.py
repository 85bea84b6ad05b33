"""The labelled QA call set's script (bench/qa/calls.py), the generator's pure parts
(alignment, timing labels, noise) and the scorer's edit distance and normalisation."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from hotline.qa.redaction import classify_number, luhn_valid, valid_id_card

BENCH = Path(__file__).resolve().parents[3] / "bench" / "qa"


def bench_module(name: str) -> ModuleType:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module(name)


calls = bench_module("calls")
make_set = bench_module("make_set")
score = bench_module("score")
RATE = 8000


def test_forty_calls_twenty_per_language_with_what_the_brief_asks() -> None:
    labelled = calls.labelled_calls()
    assert len(labelled) == 40
    assert len({c.call_id for c in labelled}) == 40
    assert sum(c.language == "zh" for c in labelled) == 20
    assert sum(c.noise is not None for c in labelled) >= 4
    assert any(t.pause >= 8 for c in labelled for t in c.turns)  # deliberate long silences
    assert sum(any(t.pause < 0 for t in c.turns) for c in labelled) >= 4  # over-talk
    assert len({c.speed for c in labelled}) >= 3
    for call in labelled:
        assert call.categories <= set(calls.CATEGORIES), call.call_id
        assert {t.speaker for t in call.turns} == {"customer", "agent"}


def test_the_same_set_on_every_run() -> None:
    first, second = calls.labelled_calls(), calls.labelled_calls()
    assert [c.pii for c in first] == [c.pii for c in second]


def test_planted_personal_data_is_valid_by_the_projects_own_checks() -> None:
    planted = [p for c in calls.labelled_calls() for p in c.pii]
    kinds = {p.kind for p in planted}
    assert kinds == {"mobile", "id_number", "bank_card", "email"}
    for pii in planted:
        if pii.kind == "id_number":
            assert len(pii.value) == 18, pii
            assert valid_id_card(pii.value), pii
        elif pii.kind == "bank_card":
            assert luhn_valid(pii.value), pii
            assert calls.luhn_valid(pii.value), pii
        elif pii.kind == "mobile" and len(pii.value) == 11:
            assert classify_number(pii.value) == "mobile", pii


def test_numbers_are_spoken_digit_by_digit() -> None:
    assert calls.zh_spoken("1380") == "一三八零"
    assert calls.en_spoken("415") == "four one five"
    zh = next(c for c in calls.labelled_calls() if c.call_id == "zh-order-1")
    assert any(calls.zh_spoken(zh.pii[0].value) in t.text for t in zh.turns)


def _speech(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(round(seconds * RATE)) * 0.1).astype(np.float32)


def test_locate_finds_where_a_channel_landed_in_the_recording() -> None:
    source = np.zeros(10 * RATE, np.float32)
    source[RATE : 3 * RATE] = _speech(2, 1)
    source[5 * RATE : 6 * RATE] = _speech(1, 2)
    recorded = make_set.placed(source, 2345, 12 * RATE)
    assert abs(make_set.locate(source, recorded) - 2345) <= 4
    assert abs(make_set.locate(source, make_set.placed(source, -800, 12 * RATE)) + 800) <= 4


def test_timing_labels_longest_silence_and_overtalk() -> None:
    customer = np.zeros(12 * RATE, np.float32)
    agent = np.zeros(12 * RATE, np.float32)
    agent[RATE : 3 * RATE] = _speech(2, 3)
    customer[2 * RATE : 4 * RATE] = _speech(2, 4)  # 1 s over-talk
    agent[9 * RATE : 10 * RATE] = _speech(1, 5)  # 5 s of dead air before it
    labels = make_set.timing_labels(customer, agent)
    assert labels["longest_silence_seconds"] == pytest.approx(5.0, abs=0.05)
    assert labels["longest_silence_start"] == pytest.approx(4.0, abs=0.05)
    assert labels["overtalk_seconds"] == pytest.approx(1.0, abs=0.05)
    assert labels["overtalk_count"] == 1


def test_noise_is_added_at_the_snr_asked() -> None:
    clean = np.zeros(8 * RATE, np.float32)
    clean[RATE : 5 * RATE] = np.sin(np.arange(4 * RATE) * 0.3).astype(np.float32) * 0.3
    noisy = make_set.add_noise(clean, "white", 10.0, [], "x")
    noise = noisy - clean
    speech_power = np.mean(clean[RATE : 5 * RATE].astype(np.float64) ** 2)
    snr = 10 * np.log10(speech_power / np.mean(noise.astype(np.float64) ** 2))
    assert snr == pytest.approx(10.0, abs=0.3)
    assert np.array_equal(noisy, make_set.add_noise(clean, "white", 10.0, [], "x"))


def test_edit_distance_and_normalisation() -> None:
    assert score.edit_distance(list("kitten"), list("sitting")) == 3
    assert score.edit_distance([], ["a"]) == 1
    assert score.tokens("My number is 415.", "en") == ["my", "number", "is", "four", "one", "five"]
    assert score.tokens("手机号138，好的。", "zh") == list("手机号一三八好的")


def test_a_number_counts_as_redacted_only_when_nothing_of_it_is_left() -> None:
    assert not score.leaked("13966473782", "mobile", "我的手机号是[mobile]。")
    assert score.leaked("13966473782", "mobile", "我的手机号是139647378R")
    assert score.leaked("13966473782", "mobile", "一三九六四七三七八二")
    assert not score.leaked("john.miller@example.com", "email", "it is [email]")
    assert score.leaked("john.miller@example.com", "email", "it is John Miller at example.com")
