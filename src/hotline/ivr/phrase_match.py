"""Match a transcribed answer to a speech menu's phrases, on sounds rather than spelling.

A speech-to-text model writes what it heard, not what the menu says: Whisper's Mandarin
errors are mostly homophones (注销 comes out 助效, 投诉 头速: shared/SPEECH.md), and callers
wrap the option in words of their own ("我要投诉", "帮我查一下订单"). So both sides are
turned into *tokens* that stand for sounds: Han characters into tone-less pinyin syllables
(``pypinyin``; tones are what Whisper gets wrong most and what callers' accents change),
Latin words into lower-case words, digits into the syllables a Mandarin caller says for
them. A phrase then matches where it is closest to a stretch of the answer, by edit
distance over tokens:

- substituting a syllable for another costs 0 when they sound the same without tone,
  0.25 when they differ only by a common confusion (z/zh/j, c/ch/q, s/sh/x, n/l, f/h,
  an/ang, en/eng, in/ing, iu/ou), 0.6 when they share their initial or their final
  (after those confusions), 1 otherwise; Latin words
  cost their letter edit distance over their length;
- a phrase token missing from the answer costs 1, an answer token inserted inside the
  matched stretch 0.5 ("查询一下订单" still reads as 查询订单), and words before or after
  the stretch cost nothing.

The score is ``1 - distance / len(phrase)`` (1.0: the phrase is heard exactly). The best
phrase wins if it reaches the threshold; a tie goes to the phrase that covers more tokens
(an alias "售后服务" over "售后"). Below the threshold the answer is off the menu: the
flow's no-match path, never a forced choice.

Pure code: no model, no audio. Known limits: negation is not understood ("我不要投诉"
matches 投诉), and a phrase of one syllable is matched by that syllable anywhere in a
long answer; prefer phrases of two syllables or more.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

#: What an answer must score to be taken as a phrase; see bench/ivr/zh_speech.py.
DEFAULT_THRESHOLD = 0.75

#: Cost of an answer token inside the matched stretch that the phrase does not have.
INSERTION_COST = 0.5

_HAN_OR_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z']+|[0-9]")
_DIGITS = ("ling", "yi", "er", "san", "si", "wu", "liu", "qi", "ba", "jiu")
# Longest first, so that "zh" is taken before "z".
_INITIALS = (
    "zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h",
    "j", "q", "x", "r", "z", "c", "s", "y", "w",
)  # fmt: skip
# The three sibilant series (dental z c s, retroflex zh ch sh, palatal j q x) are told
# apart mostly by energy above 4 kHz, which a phone line cuts off: Whisper at 8 kHz wrote
# 售 (shou) as 秀 (xiu). Accents merge z/zh, n/l, f/h, and -n/-ng.
_INITIAL_CONFUSIONS = {
    "zh": "z", "j": "z", "ch": "c", "q": "c", "sh": "s", "x": "s",
    "n": "l", "f": "h", "r": "l",
}  # fmt: skip
_FINAL_CONFUSIONS = {
    "ang": "an", "eng": "en", "ing": "in", "iang": "ian", "uang": "uan",
    "iu": "ou",  # iu is written for iou: the medial i is what a phone line blurs
}  # fmt: skip


class PhraseError(ValueError):
    """A phrase that cannot be listened for (no sounds in it, or one sounding as another)."""


@dataclass(frozen=True, slots=True)
class Match:
    """The phrase an answer matched best (None: none reached the threshold), its score,
    and the tokens both were compared as (for logs and the bench)."""

    phrase: str | None
    score: float
    heard: tuple[str, ...]


def tokens(text: str, *, chinese: bool = True) -> tuple[str, ...]:
    """The sound tokens of a text: tone-less pinyin per Han character, Latin words in
    lower case, and each digit as its Mandarin syllable (``chinese``) or as itself."""
    from pypinyin import Style, lazy_pinyin

    out: list[str] = []
    for piece in _HAN_OR_WORD.findall(text.lower()):
        if piece.isdigit():
            out.append(_DIGITS[int(piece)] if chinese else piece)
        elif piece[0].isascii():
            out.append(piece)
        else:
            out.extend(lazy_pinyin(piece, style=Style.NORMAL, v_to_u=False))
    return tuple(out)


def check_phrases(phrases: Sequence[str], *, chinese: bool = True) -> None:
    """Raise PhraseError for a phrase with nothing to hear in it, or two phrases that
    sound alike (the matcher could never tell them apart)."""
    seen: dict[tuple[str, ...], str] = {}
    for phrase in phrases:
        sounds = tokens(phrase, chinese=chinese)
        if not sounds:
            raise PhraseError(f"phrase {phrase!r}: no words or Chinese characters in it")
        other = seen.get(sounds)
        if other is not None:
            raise PhraseError(
                f"phrases {other!r} and {phrase!r} sound the same ({' '.join(sounds)})"
            )
        seen[sounds] = phrase


def match(
    answer: str,
    phrases: Sequence[str],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    chinese: bool = True,
) -> Match:
    """The phrase the answer says, or None if no phrase scores ``threshold`` or more."""
    heard = tokens(answer, chinese=chinese)
    best: tuple[float, int, str] | None = None
    for phrase in phrases:
        wanted = tokens(phrase, chinese=chinese)
        if not wanted or not heard:
            continue
        score = max(0.0, 1.0 - _distance(wanted, heard, chinese) / len(wanted))
        candidate = (round(score, 6), len(wanted), phrase)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    if best is None:
        return Match(None, 0.0, heard)
    score, _, phrase = best
    return Match(phrase if score >= threshold else None, score, heard)


def _distance(wanted: tuple[str, ...], heard: tuple[str, ...], chinese: bool) -> float:
    """Edit distance of ``wanted`` to its closest stretch of ``heard`` (free before and
    after the stretch: a semi-global alignment)."""
    previous = [0.0] * (len(heard) + 1)  # the empty phrase matches anywhere for free
    for i, token in enumerate(wanted, start=1):
        current = [float(i)] + [0.0] * len(heard)
        for j, other in enumerate(heard, start=1):
            current[j] = min(
                previous[j - 1] + substitution_cost(token, other, chinese),
                previous[j] + 1.0,  # the phrase's token is not in the answer
                current[j - 1] + INSERTION_COST,  # an extra answer token inside the stretch
            )
        previous = current
    return min(previous)


@lru_cache(maxsize=4096)
def substitution_cost(a: str, b: str, chinese: bool = True) -> float:
    """How different two tokens sound, 0 (the same) to 1; in an English menu (``chinese``
    false) every token is a word, compared by spelling."""
    if a == b:
        return 0.0
    split_a, split_b = (_syllable(a), _syllable(b)) if chinese else (None, None)
    if split_a is None or split_b is None:
        return min(1.0, _levenshtein(a, b) / max(len(a), len(b)))
    (initial_a, final_a), (initial_b, final_b) = split_a, split_b
    same_initial = _INITIAL_CONFUSIONS.get(initial_a, initial_a) == _INITIAL_CONFUSIONS.get(
        initial_b, initial_b
    )
    same_final = _FINAL_CONFUSIONS.get(final_a, final_a) == _FINAL_CONFUSIONS.get(final_b, final_b)
    if same_initial and same_final:
        return 0.25
    if same_initial or same_final:
        return 0.6
    return 1.0


def _syllable(token: str) -> tuple[str, str] | None:
    """(initial, final) of a pinyin syllable; None for a token that is not one (an English
    word: compared by spelling instead)."""
    if not token.isalpha() or not token.isascii() or len(token) > 6:
        return None
    initial = next((i for i in _INITIALS if token.startswith(i)), "")
    final = token[len(initial) :]
    if not final or final not in _FINALS:
        return None
    return initial, final


# Every pinyin final (after the initial, with y/w counted as initials; ü written v).
_FINALS = frozenset(
    """a o e i u v ai ei ui ao ou iu ie ve er an en in un vn ang eng ing ong
    ia iao ian iang iong ua uo uai uan uang ue uen ueng van""".split()  # noqa: SIM905
)


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            current[j] = min(
                previous[j - 1] + (char_a != char_b), previous[j] + 1, current[j - 1] + 1
            )
        previous = current
    return previous[-1]
