"""A stored analysis shaped for the call page: turns of words with their times and the
rule hits they carry, the hits as a list, the metrics as rows, the sentiment curve per
speaker for the chart.

Pure functions of the stored JSON (``qa_results.segments``, ``metrics``, ``analytics``:
docs/qa.md and docs/qa-analytics.md), so the page is tested without a browser and a result
of an older analysis (no analytics, no word timestamps) still renders: a segment without
words becomes one clickable word spanning the segment.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Languages written without spaces between words.
UNSPACED = ("zh", "ja")
#: The message keys of the metric rows (``qa.metric.<name>``).
METRIC_NAMES = (
    "talk",
    "talk_ratio",
    "speech_rate",
    "longest_silence",
    "overtalk",
    "overtalk_count",
    "agitation",
)
#: Agitation labels of ``analytics.agitation`` (``qa.prosody``).
AGITATION_LABELS = ("calm", "raised", "agitated")


@dataclass(frozen=True, slots=True)
class Word:
    start: float
    end: float
    text: str
    #: The rule category this word is part of a hit of, if any.
    hit: str | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    segment: int
    speaker: str
    start: float
    end: float
    words: tuple[Word, ...]


@dataclass(frozen=True, slots=True)
class Hit:
    category: str
    label: str
    speaker: str
    start: float
    end: float
    text: str
    keyword: str


@dataclass(frozen=True, slots=True)
class MetricRow:
    key: str  # message key of the row's label
    value: str
    speaker: str | None = None
    #: A message key shown before ``value`` (a label of a closed set, e.g. agitation's).
    value_key: str | None = None


def clock(seconds: float | None) -> str:
    """``83.4`` → ``01:23`` (hours when there are some): how times read on the page."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return "--:--"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def _number(value: Any, default: float = 0.0) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


def hits(analytics: Mapping[str, Any] | None) -> list[Hit]:
    """Every rule hit of the call, in time order."""
    found: list[Hit] = []
    for entry in (analytics or {}).get("categories") or []:
        if not isinstance(entry, dict):
            continue
        category = str(entry.get("category") or "")
        for hit in entry.get("hits") or []:
            if not isinstance(hit, dict):
                continue
            found.append(
                Hit(
                    category=category,
                    label=str(entry.get("label") or category),
                    speaker=str(entry.get("speaker") or ""),
                    start=_number(hit.get("start")),
                    end=_number(hit.get("end")),
                    text=str(hit.get("text") or ""),
                    keyword=str(hit.get("keyword") or ""),
                )
            )
    found.sort(key=lambda h: (h.start, h.category))
    return found


def _hit_spans(analytics: Mapping[str, Any] | None) -> dict[int, list[tuple[float, float, str]]]:
    spans: dict[int, list[tuple[float, float, str]]] = {}
    for entry in (analytics or {}).get("categories") or []:
        if not isinstance(entry, dict):
            continue
        for hit in entry.get("hits") or []:
            if isinstance(hit, dict) and isinstance(hit.get("segment"), int):
                spans.setdefault(hit["segment"], []).append(
                    (_number(hit.get("start")), _number(hit.get("end")), str(entry["category"]))
                )
    return spans


def turns(segments: Sequence[Any], analytics: Mapping[str, Any] | None = None) -> list[Turn]:
    """The transcript in time order, both speakers interleaved; words that lie inside a
    rule hit of their segment carry the hit's category."""
    spans = _hit_spans(analytics)
    shaped: list[Turn] = []
    for index, segment in enumerate(segments):
        if not isinstance(segment, dict):
            continue
        start, end = _number(segment.get("start")), _number(segment.get("end"))
        raw_words = [w for w in segment.get("words") or [] if isinstance(w, dict)]
        if not raw_words:
            raw_words = [{"start": start, "end": end, "text": segment.get("text") or ""}]
        words = []
        for raw in raw_words:
            text = str(raw.get("text") or "").strip()
            if not text:
                continue
            w_start = _number(raw.get("start"), start)
            w_end = _number(raw.get("end"), w_start)
            category = next(
                (c for s, e, c in spans.get(index, []) if w_start < e and w_end > s), None
            )
            words.append(Word(w_start, w_end, text, category))
        if words:
            speaker = str(segment.get("speaker") or "")
            shaped.append(Turn(index, speaker, start, end, tuple(words)))
    shaped.sort(key=lambda turn: (turn.start, turn.segment))
    return shaped


def joiner(language: str | None) -> str:
    """What goes between two words of a turn: nothing in Chinese, a space otherwise."""
    return "" if (language or "").split("-")[0] in UNSPACED else " "


def metric_rows(
    metrics: Mapping[str, Any] | None, analytics: Mapping[str, Any] | None
) -> list[MetricRow]:
    """The call's measurements, per speaker first, then for the whole call."""
    metrics = metrics or {}
    rows: list[MetricRow] = []
    for speaker in metrics.get("speakers") or []:
        if not isinstance(speaker, dict):
            continue
        name = str(speaker.get("speaker") or "")
        rows.append(MetricRow("qa.metric.talk", clock_seconds(speaker.get("talk_seconds")), name))
        ratio = _number(speaker.get("talk_ratio"))
        rows.append(MetricRow("qa.metric.talk_ratio", f"{ratio * 100:.0f} %", name))
        rate = speaker.get("speech_rate")
        if rate is not None:
            unit = str(speaker.get("rate_unit") or "")
            rows.append(MetricRow("qa.metric.speech_rate", f"{_number(rate):.0f} {unit}", name))
    if "longest_silence_seconds" in metrics:
        at = metrics.get("longest_silence_start")
        value = clock_seconds(metrics.get("longest_silence_seconds"))
        if at is not None:
            value += f" @ {clock(_number(at))}"
        rows.append(MetricRow("qa.metric.longest_silence", value))
    if "overtalk_seconds" in metrics:
        rows.append(MetricRow("qa.metric.overtalk", clock_seconds(metrics["overtalk_seconds"])))
        count = int(_number(metrics.get("overtalk_count")))
        rows.append(MetricRow("qa.metric.overtalk_count", str(count)))
    for speaker, found in ((analytics or {}).get("agitation") or {}).items():
        if isinstance(found, dict) and found.get("label"):
            score = _number(found.get("score"))
            label = f"qa.agitation.{found['label']}"
            rows.append(MetricRow("qa.metric.agitation", f"({score:.2f})", speaker, label))
    return rows


def clock_seconds(value: Any) -> str:
    """Seconds as ``12.3 s`` (a duration, not a moment)."""
    return f"{_number(value):.1f} s"


def sentiment_curve(analytics: Mapping[str, Any] | None) -> dict[str, list[list[float]]]:
    """Per speaker, ``[middle of the segment in seconds, score -1..1]`` in time order: what
    the chart draws, one line per speaker."""
    sentiment = (analytics or {}).get("sentiment") or {}
    curve = sentiment.get("curve") if isinstance(sentiment, dict) else None
    lines: dict[str, list[list[float]]] = {}
    for point in curve or []:
        if not isinstance(point, dict):
            continue
        start, end = _number(point.get("start")), _number(point.get("end"))
        middle = round((start + end) / 2, 2)
        score = round(max(-1.0, min(1.0, _number(point.get("score")))), 3)
        lines.setdefault(str(point.get("speaker") or ""), []).append([middle, score])
    for points in lines.values():
        points.sort()
    return lines


def sentiment_summary(analytics: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Per speaker: the labels at the start and the end of the call, and the overall score."""
    sentiment = (analytics or {}).get("sentiment") or {}
    summary: dict[str, dict[str, Any]] = {}
    if not isinstance(sentiment, dict):
        return summary
    for speaker, found in sentiment.items():
        if speaker == "curve" or not isinstance(found, dict):
            continue
        summary[speaker] = {
            "label_start": found.get("label_start"),
            "label_end": found.get("label_end"),
            "overall": _number(found.get("overall"), math.nan),
        }
    return summary
