"""Answering-machine detection on a synthetic corpus of answered calls (issue 15).

Renders the corpus of ``amd_corpus.py`` (24 people, 24 mailboxes; espeak-ng and Piper,
8 kHz G.711 µ-law, some with line noise) into a temporary directory, feeds each call to
``hotline.media.amd.AnsweringMachineDetector`` in 20 ms frames, as RTP would bring it, and
prints the confusion matrix, the accuracy for people and mailboxes, the decision times
(from the answer) and one summary line::

    amd: humans 23/24 correct, machines 22/24 correct, median decision 1.6 s

``--json`` prints the same figures, and every case, as one JSON object instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import median
from typing import Any, Literal

import numpy as np
from amd_corpus import (
    RATE,
    Case,
    Renderer,
    cases,
    long_answer_cases,
    piper_available,
    telephone_line,
)

from hotline.media.amd import AmdResult, AmdSettings, AnsweringMachineDetector, BeepDetector

FRAME = 160  # 20 ms at 8 kHz
#: Line conditions: (name, background noise: the case's own or dBFS on every call, gain dB).
CONDITIONS: tuple[tuple[str, float | Literal["case"] | None, float], ...] = (
    ("corpus as generated", "case", 0.0),
    ("noise -45 dBFS on every call", -45.0, 0.0),
    ("noise -40 dBFS on every call", -40.0, 0.0),
    ("noise -35 dBFS on every call", -35.0, 0.0),
    ("speech 12 dB quieter", "case", -12.0),
    ("speech 20 dB quieter", "case", -20.0),
)


def say(line: str) -> None:
    """Benchmarks report on stdout (bench/run-all collects it)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


@dataclass(frozen=True, slots=True)
class Outcome:
    case: Case
    result: AmdResult
    speech_s: float

    @property
    def correct(self) -> bool:
        return self.result.verdict == self.case.label


def detect(pcm: np.ndarray, settings: AmdSettings) -> AmdResult:
    detector = AnsweringMachineDetector(settings)
    for start in range(0, pcm.size, FRAME):
        result = detector.feed(pcm[start : start + FRAME])
        if result is not None:
            return result
    raise AssertionError("the detector gave no verdict before the audio ended")


def beeps(pcm: np.ndarray) -> list[int]:
    """Every beep end a fresh detector reports, restarting it after each one."""
    found: list[int] = []
    detector = BeepDetector()
    offset_ms = 0  # where the current detector started
    for start in range(0, pcm.size, FRAME):
        ended = detector.feed(pcm[start : start + FRAME])
        if ended is not None:
            found.append(offset_ms + ended)
            offset_ms = (start + FRAME) * 1000 // RATE
            detector = BeepDetector()
    return found


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def tally(outcomes: list[Outcome]) -> dict[str, Any]:
    labels = ("human", "machine")
    verdicts = ("human", "machine", "notsure")
    matrix = {t: {v: 0 for v in verdicts} for t in labels}
    reasons: dict[str, dict[str, int]] = {t: {} for t in labels}
    for outcome in outcomes:
        matrix[outcome.case.label][outcome.result.verdict] += 1
        counts = reasons[outcome.case.label]
        counts[outcome.result.reason] = counts.get(outcome.result.reason, 0) + 1
    totals = {t: sum(matrix[t].values()) for t in labels}
    correct = {t: matrix[t][t] for t in labels}
    times = [o.result.at_ms / 1000.0 for o in outcomes]
    human_times = [o.result.at_ms / 1000.0 for o in outcomes if o.case.label == "human"]
    return {
        "confusion": matrix,
        "correct": correct,
        "total": totals,
        "accuracy": {t: correct[t] / totals[t] for t in labels},
        "reasons": reasons,
        "decision_s": {
            "median": median(times),
            "p95": percentile(times, 95),
            "human_median": median(human_times),
            "human_p95": percentile(human_times, 95),
            "human_max": max(human_times),
        },
        "summary": (
            f"amd: humans {correct['human']}/{totals['human']} correct, "
            f"machines {correct['machine']}/{totals['machine']} correct, "
            f"median decision {median(times):.1f} s"
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--verbose", action="store_true", help="one line per case")
    parser.add_argument("--no-piper", action="store_true", help="espeak-ng voices only")
    args = parser.parse_args()

    use_piper = piper_available() and not args.no_piper
    settings = AmdSettings()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hotline-amd-") as workdir:
        renderer = Renderer(Path(workdir), seed=args.seed)
        rendered = [renderer.render(case) for case in cases(args.seed, piper=use_piper)]
        long_answers = [
            renderer.render(case) for case in long_answer_cases(args.seed, piper=use_piper)
        ]
    render_s = time.perf_counter() - started

    runs: dict[str, list[Outcome]] = {}
    detect_s = audio_s = 0.0
    for name, noise, gain in CONDITIONS:
        outcomes = []
        for item in rendered:
            pcm = telephone_line(item, seed=args.seed, noise_dbfs=noise, gain_db=gain)
            started = time.perf_counter()
            result = detect(pcm, settings)
            detect_s += time.perf_counter() - started
            audio_s += result.at_ms / 1000.0
            outcomes.append(Outcome(item.case, result, item.speech_s))
        runs[name] = outcomes
    main_run = runs[CONDITIONS[0][0]]
    long_run = [
        Outcome(item.case, detect(telephone_line(item, seed=args.seed), settings), item.speech_s)
        for item in long_answers
    ]
    figures = tally(main_run)

    # The beep detector on its own, over the whole of each call (corpus as generated): a
    # beep found in speech is a false alarm; the true beep's end should be found to 10 ms.
    false_beeps: list[str] = []
    beep_errors_ms: list[int] = []
    missed_beeps: list[str] = []
    for item in rendered:
        pcm = telephone_line(item, seed=args.seed)
        found = beeps(pcm)
        truth = None if item.beep_end_s is None else round(item.beep_end_s * 1000)
        for at in found:
            if truth is not None and abs(at - truth) <= 50:
                beep_errors_ms.append(at - truth)
            else:
                false_beeps.append(f"{item.case.name}@{at}ms")
        if truth is not None and not any(abs(at - truth) <= 50 for at in found):
            missed_beeps.append(item.case.name)
    beep_total = sum(1 for item in rendered if item.beep_end_s is not None)

    report: dict[str, Any] = {
        "seed": args.seed,
        "piper": use_piper,
        "settings": asdict(settings),
        **figures,
        "conditions": {name: tally(outcomes) for name, outcomes in runs.items()},
        "beeps": {
            "total": beep_total,
            "found": beep_total - len(missed_beeps),
            "missed": missed_beeps,
            "false_alarms": false_beeps,
            "end_error_ms_max": max((abs(e) for e in beep_errors_ms), default=None),
        },
        "long_answers": [
            {
                "text": o.case.text,
                "verdict": o.result.verdict,
                "reason": o.result.reason,
                "at_ms": o.result.at_ms,
            }
            for o in long_run
        ],
        "render_s": render_s,
        "detect_s": detect_s,
        "detect_real_time_factor": detect_s / audio_s,
        "cases": [
            {
                **asdict(o.case),
                "speech_s": round(o.speech_s, 3),
                "verdict": o.result.verdict,
                "reason": o.result.reason,
                "at_ms": o.result.at_ms,
                "beep_at_ms": o.result.beep_at_ms,
                "words": o.result.words,
                "voice_ms": o.result.voice_ms,
                "correct": o.correct,
            }
            for o in main_run
        ],
    }
    if args.json:
        say(json.dumps(report, ensure_ascii=False, indent=2))
        return

    voices = "espeak-ng and Piper" if use_piper else "espeak-ng only"
    say(
        f"AMD on {len(main_run)} synthetic answered calls (seed {args.seed}, {voices}, "
        "8 kHz G.711 µ-law, 20 ms frames)"
    )
    if args.verbose:
        say("")
        for o in main_run:
            mark = "ok " if o.correct else "BAD"
            say(
                f"  {mark} {o.case.name:20} {o.case.voice:19} lead {o.case.lead_s:.2f} s "
                f"speech {o.speech_s:.2f} s -> {o.result.verdict:7} {o.result.reason:22} "
                f"at {o.result.at_ms / 1000:.2f} s, {o.result.words} words, "
                f"{o.result.voice_ms} ms voice  {o.case.text}"
            )
    say("")
    matrix = figures["confusion"]
    say("| truth \\ verdict | human | machine | notsure |")
    say("|---|---|---|---|")
    for t in ("human", "machine"):
        row = matrix[t]
        say(f"| {t} | {row['human']} | {row['machine']} | {row['notsure']} |")
    say("")
    for t in ("human", "machine"):
        by_reason = ", ".join(f"{r} {n}" for r, n in sorted(figures["reasons"][t].items()))
        say(f"{t}s: {100.0 * figures['accuracy'][t]:.1f} % correct ({by_reason})")
    d = figures["decision_s"]
    say(
        f"decision time from answer: median {d['median']:.2f} s, p95 {d['p95']:.2f} s; "
        f"people: median {d['human_median']:.2f} s, p95 {d['human_p95']:.2f} s, "
        f"max {d['human_max']:.2f} s"
    )
    b = report["beeps"]
    say(
        f"beep detector alone: {b['found']}/{b['total']} beeps found, end within "
        f"{b['end_error_ms_max']} ms; {len(b['false_alarms'])} false alarms in speech"
        + (f" ({', '.join(b['false_alarms'])})" if b["false_alarms"] else "")
    )
    say("")
    say("| line condition | humans correct | machines correct | median | p95 |")
    say("|---|---|---|---|---|")
    for name, outcomes in runs.items():
        cell = tally(outcomes)
        say(
            f"| {name} | {cell['correct']['human']}/{cell['total']['human']} | "
            f"{cell['correct']['machine']}/{cell['total']['machine']} | "
            f"{cell['decision_s']['median']:.2f} s | {cell['decision_s']['p95']:.2f} s |"
        )
    say("")
    say(
        f"known limit, people answering with a sentence: "
        f"{sum(o.correct for o in long_run)}/{len(long_run)} classed human ("
        + ", ".join(f"{o.result.verdict} {o.result.reason}" for o in long_run)
        + ")"
    )
    speed = audio_s / max(detect_s, 1e-9)
    say(
        f"detector: {detect_s * 1000:.0f} ms for {audio_s:.0f} s of audio "
        f"({speed:.0f}x real time); rendering {render_s:.1f} s"
    )
    say(figures["summary"])


if __name__ == "__main__":
    main()
