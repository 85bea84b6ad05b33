"""Sentiment of what each speaker said: a score in -1..1 per segment, per speaker at the
start and the end of the call.

QA asks "was the customer more upset at the end than at the start?": the score of each
segment comes from a model behind the :class:`SentimentModel` interface (a customer may
plug in a better one they own). The default, :class:`CalibratedSentiment`, uses two
offline models that ship their data in their packages: ``snownlp`` for Chinese (a naive
Bayes over shopping reviews: it gives 0..1 and skews negative, a neutral "我想查询一下我的
订单" scores 0.16) and ``vaderSentiment`` for English (a lexicon: -1..1, and polite
requests come out positive because of "please", "help", "would like"). Both are mapped
onto one scale where ±:data:`LABEL_THRESHOLD` separates negative / neutral / positive,
through the raw values that bound "neutral" on our labelled call-center lines
(``tests/fixtures/qa/sentiment_*.tsv``), and nudged by a few call-center cue words that
the general models miss ("投诉", "还没到", "on hold", "third time"). The agreement on that
set is in docs/qa-analytics.md.

Per speaker, ``start`` and ``end`` are the duration-weighted means of that speaker's
segments within their first and last :data:`WINDOW_SECONDS` of talk (not of the call:
a customer who only speaks after a long menu still has a start), ``overall`` of all of them.
A speaker who talks less than three windows' worth gets windows of a third of their talk:
with 30 s windows over 40 s of talk, start and end would be mostly the same words, and a
complaint that ends calmer (the question QA asks) would read negative at both ends.

Pure code; the models load on first use (snownlp takes about 2 s, once per process).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

LABEL_THRESHOLD = 0.2
#: Seconds of a speaker's own talk that make "the start" and "the end".
WINDOW_SECONDS = 30.0
#: At most this share of a speaker's talk is "the start" (and as much "the end").
WINDOW_SHARE = 1 / 3
#: Raw scores bounding "neutral", chosen on tests/fixtures/qa/sentiment_*.tsv.
ZH_NEUTRAL = (0.02, 0.46)  # snownlp, 0..1
EN_NEUTRAL = (-0.05, 0.1)  # VADER compound, -1..1, after the polite words are dropped
CUE_WEIGHT = 0.4

_HANZI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTERS = re.compile(r"[A-Za-z]")
#: Words that make a request polite, not the caller happy (VADER scores them positive).
_POLITE_EN = re.compile(r"\b(?:please|help|would like|yes|okay|ok|sure)\b", re.IGNORECASE)
CUES_ZH = {
    "negative": (
        "投诉", "太差", "没到", "还没", "生气", "失望", "不满意", "欺骗", "过分", "没用", "坏了",
        "故障", "无法", "没办法", "恶劣", "难听", "莫名其妙", "再也不", "骗", "垃圾",
    ),
    "positive": (
        "谢谢", "感谢", "满意", "太好了", "很好", "专业", "愉快", "辛苦了", "解决了", "帮了",
    ),
}  # fmt: skip
CUES_EN = {
    "negative": (
        "nobody", "third time", "on hold", "twice", "lawyer", "waiting", "rude",
        "unacceptable", "ridiculous", "never", "waste", "angry", "sick of", "nothing works",
        "complaint", "disappointed", "unfortunately", "cannot", "broke",
    ),
    "positive": (
        "thank", "appreciate", "helpful", "excellent", "great", "wonderful", "perfect",
        "happy", "pleasure",
    ),
}  # fmt: skip


class SentimentModel(Protocol):
    """Text to a sentiment score."""

    def score(self, text: str, language: str | None) -> float:
        """-1 (negative) .. 1 (positive); 0 for text with nothing to judge."""
        ...


def label(score: float) -> str:
    if score < -LABEL_THRESHOLD:
        return "negative"
    if score > LABEL_THRESHOLD:
        return "positive"
    return "neutral"


def _piecewise(raw: float, points: Sequence[tuple[float, float]]) -> float:
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        if raw <= x1:
            return y0 + (y1 - y0) * (raw - x0) / (x1 - x0) if x1 > x0 else y1
    return points[-1][1]


def calibrate(raw: float, low: float, high: float, floor: float, ceiling: float) -> float:
    """A model's raw score on the common scale: ``low``..``high`` (neutral) onto
    -T..T, the rest of the model's range onto -1..-T and T..1."""
    t = LABEL_THRESHOLD
    return _piecewise(raw, [(floor, -1.0), (low, -t), (high, t), (ceiling, 1.0)])


@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

    return SentimentIntensityAnalyzer()


def _snownlp(text: str) -> float:
    from snownlp import SnowNLP  # type: ignore[import-untyped]

    return float(SnowNLP(text).sentiments)


def _cues(text: str, cues: Mapping[str, tuple[str, ...]], english: bool) -> float:
    lowered = text.lower()

    def count(cue: str) -> int:
        """+1 for the cue, -1 for it negated (不满意, 没解决), 0 when absent."""
        if english:
            return 1 if re.search(r"\b" + re.escape(cue), lowered) else 0
        at = text.find(cue)
        if at < 0:
            return 0
        return -1 if at > 0 and text[at - 1] in "不没" else 1

    negative = sum(count(cue) for cue in cues["negative"])
    positive = sum(count(cue) for cue in cues["positive"])
    return CUE_WEIGHT * (positive - negative)


@dataclass(frozen=True, slots=True)
class CalibratedSentiment:
    """snownlp for text in Chinese characters, VADER otherwise (per segment, by its
    script: a Mandarin call's English words are judged in English), calibrated."""

    cues: bool = True

    def raw(self, text: str) -> tuple[str, float] | None:
        """The model used and its own score, or None for text with nothing to judge."""
        if _HANZI.search(text):
            return "snownlp", _snownlp(text)
        if _LETTERS.search(text):
            return "vader", float(_vader().polarity_scores(_POLITE_EN.sub(" ", text))["compound"])
        return None

    def score(self, text: str, language: str | None = None) -> float:
        found = self.raw(text)
        if found is None:
            return 0.0
        model, raw = found
        if model == "snownlp":
            value = calibrate(raw, *ZH_NEUTRAL, 0.0, 1.0)
            nudge = _cues(text, CUES_ZH, english=False) if self.cues else 0.0
        else:
            value = calibrate(raw, *EN_NEUTRAL, -1.0, 1.0)
            nudge = _cues(text, CUES_EN, english=True) if self.cues else 0.0
        return round(max(-1.0, min(1.0, value + nudge)), 3)


def _weighted(points: Sequence[tuple[float, float]]) -> float:
    """Mean of (score, weight) pairs."""
    total = sum(weight for _, weight in points)
    if total <= 0:
        return round(sum(score for score, _ in points) / len(points), 3)
    return round(sum(score * weight for score, weight in points) / total, 3)


def _window(
    segments: Sequence[tuple[float, float, float]], seconds: float
) -> list[tuple[float, float]]:
    """(score, duration) of the segments within the first ``seconds`` of their talk
    (the first segment always)."""
    out: list[tuple[float, float]] = []
    talked = 0.0
    for start, end, score in segments:
        if out and talked >= seconds:
            break
        duration = max(0.0, end - start)
        out.append((score, duration))
        talked += duration
    return out


def judgeable(text: str) -> bool:
    """Whether a segment has words to judge: two Chinese characters or two English words
    ("嗯", "ok" and "..." have none)."""
    return len(_HANZI.findall(text)) >= 2 or len(re.findall(r"[A-Za-z]+", text)) >= 2


def call_sentiment(
    segments: Sequence[Mapping[str, Any]],
    language: str | None,
    model: SentimentModel | None = None,
) -> dict[str, Any]:
    """``analytics["sentiment"]`` of a call's segments (speaker, start, end, text): per
    speaker start/end/overall scores and labels, and the per-segment ``curve``. Segments
    without words to judge ("嗯", "...") are left out of both."""
    model = model or CalibratedSentiment()
    curve: list[dict[str, Any]] = []
    by_speaker: dict[str, list[tuple[float, float, float]]] = {}
    for segment in segments:
        text = str(segment.get("text") or "").strip()
        if not judgeable(text):
            continue
        speaker = str(segment.get("speaker") or "")
        start = float(segment.get("start") or 0.0)
        end = float(segment.get("end") or start)
        score = model.score(text, language)
        curve.append({"speaker": speaker, "start": start, "end": end, "score": score})
        by_speaker.setdefault(speaker, []).append((start, end, score))
    out: dict[str, Any] = {}
    for speaker, said in by_speaker.items():
        said.sort()
        talk = sum(max(0.0, end - start) for start, end, _ in said)
        window = min(WINDOW_SECONDS, talk * WINDOW_SHARE)
        start_score = _weighted(_window(said, window))
        end_score = _weighted(_window(said[::-1], window))
        out[speaker] = {
            "start": start_score,
            "end": end_score,
            "overall": _weighted([(score, max(0.0, e - s)) for s, e, score in said]),
            "label_start": label(start_score),
            "label_end": label(end_score),
        }
    curve.sort(key=lambda point: (point["start"], point["speaker"]))
    out["curve"] = curve
    return out
