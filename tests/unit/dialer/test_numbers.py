"""E.164 normalisation of numbers as people type them into contact lists."""

from __future__ import annotations

import pytest

from hotline.dialer.numbers import InvalidNumberError, normalize_number


def full_width(text: str) -> str:
    """``text`` as a Chinese input method types it: U+FF01.. for ASCII, U+3000 for space."""
    return "".join(
        "\u3000" if char == " " else chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char
        for char in text
    )


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("138 0013 8000", "CN", "+8613800138000"),
        ("13800138000", "CN", "+8613800138000"),
        ("+86 138 0013 8000", "CN", "+8613800138000"),
        ("+86-138-0013-8000", "US", "+8613800138000"),
        ("0086 138 0013 8000", "CN", "+8613800138000"),
        ("8613800138000", "CN", "+8613800138000"),
        ("010 1234 5678", "CN", "+861012345678"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("1 415 555 2671", "US", "+14155552671"),
        ("011 86 138 0013 8000", "US", "+8613800138000"),
        ("+44 20 7946 0958", "CN", "+442079460958"),
        ("  138.0013.8000  ", "CN", "+8613800138000"),
        # Full-width digits and punctuation from a Chinese input method.
        (full_width("13800138000"), "CN", "+8613800138000"),
        (full_width("+86 138-0013-8000"), "CN", "+8613800138000"),
    ],
)
def test_accepts_the_ways_people_write_numbers(raw: str, region: str, expected: str) -> None:
    assert normalize_number(raw, region) == expected


@pytest.mark.parametrize(
    ("raw", "region", "message"),
    [
        ("", "CN", "not a phone number"),
        ("   ", "CN", "not a phone number"),
        ("---", "CN", "not a phone number"),
        ("张三", "CN", "contains letters"),
        ("1-800-FLOWERS", "US", "contains letters"),
        ("138-0013-8000 x12", "CN", "contains letters"),
        ("123", "CN", "too short"),
        ("12345678901234567890", "CN", "too long"),
        ("1380013800", "CN", "not a valid number for CN"),
        ("+1 555 555 0100", "CN", "not a valid number for US"),
        ("+999 1234 5678", "CN", "unknown country code"),
    ],
)
def test_refuses_what_cannot_be_dialled_and_says_why(raw: str, region: str, message: str) -> None:
    with pytest.raises(InvalidNumberError, match=message):
        normalize_number(raw, region)


def test_full_width_helper_really_is_full_width() -> None:
    assert full_width("+8 1") == "\uff0b\uff18\u3000\uff11"


def test_invalid_number_is_a_value_error_and_quotes_the_cell() -> None:
    with pytest.raises(ValueError, match="'abc'"):
        normalize_number("abc", "CN")


def test_an_unknown_default_region_is_a_configuration_error_not_a_bad_cell() -> None:
    with pytest.raises(ValueError, match="unknown default region") as caught:
        normalize_number("13800138000", "XX")
    assert not isinstance(caught.value, InvalidNumberError)
