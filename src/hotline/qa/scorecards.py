"""Automatic QA scorecards: a call's analysis measured against a scorecard's items.

A QA team grades calls on a few questions ("greeting within 10 s", "no dead air over
20 s", "no forbidden words", "customer not more upset at the end"). Each item here is one
such question tied to something the analysis stores (``qa_results``: rule categories and
sentiment in ``analytics``, talk and silence in ``metrics``), so that every analysed call
is graded the same way, with the reason and the moment in the call that proves it; a
reviewer then only looks at what the machine could not judge.

Pure code: a scorecard's items are parsed and checked here (:func:`parse_items`, whose
errors name the item and field at fault, for the API and the admin form alike), and
:func:`score` grades one result. Nothing here reads the store or the clock.

Items:

``category_present`` / ``category_absent``
    a rule category (``analytics["categories"]``) hit or not, optionally by ``speaker``
    and ``within`` the first (``{"first": 10}``) or last (``{"last": 30}``) seconds.
``metric``
    a number of ``metrics`` between ``min`` and ``max`` (either may be missing):
    ``longest_silence_seconds``, ``silence_seconds``, ``overtalk_seconds``,
    ``overtalk_count``, ``duration_seconds``, or per ``speaker`` ``talk_seconds``,
    ``talk_ratio``, ``speech_rate``.
``sentiment``
    ``end_not_worse`` (the speaker's sentiment at the end is not below the start, by more
    than ``tolerance``) or ``end_not_negative`` (the end is not labelled negative).

The total is the weighted share of the applicable items that passed, 0..100; an item
that cannot be judged (no sentiment in an old analysis, a speaker who never talked) is
``not_applicable`` and leaves the total alone. A failed ``critical`` item (forbidden
words) makes the total 0. No applicable item at all: the total is ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Outcome = Literal["passed", "failed", "not_applicable"]

KINDS = ("category_present", "category_absent", "metric", "sentiment")
SPEAKERS = ("agent", "customer", "speaker")
#: Call-wide numbers of ``metrics`` (``hotline.qa.metrics.CallMetrics``).
CALL_METRICS = (
    "longest_silence_seconds",
    "silence_seconds",
    "overtalk_seconds",
    "overtalk_count",
    "duration_seconds",
)
#: Numbers of ``metrics["speakers"][i]``: need a ``speaker``.
SPEAKER_METRICS = ("talk_seconds", "talk_ratio", "speech_rate")
SENTIMENT_CONDITIONS = ("end_not_worse", "end_not_negative")
#: Sentiment scores are -1..1 (``qa/sentiment.py``); an end lower than the start by less
#: than this is "not worse".
DEFAULT_TOLERANCE = 0.05
MAX_ITEMS = 50


class ScorecardError(ValueError):
    """A scorecard item that cannot be scored; ``path`` names it (``items.2.max``)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


@dataclass(frozen=True, slots=True)
class Item:
    key: str
    label: str
    kind: str
    weight: float = 1.0
    critical: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "kind": self.kind,
            "weight": self.weight,
            "critical": self.critical,
            "params": dict(self.params),
        }


@dataclass(frozen=True, slots=True)
class Scorecard:
    name: str
    items: tuple[Item, ...]
    id: int | None = None
    active: bool = True
    #: Queue ids it applies to; ``None``: every call, queued or not.
    queue_ids: frozenset[int] | None = None

    def applies_to(self, queue_id: int | None) -> bool:
        return self.active and (self.queue_ids is None or queue_id in self.queue_ids)


@dataclass(frozen=True, slots=True)
class CallFindings:
    """What :func:`score` reads of a ``qa_results`` row."""

    metrics: Mapping[str, Any]
    analytics: Mapping[str, Any]
    language: str | None = None

    @property
    def duration(self) -> float | None:
        value = self.metrics.get("duration_seconds")
        return float(value) if isinstance(value, int | float) else None


@dataclass(frozen=True, slots=True)
class ItemScore:
    key: str
    label: str
    kind: str
    outcome: Outcome
    #: Why, in words a reviewer can check ("agent said '您好' at 00:03").
    why: str
    weight: float
    critical: bool = False
    #: Seconds into the call of the evidence (the hit, the silence), when there is one.
    moment: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ScoreSheet:
    items: tuple[ItemScore, ...]
    #: 0..100, or None when no item could be judged.
    total: float | None
    critical_failed: bool = False

    def items_json(self) -> list[dict[str, Any]]:
        return [item.to_dict() for item in self.items]


# -- parsing ----------------------------------------------------------------------------


def parse_items(raw: object) -> tuple[Item, ...]:
    """Items from their JSON form (the API body, the admin form, the stored column)."""
    if not isinstance(raw, list):
        raise ScorecardError("items", "must be a list")
    if not raw:
        raise ScorecardError("items", "a scorecard needs at least one item")
    if len(raw) > MAX_ITEMS:
        raise ScorecardError("items", f"at most {MAX_ITEMS} items")
    items = tuple(_parse_item(f"items.{n}", value) for n, value in enumerate(raw))
    seen: set[str] = set()
    for n, item in enumerate(items):
        if item.key in seen:
            raise ScorecardError(f"items.{n}.key", f"duplicate key {item.key!r}")
        seen.add(item.key)
    return items


def _parse_item(path: str, raw: object) -> Item:
    if not isinstance(raw, Mapping):
        raise ScorecardError(path, "must be an object")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ScorecardError(f"{path}.kind", f"must be one of {', '.join(KINDS)}")
    key = _text(raw.get("key"), f"{path}.key", 64)
    label = _text(raw.get("label") or key, f"{path}.label", 200)
    weight = raw.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, int | float):
        raise ScorecardError(f"{path}.weight", "must be a number")
    if not math.isfinite(weight) or not 0 <= weight <= 100:
        raise ScorecardError(f"{path}.weight", "must be between 0 and 100")
    critical = raw.get("critical", False)
    if not isinstance(critical, bool):
        raise ScorecardError(f"{path}.critical", "must be true or false")
    params = raw.get("params", {})
    if not isinstance(params, Mapping):
        raise ScorecardError(f"{path}.params", "must be an object")
    checked = _PARAMS[kind](f"{path}.params", params)
    return Item(key, label, kind, float(weight), critical, checked)


def _text(value: object, path: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ScorecardError(path, "must be a non-empty string")
    if len(value) > limit:
        raise ScorecardError(path, f"at most {limit} characters")
    return value.strip()


def _speaker(path: str, params: Mapping[str, Any], *, required: bool) -> str | None:
    speaker = params.get("speaker")
    if speaker is None and not required:
        return None
    if speaker not in SPEAKERS:
        raise ScorecardError(f"{path}.speaker", f"must be one of {', '.join(SPEAKERS)}")
    return str(speaker)


def _number(path: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScorecardError(path, "must be a number")
    return float(value)


def _category_params(path: str, params: Mapping[str, Any]) -> dict[str, Any]:
    category = _text(params.get("category"), f"{path}.category", 64)
    checked: dict[str, Any] = {"category": category}
    speaker = _speaker(path, params, required=False)
    if speaker is not None:
        checked["speaker"] = speaker
    within = params.get("within")
    if within is not None:
        if not isinstance(within, Mapping) or len(within) != 1:
            raise ScorecardError(f"{path}.within", 'must be {"first": N} or {"last": N}')
        (edge, seconds), *_ = within.items()
        if edge not in ("first", "last"):
            raise ScorecardError(f"{path}.within", 'must be {"first": N} or {"last": N}')
        value = _number(f"{path}.within.{edge}", seconds)
        if value is None or value <= 0:
            raise ScorecardError(f"{path}.within.{edge}", "must be a positive number of seconds")
        checked["within"] = {edge: value}
    return checked


def _metric_params(path: str, params: Mapping[str, Any]) -> dict[str, Any]:
    metric = params.get("metric")
    if metric not in CALL_METRICS + SPEAKER_METRICS:
        raise ScorecardError(
            f"{path}.metric", f"must be one of {', '.join(CALL_METRICS + SPEAKER_METRICS)}"
        )
    checked: dict[str, Any] = {"metric": metric}
    if metric in SPEAKER_METRICS:
        checked["speaker"] = _speaker(path, params, required=True)
    low = _number(f"{path}.min", params.get("min"))
    high = _number(f"{path}.max", params.get("max"))
    if low is None and high is None:
        raise ScorecardError(path, "needs min, max or both")
    if low is not None and high is not None and low > high:
        raise ScorecardError(f"{path}.max", "must not be below min")
    if low is not None:
        checked["min"] = low
    if high is not None:
        checked["max"] = high
    return checked


def _sentiment_params(path: str, params: Mapping[str, Any]) -> dict[str, Any]:
    condition = params.get("condition")
    if condition not in SENTIMENT_CONDITIONS:
        raise ScorecardError(
            f"{path}.condition", f"must be one of {', '.join(SENTIMENT_CONDITIONS)}"
        )
    speaker = _speaker(path, params, required=False) or "customer"
    checked: dict[str, Any] = {"condition": condition, "speaker": speaker}
    tolerance = _number(f"{path}.tolerance", params.get("tolerance"))
    if tolerance is not None:
        if not 0 <= tolerance <= 1:
            raise ScorecardError(f"{path}.tolerance", "must be between 0 and 1")
        checked["tolerance"] = tolerance
    return checked


_PARAMS = {
    "category_present": _category_params,
    "category_absent": _category_params,
    "metric": _metric_params,
    "sentiment": _sentiment_params,
}


# -- scoring ----------------------------------------------------------------------------


def score(scorecard: Scorecard, findings: CallFindings) -> ScoreSheet:
    """Grade one analysed call with ``scorecard`` (see the module's docstring)."""
    items = tuple(_score_item(item, findings) for item in scorecard.items)
    return sheet_of(items)


def sheet_of(items: Sequence[ItemScore]) -> ScoreSheet:
    """The total of item scores: also what a reviewer's override of an item recomputes."""
    applicable = [item for item in items if item.outcome != "not_applicable"]
    critical_failed = any(item.critical and item.outcome == "failed" for item in applicable)
    weights = sum(item.weight for item in applicable)
    if not applicable:
        total = None
    elif critical_failed:
        total = 0.0
    elif weights == 0:
        total = 100.0 if all(item.outcome == "passed" for item in applicable) else 0.0
    else:
        passed = sum(item.weight for item in applicable if item.outcome == "passed")
        total = round(100.0 * passed / weights, 1)
    return ScoreSheet(tuple(items), total, critical_failed)


def clock(seconds: float) -> str:
    """00:03, 12:41: how a moment in the call is written in a reason."""
    whole = max(0, int(seconds))
    return f"{whole // 60:02d}:{whole % 60:02d}"


def _score_item(item: Item, findings: CallFindings) -> ItemScore:
    if item.kind in ("category_present", "category_absent"):
        outcome, why, moment = _category(item, findings)
    elif item.kind == "metric":
        outcome, why, moment = _metric(item, findings)
    else:
        outcome, why, moment = _sentiment(item, findings)
    return ItemScore(
        item.key, item.label, item.kind, outcome, why, item.weight, item.critical, moment
    )


Judgement = tuple[Outcome, str, float | None]


def _hits(item: Item, findings: CallFindings) -> list[Mapping[str, Any]] | None:
    categories = findings.analytics.get("categories")
    if not isinstance(categories, list):
        return None
    speaker = item.params.get("speaker")
    within = item.params.get("within") or {}
    duration = findings.duration
    found: list[Mapping[str, Any]] = []
    for entry in categories:
        if not isinstance(entry, Mapping) or entry.get("category") != item.params["category"]:
            continue
        if speaker is not None and entry.get("speaker") != speaker:
            continue
        for hit in entry.get("hits") or []:
            if not isinstance(hit, Mapping):
                continue
            start = _float(hit.get("start")) or 0.0
            end = _float(hit.get("end")) or start
            if "first" in within and start > within["first"]:
                continue
            if "last" in within and (duration is None or end < duration - within["last"]):
                continue
            found.append({**hit, "speaker": entry.get("speaker"), "start": start})
    return sorted(found, key=lambda hit: hit["start"])


def _category(item: Item, findings: CallFindings) -> Judgement:
    hits = _hits(item, findings)
    category = item.params["category"]
    if hits is None:
        return "not_applicable", "no rule categories in this analysis", None
    within = item.params.get("within") or {}
    where = (
        f" in the first {within['first']:g} s"
        if "first" in within
        else f" in the last {within['last']:g} s"
        if "last" in within
        else ""
    )
    who = item.params.get("speaker") or "anyone"
    if hits:
        hit = hits[0]
        said = (
            f"{hit.get('speaker') or who} said {str(hit.get('text') or hit.get('keyword') or '')!r}"
        )
        evidence = f"{said} at {clock(hit['start'])} ({category})"
        if item.kind == "category_present":
            return "passed", evidence, hit["start"]
        return "failed", evidence, hit["start"]
    missing = f"{category}: not said by {who}{where}"
    if item.kind == "category_present":
        return "failed", missing, None
    return "passed", missing, None


def _speaker_metrics(findings: CallFindings, speaker: str) -> Mapping[str, Any] | None:
    for entry in findings.metrics.get("speakers") or []:
        if isinstance(entry, Mapping) and entry.get("speaker") == speaker:
            return entry
    return None


def _metric(item: Item, findings: CallFindings) -> Judgement:
    metric = item.params["metric"]
    speaker = item.params.get("speaker")
    moment: float | None = None
    if speaker is None:
        value = _float(findings.metrics.get(metric))
        if metric == "longest_silence_seconds":
            moment = _float(findings.metrics.get("longest_silence_start"))
        subject = metric
    else:
        measured = _speaker_metrics(findings, speaker)
        value = None if measured is None else _float(measured.get(metric))
        subject = f"{speaker} {metric}"
    if value is None:
        return "not_applicable", f"{subject}: not measured in this call", None
    low, high = item.params.get("min"), item.params.get("max")
    bounds = (
        f"between {low:g} and {high:g}"
        if low is not None and high is not None
        else f"at least {low:g}"
        if low is not None
        else f"at most {high:g}"
    )
    ok = (low is None or value >= low) and (high is None or value <= high)
    why = f"{subject} {value:g} ({'' if ok else 'not '}{bounds})"
    if moment is not None:
        why += f" at {clock(moment)}"
    return ("passed" if ok else "failed"), why, moment


def _sentiment(item: Item, findings: CallFindings) -> Judgement:
    speaker = item.params["speaker"]
    sentiment = findings.analytics.get("sentiment")
    side = sentiment.get(speaker) if isinstance(sentiment, Mapping) else None
    if not isinstance(side, Mapping):
        return "not_applicable", f"no {speaker} sentiment in this analysis", None
    end_moment = _end_moment(findings, speaker)
    if item.params["condition"] == "end_not_negative":
        label = side.get("label_end")
        if not isinstance(label, str):
            return "not_applicable", f"{speaker} sentiment at the end: not measured", None
        ok = label != "negative"
        return ("passed" if ok else "failed"), f"{speaker} at the end: {label}", end_moment
    start, end = _float(side.get("start")), _float(side.get("end"))
    if start is None or end is None:
        return "not_applicable", f"{speaker} sentiment at start or end: not measured", None
    tolerance = float(item.params.get("tolerance", DEFAULT_TOLERANCE))
    ok = end >= start - tolerance
    labels = f" ({side.get('label_start', '?')} → {side.get('label_end', '?')})"
    why = f"{speaker} sentiment {start:.2f} at the start, {end:.2f} at the end{labels}"
    return ("passed" if ok else "failed"), why, end_moment


def _end_moment(findings: CallFindings, speaker: str) -> float | None:
    """Where the speaker's last point of the sentiment curve is (the end being judged)."""
    sentiment = findings.analytics.get("sentiment")
    curve = sentiment.get("curve") if isinstance(sentiment, Mapping) else None
    moments = [
        _float(point.get("start"))
        for point in curve or []
        if isinstance(point, Mapping) and point.get("speaker") == speaker
    ]
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else None


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


# -- the default scorecard ----------------------------------------------------------------

#: Created at the first start of the scoring service when no scorecard exists (so an
#: operator who deletes it is not given it back). Its categories are those of the default
#: rules (``hotline/qa/default_rules.yaml``): greeting, identity_verified, forbidden_words,
#: thanks.
DEFAULT_SCORECARD_NAME = "标准服务质检 / Standard service"
DEFAULT_ITEMS: tuple[dict[str, Any], ...] = (
    {
        "key": "greeting",
        "label": "10 秒内问候 / Greeting within 10 s",
        "kind": "category_present",
        "weight": 15,
        "params": {"category": "greeting", "speaker": "agent", "within": {"first": 10}},
    },
    {
        "key": "identity",
        "label": "核实身份 / Identity verified",
        "kind": "category_present",
        "weight": 20,
        "params": {"category": "identity_verified", "speaker": "agent"},
    },
    {
        "key": "silence",
        "label": "无超过 20 秒的静默 / No silence over 20 s",
        "kind": "metric",
        "weight": 20,
        "params": {"metric": "longest_silence_seconds", "max": 20},
    },
    {
        "key": "forbidden",
        "label": "无禁用语 / No forbidden words",
        "kind": "category_absent",
        "weight": 15,
        "critical": True,
        "params": {"category": "forbidden_words", "speaker": "agent"},
    },
    {
        "key": "sentiment",
        "label": "客户情绪结束时未变差 / Customer not worse at the end",
        "kind": "sentiment",
        "weight": 15,
        "params": {"condition": "end_not_worse", "speaker": "customer"},
    },
    {
        # The default rules' "thanks" is the customer's (谢谢, thank you): a call that ends
        # in thanks, by either side, is what this item looks for.
        "key": "closing",
        "label": "结束时致谢 / Thanks at the end",
        "kind": "category_present",
        "weight": 15,
        "params": {"category": "thanks", "within": {"last": 30}},
    },
)
