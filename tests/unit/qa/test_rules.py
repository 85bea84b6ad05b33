"""Rule categories over transcripts: speakers, positions, negation, proximity, all/any,
Mandarin on pinyin as well as characters, English word forms; the YAML file's errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hotline.qa.rules import RulesError
from hotline.qa.rules_file import default_rules, load_rules


def seg(speaker: str, start: float, end: float, text: str, **extra: Any) -> dict[str, Any]:
    return {"speaker": speaker, "start": start, "end": end, "text": text, "words": [], **extra}


def names(text: str, speaker: str = "customer", language: str | None = None) -> set[str]:
    return {hit.category for hit in default_rules().match_text(text, speaker, language)}


def test_default_categories_in_both_languages() -> None:
    assert set(default_rules().names) >= {
        "greeting", "identity_verified", "forbidden_words", "complaint", "cancellation",
        "refund", "legal_threat", "thanks",
    }  # fmt: skip
    assert names("我要投诉你们", language="zh") == {"complaint"}
    assert names("再不处理我就去消协投诉", language="zh") == {"complaint", "legal_threat"}
    assert names("I will sue you and call my lawyer", language="en") == {"legal_threat"}
    assert names("I want to cancel my subscription") == {"cancellation"}
    assert names("she cancelled it and canceling again") == {"cancellation"}
    assert names("请您闭嘴", speaker="agent") == {"forbidden_words"}
    assert names("请您闭嘴", speaker="customer") == set()  # an agent's category
    assert names("请提供一下您的身份证号码", speaker="agent") == {"identity_verified"}


def test_mandarin_homophones_hit_on_pinyin_but_not_single_syllables() -> None:
    hits = default_rules().match_text("我要助效这个账户", "customer", "zh")
    assert [(h.category, h.keyword, h.text) for h in hits] == [("cancellation", "注销", "助效")]
    assert names("我要投 诉", language="zh") == {"complaint"}  # a space Whisper put inside
    # 滚 (gun3, forbidden) must not hit its homophone 棍 on pinyin: one syllable.
    assert names("这根木棍", speaker="agent") == set()
    assert names("滚", speaker="agent") == {"forbidden_words"}


def test_negation_and_its_exceptions() -> None:
    assert names("我不想投诉了", language="zh") == set()
    assert names("我不取消了", language="zh") == set()
    assert names("不然我就报警", language="zh") == {"legal_threat"}  # 不然 negates nothing
    assert names("I don't want to cancel", language="en") == set()
    assert names("I'm not complaining", language="en") == set()
    assert "refund" not in names("我不需要退款", language="zh")


def test_proximity_refund_near_a_refusal() -> None:
    assert "refund_refused" in names("退款到现在还没到", language="zh")
    assert "refund_refused" not in names("我要退款", language="zh")
    assert "refund_refused" in names("my refund still has not arrived", language="en")
    assert "refund_refused" not in names("I would like a refund", language="en")


def test_evaluate_times_positions_and_speakers() -> None:
    words = [
        {"start": 1.0, "end": 1.4, "text": "您好", "probability": 0.9},
        {"start": 1.4, "end": 1.6, "text": "，", "probability": 0.9},
        {"start": 1.6, "end": 2.5, "text": "欢迎致电", "probability": 0.9},
    ]
    segments = [
        seg("agent", 1.0, 2.5, "您好，欢迎致电", words=words),
        seg("customer", 3.0, 5.0, "我要投诉"),
        seg("agent", 20.0, 21.0, "您好"),  # too late for a greeting
        seg("customer", 25.0, 26.0, "谢谢"),  # not in the last 30 s of a 100 s call
        seg("customer", 90.0, 92.0, "好的谢谢你"),
        seg("agent", 99.0, 100.0, "感谢来电"),
    ]
    found = {e["category"]: e for e in default_rules().evaluate(segments, "zh")}
    assert set(found) == {"greeting", "complaint", "thanks"}
    greeting = found["greeting"]
    assert greeting["speaker"] == "agent"
    assert greeting["label"] == "问候语 / greeting"
    assert [(h["keyword"], h["start"], h["end"], h["segment"]) for h in greeting["hits"]] == [
        ("您好", 1.0, 1.4, 0),
        ("欢迎致电", 1.6, 2.5, 0),
    ]
    assert found["complaint"]["hits"] == [
        {"start": 3.0, "end": 5.0, "text": "投诉", "segment": 1, "keyword": "投诉"}
    ]
    assert [h["segment"] for h in found["thanks"]["hits"]] == [4]


def test_mono_speaker_is_anyone_and_english_word_times() -> None:
    words = [
        {"start": 0.0, "end": 0.3, "text": " I", "probability": 1.0},
        {"start": 0.3, "end": 0.6, "text": " want", "probability": 1.0},
        {"start": 0.6, "end": 0.9, "text": " a", "probability": 1.0},
        {"start": 0.9, "end": 1.5, "text": " refund.", "probability": 1.0},
    ]
    found = default_rules().evaluate(
        [seg("speaker", 0.0, 1.5, " I want a refund.", words=words)], "en"
    )
    assert [(e["category"], e["speaker"], e["hits"][0]["start"]) for e in found] == [
        ("refund", "speaker", 0.9)
    ]


def test_a_rules_file_adds_replaces_and_requires_all(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        """
categories:
  - name: complaint
    labels: {en: complaint}
    speaker: any
    keywords: {en: [furious]}
  - name: card_lost
    labels: {zh: 挂失, en: lost card}
    speaker: customer
    require: all
    keywords: {zh: [银行卡, 丢了], en: [card, lost]}
""",
        "utf-8",
    )
    rules = load_rules(path)
    assert rules.names[-1] == "card_lost"
    assert "greeting" in rules.names
    assert {h.category for h in rules.match_text("I am furious", "agent", "en")} == {"complaint"}
    assert names("我要投诉") == {"complaint"}  # the defaults are unchanged
    assert {h.category for h in rules.match_text("我要投诉", "customer", "zh")} == set()
    assert rules.match_text("我的银行卡", "customer", "zh") == []
    assert {h.category for h in rules.match_text("我的银行卡丢了", "customer", "zh")} == {
        "card_lost"
    }
    segments = [seg("customer", 0, 2, "my card"), seg("customer", 5, 6, "I lost it")]
    assert [e["category"] for e in rules.evaluate(segments, "en")] == ["card_lost"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("categories: 3", "needs a list of categories"),
        ("categories:\n  - {name: x, keywords: {zh: [a]}, speaker: boss}", "categories.0.speaker"),
        ("categories:\n  - {name: X!, keywords: {zh: [a]}}", "categories.0.name"),
        ("categories:\n  - {name: x}", "categories.0.keywords"),
        (
            "categories:\n  - {name: x, keywords: {zh: [a]}, within: {middle: 3}}",
            "categories.0.within",
        ),
        ("categories: [", "not YAML"),
    ],
)
def test_bad_rules_files_are_refused_with_the_place(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(RulesError, match=message.replace(".", r"\.")):
        load_rules(path)
    with pytest.raises(RulesError, match="cannot read"):
        load_rules(tmp_path / "missing.yaml")
