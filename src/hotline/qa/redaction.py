"""Personal data in transcripts: found, replaced by its kind, and beeped in the audio.

A call-center transcript is full of what a caller reads out to prove who they are: a
mobile number, an ID card number, a bank card number, an e-mail address. The stored
transcript (and so search and the QA console) must not show them to everyone, so every
segment is redacted before it is stored: the number becomes ``[mobile]``, ``[id_card]``,
``[bank_card]`` or ``[email]`` in the segment's text and in the words that carried it, the
times stay, and where it was said is listed (kind, speaker, segment, start, end) so the
API can serve a beeped copy of the audio (:func:`beep_spans`) to roles without
``recordings:unredacted``.

Numbers are only taken for what they are when they are one: 11 digits starting 1[3-9] for
a mainland mobile (``+86``/``86`` in front allowed), 18 characters whose ISO 7064
mod 11-2 check character is right for an ID card, 13 to 19 digits that pass Luhn for a
bank card, a North American number (grouped 3-3-4) for an English caller's phone. Whisper
writes numbers as digits, grouped with spaces, dashes or commas, in Chinese numerals
(一三八..., 幺 for one, 两 for two) or as English words ("four one five"): all of these
are one digit run here. A run that is none of these is left alone (a date, an order
number), unless it is long and comes right after a word such as "card" or 手机号, or
answers the other speaker's question for one: then it is a number whose digits the
recogniser got wrong, and becomes ``[number]``.

Pure code: no store, no I/O.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

KINDS = ("mobile", "id_card", "bank_card", "email", "number")

#: A long number that fails every check is still redacted (as ``[number]``) when a word
#: just before it says what is being read out: speech recognition drops or doubles a digit
#: of a number said digit by digit often enough (the labelled set: 139647378 for an
#: 11-digit mobile, 212-555-04060 for a 10-digit one) that the checksums alone let most
#: of them through. Over-redacting an order number read after "card" costs less than a
#: leaked card number.
MIN_CUED_DIGITS = 7
CUE_WINDOW = 24  # characters before the number
#: A caller's bare answer ("6222 0212 ...") carries no cue word of its own: the question
#: was the agent's ("your card number, please?"). A segment is cued by a segment of the
#: other speaker with a cue word among its last characters that ended shortly before it
#: (or started before it ended: one speaker's segment may run on over the other's turn).
QUESTION_WINDOW = 40  # characters at the end of the other speaker's segment
QUESTION_GAP = 15.0  # seconds from the end of the question to the answer
_CUE = re.compile(
    r"(?i:\b(?:phone|mobile|cell|card|account|number|identity|id|social security)\b)"
    r"|手机|电话|号码|卡号|银行卡|身份证|证件|账号|账户"
)

#: What a digit may be written as: ASCII, full-width, Chinese numerals as Whisper writes
#: them when a caller reads a number out (幺 is "one" on the phone, 两 "two").
CHINESE_NUMERALS: Mapping[str, str] = {
    **dict(zip("零〇一二三四五六七八九", "00123456789", strict=True)),
    "幺": "1",
    "两": "2",
}
DIGITS: Mapping[str, str] = {
    **{str(d): str(d) for d in range(10)},
    **{chr(0xFF10 + d): str(d) for d in range(10)},  # full-width digits
    **CHINESE_NUMERALS,
}
#: Digits read out in English, as Whisper writes them when it does not turn them into
#: figures ("four one five, five five five ..."); "oh" is zero on the phone.
ENGLISH_DIGITS: Mapping[str, str] = {
    **dict(
        zip(
            ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
            "0123456789",
            strict=True,
        )
    ),
    "oh": "0",
}
_REPEAT = {"double": 2, "triple": 3}
#: One digit: a figure or numeral, or an English digit word (with "double"/"triple" in
#: front, as people read "double five").
_DIGIT_TOKEN = re.compile(
    r"(?i:\b(?:(?P<repeat>double|triple)\s+)?(?P<word>"
    + "|".join(ENGLISH_DIGITS)
    + r")\b)|(?P<char>["
    + "".join(DIGITS)
    + "])"
)
#: Between two digits of one number: spaces, dashes, commas or a full stop (Whisper
#: punctuates a number read out in groups: "138, 1234, 5678." or "4-1-5"), a few of them.
SEPARATORS = frozenset(" \u3000-\u2010\u2011\u2012\u2013\u2014\u2212,，、.。()")
MAX_SEPARATORS = 3

_EMAIL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
#: An address read out, as English Whisper writes it: "john dot smith at example dot com",
#: "john.smith at example.com", "john smith at example.com".
_SPOKEN_DOT = r"(?:\s+dot\s+|\.)"
_SPOKEN_EMAIL = re.compile(
    r"\b[a-z0-9]+(?:(?:\s+(?:dot|underscore|dash)\s+|[._-])[a-z0-9]+)*\s+(?:at|@)\s+[a-z0-9-]+"
    rf"(?:{_SPOKEN_DOT}[a-z0-9-]+)*{_SPOKEN_DOT}(?:com|net|org|cn|edu|gov|io|co|uk|de)\b",
    re.IGNORECASE,
)
#: An address whose " at " the recogniser glued to its neighbours ("sarah.jonesatexample.com"):
#: taken only with a separator in the part before it and not a web address (www.greatdeals.com).
_GLUED_EMAIL = re.compile(
    r"\b(?!www\.)(?P<local>[a-z0-9]+(?:[._-][a-z0-9]+)+)at(?P<domain>[a-z0-9-]+"
    r"(?:\.[a-z0-9-]+)*\.(?:com|net|org|cn|edu|gov|io|co|uk|de))\b",
    re.IGNORECASE,
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


@dataclass(frozen=True, slots=True)
class Found:
    """One piece of personal data in a text: ``text[start:end]``, of ``kind``; ``value``
    is its normal form (digits only, or the address lower-cased)."""

    kind: str
    start: int
    end: int
    value: str


def id_card_check(first17: str) -> str:
    """The ISO 7064 mod 11-2 check character of an 18-character ID number (GB 11643)."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def valid_id_card(value: str) -> bool:
    if len(value) != 18 or not value[:17].isdigit():
        return False
    return value[17].upper() == id_card_check(value[:17])


def luhn_valid(digits: str) -> bool:
    if not digits.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        d = int(char)
        if index % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _mobile(digits: str) -> bool:
    return len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789"


#: How a North American number is grouped when written in figures: 4155551234,
#: 415-555-1234, (415) 555-1234, 1-415-555-1234. Read out digit by digit (groups of one)
#: counts too. A date and time (2026-12-07 10:30) has ten digits but not these groups.
_NORTH_AMERICAN_GROUPS = ((10,), (3, 3, 4), (3, 7), (6, 4), (1, 10), (1, 3, 3, 4))


def _north_american(digits: str, groups: Sequence[int]) -> bool:
    """A number of the North American plan (NXX-NXX-XXXX, ``1`` in front when grouped
    so): an English-speaking caller's phone number, mobile or not (the plan does not tell).
    """
    if tuple(groups) not in _NORTH_AMERICAN_GROUPS and max(groups) > 1:
        return False
    if len(digits) == 11 and digits[0] == "1" and (groups[0] == 1):
        digits = digits[1:]
    return len(digits) == 10 and digits[0] in "23456789" and digits[3] in "23456789"


def classify_number(value: str, groups: Sequence[int] | None = None) -> str | None:
    """What a run of digits (``X`` allowed last) is, or None; ``groups`` are the lengths of
    its parts as written (one part when not given)."""
    if valid_id_card(value):
        return "id_card"
    if not value.isdigit():
        return None
    if _mobile(value):
        return "mobile"
    for prefix in ("0086", "86"):
        if value.startswith(prefix) and _mobile(value[len(prefix) :]):
            return "mobile"
    if 13 <= len(value) <= 19 and luhn_valid(value):
        return "bank_card"
    if _north_american(value, groups or (len(value),)):
        return "mobile"
    return None


def _digit_tokens(text: str) -> Iterable[tuple[int, int, str, bool]]:
    """(start, end, digits, numeral) of each digit in ``text``: a figure, a Chinese numeral
    (``numeral`` true) or an English digit word ("double five" is ``"55"``)."""
    for match in _DIGIT_TOKEN.finditer(text):
        char = match.group("char")
        if char is not None:
            yield match.start(), match.end(), DIGITS[char], char in CHINESE_NUMERALS
            continue
        digit = ENGLISH_DIGITS[match.group("word").lower()]
        repeat = _REPEAT.get((match.group("repeat") or "").lower(), 1)
        yield match.start(), match.end(), digit * repeat, False


def _digit_runs(text: str) -> Iterable[tuple[int, int, str, list[int]]]:
    """(start, end, digits, groups) of each run of digits in ``text``, separators allowed between
    them, an ID card's final X kept; a leading ``+`` or ``(`` is part of the run."""
    run: list[tuple[int, int, str, bool]] = []
    for token in [*_digit_tokens(text), None]:
        if token is not None and run:
            gap = text[run[-1][1] : token[0]]
            if len(gap) <= MAX_SEPARATORS and all(c in SEPARATORS for c in gap):
                run.append(token)
                continue
        if run:
            yield from _run(text, run)
        run = [token] if token is not None else []


def _run(
    text: str, tokens: Sequence[tuple[int, int, str, bool]]
) -> Iterable[tuple[int, int, str, list[int]]]:
    """The run of ``tokens``, with the lengths of its groups (digits not parted by a
    separator), unless it is a few Chinese numerals that are words."""
    start, end = tokens[0][0], tokens[-1][1]
    digits = "".join(token[2] for token in tokens)
    # Figures written together are one group; each digit said ("double five" too) or
    # written as a Chinese numeral is a group of its own.
    groups: list[int] = []
    previous_end = -1
    for token_start, token_end, said, _ in tokens:
        figure = not text[token_start].isalpha()
        if figure and previous_end == token_start:
            groups[-1] += 1
        else:
            groups.extend([1] * len(said))
        previous_end = token_end
    if end < len(text) and text[end] in "xX" and len(digits) == 17:
        digits += "X"
        end += 1
    if start > 0 and text[start - 1] in "+(":
        start -= 1
    # A run of Chinese numerals alone counts only as long as a mobile number: 一个,
    # 一下, 三四天 are words, not digits.
    if all(token[3] for token in tokens) and len(digits) < 11:
        return
    yield start, end, digits, groups


def find_pii(text: str, *, cued: bool = False) -> list[Found]:
    """Every mobile, ID card, bank card number and e-mail address in ``text``, in order;
    ``cued``: the text answers a question for a number (every long run is one)."""
    found: list[Found] = []
    for match in _EMAIL.finditer(text):
        found.append(Found("email", match.start(), match.end(), match.group().lower()))
    for match in _SPOKEN_EMAIL.finditer(text):
        if not any(f.start < match.end() and match.start() < f.end for f in found):
            value = re.sub(r"\s+", " ", match.group().lower())
            found.append(Found("email", match.start(), match.end(), value))
    for match in _GLUED_EMAIL.finditer(text):
        if not any(f.start < match.end() and match.start() < f.end for f in found):
            value = f"{match.group('local')}@{match.group('domain')}".lower()
            found.append(Found("email", match.start(), match.end(), value))
    for start, end, digits, groups in _digit_runs(text):
        if any(f.start < end and start < f.end for f in found):
            continue  # digits inside an address
        kind = classify_number(digits, groups)
        if kind is None and _cued(text, start, digits, cued):
            kind = "number"
        if kind is not None:
            found.append(Found(kind, start, end, digits.upper()))
    found.sort(key=lambda f: f.start)
    return found


def _cued(text: str, start: int, digits: str, asked: bool) -> bool:
    """Whether a run of ``digits`` at ``start`` is long and read out after a cue word (or
    in answer to a question for a number)."""
    return len(digits) >= MIN_CUED_DIGITS and (
        asked or bool(_CUE.search(text[max(0, start - CUE_WINDOW) : start]))
    )


def asks_for_a_number(text: str) -> bool:
    """Whether a segment ends asking for a number ("... your card number, please?")."""
    return bool(_CUE.search(text[-QUESTION_WINDOW:]))


def redact_text(text: str, found: Sequence[Found] | None = None) -> str:
    """``text`` with each piece of personal data replaced by ``[kind]``."""
    found = find_pii(text) if found is None else found
    out, at = [], 0
    for item in sorted(found, key=lambda f: f.start):
        out.append(text[at : item.start])
        out.append(f"[{item.kind}]")
        at = item.end
    out.append(text[at:])
    return "".join(out)


def _redact_words(
    words: list[dict[str, Any]], cued: bool = False
) -> list[tuple[Found, float, float]]:
    """Redact personal data found in the words' joined text, in place; returns what was
    found with the times of the words that carried it."""
    texts = [str(word.get("text") or "") for word in words]
    offsets, at = [], 0
    for text in texts:
        offsets.append(at)
        at += len(text)
    joined = "".join(texts)
    found = find_pii(joined, cued=cued)
    timed: list[tuple[Found, float, float]] = []
    for item in found:
        covered = [
            index
            for index, offset in enumerate(offsets)
            if offset < item.end and item.start < offset + len(texts[index])
        ]
        if not covered:
            continue
        first, last = covered[0], covered[-1]
        head = texts[first][: max(0, item.start - offsets[first])]
        tail = texts[last][max(0, item.end - offsets[last]) :]
        for index in covered:
            words[index]["text"] = ""
        # A word's leading space is kept, so that an English transcript still reads right.
        words[first]["text"] = head + f"[{item.kind}]" + (tail if first == last else "")
        if last != first:
            words[last]["text"] = tail
        timed.append(
            (item, float(words[first].get("start", 0.0)), float(words[last].get("end", 0.0)))
        )
    return timed


def redact_segments(
    segments: Sequence[Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Redacted copies of ``segments`` (as ``Analysis.segments()`` gives them: speaker,
    start, end, text, words) and where personal data was: ``{"kind", "speaker",
    "segment" (index in ``segments``), "start", "end"}`` for each piece, timed by the words
    that carried it (the segment's times when it has no words). The input is left alone.

    A long number in a segment that answers the other speaker's question for one
    (:func:`asks_for_a_number`, ended at most ``QUESTION_GAP`` s before) is redacted even
    when it fails every check."""
    redacted: list[dict[str, Any]] = []
    spans: list[dict[str, Any]] = []
    # (speaker, start, end) of each question for a number. An answer may start before the
    # question does: a segment of one speaker runs on over the other's turn.
    questions = [
        (str(s.get("speaker") or ""), _start(s), _end(s))
        for s in segments
        if asks_for_a_number(str(s.get("text") or ""))
    ]
    for index, segment in enumerate(segments):
        copied = copy.deepcopy(dict(segment))
        text = str(copied.get("text") or "")
        speaker = str(copied.get("speaker") or "")
        seg_start, seg_end = _start(copied), _end(copied)
        asked = any(
            other != speaker and start < seg_end and seg_start - end <= QUESTION_GAP
            for other, start, end in questions
        )
        in_text = find_pii(text, cued=asked)
        copied["text"] = redact_text(text, in_text)
        words = [dict(word) for word in copied.get("words") or []]
        in_words = _redact_words(words, asked)
        copied["words"] = words
        redacted.append(copied)
        unmatched = list(in_words)
        for item in in_text:
            timed = next(
                (t for t in unmatched if t[0].kind == item.kind and t[0].value == item.value),
                None,
            )
            if timed is not None:
                unmatched.remove(timed)
                start, end = timed[1], timed[2]
            else:
                start, end = seg_start, seg_end
            spans.append(_span(item.kind, speaker, index, start, end))
        # Found in the words only (the segment's text was written differently).
        for item, start, end in unmatched:
            spans.append(_span(item.kind, speaker, index, start, end))
    return redacted, spans


def _start(segment: Mapping[str, Any]) -> float:
    return float(segment.get("start") or 0.0)


def _end(segment: Mapping[str, Any]) -> float:
    return float(segment.get("end") or _start(segment))


def _span(kind: str, speaker: str, segment: int, start: float, end: float) -> dict[str, Any]:
    return {
        "kind": kind,
        "speaker": speaker,
        "segment": segment,
        "start": round(start, 3),
        "end": round(max(start, end), 3),
    }


BEEP_HZ = 1000.0
BEEP_LEVEL = 0.3  # of full scale: clearly a beep, not a blast
#: Audio around each span also beeped: word timestamps are a little early or late.
BEEP_MARGIN = 0.1


def beep_spans(
    samples: npt.NDArray[Any],
    rate: int,
    spans: Iterable[Mapping[str, Any]],
    speakers: Sequence[str] = ("customer", "agent"),
) -> npt.NDArray[Any]:
    """A copy of ``samples`` with a 1 kHz tone in place of the audio of each span.

    ``samples`` is one channel (1-D) or frames x channels (2-D, channel ``i`` is
    ``speakers[i]``: customer left, agent right as the node records); a span is beeped
    on its speaker's channel only, or on every channel of a mono recording or when its
    speaker has no channel. Integer samples get the tone at the same share of their full
    scale as float ones."""
    if rate <= 0:
        raise ValueError(f"sample rate must be positive ({rate})")
    out = samples.copy()
    integer = np.issubdtype(out.dtype, np.integer)
    full_scale = float(np.iinfo(out.dtype).max) if integer else 1.0
    frames = out.shape[0]
    for span in spans:
        start = max(0, math.floor((float(span["start"]) - BEEP_MARGIN) * rate))
        end = min(frames, math.ceil((float(span["end"]) + BEEP_MARGIN) * rate))
        if end <= start:
            continue
        t = np.arange(start, end) / rate
        tone = (np.sin(2 * np.pi * BEEP_HZ * t) * BEEP_LEVEL * full_scale).astype(out.dtype)
        speaker = span.get("speaker")
        if out.ndim == 1:
            out[start:end] = tone
        elif speaker in speakers and speakers.index(str(speaker)) < out.shape[1]:
            out[start:end, speakers.index(str(speaker))] = tone
        else:
            out[start:end, :] = tone[:, None]
    return out
