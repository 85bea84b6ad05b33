"""The analytics of one analysed call (sentiment, categories, personal data, agitation),
through ``analyse()`` with a scripted ASR engine: what is stored is redacted, the clear
text is kept only when asked, denoise changes what the engine hears only. (What it costs
per call is measured by bench/qa/run, not asserted here.)"""

from __future__ import annotations

import json

import numpy as np
import numpy.typing as npt
from click.testing import CliRunner

from hotline.cli import _echo_analytics
from hotline.qa.analysis import analyse
from hotline.qa.asr import Progress, Segment, Transcript, Word
from hotline.qa.audio import ASR_RATE, CallAudio, Channel

from .signals import talk


def words(start: float, *texts: str) -> tuple[Word, ...]:
    out, at = [], start
    for text in texts:
        out.append(Word(at, at + 0.5, text, 0.9))
        at += 0.5
    return tuple(out)


SCRIPT = {
    # What the engine "hears" on each channel, told apart by the channel's tone.
    "agent": Transcript(
        "zh",
        (
            Segment(0.5, 2.0, "您好，欢迎致电", words(0.5, "您好", "，", "欢迎致电")),
            Segment(6.0, 8.0, "请问您的手机号", words(6.0, "请问", "您的", "手机号")),
        ),
    ),
    "customer": Transcript(
        "zh",
        (
            Segment(
                3.0, 5.0, "我要投诉，快递还没到", words(3.0, "我要", "投诉", "，", "快递还没到")
            ),
            Segment(9.0, 12.0, "13812345678", (Word(9.0, 11.5, "13812345678", 0.8),)),
            Segment(25.0, 27.0, "好的谢谢你", words(25.0, "好的", "谢谢你")),
        ),
    ),
}


class ScriptedEngine:
    name = "scripted"
    model_name = "script"

    def __init__(self) -> None:
        self.heard: list[npt.NDArray[np.float32]] = []  # what each call was given

    def transcribe(
        self,
        samples_16k: npt.NDArray[np.float32],
        language: str | None,
        *,
        progress: Progress | None = None,
    ) -> Transcript:
        self.heard.append(samples_16k)
        spectrum = np.abs(np.fft.rfft(samples_16k))
        hz = np.argmax(spectrum) * ASR_RATE / len(samples_16k)
        return SCRIPT["agent" if hz > 400 else "customer"]


def call() -> CallAudio:
    customer = talk(30, [(3, 5), (9, 12), (13, 24), (25, 27)], freq=300.0)
    agent = talk(30, [(0.5, 2), (6, 8)], freq=500.0)
    return CallAudio(8000, (Channel("customer", customer), Channel("agent", agent)))


def test_analyse_fills_the_analytics_and_stores_redacted_segments() -> None:
    analysis = analyse(call(), ScriptedEngine(), None)
    found = analysis.analytics
    json.dumps(found)  # plain data, as qa_results.analytics keeps it
    assert found["redacted"] is True
    stored = analysis.segments()
    number = next(s for s in stored if s["start"] == 9.0)
    assert number["text"] == "[mobile]"
    assert number["words"][0]["text"] == "[mobile]"
    assert "13812345678" not in json.dumps(analysis.to_dict()["segments"])
    assert found["pii"] == [
        {
            "kind": "mobile",
            "speaker": "customer",
            "segment": stored.index(number),
            "start": 9.0,
            "end": 11.5,
        }
    ]
    clear = found["clear_segments"]
    assert clear[stored.index(number)]["text"] == "13812345678"
    categories = {(e["category"], e["speaker"]) for e in found["categories"]}
    assert categories == {
        ("greeting", "agent"),
        ("complaint", "customer"),
        ("refund_refused", "customer"),
        ("thanks", "customer"),
    } - {("refund_refused", "customer")}
    complaint = next(e for e in found["categories"] if e["category"] == "complaint")
    assert complaint["hits"][0]["start"] == 3.5  # the word 投诉
    assert stored[complaint["hits"][0]["segment"]]["text"].startswith("我要投诉")
    sentiment = found["sentiment"]
    assert {"customer", "agent", "curve"} <= set(sentiment)
    curve = {(point["speaker"], point["start"]): point["score"] for point in sentiment["curve"]}
    assert curve[("customer", 3.0)] < -0.2  # the complaint
    assert curve[("customer", 25.0)] > 0.2  # the thanks
    assert ("customer", 9.0) not in curve  # a number: nothing to judge
    assert found["agitation"]["customer"]["label"] == "calm"  # tones at one level: calm
    assert analysis.metrics.speakers[0].speech_units > 0  # metrics from the clear text


def test_clear_text_is_dropped_when_not_kept() -> None:
    analysis = analyse(call(), ScriptedEngine(), None, keep_clear_text=False)
    assert "clear_segments" not in analysis.analytics
    assert "13812345678" not in json.dumps(analysis.to_dict())


def test_qa_analyze_prints_the_analytics() -> None:
    analysis = analyse(call(), ScriptedEngine(), None)
    runner = CliRunner()

    import click

    @click.command()
    def show() -> None:
        _echo_analytics(analysis.analytics)

    lines = runner.invoke(show).output.splitlines()
    assert "category complaint (customer): 投诉 at 00:03.5" in lines
    assert any(line.startswith("sentiment customer: start ") for line in lines)
    assert "personal data redacted: 1 (mobile)" in lines
    assert any(line.startswith("agitation customer: calm") for line in lines)


def test_denoise_cleans_what_the_recogniser_hears_not_what_is_measured() -> None:
    """qa.denoise: each channel reaches the engine through speex noise suppression (the
    hiss between words drops), while talk and silence are measured on the recording."""
    noisy = call()
    hiss = np.random.default_rng(3).standard_normal(len(noisy.channels[0].samples)) * 0.01
    noisy = CallAudio(
        8000,
        tuple(Channel(c.speaker, (c.samples + hiss).astype(np.float32)) for c in noisy.channels),
    )
    engine = ScriptedEngine()
    plain = analyse(noisy, engine, "zh")
    cleaned = analyse(noisy, engine, "zh", denoise=True)
    quiet = slice(ASR_RATE * 28, ASR_RATE * 30)  # nobody talks in the last two seconds
    as_recorded, denoised = engine.heard[0], engine.heard[2]
    assert np.sqrt(np.mean(denoised[quiet] ** 2)) < np.sqrt(np.mean(as_recorded[quiet] ** 2)) / 3
    assert cleaned.metrics == plain.metrics
