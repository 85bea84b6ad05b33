"""The pure part of live risk alerts: chunks, context across chunks, one alert per
category per call, the backlog bound and the built-in risk keywords."""

from __future__ import annotations

import pytest

from hotline.qa.live_chunks import (
    CHUNK_RULES,
    ChunkBacklog,
    LiveCallWatch,
    chunk_of,
)
from hotline.qa.rules import RuleSet
from hotline.qa.rules_file import default_rules, parse_rules

SECOND = b"\x01\x00" * 8000  # one second of 8 kHz 16-bit audio


def test_a_chunk_cut_at_a_pause_says_when_the_words_ended() -> None:
    chunk = chunk_of("c1", SECOND * 2, speech=True, reason="end_of_speech", now=100.0)
    assert chunk is not None
    assert chunk.seconds == pytest.approx(2.0)
    assert chunk.spoken_at == pytest.approx(100.0 - CHUNK_RULES.trailing_silence)


def test_a_chunk_cut_by_the_length_limit_ends_with_words() -> None:
    chunk = chunk_of("c1", SECOND * 3, speech=True, reason="max_duration", now=50.0)
    assert chunk is not None
    assert chunk.spoken_at == 50.0


@pytest.mark.parametrize(
    ("pcm", "speech"), [(SECOND, False), (SECOND[: 2 * 2400], True), (b"", True)]
)
def test_silence_and_short_sounds_are_not_transcribed(pcm: bytes, speech: bool) -> None:
    assert chunk_of("c1", pcm, speech=speech, reason="end_of_speech", now=1.0) is None


def test_a_phrase_cut_in_two_is_matched_whole() -> None:
    watch = LiveCallWatch("c1", "complaints", "1002")
    document = {"categories": [{"name": "cancellation", "keywords": {"en": ["cancel my account"]}}]}
    rules = RuleSet(tuple(parse_rules(document, "test")))
    first = watch.context("I want to cancel")
    assert rules.match_text(first, "customer", "en") == []
    watch.heard("I want to cancel", "en")
    second = watch.context("my account please.")
    assert second == "I want to cancel my account please."
    assert [hit.category for hit in rules.match_text(second, "customer", "en")] == ["cancellation"]


def test_chinese_chunks_join_without_a_space() -> None:
    watch = LiveCallWatch("c1", "complaints", None)
    watch.heard("我要", "zh")
    assert watch.context("投诉你们") == "我要投诉你们"
    assert watch.language == "zh"
    watch.heard("hello", "en")
    assert watch.language == "zh"  # the first language heard stays


def test_one_alert_per_category_per_call() -> None:
    watch = LiveCallWatch("c1", "complaints", "1002")
    categories = ("complaint", "legal_threat", "cancellation")
    hits = [{"category": "complaint"}, {"category": "greeting"}]
    first = watch.new_alerts(hits, "我要投诉", categories)
    assert [(a.category, a.text) for a in first] == [("complaint", "我要投诉")]
    assert watch.new_alerts(hits, "我还要投诉", categories) == []
    later = watch.new_alerts([{"category": "legal_threat"}], "我要报警", categories)
    assert [a.category for a in later] == ["legal_threat"]


def test_the_backlog_drops_and_counts_beyond_its_limit() -> None:
    backlog = ChunkBacklog(2)
    assert [backlog.admit() for _ in range(4)] == [True, True, False, False]
    assert backlog.dropped == 2
    backlog.done()
    assert backlog.admit() is True
    assert (backlog.pending, backlog.transcribed) == (2, 1)
    with pytest.raises(ValueError, match="at least 1"):
        ChunkBacklog(0)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("我要投诉你们", "complaint"),
        ("再这样我就报警了", "legal_threat"),
        ("帮我把这个账户注销掉", "cancellation"),
        ("I will talk to my LAWYER about this", "legal_threat"),
        ("Please cancel my   account", "cancellation"),
        ("This is unacceptable, I want to make a complaint", "complaint"),
    ],
)
def test_the_default_rules_catch_each_risk(text: str, category: str) -> None:
    hits = default_rules().match_text(text, "customer", None)
    assert category in [hit.category for hit in hits]


@pytest.mark.parametrize("text", ["我想查询一下订单", "Thank you, that is all", "I can't court-"])
def test_ordinary_words_raise_no_risk(text: str) -> None:
    hits = default_rules().match_text(text, "customer", None)
    assert not {hit.category for hit in hits} & {"complaint", "legal_threat", "cancellation"}


def test_hits_of_the_rules_engine_raise_alerts() -> None:
    document = {
        "categories": [
            {"name": "cancellation", "speaker": "customer", "keywords": {"zh": ["注销"]}},
            {"name": "greeting", "speaker": "agent", "keywords": {"zh": ["你好"]}},
        ]
    }
    ruleset = RuleSet(tuple(parse_rules(document, "test")))
    watch = LiveCallWatch("c1", "complaints", "1002")
    text = "你好, 我要助效这个账户"  # 注销 as Whisper writes it: matched on pinyin
    hits = ruleset.match_text(text, "customer", "zh")
    alerts = watch.new_alerts(hits, text, ("cancellation",))
    assert [a.category for a in alerts] == ["cancellation"]


def test_a_chunk_cut_in_mid_speech_lends_its_last_second_to_the_next() -> None:
    watch = LiveCallWatch("c1", "complaints", None)
    first_audio = b"\x01\x00" * 16000 + b"\x02\x00" * 8000  # 3 s, the last second "2"
    first = watch.chunk(first_audio, speech=True, reason="max_duration", now=3.0)
    assert first is not None
    assert first.pcm == first_audio
    second = watch.chunk(b"\x03\x00" * 4000, speech=True, reason="end_of_speech", now=4.0)
    assert second is not None
    assert second.pcm == b"\x02\x00" * 8000 + b"\x03\x00" * 4000
    assert second.spoken_at == pytest.approx(4.0 - CHUNK_RULES.trailing_silence)
    third = watch.chunk(b"\x04\x00" * 8000, speech=True, reason="end_of_speech", now=6.0)
    assert third is not None
    assert third.pcm == b"\x04\x00" * 8000  # the one before ended at a pause: nothing lent
