"""Rule categories from YAML: the packaged defaults and an operator's ``qa.rules`` file.

The file format is described in :mod:`hotline.qa.rules` (docs/qa-analytics.md); here it is
checked, key by key, so that a file that cannot be used says where (``categories.3.within``)
and in which file, and the node does not start with it. Reads files; no other I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from hotline.qa.rules import DEFAULT_WINDOW, LANGUAGES, SPEAKERS, Category, RulesError, RuleSet


def _strings(value: Any, path: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise RulesError(path, "must be a list of words or phrases")
    out = tuple(str(v).strip() for v in value)
    if any(not v for v in out):
        raise RulesError(path, "an empty word or phrase")
    return out


def _per_language(value: Any, path: str) -> tuple[dict[str, tuple[str, ...]], dict[str, int]]:
    if value is None:
        return {}, dict(DEFAULT_WINDOW)
    if not isinstance(value, Mapping):
        raise RulesError(path, "must map zh / en to lists (and an optional window)")
    unknown = set(value) - {*LANGUAGES, "window"}
    if unknown:
        raise RulesError(path, f"unknown keys {', '.join(sorted(map(str, unknown)))}")
    terms = {lang: _strings(value.get(lang), f"{path}.{lang}") for lang in LANGUAGES}
    window = value.get("window")
    windows = dict(DEFAULT_WINDOW)
    if window is not None:
        if isinstance(window, bool) or not isinstance(window, int) or not 0 < window <= 50:
            raise RulesError(f"{path}.window", "must be a whole number of 1..50")
        windows = {lang: window for lang in LANGUAGES}
    return {k: v for k, v in terms.items() if v}, windows


def parse_category(raw: Any, path: str) -> Category:
    if not isinstance(raw, Mapping):
        raise RulesError(path, "must be a mapping")
    known = {"name", "labels", "speaker", "keywords", "require", "within", "negation", "near"}
    unknown = set(raw) - known
    if unknown:
        raise RulesError(path, f"unknown keys {', '.join(sorted(map(str, unknown)))}")
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", name):
        raise RulesError(f"{path}.name", "must be a lower-case identifier (a-z, 0-9, _)")
    labels_raw = raw.get("labels") or {}
    if not isinstance(labels_raw, Mapping) or not all(
        isinstance(v, str) for v in labels_raw.values()
    ):
        raise RulesError(f"{path}.labels", "must map zh / en to a label")
    speaker = raw.get("speaker", "any")
    if speaker not in SPEAKERS:
        raise RulesError(f"{path}.speaker", f"must be one of {', '.join(SPEAKERS)}")
    require = raw.get("require", "any")
    if require not in ("any", "all"):
        raise RulesError(f"{path}.require", "must be any or all")
    keywords, _ = _per_language(raw.get("keywords"), f"{path}.keywords")
    if not keywords:
        raise RulesError(f"{path}.keywords", "needs keywords for zh or en")
    for lang, words in keywords.items():
        for index, word in enumerate(words):
            if lang == "en" and not word.lstrip("=").strip():
                raise RulesError(f"{path}.keywords.{lang}.{index}", "empty keyword")
    within = raw.get("within")
    first = last = None
    if within is not None:
        if (
            not isinstance(within, Mapping)
            or len(within) != 1
            or not set(within)
            <= {
                "first",
                "last",
            }
        ):
            raise RulesError(f"{path}.within", "must be {first: seconds} or {last: seconds}")
        ((key, seconds),) = within.items()
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0:
            raise RulesError(f"{path}.within.{key}", "must be a positive number of seconds")
        first, last = (float(seconds), None) if key == "first" else (None, float(seconds))
    negation, negation_window = _per_language(raw.get("negation"), f"{path}.negation")
    near, near_window = _per_language(raw.get("near"), f"{path}.near")
    return Category(
        name=name,
        labels={str(k): v for k, v in labels_raw.items()},
        speaker=speaker,
        keywords=keywords,
        require=require,
        first=first,
        last=last,
        negation=negation,
        negation_window=negation_window,
        near=near,
        near_window=near_window,
    )


def parse_rules(document: Any, source: str = "<rules>") -> list[Category]:
    if not isinstance(document, Mapping) or not isinstance(document.get("categories"), list):
        raise RulesError("", f"{source}: needs a list of categories under `categories`")
    extra = set(document) - {"categories", "replace_defaults"}
    if extra:
        raise RulesError("", f"{source}: unknown keys {', '.join(sorted(map(str, extra)))}")
    try:
        categories = [
            parse_category(raw, f"categories.{index}")
            for index, raw in enumerate(document["categories"])
        ]
    except RulesError as error:  # the place in the file, and which file
        named = RulesError("", f"{source}: {error}")
        named.path = error.path
        raise named from error
    names = [category.name for category in categories]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise RulesError("categories", f"{source}: twice: {', '.join(duplicates)}")
    return categories


def _read(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise RulesError("", f"{source}: not YAML ({error})") from error


@lru_cache(maxsize=1)
def default_rules() -> RuleSet:
    """The categories shipped with Hotline (``default_rules.yaml``)."""
    text = resources.files("hotline.qa").joinpath("default_rules.yaml").read_text("utf-8")
    return RuleSet(tuple(parse_rules(_read(text, "default_rules.yaml"), "default_rules.yaml")))


def load_rules(path: Path | None) -> RuleSet:
    """The default categories, with those of ``path`` (``qa.rules``) added: a category of
    the file replaces the default one of the same name, and ``replace_defaults: true`` in
    the file drops the defaults. A file that cannot be read or used raises
    :class:`RulesError` naming the file and the place in it."""
    defaults = default_rules()
    if path is None:
        return defaults
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RulesError("", f"{path}: cannot read ({error})") from error
    document = _read(text, str(path))
    own = parse_rules(document, str(path))
    if document.get("replace_defaults") is True:
        return RuleSet(tuple(own))
    mine = {category.name: category for category in own}
    merged = [mine.pop(c.name, c) for c in defaults.categories]
    return RuleSet((*merged, *mine.values()))
