"""The words of a transcript as the QA search indexes and queries them (docs/qa-search.md).

Pure text code shared by both index back ends (SQLite FTS5, PostgreSQL ``tsvector``): the
database only ever sees lower-case tokens separated by spaces, so the two dialects match the
same segments for the same query.

- **Chinese** has no spaces between words: a run of Han characters is segmented with jieba's
  search mode, which gives each word and the shorter dictionary words inside it
  (退款申请 → 退款, 申请, 退款申请), so that a short query word finds a longer word.
- **English** (and digits) are lower-cased words; no stemming (``refund`` does not find
  ``refunds``), as PostgreSQL's ``simple`` configuration does.
- The placeholders redaction writes (``[mobile]``, ``[email]``...) are not words of the call:
  they are never indexed, so searching "mobile" does not find every redacted number.

A query is segmented with jieba's precise mode (the words a person typed); each word must be
in the segment, either whole or as all of its search-mode pieces (:class:`QueryWord`).
"""

from __future__ import annotations

import html
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_HAN}]+|[0-9a-z]+")
#: What ``hotline.qa.redaction`` puts in place of personal data.
_PLACEHOLDER = re.compile(r"\[(?:mobile|id_card|bank_card|email|number)\]", re.IGNORECASE)
_HAN_RUN = re.compile(rf"^[{_HAN}]+$")
#: Longest query the search accepts (characters), and most words taken from it.
MAX_QUERY_CHARS = 200
MAX_QUERY_WORDS = 16

_segmenter: Any = None
_segmenter_lock = threading.Lock()


def _jieba() -> Any:
    """One jieba tokenizer per process, its dictionary loaded on first use (about 1 s);
    imported here, not at module import, so commands that never search do not pay 0.25 s."""
    global _segmenter
    with _segmenter_lock:
        if _segmenter is None:
            import jieba  # type: ignore[import-untyped]

            logging.getLogger("jieba").setLevel(logging.WARNING)
            segmenter = jieba.Tokenizer()
            segmenter.initialize()
            _segmenter = segmenter
        return _segmenter


class QueryError(ValueError):
    """The query cannot be searched; the message says why (an API 422)."""


def _runs(text: str) -> list[str]:
    return _TOKEN.findall(_PLACEHOLDER.sub(" ", text).lower())


def index_tokens(text: str) -> list[str]:
    """The tokens a segment's text is indexed under, in order (repeats kept)."""
    out: list[str] = []
    for run in _runs(text):
        if _HAN_RUN.match(run):
            out.extend(word for word in _jieba().cut_for_search(run) if word.strip())
        else:
            out.append(run)
    return out


def index_document(text: str) -> str:
    """What the index stores for a segment: its tokens separated by spaces."""
    return " ".join(index_tokens(text))


@dataclass(frozen=True, slots=True)
class QueryWord:
    """One word of a query: found if ``word`` is a token of the segment or, for a long
    Chinese word, if every one of its ``pieces`` is (a segment where jieba cut the same
    characters differently still matches)."""

    word: str
    pieces: tuple[str, ...] = ()


def query_words(query: str) -> list[QueryWord]:
    """The words of a search query; :class:`QueryError` if there are none."""
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is longer than {MAX_QUERY_CHARS} characters")
    words: list[QueryWord] = []
    seen: set[str] = set()
    for run in _runs(query):
        if _HAN_RUN.match(run):
            candidates = [word for word in _jieba().cut(run, HMM=True) if word.strip()]
        else:
            candidates = [run]
        for word in candidates:
            if word in seen:
                continue
            seen.add(word)
            pieces: tuple[str, ...] = ()
            if len(word) > 2 and _HAN_RUN.match(word):
                found = tuple(
                    dict.fromkeys(p for p in _jieba().cut_for_search(word) if p != word and p)
                )
                if found and _covers(word, found):
                    pieces = found
            words.append(QueryWord(word, pieces))
    if not words:
        raise QueryError("the query has no words to search for (letters, digits or Chinese)")
    if len(words) > MAX_QUERY_WORDS:
        raise QueryError(f"the query has more than {MAX_QUERY_WORDS} words")
    return words


def _covers(word: str, pieces: Sequence[str]) -> bool:
    """Every character of ``word`` lies in one of its pieces (else the pieces alone would
    match segments that lack part of the word)."""
    covered = [False] * len(word)
    for piece in pieces:
        start = word.find(piece)
        while start >= 0:
            for i in range(start, start + len(piece)):
                covered[i] = True
            start = word.find(piece, start + 1)
    return all(covered)


def fts5_match(words: Iterable[QueryWord]) -> str:
    """The query as an FTS5 MATCH expression (every word required)."""

    def quoted(token: str) -> str:
        return '"' + token.replace('"', '""') + '"'

    parts = []
    for word in words:
        if word.pieces:
            pieces = " AND ".join(quoted(p) for p in word.pieces)
            parts.append(f"({quoted(word.word)} OR ({pieces}))")
        else:
            parts.append(quoted(word.word))
    return " AND ".join(parts)


def tsquery(words: Iterable[QueryWord]) -> str:
    """The query as PostgreSQL ``tsquery`` input (lexemes taken as they are)."""

    def quoted(token: str) -> str:
        return "'" + token.replace("'", "''").replace("\\", "\\\\") + "'"

    parts = []
    for word in words:
        if word.pieces:
            pieces = " & ".join(quoted(p) for p in word.pieces)
            parts.append(f"({quoted(word.word)} | ({pieces}))")
        else:
            parts.append(quoted(word.word))
    return " & ".join(parts)


def snippet(text: str, words: Iterable[QueryWord], *, width: int = 120) -> str:
    """The segment's text around its first match, HTML-escaped, every occurrence of a
    query word (or piece) wrapped in ``<mark>``; at most about ``width`` characters, with
    ``…`` where it was cut. Safe to insert as HTML."""
    needles = sorted(
        {n for word in words for n in (word.word, *word.pieces) if n},
        key=len,
        reverse=True,
    )
    lowered = text.lower()
    spans: list[tuple[int, int]] = []
    for needle in needles:
        ascii_word = needle.isascii()
        start = lowered.find(needle)
        while start >= 0:
            end = start + len(needle)
            whole = not ascii_word or (
                (start == 0 or not lowered[start - 1].isalnum())
                and (end == len(lowered) or not lowered[end].isalnum())
            )
            if whole and not any(s < end and start < e for s, e in spans):
                spans.append((start, end))
            start = lowered.find(needle, start + 1)
    spans.sort()
    first = spans[0][0] if spans else 0
    begin = max(0, min(first - width // 3, len(text) - width))
    finish = min(len(text), begin + width)
    out = ["…"] if begin > 0 else []
    at = begin
    for start, end in spans:
        if end <= begin or start >= finish:
            continue
        start, end = max(start, begin), min(end, finish)
        out.append(html.escape(text[at:start]))
        out.append(f"<mark>{html.escape(text[start:end])}</mark>")
        at = end
    out.append(html.escape(text[at:finish]))
    if finish < len(text):
        out.append("…")
    return "".join(out)
