"""Phone numbers as the dialler stores them: E.164, one spelling per number.

A contact list arrives as people type numbers: ``138 0013 8000``, ``+86 138-0013-8000``,
``0086 13800138000``, ``(415) 555-2671``, full-width digits from a Chinese input method.
Duplicates, do-not-call lists and the trunk all compare numbers, so each is normalised
once, at import, to E.164 (``+8613800138000``); the rest of the dialler never sees
another spelling. Parsing and validation are libphonenumber's (``phonenumbers``), whose
metadata knows each country's lengths and prefixes; this module only decides what to
refuse and says why, in words an operator can act on.
"""

from __future__ import annotations

import unicodedata

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat


class InvalidNumberError(ValueError):
    """A cell that cannot be dialled; the message says why (shown next to the list row)."""


_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: "not a phone number: unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short to be a phone number",
    NumberParseException.TOO_SHORT_NSN: "too short to be a phone number",
    NumberParseException.TOO_LONG: "too long to be a phone number",
}


def check_region(region: str) -> None:
    """Refuse a default region libphonenumber does not know (ValueError, not a bad cell)."""
    if region not in phonenumbers.SUPPORTED_REGIONS:
        # A configuration mistake, not a bad cell: a plain ValueError, not InvalidNumberError.
        raise ValueError(f"unknown default region {region!r} (an ISO 3166 code such as CN, US)")


def normalize_number(raw: str, default_region: str) -> str:
    """``raw`` as E.164, reading numbers without a country code as ``default_region``'s.

    Raises :class:`InvalidNumberError` for anything that is not a valid number. Letters are
    refused outright, though libphonenumber would read ``1-800-FLOWERS`` as a keypad: in a
    contact list a letter means a name or a note in the wrong column, or an extension
    (``x12``) that the dialler could not dial anyway. Full-width digits and punctuation are
    folded first (NFKC), as are the international prefixes ``00`` and ``011``.
    """
    check_region(default_region)
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        raise InvalidNumberError("empty: not a phone number")
    if any(char.isalpha() for char in text):
        raise InvalidNumberError(f"not a phone number (contains letters): {raw.strip()!r}")
    try:
        number = phonenumbers.parse(text, default_region)
    except NumberParseException as exc:
        message = _PARSE_ERRORS.get(exc.error_type, "not a phone number")
        raise InvalidNumberError(f"{message}: {raw.strip()!r}") from None
    if not phonenumbers.is_valid_number(number):
        code = number.country_code or 0
        region = phonenumbers.region_code_for_country_code(code)
        where = region if region != "ZZ" else f"+{code}"
        if not phonenumbers.is_possible_number(number):
            reason = phonenumbers.is_possible_number_with_reason(number)
            if reason == phonenumbers.ValidationResult.TOO_SHORT:
                raise InvalidNumberError(f"too short for a number of {where}: {raw.strip()!r}")
            if reason == phonenumbers.ValidationResult.TOO_LONG:
                raise InvalidNumberError(f"too long for a number of {where}: {raw.strip()!r}")
        raise InvalidNumberError(f"not a valid number for {where}: {raw.strip()!r}")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)
