"""Conversation metrics on synthetic two-channel calls whose talk, silences and over-talk
are known to the frame."""

from __future__ import annotations

import numpy as np
import pytest

from hotline.qa.asr import Segment, Transcript
from hotline.qa.audio import CallAudio, Channel
from hotline.qa.metrics import call_metrics, speech_units, talk_intervals, voice_activity

from .signals import talk


def stereo(seconds: float, customer: list[tuple[float, float]], agent: list[tuple[float, float]]):
    return CallAudio(
        8000,
        (
            Channel("customer", talk(seconds, customer, freq=250.0)),
            Channel("agent", talk(seconds, agent, freq=400.0)),
        ),
    )


def said(text: str, language: str) -> Transcript:
    return Transcript(language=language, segments=(Segment(0.0, 1.0, text),))


def test_talk_is_found_where_it_is() -> None:
    active = voice_activity(talk(10.0, [(1.0, 3.0), (5.5, 9.0)]))
    assert talk_intervals(active) == [(1.0, 3.0), (5.5, 9.0)]


def test_short_pauses_are_talk_and_blips_are_not() -> None:
    active = voice_activity(talk(6.0, [(1.0, 2.0), (2.2, 3.0), (4.0, 4.04)]))
    assert talk_intervals(active) == [(1.0, 3.0)]


def test_a_silent_channel_never_talks() -> None:
    assert not voice_activity(np.zeros(16_000, dtype=np.float32)).any()
    assert not voice_activity(talk(2.0, [])).any()


def test_a_channel_talking_all_the_time_still_talks() -> None:
    assert voice_activity(talk(3.0, [(0.0, 3.0)])).all()


def test_call_with_known_talk_silence_and_overtalk() -> None:
    # customer 0-4 and 12-15; agent 3-8 and 20-24: over-talk 3-4; silences 8-12 and 15-20.
    audio = stereo(26.0, [(0.0, 4.0), (12.0, 15.0)], [(3.0, 8.0), (20.0, 24.0)])
    transcripts = {
        "customer": said("I want to cancel my contract today", "en"),
        "agent": said("I am sorry to hear that", "en"),
    }
    metrics = call_metrics(audio, transcripts)
    customer, agent = metrics.speakers
    assert customer.speaker == "customer"
    assert customer.talk_seconds == pytest.approx(7.0, abs=0.05)
    assert agent.talk_seconds == pytest.approx(9.0, abs=0.05)
    assert customer.talk_ratio == pytest.approx(7 / 16, abs=0.01)
    assert agent.talk_ratio == pytest.approx(9 / 16, abs=0.01)
    assert metrics.overtalk_seconds == pytest.approx(1.0, abs=0.05)
    assert metrics.overtalk_count == 1
    assert metrics.longest_silence_seconds == pytest.approx(5.0, abs=0.05)
    assert metrics.longest_silence_start == pytest.approx(15.0, abs=0.05)
    assert metrics.silence_seconds == pytest.approx(9.0, abs=0.05)  # leading/trailing not
    assert metrics.duration_seconds == pytest.approx(26.0)
    assert customer.speech_units == 7
    assert customer.speech_rate == pytest.approx(7 * 60 / 7.0, rel=0.01)
    assert customer.rate_unit == "words/min"
    assert agent.speech_rate == pytest.approx(6 * 60 / 9.0, rel=0.01)


def test_speech_rate_of_a_mandarin_call_counts_characters() -> None:
    audio = stereo(10.0, [(1.0, 7.0)], [])
    transcript = said("您好，我想查询一下我的订单。", "zh")
    metrics = call_metrics(audio, {"customer": transcript})
    customer, agent = metrics.speakers
    assert customer.speech_units == 12  # punctuation is not speech
    assert customer.rate_unit == "chars/min"
    assert customer.speech_rate == pytest.approx(120.0, rel=0.01)
    assert agent.talk_seconds == 0
    assert agent.speech_rate is None
    assert agent.talk_ratio == 0


def test_speech_units() -> None:
    assert speech_units("Don't cancel it, please!", "en") == (4, "words/min")
    # A Latin word counts one, a figure one (a number is read digit by digit).
    assert speech_units("退款 refund 不行", "zh") == (5, "chars/min")
    assert speech_units("手机号13966473782。", "zh") == speech_units(
        "手机号一三九六六四七三七八二。", "zh"
    )


def test_mono_recording_has_one_speaker_and_no_overtalk() -> None:
    audio = CallAudio(16_000, (Channel("speaker", talk(8.0, [(0.5, 2.5), (6.0, 7.0)])),))
    metrics = call_metrics(audio, {})
    (only,) = metrics.speakers
    assert only.talk_seconds == pytest.approx(3.0, abs=0.05)
    assert only.talk_ratio == 1.0
    assert metrics.overtalk_seconds == 0
    assert metrics.longest_silence_seconds == pytest.approx(3.5, abs=0.05)


def test_a_call_nobody_speaks_in() -> None:
    metrics = call_metrics(stereo(5.0, [], []), {})
    assert metrics.longest_silence_seconds == 0
    assert metrics.longest_silence_start is None
    assert [s.talk_seconds for s in metrics.speakers] == [0, 0]
    assert metrics.to_dict()["speakers"][0]["speaker"] == "customer"
