"""Personal data found in transcripts by its checksums, replaced by its kind in the text
and the words, times kept; the beeped audio copy."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from hotline.qa.redaction import (
    beep_spans,
    classify_number,
    find_pii,
    id_card_check,
    luhn_valid,
    redact_segments,
    redact_text,
)

CHINESE = dict(zip("0123456789", "零幺二三四五六七八九", strict=True))


def make_id(rng: random.Random) -> str:
    area = f"{rng.randint(110000, 659999)}"
    birth = f"{rng.randint(1940, 2010)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    first17 = area + birth + f"{rng.randint(0, 999):03d}"
    return first17 + id_card_check(first17)


def make_card(rng: random.Random) -> str:
    length = rng.randint(13, 19)
    body = "6" + "".join(str(rng.randint(0, 9)) for _ in range(length - 2))
    for check in "0123456789":
        if luhn_valid(body + check):
            return body + check
    raise AssertionError


def make_mobile(rng: random.Random) -> str:
    return "1" + str(rng.randint(3, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(9))


def spoken(digits: str, rng: random.Random) -> str:
    """As Whisper may write a number read out: plain, grouped, dashed or in Chinese."""
    style = rng.randint(0, 3)
    if style == 1:
        return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))
    if style == 2 and len(digits) == 11:
        return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if style == 3 and digits.isdigit():
        return "".join(CHINESE[d] for d in digits)
    return digits


def test_checksums_of_known_numbers() -> None:
    assert id_card_check("11010519491231002") == "X"
    assert classify_number("11010519491231002X") == "id_card"
    assert classify_number("110105194912310021") is None  # wrong check digit
    assert luhn_valid("4111111111111111")
    assert classify_number("4111111111111111") == "bank_card"
    assert classify_number("4111111111111112") is None
    assert classify_number("13812345678") == "mobile"
    assert classify_number("12812345678") is None  # no mobile starts 12
    assert classify_number("8613812345678") == "mobile"


def test_recall_on_generated_numbers_and_no_hits_on_invalid_ones() -> None:
    rng = random.Random(21)
    cases = []
    for _ in range(400):
        kind = rng.choice(["mobile", "id_card", "bank_card"])
        digits = {"mobile": make_mobile, "id_card": make_id, "bank_card": make_card}[kind](rng)
        before = rng.choice(["我的号码是", "卡号", "my number is ", "身份证号码 ", ""])
        cases.append((kind, f"{before}{spoken(digits, rng)}，对的"))
    found = sum(1 for kind, text in cases if [f.kind for f in find_pii(text)] == [kind])
    recall = found / len(cases)
    assert recall >= 0.99, recall
    # The same numbers with a wrong check digit are not taken for what they are not.
    for _ in range(300):
        card, id_number = make_card(rng), make_id(rng)
        bad_card = card[:-1] + str((int(card[-1]) + 1) % 10)
        bad_id = id_number[:-1] + ("0" if id_number[-1] != "0" else "1")
        assert "bank_card" not in [f.kind for f in find_pii(f"卡号{bad_card}")]
        assert "id_card" not in [f.kind for f in find_pii(f"身份证{bad_id}")]
    for ordinary in ("订单号 12345678", "一下一个三四天", "2026-12-07 10:30", "三百五十块"):
        assert find_pii(ordinary) == []


def test_numbers_read_out_digit_by_digit_in_words_or_punctuated_groups() -> None:
    # As Whisper writes a number read out in English, and Mandarin in punctuated groups.
    cases = {
        "My number is four one five, five five five, one two three four.": "My number is [mobile].",
        "It is 4-1-5-5-5-5-1-2-3-4.": "It is [mobile].",
        "It is (415) 555-1234.": "It is [mobile].",
        "call 1-415-555-1234 now": "call [mobile] now",
        "nine one seven double five five, one two three four": "[mobile]",
        "The card is four one one one, 1111 1111 1111.": "The card is [bank_card].",
        "我的手机号是138，1234，5678。": "我的手机号是[mobile]。",
        "手机号一三八 一二三四 五六七八": "手机号[mobile]",
    }
    for text, redacted in cases.items():
        assert redact_text(text) == redacted, text
    # Words and times that are not numbers read out stay.
    for ordinary in (
        "I have one or two questions, three at most",
        "double five",
        "order 2026-12-07 10:30",
        "on 12 07 at 10 30 we had 3 calls",
        "12812345678",  # no mainland mobile starts 12, and not grouped as 1-281-...
        "订单号 12345678",
    ):
        assert find_pii(ordinary) == [], ordinary
    # A number the recogniser got a digit wrong in, read out after a cue word, still goes.
    assert redact_text("我的手机号是139647378，") == "我的手机号是[number]，"
    assert redact_text("It is 212-555-04060. My card is 6217 0037 1030 403.") == (
        "It is 212-555-04060. My card is [number]."
    )


def test_emails_written_and_spoken() -> None:
    assert redact_text("mail john.smith@example.com please") == "mail [email] please"
    assert redact_text("it's john dot smith at gmail dot com") == "it's [email]"
    assert redact_text("我的邮箱是 wang_li@qq.com") == "我的邮箱是 [email]"
    assert redact_text("It is john.smith at example.com.") == "It is [email]."
    # " at " glued to its neighbours by the recogniser; a web address is not an address.
    assert [f.value for f in find_pii("it is Sarah.jonesatexample.com. Thanks")] == [
        "sarah.jones@example.com"
    ]
    assert redact_text("kate.matthewsatexample.com") == "[email]"
    assert find_pii("see www.greatdeals.com or thatexample.com") == []


def test_redact_segments_replaces_text_and_words_and_keeps_times() -> None:
    segments = [
        {"speaker": "agent", "start": 0.0, "end": 2.0, "text": "请问您的手机号?", "words": []},
        {
            "speaker": "customer",
            "start": 2.5,
            "end": 6.0,
            "text": " My number is 138 1234 5678 thanks",
            "words": [
                {"start": 2.5, "end": 2.7, "text": " My", "probability": 0.9},
                {"start": 2.7, "end": 3.0, "text": " number", "probability": 0.9},
                {"start": 3.0, "end": 3.2, "text": " is", "probability": 0.9},
                {"start": 3.3, "end": 3.9, "text": " 138", "probability": 0.9},
                {"start": 4.0, "end": 4.6, "text": " 1234", "probability": 0.9},
                {"start": 4.7, "end": 5.3, "text": " 5678", "probability": 0.9},
                {"start": 5.4, "end": 6.0, "text": " thanks", "probability": 0.9},
            ],
        },
    ]
    redacted, spans = redact_segments(segments)
    assert redacted[1]["text"] == " My number is [mobile] thanks"
    texts = [word["text"] for word in redacted[1]["words"]]
    assert texts == [" My", " number", " is", " [mobile]", "", "", " thanks"]
    assert [w["start"] for w in redacted[1]["words"]] == [2.5, 2.7, 3.0, 3.3, 4.0, 4.7, 5.4]
    assert spans == [
        {"kind": "mobile", "speaker": "customer", "segment": 1, "start": 3.3, "end": 5.3}
    ]
    assert "138" in str(segments[1]["text"])  # the input is left alone
    assert redacted[0] == segments[0]


def test_a_bare_answer_to_a_question_for_a_number_is_redacted() -> None:
    """The customer reads a card number the recogniser got a digit wrong in, with no cue
    word of their own: the agent's question just before makes it a number; the same
    digits long after the question, or after a question of their own, stay."""

    def turn(speaker: str, start: float, text: str) -> dict[str, Any]:
        return {"speaker": speaker, "start": start, "end": start + 2.0, "text": text}

    segments = [
        turn("agent", 0.0, "Could you read me your card number, please?"),
        turn("customer", 2.5, " Sure, 6217 0037 1030 403."),
        turn("customer", 5.0, " And 6217 0037 1030 404."),  # still answering
        turn("agent", 40.0, "请问还有什么可以帮您？"),
        turn("customer", 43.0, " 订单 20261207103 到了吗"),  # an order number, not asked for
        turn("customer", 80.0, " 6217 0037 1030 403"),  # the question is long past
        # A customer's segment that starts before the agent's question and answers it.
        turn("customer", 99.0, " 真的很难得，1396473782，不客气"),
        turn("agent", 100.0, "请问您的手机号码是多少"),
    ]
    redacted, spans = redact_segments(segments)
    assert [segment["text"] for segment in redacted] == [
        "Could you read me your card number, please?",
        " Sure, [number].",
        " And [number].",
        "请问还有什么可以帮您？",
        " 订单 20261207103 到了吗",
        " 6217 0037 1030 403",
        " 真的很难得，[number]，不客气",
        "请问您的手机号码是多少",
    ]
    assert [(span["kind"], span["segment"]) for span in spans] == [
        ("number", 1),
        ("number", 2),
        ("number", 6),
    ]


def test_beep_spans_beeps_only_the_speakers_channel() -> None:
    rate = 8000
    stereo = np.zeros((rate * 3, 2), np.int16)
    out = beep_spans(stereo, rate, [{"speaker": "customer", "start": 1.0, "end": 2.0}])
    assert not stereo.any()  # a copy
    left, right = out[:, 0].astype(float), out[:, 1]
    assert not right.any()
    beeped = left[int(1.0 * rate) : int(2.0 * rate)]
    assert np.sqrt(np.mean(beeped**2)) == pytest.approx(0.3 * 32767 / np.sqrt(2), rel=0.02)
    spectrum = np.abs(np.fft.rfft(beeped))
    assert np.argmax(spectrum) * rate / len(beeped) == pytest.approx(1000, abs=2)
    assert not left[: int(0.85 * rate)].any()
    assert not left[int(2.15 * rate) :].any()
    mono = beep_spans(np.zeros(rate * 2, np.float32), rate, [{"start": 0.5, "end": 1.0}])
    assert np.abs(mono).max() == pytest.approx(0.3, rel=0.01)
