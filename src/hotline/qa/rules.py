"""Rule categories: what was said, by whom and when, from keyword and phrase rules.

A QA team asks of every call the same questions: did the agent greet the caller in the
first seconds, verify their identity, use a forbidden word; did the customer complain,
want to cancel, ask for a refund, threaten to sue, thank the agent at the end. Each
question is a *category*, a few keywords or phrases per language with conditions, kept in
YAML so that a customer can change them without code (``qa.rules``; the defaults ship in
``default_rules.yaml`` beside this module):

.. code-block:: yaml

    categories:
      - name: refund_refused        # what scorecards and search name it by
        labels: {zh: 拒绝退款, en: refund refused}
        speaker: customer           # customer | agent | any
        within: {first: 15}         # or {last: 30}: seconds of the call; default: anywhere
        require: any                # any keyword, or all of them in the call
        keywords:
          zh: [退款, 退钱]
          en: [refund, money back]
        negation:                   # a keyword preceded (within N characters / words)
          zh: [不需要, 不用]        # by one of these does not count
          en: [don't want]
          window: 4
        near:                       # a keyword counts only with one of these near it
          zh: [不, 没]
          en: [not, "n't", refuse]
          window: 6

Mandarin keywords match on the characters, and on their tone-less pinyin (``pypinyin``)
when they have at least two syllables: Whisper's Mandarin errors are mostly homophones
(注销 zhu xiao written 助效), and a one-syllable keyword on pinyin would hit every
homophone in the call. English keywords match as whole words, each word with its simple
inflections (cancel: cancels, cancelled, canceling; sue: sued, suing); a keyword written
``=word`` matches that word only. Windows count characters in Mandarin and words in
English. A speaker of a mono recording (``speaker``) is any of customer or agent.

Pure code: :meth:`RuleSet.evaluate` and :meth:`RuleSet.match_text` only compute; the
YAML is read and checked by :mod:`hotline.qa.rules_file` (``load_rules``,
``default_rules``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

SPEAKERS = ("customer", "agent", "any")
LANGUAGES = ("zh", "en")
#: Negation and proximity windows when a rule does not say: characters / words.
DEFAULT_WINDOW = {"zh": 3, "en": 3}
#: Words that start with 不 but negate nothing (不然 "otherwise", 不行 "no way"...).
NOT_NEGATIONS_ZH = ("不然", "不行", "不管", "不得不", "不过", "不断", "不停", "要不", "不少")

_HANZI = re.compile(r"[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_EN_WORD = re.compile(r"[a-z0-9]+(?:['\u2019][a-z]+)?")


class RulesError(ValueError):
    """A rules file that cannot be used; ``path`` names the place (``categories.2.speaker``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


def _language(language: str | None) -> tuple[str, ...]:
    """The keyword languages to try for a call's language (None: both)."""
    if language is None:
        return LANGUAGES
    lang = language.lower()
    if lang.startswith(("zh", "yue", "cmn")):
        return ("zh",)
    if lang.startswith("en"):
        return ("en",)
    return LANGUAGES


# -- Mandarin ------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _syllables(text: str) -> tuple[str, ...]:
    """One tone-less pinyin syllable per character of ``text``; "" for a character that is
    not a Chinese character."""
    from pypinyin import lazy_pinyin

    def blanks(chunk: str) -> Any:  # pypinyin takes a list here, its stubs say str
        return [""] * len(chunk)

    return tuple(lazy_pinyin(text, errors=blanks))


@dataclass(frozen=True, slots=True)
class _ZhKeyword:
    text: str
    syllables: tuple[str, ...]

    @classmethod
    def of(cls, text: str) -> _ZhKeyword:
        syllables = _syllables(text)
        pinyin_ok = len(syllables) >= 2 and all(syllables)
        return cls(text, syllables if pinyin_ok else ())

    def exact(self, text: str) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        at = text.find(self.text)
        while at >= 0:
            spans.append((at, at + len(self.text)))
            at = text.find(self.text, at + 1)
        return spans

    def find(self, text: str, taken: Sequence[tuple[int, int]] = ()) -> list[tuple[int, int]]:
        """(start, end) character spans of the keyword in ``text``: by characters, then
        by pinyin (spaces between characters skipped) where no keyword of the rule set
        is written out (``taken``: 去消协 is 消协, not a misheard 取消)."""
        spans = self.exact(text)
        if not self.syllables:
            return spans
        sounds = _syllables(text)
        # The characters as pinyin, spaces left out; a non-Chinese character breaks.
        positions = [i for i, ch in enumerate(text) if not ch.isspace()]
        sequence = [sounds[i] for i in positions]
        size = len(self.syllables)
        for k in range(len(sequence) - size + 1):
            if tuple(sequence[k : k + size]) == self.syllables:
                span = (positions[k], positions[k + size - 1] + 1)
                if not any(s < span[1] and span[0] < e for s, e in [*spans, *taken]):
                    spans.append(span)
        return sorted(spans)


def _zh_negated(text: str, start: int, terms: Sequence[str], window: int) -> bool:
    """Whether one of ``terms`` ends in the ``window`` characters before ``start``."""
    for term in terms:
        at = text.find(term, max(0, start - max(window, len(term))))
        while at != -1 and at + len(term) <= start:
            if not (term.startswith("不") and _not_a_negation(text, at)):
                return True
            at = text.find(term, at + 1)
    return False


def _not_a_negation(text: str, at: int) -> bool:
    """Whether the 不 at ``at`` is part of a word that negates nothing (不然...)."""
    for word in NOT_NEGATIONS_ZH:
        offset = word.find("不")
        if at - offset >= 0 and text.startswith(word, at - offset):
            return True
    return False


def _zh_near(text: str, start: int, end: int, terms: Sequence[str], window: int) -> bool:
    before, after = text[max(0, start - window) : start], text[end : end + window]
    return any(term in before or term in after for term in terms)


# -- English -------------------------------------------------------------------------


def _inflections(word: str) -> str:
    """A regex alternation of ``word`` and its simple inflections."""
    w = re.escape(word)
    forms = {w, w + "s", w + "es", w + "ed", w + "d", w + "ing", w + "er", w + "ers"}
    if word.endswith("e"):
        forms |= {re.escape(word[:-1]) + "ing"}
    if word.endswith("y") and len(word) > 2:
        forms |= {re.escape(word[:-1]) + "ies", re.escape(word[:-1]) + "ied"}
    if re.fullmatch(r".*[^aeiou][aeiou][bdgklmnprt]", word):
        forms |= {w + re.escape(word[-1]) + "ed", w + re.escape(word[-1]) + "ing"}
    return "(?:" + "|".join(sorted(forms, key=len, reverse=True)) + ")"


def _en_pattern(keyword: str) -> re.Pattern[str]:
    exact = keyword.startswith("=")
    words = keyword.lstrip("=").lower().split()
    if not words:
        raise ValueError("empty keyword")
    parts = [re.escape(word) if exact or "'" in word else _inflections(word) for word in words]
    return re.compile(r"(?<![a-z0-9'])" + r"\s+".join(parts) + r"(?![a-z0-9])")


def _en_words_before(text: str, start: int, window: int) -> str:
    words = _EN_WORD.findall(text[:start].lower().replace("\u2019", "'"))
    return " ".join(words[-window:]) if window else ""


def _en_has(words: str, terms: Sequence[str]) -> bool:
    padded = f" {words} "
    for term in terms:
        term = term.lower().replace("\u2019", "'")
        if term.startswith("'") or term.startswith("n'"):  # a contraction: don't, won't
            if re.search(re.escape(term) + r"\b", words):
                return True
        elif f" {term} " in padded:
            return True
    return False


# -- categories ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    labels: Mapping[str, str]
    speaker: str = "any"
    keywords: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    require: str = "any"
    first: float | None = None
    last: float | None = None
    negation: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    negation_window: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_WINDOW))
    near: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    near_window: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_WINDOW))

    @property
    def label(self) -> str:
        """Both languages' labels, as the console shows them: ``投诉 / complaint``."""
        names = [self.labels[lang] for lang in LANGUAGES if self.labels.get(lang)]
        return " / ".join(dict.fromkeys(names)) or self.name

    def speaks(self, speaker: str) -> bool:
        if self.speaker == "any" or speaker not in ("customer", "agent"):
            return True
        return speaker == self.speaker


@dataclass(frozen=True, slots=True)
class TextHit:
    """A keyword of a category in one text: ``text[start:end]`` (character offsets)."""

    category: str
    label: str
    speaker: str
    keyword: str
    text: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "label": self.label,
            "speaker": self.speaker,
            "keyword": self.keyword,
            "text": self.text,
            "offset": self.start,
        }


@dataclass(slots=True)
class _Compiled:
    category: Category
    zh: list[_ZhKeyword]
    en: list[tuple[str, re.Pattern[str]]]

    def hits(
        self, text: str, language: str, taken: Sequence[tuple[int, int]] = ()
    ) -> list[tuple[str, int, int]]:
        """(keyword, start, end) in ``text``, negation and proximity applied; ``taken``:
        where keywords of any category are written out (no pinyin hits there)."""
        found: list[tuple[str, int, int]] = []
        cat = self.category
        if language == "zh":
            neg, near = cat.negation.get("zh", ()), cat.near.get("zh", ())
            nwin, pwin = cat.negation_window.get("zh", 3), cat.near_window.get("zh", 3)
            for zh_keyword in self.zh:
                for start, end in zh_keyword.find(text, taken):
                    if neg and _zh_negated(text, start, neg, nwin):
                        continue
                    if near and not _zh_near(text, start, end, near, pwin):
                        continue
                    found.append((zh_keyword.text, start, end))
        else:
            lowered = text.lower().replace("\u2019", "'")
            neg, near = cat.negation.get("en", ()), cat.near.get("en", ())
            nwin, pwin = cat.negation_window.get("en", 3), cat.near_window.get("en", 3)
            for keyword, pattern in self.en:
                for match in pattern.finditer(lowered):
                    if neg and _en_has(_en_words_before(lowered, match.start(), nwin), neg):
                        continue
                    if near:
                        before = _en_words_before(lowered, match.start(), pwin)
                        after = " ".join(_EN_WORD.findall(lowered[match.end() :])[:pwin])
                        inside = " ".join(_EN_WORD.findall(match.group()))
                        if not (_en_has(before, near) or _en_has(after, near)) and not (
                            _en_has(inside, [t for t in near if "'" in t])
                        ):
                            continue
                    found.append((keyword, match.start(), match.end()))
        found.sort(key=lambda hit: (hit[1], -hit[2]))
        kept: list[tuple[str, int, int]] = []
        for hit in found:  # overlapping keywords ("退款" in "把钱退款"): the first, longest
            if not any(k[1] < hit[2] and hit[1] < k[2] for k in kept):
                kept.append(hit)
        return kept

    def all_required(self, keywords: set[str], languages: Sequence[str]) -> bool:
        if self.category.require != "all":
            return True
        return any(
            lang_keywords and {k.lstrip("=") for k in lang_keywords} <= keywords
            for lang_keywords in (self.category.keywords.get(lang, ()) for lang in languages)
        )


@dataclass(frozen=True)
class RuleSet:
    """The categories a call is checked against."""

    categories: tuple[Category, ...]

    def __post_init__(self) -> None:
        compiled = [
            _Compiled(
                category,
                [_ZhKeyword.of(k) for k in category.keywords.get("zh", ())],
                [(k.lstrip("="), _en_pattern(k)) for k in category.keywords.get("en", ())],
            )
            for category in self.categories
        ]
        object.__setattr__(self, "_compiled", compiled)

    def _written(self, text: str) -> list[tuple[int, int]]:
        """Where any Mandarin keyword of the set is written out in ``text``."""
        return [span for rule in self._rules() for k in rule.zh for span in k.exact(text)]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(category.name for category in self.categories)

    def match_text(self, text: str, speaker: str, language: str | None) -> list[TextHit]:
        """The category keywords in one short chunk of ``speaker``'s talk (a live
        transcript): speaker, negation, proximity and ``require: all`` apply (within the
        chunk); positions in the call do not, a chunk has none."""
        out: list[TextHit] = []
        languages = _language(language)
        taken = self._written(text) if "zh" in languages else []
        for rule in self._rules():
            if not rule.category.speaks(speaker):
                continue
            hits = [
                (keyword, start, end)
                for lang in languages
                for keyword, start, end in rule.hits(text, lang, taken)
            ]
            if not hits or not rule.all_required({k for k, _, _ in hits}, languages):
                continue
            out.extend(
                TextHit(
                    rule.category.name,
                    rule.category.label,
                    speaker,
                    keyword,
                    text[start:end],
                    start,
                    end,
                )
                for keyword, start, end in hits
            )
        return out

    def evaluate(
        self,
        segments: Sequence[Mapping[str, Any]],
        language: str | None,
        duration: float | None = None,
    ) -> list[dict[str, Any]]:
        """The categories hit in a call's ``segments`` (as ``Analysis.segments()``: in
        time order, ``segment`` in a hit is the index in that list): one entry per
        category and speaker, hits in time order, timed by the words that carry them.
        ``duration`` (else the last segment's end) places "the last N s"."""
        languages = _language(language)
        end_of_call = duration
        if end_of_call is None:
            end_of_call = max((float(s.get("end") or 0.0) for s in segments), default=0.0)
        entries: list[dict[str, Any]] = []
        written = [
            self._written(str(s.get("text") or "")) if "zh" in languages else [] for s in segments
        ]
        for rule in self._rules():
            category = rule.category
            by_speaker: dict[str, list[dict[str, Any]]] = {}
            for index, segment in enumerate(segments):
                speaker = str(segment.get("speaker") or "")
                if not category.speaks(speaker):
                    continue
                text = str(segment.get("text") or "")
                for lang in languages:
                    for keyword, start, end in rule.hits(text, lang, written[index]):
                        at, until = _times(segment, text, start, end)
                        if category.first is not None and at > category.first:
                            continue
                        if category.last is not None and until < end_of_call - category.last:
                            continue
                        by_speaker.setdefault(speaker, []).append(
                            {
                                "start": at,
                                "end": until,
                                "text": text[start:end],
                                "segment": index,
                                "keyword": keyword,
                            }
                        )
            for speaker, hits in by_speaker.items():
                if not rule.all_required({hit["keyword"] for hit in hits}, languages):
                    continue
                hits.sort(key=lambda hit: (hit["start"], hit["segment"]))
                entries.append(
                    {
                        "category": category.name,
                        "label": category.label,
                        "speaker": speaker,
                        "hits": hits,
                    }
                )
        return entries

    def _rules(self) -> list[_Compiled]:
        compiled: list[_Compiled] = getattr(self, "_compiled")  # noqa: B009 - set in __post_init__
        return compiled


def _times(segment: Mapping[str, Any], text: str, start: int, end: int) -> tuple[float, float]:
    """The times of ``text[start:end]`` from the segment's words (whose texts, joined,
    are usually the segment's text); the segment's times when they do not line up."""
    seg_start = float(segment.get("start") or 0.0)
    seg_end = float(segment.get("end") or seg_start)
    words = [w for w in segment.get("words") or [] if isinstance(w, Mapping)]
    if words:
        joined = "".join(str(w.get("text") or "") for w in words)
        # Whisper's segment text and its words' text differ at most in leading spaces.
        shift = len(joined) - len(joined.lstrip()) - (len(text) - len(text.lstrip()))
        if joined.strip() == text.strip():
            a, b, at = start + shift, end + shift, 0
            first = last = None
            for word in words:
                w_text = str(word.get("text") or "")
                if at < b and a < at + len(w_text):
                    first = word if first is None else first
                    last = word
                at += len(w_text)
            if first is not None and last is not None:
                return round(float(first.get("start", seg_start)), 3), round(
                    float(last.get("end", seg_end)), 3
                )
    return round(seg_start, 3), round(seg_end, 3)
