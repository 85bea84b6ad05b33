"""Grammar speech input on telephone audio: Piper speaks, sox squeezes it through 8 kHz
µ-law as a phone line would, pocketsphinx must pick the right menu choice, and must say
"nothing" for clearly unrelated sentences, noise and silence.

Piper's random noise and sox's dither are off, so each run decodes the same audio. Short
off-menu words are not tested for rejection: the engine does not reject them (docs/ivr.md).
"""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from hotline.ivr.asr import PocketsphinxGrammarRecognizer, SpeechError
from hotline.ivr.tts import PiperEngine

MENU = ["sales", "technical support", "billing", "speak to an agent", "cancel my order"]


@pytest.fixture(scope="module")
def recognizer() -> PocketsphinxGrammarRecognizer:
    return PocketsphinxGrammarRecognizer()


@pytest.fixture(scope="module")
def phone_audio(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("asr")
    piper = PiperEngine(noise_scale=0.0, noise_w_scale=0.0)

    def render(text: str) -> bytes:
        wide, line, pcm = folder / "wide.wav", folder / "line.wav", folder / "pcm.wav"
        piper.synthesize(text, "en", wide)
        # The phone line: 8 kHz µ-law, then back to the 16-bit PCM the media layer delivers.
        subprocess.run(
            ["sox", "-D", "-q", str(wide), "-r", "8000", "-e", "mu-law", str(line)], check=True
        )
        subprocess.run(
            ["sox", "-D", "-q", str(line), "-e", "signed", "-b", "16", str(pcm)], check=True
        )
        with wave.open(str(pcm), "rb") as wav:
            assert wav.getframerate() == 8000
            return wav.readframes(wav.getnframes())

    return render


@pytest.mark.parametrize("phrase", MENU)
def test_menu_choices_are_recognised(recognizer, phone_audio, phrase: str) -> None:
    result = recognizer.recognize(phone_audio(phrase), 8000, MENU, "en")
    assert result.text == phrase, result


@pytest.mark.parametrize(
    "speech",
    ["tell me about sales please", "my card was stolen"],
)
def test_unrelated_sentences_are_not_forced_into_the_menu(
    recognizer, phone_audio, speech: str
) -> None:
    assert recognizer.recognize(phone_audio(speech), 8000, MENU, "en").text is None


def test_noise_and_silence_give_nothing(recognizer, tmp_path: Path) -> None:
    noise = tmp_path / "noise.raw"
    subprocess.run(
        [
            "sox",
            "-q",
            "-n",
            "-r",
            "8000",
            "-e",
            "signed",
            "-b",
            "16",
            "-t",
            "raw",
            str(noise),
            "synth",
            "2",
            "whitenoise",
            "vol",
            "0.05",
        ],
        check=True,
    )
    assert recognizer.recognize(noise.read_bytes(), 8000, MENU, "en").text is None
    for _ in range(5):  # digital silence once came out as "billing": never again
        assert recognizer.recognize(b"\x00\x00" * 16000, 8000, MENU, "en").text is None
    assert recognizer.recognize(b"", 8000, MENU, "en").text is None
    # A quiet line (about -60 dBFS of hiss) is silence too.
    hiss = np.random.default_rng(7).normal(0, 30, 16000).astype("<i2").tobytes()
    assert recognizer.recognize(hiss, 8000, MENU, "en").text is None


def test_grammars_are_checked_before_use(recognizer) -> None:
    with pytest.raises(SpeechError, match="'xyzzyq' is not in the dictionary"):
        recognizer.check_phrases(["sales", "xyzzyq"], "en")
    with pytest.raises(SpeechError, match="use words of letters only"):
        recognizer.check_phrases(["press 1"], "en")
    with pytest.raises(SpeechError, match="has no model for 'zh-CN'"):
        recognizer.check_phrases(["sales"], "zh-CN")


def test_original_spelling_of_the_phrase_is_returned(recognizer, phone_audio) -> None:
    result = recognizer.recognize(phone_audio("billing"), 8000, ["Sales", "Billing"], "en")
    assert result.text == "Billing"
