"""Numbers in, E.164 inside, the carrier's format out."""

import pytest

from hotline.calls.numbers import (
    NumberError,
    NumberingPlan,
    is_premium,
    normalize,
    region_of,
    to_dial_format,
)

SHANGHAI = NumberingPlan(region="CN", area_code="21")


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("13800138000", "+8613800138000"),  # mobile
        ("+86 138-0013-8000", "+8613800138000"),
        ("021 6888 8888", "+862168888888"),  # landline with trunk prefix
        ("(021) 6888-8888", "+862168888888"),
        ("68888888", "+862168888888"),  # local: the plan's area code completes it
        ("0086 10 12345678", "+861012345678"),  # 00 international prefix
        ("4008123123", "+864008123123"),  # 400 service number
        ("+14155552671", "+14155552671"),
        ("0014155552671", "+14155552671"),
        ("95588", "95588"),  # short codes have no E.164 form
        ("12345", "12345"),
        ("110", "110"),
    ],
)
def test_normalize(raw: str, e164: str) -> None:
    assert normalize(raw, SHANGHAI) == e164


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("abc", "'abc' is not a telephone number"),
        ("", "'' is not a telephone number"),
        ("138001380001", "is not a valid number in region CN"),  # one digit too many
        ("1380013800", "is not a valid number in region CN"),
        ("sip:1000@x", "is not a telephone number"),
    ],
)
def test_normalize_refuses_what_it_cannot_understand(raw: str, message: str) -> None:
    with pytest.raises(NumberError, match=message):
        normalize(raw, SHANGHAI)


def test_local_number_without_area_code_in_plan_is_refused() -> None:
    with pytest.raises(NumberError):
        normalize("68888888", NumberingPlan(region="CN"))


@pytest.mark.parametrize(
    ("e164", "national", "international"),
    [
        ("+8613800138000", "13800138000", "008613800138000"),
        ("+862168888888", "02168888888", "00862168888888"),
        ("+14155552671", "0014155552671", "0014155552671"),
        ("95588", "95588", "95588"),
    ],
)
def test_dial_formats(e164: str, national: str, international: str) -> None:
    assert to_dial_format(e164, "national", SHANGHAI) == national
    assert to_dial_format(e164, "international", SHANGHAI) == international
    assert to_dial_format(e164, "e164", SHANGHAI) == e164


def test_region_of_tells_countries_that_share_a_calling_code_apart() -> None:
    assert region_of("+12125550100") == "US"
    assert region_of("+18765551234") == "JM"
    assert region_of("+441534123456") == "JE"
    assert region_of("+77011234567") == "KZ"
    assert region_of("+80012345678") is None  # non-geographic (freephone)
    assert region_of("110") is None  # a short code
    assert region_of("+4477009001") is None  # not a valid number


def test_is_premium_names_premium_rate_and_shared_cost_numbers() -> None:
    assert is_premium("+19005550100")
    assert is_premium("+864001234567")  # shared cost
    assert not is_premium("+8613800138000")
    assert not is_premium("95588")
