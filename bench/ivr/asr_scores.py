"""Scores of the grammar speech recogniser on telephone audio, per utterance.

Piper speaks each utterance (deterministic render), sox sends it through 8 kHz mu-law and
back, and the pocketsphinx engine scores it against the demo-style menu with no threshold.
The table shows where ``min_confidence`` can and cannot separate real answers from
everything else (docs/ivr.md). Run: ``.venv/bin/python bench/ivr/asr_scores.py``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import wave
from pathlib import Path

from hotline.ivr.asr import PocketsphinxGrammarRecognizer
from hotline.ivr.tts import PiperEngine

MENU = ["sales", "technical support", "billing", "speak to an agent", "cancel my order"]
OFF_MENU = [
    "the weather is nice today",
    "I want to pay my bill",
    "tell me about sales please",
    "my card was stolen",
    "hello",
    "yes",
    "no",
    "um",
    "support",
]


def phone_line(piper: PiperEngine, text: str, folder: Path) -> bytes:
    wide, line, pcm = folder / "wide.wav", folder / "line.wav", folder / "pcm.wav"
    piper.synthesize(text, "en", wide)
    subprocess.run(
        ["sox", "-D", "-q", str(wide), "-r", "8000", "-e", "mu-law", str(line)], check=True
    )
    subprocess.run(["sox", "-D", "-q", str(line), "-e", "signed", "-b", "16", str(pcm)], check=True)
    with wave.open(str(pcm), "rb") as wav:
        return wav.readframes(wav.getnframes())


def main() -> None:
    piper = PiperEngine(noise_scale=0.0, noise_w_scale=0.0)
    engine = PocketsphinxGrammarRecognizer(min_confidence=0.0)
    out = sys.stdout
    out.write("| utterance | in menu | heard | score |\n|---|---|---|---|\n")
    with tempfile.TemporaryDirectory() as folder:
        for text in MENU + OFF_MENU:
            result = engine.recognize(phone_line(piper, text, Path(folder)), 8000, MENU, "en")
            heard = result.text or "(nothing)"
            in_menu = "yes" if text in MENU else "no"
            out.write(f"| {text} | {in_menu} | {heard} | {result.confidence:.3f} |\n")


if __name__ == "__main__":
    main()
