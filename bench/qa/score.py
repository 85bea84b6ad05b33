"""Score the project's call analysis on the labelled set (``bench/qa/out``, made by
``make-set``): every recording through ``hotline.qa.analysis.analyse_file`` with the
packaged Whisper base model (``FasterWhisperEngine``: int8, one thread, beam 1, VAD,
language detected per call as in production), compared with ``labels.json``.

Figures (per language where it matters):
- **WER** (English, words) and **CER** (Mandarin, characters) of each speaker's whole
  transcript against the script, after the same normalisation on both sides: lower case,
  punctuation dropped, digits spelled as the script speaks them (1 → "one" / 一), so
  "415" and "four one five" are the same words. Edit distance written here (Levenshtein).
- **Categories**: recall and precision of the eight labelled rule categories (a category
  counts when any speaker hit it; categories the labels do not cover are left out).
- **Sentiment**: the customer's start and end labels (negative/neutral/positive) agreeing
  with the labels.
- **Speech rate**: |measured - expected| / expected per speaker (expected: the script's
  characters or words per minute of the voice's talk, see ``make_set.py``).
- **PII redaction recall**: a planted value counts as redacted when nothing of it is left
  in the redacted transcript (no run of 6 of its digits in a row, or the e-mail's local
  part, Chinese numerals read as digits); "found exactly" when redaction named that very
  value.
- **Longest silence**: absolute error in seconds.
- **Speed**: audio seconds per processing second on one core (the engine's one thread).

Sentiment, categories and personal data are read from ``Analysis.analytics`` when the
analysis fills it; until it does, the scorer computes them from the transcript with the
same pure functions the pipeline uses (``hotline.qa.sentiment.call_sentiment``,
``hotline.qa.rules_file.default_rules().evaluate``, ``hotline.qa.redaction.redact_segments``)
and says so.

Usage: ``bench/qa/run [--only ID,ID] [--json out.json]``
"""

from __future__ import annotations

import argparse
import inspect
import json
import re
import sys
import time
from pathlib import Path
from statistics import mean
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "qa" / "out"
sys.path.insert(0, str(Path(__file__).resolve().parent))

from calls import CATEGORIES  # noqa: E402

from hotline.qa.analysis import Analysis, analyse_file  # noqa: E402
from hotline.qa.asr import FasterWhisperEngine  # noqa: E402
from hotline.qa.models import default_cache_dir, packaged_base_model  # noqa: E402

_EN_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_ZH_DIGITS = "零一二三四五六七八九"
_HANZI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def tokens(text: str, language: str) -> list[str]:
    """Words (English) or characters (Mandarin) after normalisation (module docstring)."""
    if language == "zh":
        text = re.sub(r"[0-9]", lambda m: _ZH_DIGITS[int(m.group())], text)
        text = text.replace("幺", "一")
        return [c for c in text.lower() if _HANZI.match(c) or c.isalnum()]
    text = re.sub(r"[0-9]", lambda m: f" {_EN_DIGITS[int(m.group())]} ", text.lower())
    return re.findall(r"[a-z]+(?:'[a-z]+)?", text.replace("-", " "))


def digits_of(text: str) -> str:
    return "".join(
        str(_ZH_DIGITS.index(c)) if c in _ZH_DIGITS else c
        for c in text
        if c.isdigit() or c in _ZH_DIGITS
    )


def leaked(value: str, kind: str, redacted: str) -> bool:
    if kind == "email":
        local = value.split("@")[0].replace(".", "")
        flat = re.sub(r"[^a-z]", "", redacted.lower())
        return local in flat
    spoken = re.sub(r"[^0-9一二三四五六七八九零]", "", redacted.replace("\u3007", "零"))
    seen = digits_of(spoken)
    return any(value[i : i + 6] in seen for i in range(len(value) - 5))


def analytics_of(analysis: Analysis) -> tuple[dict[str, Any], str]:
    """What the analysis read from the words, and where it came from."""
    if analysis.analytics:
        return dict(analysis.analytics), "Analysis.analytics"
    from hotline.qa.redaction import redact_segments
    from hotline.qa.rules_file import default_rules
    from hotline.qa.sentiment import call_sentiment

    segments = analysis.segments()
    redacted, spans = redact_segments(segments)
    return (
        {
            "sentiment": call_sentiment(segments, analysis.language),
            "categories": default_rules().evaluate(
                segments, analysis.language, analysis.audio_seconds
            ),
            "redacted_segments": redacted,
            "pii": spans,
        },
        "computed from the transcript by hotline.qa.{sentiment,rules,redaction} "
        "(analyse_file leaves analytics empty)",
    )


def redacted_text(analytics: dict[str, Any], analysis: Analysis, speaker: str) -> str:
    segments = analytics.get("redacted_segments")
    if segments is None:  # the analysis redacts its own transcripts (analytics["redacted"])
        segments = analysis.segments()
    return " ".join(str(s.get("text", "")) for s in segments if s.get("speaker") == speaker)


def clear_text(analytics: dict[str, Any], analysis: Analysis, speaker: str) -> str:
    """What Whisper wrote, before redaction (WER/CER are measured on it)."""
    segments = analytics.get("clear_segments")
    if segments is None:
        transcript = analysis.transcripts.get(speaker)
        return transcript.text if transcript else ""
    return " ".join(str(s.get("text", "")) for s in segments if s.get("speaker") == speaker)


def analyse(
    path: Path, engine: FasterWhisperEngine, language: str | None = None, denoise: bool = False
) -> Analysis:
    """analyse_file, keeping the clear transcript next to the redacted one when it can;
    ``language`` forced (as a queue's ``qa_language`` does) or None (detected)."""
    options: dict[str, Any] = {"denoise": True} if denoise else {}
    if "keep_clear_text" in inspect.signature(analyse_file).parameters:
        options["keep_clear_text"] = True
    return analyse_file(path, engine, language, **options)


def score_call(call_id: str, label: dict[str, Any], analysis: Analysis) -> dict[str, Any]:
    language = label["language"]
    analytics, source = analytics_of(analysis)
    out: dict[str, Any] = {"call_id": call_id, "language": language, "source": source}
    out["detected_language"] = analysis.language
    errors, length = 0, 0
    for speaker in ("customer", "agent"):
        reference = tokens(label["text"][speaker], language)
        hypothesis = tokens(clear_text(analytics, analysis, speaker), language)
        errors += edit_distance(reference, hypothesis)
        length += len(reference)
    out["errors"], out["reference_units"] = errors, length
    found = {
        str(entry.get("category"))
        for entry in analytics.get("categories") or []
        if isinstance(entry, dict)
    } & set(CATEGORIES)
    expected = set(label["categories"])
    out["categories"] = {
        "expected": sorted(expected),
        "found": sorted(found),
        "true": len(found & expected),
        "false": sorted(found - expected),
        "missed": sorted(expected - found),
    }
    customer = (analytics.get("sentiment") or {}).get("customer") or {}
    out["sentiment"] = {
        "expected": [label["sentiment"]["start"], label["sentiment"]["end"]],
        "found": [customer.get("label_start"), customer.get("label_end")],
    }
    rates = {}
    for metrics in analysis.metrics.speakers:
        expected_rate = label["speech_rate"][metrics.speaker]["rate"]
        if metrics.speech_rate and expected_rate:
            rates[metrics.speaker] = {
                "expected": expected_rate,
                "measured": metrics.speech_rate,
                "error": abs(metrics.speech_rate - expected_rate) / expected_rate,
            }
    out["speech_rate"] = rates
    pii = []
    for planted in label["pii"]:
        text = redacted_text(analytics, analysis, planted["speaker"])
        spans = analytics.get("pii") or []
        pii.append(
            {
                **planted,
                "redacted": not leaked(planted["value"], planted["kind"], text),
                "kinds_found": sorted({str(s.get("kind")) for s in spans if isinstance(s, dict)}),
            }
        )
    out["pii"] = pii
    out["transcript"] = {
        speaker: clear_text(analytics, analysis, speaker) for speaker in ("customer", "agent")
    }
    out["silence"] = {
        "expected": label["longest_silence_seconds"],
        "measured": analysis.metrics.longest_silence_seconds,
    }
    out["audio_seconds"] = analysis.audio_seconds
    out["processing_seconds"] = analysis.processing_seconds
    return out


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def summarise(results: list[dict[str, Any]]) -> list[str]:
    lines = []
    figures: dict[str, str] = {}
    for language, name in (("en", "WER"), ("zh", "CER")):
        mine = [r for r in results if r["language"] == language]
        if not mine:
            continue
        error = ratio(sum(r["errors"] for r in mine), sum(r["reference_units"] for r in mine))
        true = sum(r["categories"]["true"] for r in mine)
        expected = sum(len(r["categories"]["expected"]) for r in mine)
        found = sum(len(r["categories"]["found"]) for r in mine)
        agree = sum(
            e == f
            for r in mine
            for e, f in zip(r["sentiment"]["expected"], r["sentiment"]["found"], strict=True)
        )
        rate_errors = [v["error"] for r in mine for v in r["speech_rate"].values()]
        planted = [p for r in mine for p in r["pii"]]
        silence = [abs(r["silence"]["expected"] - r["silence"]["measured"]) for r in mine]
        detected = sum(r["detected_language"] == language for r in mine)
        figures[language] = (
            f"{language} {name} {pct(error)}, categories recall {pct(ratio(true, expected))} "
            f"precision {pct(ratio(true, found))}, sentiment {pct(ratio(agree, 2 * len(mine)))}, "
            f"speech rate error {pct(mean(rate_errors) if rate_errors else None)}, "
            f"PII redacted {pct(ratio(sum(p['redacted'] for p in planted), len(planted)))} "
            f"of {len(planted)}, longest silence error {mean(silence):.2f} s, "
            f"language detected {detected}/{len(mine)}"
        )
        lines.append(f"{language} ({len(mine)} calls): {figures[language]}")
    audio = sum(r["audio_seconds"] for r in results)
    processing = sum(r["processing_seconds"] for r in results)
    speed = f"{audio / processing:.1f}x real time per core" if processing else "n/a"
    lines.append(
        f"qa set: {'; '.join(figures.values())}; speed {speed} "
        f"({audio:.0f} s of calls in {processing:.0f} s)"
    )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description="score the QA analysis on the labelled set")
    parser.add_argument("--only", help="comma-separated call ids")
    parser.add_argument("--json", type=Path, default=OUT / "results.json")
    parser.add_argument(
        "--forced-language",
        action="store_true",
        help="give each call its labelled language, as a queue with qa_language does "
        "(default: detected per call, qa.language auto)",
    )
    parser.add_argument(
        "--denoise", action="store_true", help="speex noise suppression before ASR (qa.denoise)"
    )
    parser.add_argument("--noisy", action="store_true", help="only the calls with added noise")
    arguments = parser.parse_args()
    labels_path = OUT / "labels.json"
    if not labels_path.exists():
        raise SystemExit(f"{labels_path} is missing: run bench/qa/make-set first")
    labels = json.loads(labels_path.read_text())["calls"]
    if arguments.only:
        labels = {k: v for k, v in labels.items() if k in arguments.only.split(",")}
    if arguments.noisy:
        labels = {k: v for k, v in labels.items() if v.get("noise")}
    engine = FasterWhisperEngine(packaged_base_model(default_cache_dir()))
    results = []
    started = time.perf_counter()
    for call_id, label in labels.items():
        forced = label["language"] if arguments.forced_language else None
        analysis = analyse(OUT / "calls" / f"{call_id}.wav", engine, forced, arguments.denoise)
        result = score_call(call_id, label, analysis)
        results.append(result)
        cats = result["categories"]
        say(
            f"{call_id:14} {result['audio_seconds']:5.1f} s"
            f" in {result['processing_seconds']:5.1f} s"
            f"  err {result['errors']}/{result['reference_units']}"
            f"  missed {','.join(cats['missed']) or '-'}  extra {','.join(cats['false']) or '-'}"
            f"  sentiment {result['sentiment']['found']} vs {result['sentiment']['expected']}"
            f"  pii {sum(p['redacted'] for p in result['pii'])}/{len(result['pii'])}"
        )
    if results:
        say(f"source of sentiment/categories/PII: {results[0]['source']}")
    for line in summarise(results):
        say(line)
    say(f"wall time {time.perf_counter() - started:.0f} s")
    arguments.json.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
