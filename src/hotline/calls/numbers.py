"""Telephone numbers: one canonical form inside Hotline, the carrier's form on the wire.

Inside, every number is E.164 (``+8613800138000``) or, for service short codes that have no
E.164 form (``110``, ``12345``, ``95588``), the bare digits. Carriers differ in what they send
and want: national formats with a trunk prefix (``021 6888 8888``), ``00`` international
prefixes, local numbers without an area code. Parsing uses ``phonenumbers`` (libphonenumber's
metadata) rather than our own rules, which would rot as numbering plans change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType, shortnumberinfo

_SEPARATORS = re.compile(r"[\s\-().]")
_DIALLABLE = re.compile(r"^\+?[0-9]+$")

DialFormat = Literal["e164", "national", "international"]


class NumberError(ValueError):
    """A number that cannot be understood in the given numbering plan."""


@dataclass(frozen=True, slots=True)
class NumberingPlan:
    """Where numbers without a country code come from.

    ``area_code`` (e.g. ``"21"`` for Shanghai) completes local numbers dialled without one,
    as PBX users and some carriers send them.
    """

    region: str = "CN"
    area_code: str | None = None


def normalize(raw: str, plan: NumberingPlan) -> str:
    """E.164 for a valid number, bare digits for a valid short code; else NumberError."""
    digits = _SEPARATORS.sub("", raw)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if not digits or not _DIALLABLE.match(digits):
        raise NumberError(f"{raw!r} is not a telephone number")
    if not digits.startswith("+") and _is_short_code(digits, plan.region):
        return digits
    number = _parse(digits, plan.region)
    if number is None and plan.area_code and not digits.startswith(("+", "0")):
        number = _parse("0" + plan.area_code + digits, plan.region)
    if number is None:
        raise NumberError(f"{raw!r} is not a valid number in region {plan.region}")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def to_dial_format(number: str, style: DialFormat, plan: NumberingPlan) -> str:
    """A normalized number as a carrier wants it in the Request-URI user part.

    ``national``: as dialled inside ``plan.region`` (``02168888888``, ``13800138000``, and
    ``001...`` for abroad); ``international``: ``00`` + country code + number.
    """
    if not number.startswith("+"):
        return number  # a short code is dialled as is
    parsed = _parse(number, plan.region)
    if parsed is None:
        raise NumberError(f"{number!r} is not a valid E.164 number")
    if style == "e164":
        return number
    if style == "international":
        return "00" + number[1:]
    if phonenumbers.region_code_for_number(parsed) == plan.region:
        text = phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)
    else:
        text = phonenumbers.format_out_of_country_calling_number(parsed, plan.region)
    return _SEPARATORS.sub("", text)


def region_of(number: str) -> str | None:
    """The region (ISO 3166 code, ``"JM"``) a normalized E.164 number is in; None for a
    short code, an invalid number or a non-geographic one (``+800``, ``+882``).

    The country calling code alone does not tell: +1 is shared by the US, Canada and the
    Caribbean (Jamaica +1 876), +44 by the UK and the Crown Dependencies (Jersey +44 1534),
    +7 by Russia and Kazakhstan; libphonenumber's metadata knows the ranges."""
    if not number.startswith("+"):
        return None
    parsed = _parse(number, "ZZ")
    if parsed is None:
        return None
    region = phonenumbers.region_code_for_number(parsed)
    return region if region and region != "001" else None


def is_premium(number: str) -> bool:
    """Whether a normalized E.164 number is premium-rate or shared-cost (the caller, here
    the company, pays a surcharge that the number's owner shares: toll fraud's target)."""
    parsed = _parse(number, "ZZ") if number.startswith("+") else None
    if parsed is None:
        return False
    kind = phonenumbers.number_type(parsed)
    return kind in (PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST)


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def _is_short_code(digits: str, region: str) -> bool:
    if len(digits) > 6:
        return False
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return False
    return bool(shortnumberinfo.is_valid_short_number_for_region(number, region))
