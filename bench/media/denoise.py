"""Bench of voice processing (``hotline.media.speexdsp``): what it gains and what it costs.

1. Noise suppression: espeak-ng speech (three English voices, 8 kHz) with white or pink
   noise added at 0, 5 and 10 dB SNR, through G.711 µ-law as on the wire, then ``denoise``:
   SI-SDR before and after (scale-invariant signal-to-distortion ratio, Le Roux et al. 2019)
   and how far the noise drops in the speech pauses.
2. Echo cancellation: the agent's speech through a synthetic echo path (a delay, a 40 ms
   decaying random response, 6 dB echo return loss) plus line noise at -60 dBFS;
   echo return loss enhancement (ERLE) over the second half, after convergence, for echo
   tails of 100, 200 and 400 ms; and with the customer talking at the same time (double
   talk): how intact the customer's speech stays and how much echo is left meanwhile.
3. CPU: µs per 20 ms frame of each processing alone, and per packet of
   ``RtpEndpoint.datagram_received`` for a bridge without processing (the default relay),
   with noise suppression, and with echo cancellation + noise suppression (the decode and
   encode it forces included), with what 1000 calls would take of 2 cores.

4. With ``--asr``: Whisper base (the packaged production model) word error rate on the
   noisy clips as they are and after ``denoise`` at 8 kHz, as speech analytics could call
   it before transcription (about a minute more).

Usage: ``.venv/bin/python bench/media/denoise.py [--quick] [--asr]``; figures go to stdout.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from hotline.media.default_codecs import default_registry
from hotline.media.engine import CodecOffer
from hotline.media.g711 import pcmu
from hotline.media.players import from_wav
from hotline.media.speexdsp import (
    EchoCanceller,
    SpeexPreprocessor,
    VoiceProcessing,
    VoiceProcessor,
    denoise,
)
from hotline.media.wav import read_wav
from hotline.transport.rtp_endpoint import RtpEndpoint

Signal = npt.NDArray[np.float64]
RATE = 8000
FRAME = 160
TEXTS = (
    "Thank you for calling customer service. My name is Anna, how can I help you today?",
    "I ordered a washing machine two weeks ago and it still has not arrived. This is the "
    "third time I call about it.",
    "Let me check the order for you. Could you give me the eight digit order number please?",
)
VOICES = ("en-us", "en-gb", "en-us+f3")


def say(text: str) -> None:
    """The report goes to stdout, line by line as each part finishes."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def si_sdr(reference: Signal, estimate: Signal) -> float:
    reference = reference - reference.mean()
    estimate = estimate - estimate.mean()
    target = reference * (estimate @ reference) / (reference @ reference)
    error = estimate - target
    return float(10 * np.log10((target @ target) / (error @ error)))


def speech_samples(workdir: Path) -> list[Signal]:
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is needed (scripts/install-system-deps)")
    out = []
    for index, (text, voice) in enumerate(zip(TEXTS, VOICES, strict=True)):
        path = workdir / f"s{index}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), "--", text], check=True)
        pcm = from_wav(read_wav(path)).astype(np.float64)
        out.append(pcm * (32768 * 0.1) / float(np.sqrt(np.mean(pcm**2))))  # -20 dBFS
    return out


def noise(kind: str, length: int, rng: np.random.Generator) -> Signal:
    white = rng.standard_normal(length)
    if kind == "white":
        return white
    spectrum = np.fft.rfft(white)  # pink: 1/f power
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    return np.fft.irfft(spectrum, length)


def g711(signal: Signal) -> Signal:
    pcm = np.clip(np.round(signal), -32768, 32767).astype(np.int16)
    codec = pcmu()
    return codec.decoder().decode(codec.encoder().encode(pcm)).astype(np.float64)


def noise_suppression(speech: list[Signal]) -> None:
    say("== noise suppression (denoise, -25 dB), espeak-ng speech at 8 kHz through µ-law")
    say("   noise  SNR   SI-SDR in   out   gain   noise in pauses")
    rng = np.random.default_rng(21)
    for kind in ("white", "pink"):
        for snr in (0, 5, 10):
            gains, before, after, pauses = [], [], [], []
            for clip in speech:
                # 2 s of noise alone first: the suppressor learns the floor in about 1.5 s,
                # as on a call, where the line is open before anyone speaks.
                clean = np.concatenate([np.zeros(2 * RATE), clip, np.zeros(RATE // 2)])
                n = noise(kind, len(clean), rng)
                n *= np.sqrt(np.mean(clip**2) / 10 ** (snr / 10) / np.mean(n**2))
                noisy = g711(clean + n)
                cleaned = denoise(noisy.astype(np.int16), RATE).astype(np.float64)
                scored = slice(2 * RATE, len(clean))  # the speech part
                b, a = si_sdr(clean[scored], noisy[scored]), si_sdr(clean[scored], cleaned[scored])
                before.append(b)
                after.append(a)
                gains.append(a - b)
                quiet = np.abs(clean) < 30  # pauses inside and after the speech
                quiet[: 2 * RATE] = False
                pauses.append(
                    10 * np.log10(np.mean(noisy[quiet] ** 2) / np.mean(cleaned[quiet] ** 2))
                )
            say(
                f"   {kind:5s} {snr:3d} dB  {np.mean(before):6.1f} {np.mean(after):6.1f} "
                f"{np.mean(gains):+6.1f} dB  -{np.mean(pauses):.1f} dB"
            )


def echo_path(far: Signal, delay_ms: float, rng: np.random.Generator) -> Signal:
    taps = int(0.04 * RATE)
    response = rng.standard_normal(taps) * np.exp(-np.arange(taps) / (0.008 * RATE))
    response = np.concatenate([np.zeros(int(delay_ms * RATE / 1000)), response])
    echo = np.convolve(far, response)[: len(far)]
    scale = float(np.sqrt(np.mean(far**2) / 10 ** (6 / 10) / np.mean(echo**2)))
    return np.asarray(echo * scale, dtype=np.float64)


def frames(signal: Signal) -> list[npt.NDArray[np.int16]]:
    pcm = np.clip(np.round(signal), -32768, 32767).astype(np.int16)
    return [pcm[i : i + FRAME] for i in range(0, len(pcm) - FRAME + 1, FRAME)]


def cancel(near: Signal, far: Signal, options: VoiceProcessing) -> Signal:
    processor = VoiceProcessor(options)
    out = []
    for near_frame, far_frame in zip(frames(near), frames(far), strict=True):
        processor.reference(far_frame)
        out.append(processor.process(near_frame))
    return np.concatenate(out).astype(np.float64)


def echo_cancellation(speech: list[Signal]) -> None:
    say("== echo cancellation: agent speech through a synthetic echo path (ERL 6 dB)")
    rng = np.random.default_rng(5)
    far = np.concatenate([*speech, *speech])
    line = rng.standard_normal(len(far)) * 32768 * 10 ** (-60 / 20)
    half = slice(len(far) // 2, len(far))
    for delay in (10, 60, 150):
        echo = echo_path(far, delay, rng)
        cells = []
        for tail in (100, 200, 400):
            out = cancel(echo + line, far, VoiceProcessing(echo_cancel=True, echo_tail_ms=tail))
            kept = slice(half.start, len(out))
            cells.append(10 * np.log10(np.mean(echo[kept] ** 2) / np.mean(out[kept] ** 2)))
        say(
            f"   echo delay {delay:3d} ms: ERLE tail 100 ms {cells[0]:5.1f} dB, "
            f"200 ms {cells[1]:5.1f} dB, 400 ms {cells[2]:5.1f} dB"
        )
    # Double talk: the customer speaks over the echo for 4 s in the second half. The
    # canceller high-passes its input (speex's DC notch: -7 to -9 dB below 150 Hz, within
    # 0.3 dB from 300 to 3400 Hz, measured), whose phase shift alone takes the waveform's
    # SI-SDR against the original down to a few dB: the customer as the canceller passes
    # them with no echo at all is the fair reference for what double talk does.
    echo = echo_path(far, 30, rng)
    customer = np.zeros(len(far))
    talk = np.concatenate(speech[::-1])[: 4 * RATE]
    start = len(far) // 2
    customer[start : start + len(talk)] = talk
    options = VoiceProcessing(echo_cancel=True)
    out = cancel(echo + customer + line, far, options)
    alone = cancel(customer + line, np.zeros(len(far)), options)
    both = slice(start, start + len(talk))
    late = slice(start + FRAME, start + len(talk) + FRAME)  # the preprocessor's one frame
    left = out[both] - alone[both]
    say(
        f"   double talk 4 s (customer over the echo, equal level): customer SI-SDR "
        f"{si_sdr(alone[both], out[both]):.1f} dB against the customer passed alone "
        f"({si_sdr(customer[both], (echo + customer)[both]):.1f} dB with the echo in, "
        f"{si_sdr(customer[both], alone[late]):.1f} dB for the notch alone); echo left "
        f"{10 * np.log10(np.mean(echo[both] ** 2) / np.mean(left**2)):.1f} dB down"
    )


class _CountingTransport:
    def __init__(self) -> None:
        self.sent = 0

    def sendto(self, data: bytes, addr: Any = None) -> None:
        self.sent += 1


def per_frame(label: str, run: Any, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        run()
    cost = (time.perf_counter() - started) / count * 1e6
    say(f"   {label:44s} {cost:7.1f} µs per 20 ms frame")
    return cost


def cpu(count: int) -> None:
    say("== CPU, one core, µs per 20 ms frame (speech-like input)")
    rng = np.random.default_rng(9)
    frame = (rng.standard_normal(FRAME) * 2000).astype(np.int16)
    pre = SpeexPreprocessor(FRAME, RATE)
    per_frame("noise suppression", lambda: pre.process(frame), count)
    agc = SpeexPreprocessor(FRAME, RATE, agc=True)
    per_frame("noise suppression + AGC", lambda: agc.process(frame), count)
    for tail in (100, 200, 400):
        echo = EchoCanceller(FRAME, RATE, tail_ms=tail)
        per_frame(f"echo canceller, {tail} ms tail", lambda e=echo: e.process(frame, frame), count)
    echo = EchoCanceller(FRAME, RATE)
    residual = SpeexPreprocessor(FRAME, RATE, echo=echo)
    per_frame(
        "echo canceller 200 ms + noise and residual echo",
        lambda: residual.process(echo.process(frame, frame)),
        count,
    )
    say("== CPU per relayed packet, RtpEndpoint.datagram_received (no kernel), PCMU both legs")
    registry = default_registry(with_g729=False)
    offers = (CodecOffer("PCMU", 0), CodecOffer("telephone-event", 101))
    results = {}
    for label, options in (
        ("bridge without processing (default)", None),
        ("denoise toward the agent", VoiceProcessing(denoise=True)),
        ("echo cancel + denoise (200 ms tail)", VoiceProcessing(denoise=True, echo_cancel=True)),
    ):
        customer = RtpEndpoint("a", "c", offers, registry)
        agent = RtpEndpoint("b", "c", offers, registry)
        out_agent, out_customer = _CountingTransport(), _CountingTransport()
        customer.transport = cast(Any, out_customer)
        agent.transport = cast(Any, out_agent)
        customer.set_remote("127.0.0.1", 4000, 0, 101)
        agent.set_remote("127.0.0.1", 4002, 0, 101)
        customer.connect(agent)
        agent.connect(customer)
        if options is not None:
            customer.process_toward_peer(VoiceProcessor(options))
        payload = pcmu().encoder().encode(frame)
        packets = [
            (
                struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, seq * 160, 1) + payload,
                struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, seq * 160, 2) + payload,
            )
            for seq in range(count)
        ]
        from_customer, from_agent = customer.datagram_received, agent.datagram_received
        started = time.perf_counter()
        for to_agent, to_customer in packets:  # one packet each way: one call for 20 ms
            from_agent(to_customer, ("127.0.0.1", 4002))
            from_customer(to_agent, ("127.0.0.1", 4000))
        elapsed = time.perf_counter() - started
        assert out_agent.sent == count, label
        assert out_customer.sent == count, label
        results[label] = elapsed / count * 1e6
    for label, cost in results.items():
        # 1000 calls: 50 such 20 ms periods per second each; cores = CPU seconds per second.
        cores = cost * 1e-6 * 50 * 1000
        say(
            f"   {label:40s} {cost:6.1f} µs per call per 20 ms (both directions) "
            f"-> 1000 calls: {cores:4.2f} cores ({cores / 2:.0%} of 2)"
        )


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference words), case and punctuation ignored."""
    ref = "".join(c if c.isalnum() else " " for c in reference.lower()).split()
    hyp = "".join(c if c.isalnum() else " " for c in hypothesis.lower()).split()
    row = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, other in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (word != other))
    return row[-1], len(ref)


def asr(speech: list[Signal]) -> None:
    """Whisper base (the packaged production model, int8, beam 1, VAD) on the noisy clips,
    with and without ``denoise`` (8 kHz, before the resampling to 16 kHz)."""
    from hotline.qa.asr import FasterWhisperEngine
    from hotline.qa.audio import resample
    from hotline.qa.models import default_cache_dir, packaged_base_model

    engine = FasterWhisperEngine(packaged_base_model(default_cache_dir()))
    engine.load()
    say("== ASR: Whisper base, English, WER over the three clips (words wrong / words)")
    say("   noise  SNR    as is   denoised")
    rng = np.random.default_rng(33)

    def wer(signals: list[Signal]) -> str:
        wrong = total = 0
        for text, signal in zip(TEXTS, signals, strict=True):
            audio = resample((signal / 32768.0).astype(np.float32), RATE, 16000)
            errors, words = word_errors(text, engine.transcribe(audio, "en").text)
            wrong, total = wrong + errors, total + words
        return f"{wrong / total:6.1%}"

    say(f"   clean         {wer(speech)}")
    for kind in ("white", "pink"):
        for snr in (0, 5, 10):
            noisy = []
            for clip in speech:
                clean = np.concatenate([np.zeros(2 * RATE), clip, np.zeros(RATE // 2)])
                n = noise(kind, len(clean), rng)
                n *= np.sqrt(np.mean(clip**2) / 10 ** (snr / 10) / np.mean(n**2))
                noisy.append(g711(clean + n))
            cleaned = [
                denoise((signal / 32768.0).astype(np.float32), RATE).astype(np.float64) * 32768
                for signal in noisy
            ]
            say(f"   {kind:5s} {snr:3d} dB  {wer(noisy)}  {wer(cleaned)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames in the CPU part")
    parser.add_argument(
        "--asr", action="store_true", help="also Whisper base's WER with and without denoise"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        speech = speech_samples(Path(tmp))
    say(f"speech: {len(speech)} clips, {sum(map(len, speech)) / RATE:.1f} s")
    noise_suppression(speech)
    echo_cancellation(speech)
    cpu(2_000 if args.quick else 20_000)
    if args.asr:
        asr(speech)


if __name__ == "__main__":
    main()
