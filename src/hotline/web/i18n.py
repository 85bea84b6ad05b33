"""One translation layer for every page: message catalogs per language, negotiation.

The idea is the IVR's (``ivr.flow.Prompt``): text is kept per BCP 47 language tag, and the
same two tags, ``zh-CN`` and ``en``, name the languages. A page's words live in
``locales/<tag>.yaml`` as flat ``key: text`` maps; ``{name}`` placeholders are filled at
render time. Both catalogs must have the same keys (a unit test checks this and that every
key a template uses exists), so a missing translation fails the tests, not a customer.

The language of a request is the ``hotline_lang`` cookie when it names a known language,
else the best match of the browser's ``Accept-Language``, else ``zh-CN`` (the product's
first language, like the IVR's default).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import yaml

log = logging.getLogger(__name__)

LANGUAGES: tuple[str, ...] = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
LANGUAGE_COOKIE = "hotline_lang"
#: Each language's name in itself, for the language switch.
LANGUAGE_NAMES: Mapping[str, str] = {"zh-CN": "中文", "en": "English"}

_RANGE = re.compile(
    r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*$"
)


class CatalogError(Exception):
    """A catalog file is missing, malformed, or disagrees with the others."""


@cache
def catalogs() -> Mapping[str, Mapping[str, str]]:
    """Every language's messages, read once from the package."""
    loaded: dict[str, dict[str, str]] = {}
    for language in LANGUAGES:
        path = files("hotline.web").joinpath("locales", f"{language}.yaml")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise CatalogError(f"catalog {language}: {error}") from None
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise CatalogError(f"catalog {language}: expected a flat map of strings")
        loaded[language] = data
    return loaded


def normalize(tag: str | None) -> str | None:
    """A known language for a tag (``zh``, ``zh-cn``, ``zh-Hans-CN`` → ``zh-CN``;
    ``en-GB`` → ``en``), or ``None``."""
    if not tag:
        return None
    primary = tag.strip().split("-")[0].lower()
    for language in LANGUAGES:
        if language.split("-")[0].lower() == primary:
            return language
    return None


def negotiate(accept_language: str | None) -> str:
    """The best known language for an ``Accept-Language`` header (RFC 9110 q-values)."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((accept_language or "").split(",")[:32]):
        match = _RANGE.match(part)
        if not match:
            continue
        try:
            quality = float(match.group(2)) if match.group(2) is not None else 1.0
        except ValueError:
            continue
        language = DEFAULT_LANGUAGE if match.group(1) == "*" else normalize(match.group(1))
        if language is None or quality <= 0:
            continue
        candidate = (quality, -position, language)
        if best is None or candidate > best:
            best = candidate
    return best[2] if best else DEFAULT_LANGUAGE


@dataclass(frozen=True)
class Translator:
    """``t("key", name=value)`` in templates and handlers, for one language."""

    language: str

    def __call__(self, key: str, /, **params: object) -> str:
        messages = catalogs()[self.language]
        text = messages.get(key)
        if text is None:
            log.warning("missing message", extra={"key": key, "language": self.language})
            return key
        if not params:
            return text
        try:
            return text.format_map(params)
        except (KeyError, IndexError, ValueError):
            log.warning("bad message parameters", extra={"key": key, "language": self.language})
            return text

    def has(self, key: str) -> bool:
        return key in catalogs()[self.language]
