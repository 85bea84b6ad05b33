"""DTMF: every digit of SIPp's RFC 2833 captures, end retransmissions, sending, in-band tones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hotline.media.dtmf import (
    COLUMN_FREQUENCIES,
    KEYPAD,
    ROW_FREQUENCIES,
    DtmfError,
    InbandDtmfDetector,
    Samples,
    TelephoneEvent,
    TelephoneEventReceiver,
    telephone_event_packets,
)
from hotline.media.pcap import read_udp
from hotline.media.rtp import RtpPacket
from hotline.media.wav import read_wav

SIPP = Path("/usr/share/sip-tester")
FIXTURES = Path(__file__).parents[2] / "fixtures" / "media"
NAMES = {**{str(d): str(d) for d in range(10)}, "star": "*", "pound": "#"}


@pytest.mark.parametrize("name", sorted(NAMES), ids=str)
def test_each_sipp_capture_yields_its_digit_exactly_once(name):
    receiver = TelephoneEventReceiver()
    digits = []
    packets = [RtpPacket.parse(d.payload) for d in read_udp(SIPP / f"dtmf_2833_{name}.pcap")]
    assert sum(TelephoneEvent.parse(p.payload).end for p in packets) == 3  # end sent 3 times
    for packet in packets:
        digit = receiver.receive(packet.payload, packet.timestamp)
        if digit is not None:
            digits.append(digit)
    assert [d.digit for d in digits] == [NAMES[name]]
    assert digits[0].source == "rfc4733"
    assert digits[0].duration > 0
    assert receiver.flush() is None


def test_all_captures_in_one_stream_give_the_whole_keypad_in_order():
    receiver = TelephoneEventReceiver()
    order = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "star", "0", "pound"]
    heard = []
    for name in order:
        for datagram in read_udp(SIPP / f"dtmf_2833_{name}.pcap"):
            packet = RtpPacket.parse(datagram.payload)
            digit = receiver.receive(packet.payload, packet.timestamp)
            if digit:
                heard.append(digit.digit)
    assert "".join(heard) == "123456789*0#"


def test_the_same_capture_replayed_is_a_new_key_each_time():
    """An order number keyed with SIPp: "2", "2", "1", "1" replay captures whose events
    share their timestamps; each replay is a new key, its end retransmissions are not."""
    receiver = TelephoneEventReceiver()
    heard = []
    for name in ["2", "2", "0", "2", "1", "1", "pound"]:
        for datagram in read_udp(SIPP / f"dtmf_2833_{name}.pcap"):
            packet = RtpPacket.parse(datagram.payload)
            digit = receiver.receive(packet.payload, packet.timestamp)
            if digit:
                heard.append(digit.digit)
    assert "".join(heard) == "220211#"


def test_an_event_whose_end_packets_were_all_lost_is_reported_when_the_next_starts():
    receiver = TelephoneEventReceiver()
    assert receiver.receive(bytes(TelephoneEvent(5, False, 10, 160)), 1000) is None
    assert receiver.receive(bytes(TelephoneEvent(5, False, 10, 320)), 1000) is None
    first = receiver.receive(bytes(TelephoneEvent(7, False, 10, 160)), 3000)
    assert first is not None
    assert (first.digit, first.duration) == ("5", 0.04)
    last = receiver.flush()
    assert last is not None
    assert last.digit == "7"


def test_malformed_and_unknown_events_are_counted_not_reported():
    receiver = TelephoneEventReceiver()
    assert receiver.receive(b"\x01\x80", 10) is None
    assert receiver.malformed == 1
    assert receiver.receive(bytes(TelephoneEvent(200, True, 10, 800)), 20) is None
    with pytest.raises(DtmfError):
        TelephoneEvent.parse(b"")


def test_sent_events_follow_rfc4733_and_are_received_once():
    packets = telephone_event_packets("#", duration=0.1)
    markers = [marker for _, _, marker in packets]
    assert markers == [True] + [False] * (len(packets) - 1)
    events = [TelephoneEvent.parse(payload) for _, payload, _ in packets]
    assert [e.end for e in events][-3:] == [True, True, True]
    assert not any(e.end for e in events[:-3])
    assert events[-1].duration == 800
    durations = [e.duration for e in events[:-3]]
    assert durations == sorted(durations)
    receiver = TelephoneEventReceiver()
    heard = [receiver.receive(payload, 4242) for _, payload, _ in packets]
    assert [d.digit for d in heard if d] == ["#"]
    with pytest.raises(DtmfError):
        telephone_event_packets("x")


def keypad_tone(
    digit: str,
    duration: float = 0.08,
    deviation: float = 0.0,
    twist_db: float = 0.0,
    amplitude: float = 6000.0,
) -> Samples:
    row, column = next(
        (ROW_FREQUENCIES[r], COLUMN_FREQUENCIES[c])
        for r, keys in enumerate(KEYPAD)
        for c, key in enumerate(keys)
        if key == digit
    )
    t = np.arange(int(duration * 8000)) / 8000
    low = amplitude * np.sin(2 * np.pi * row * (1 + deviation) * t)
    high = amplitude * 10 ** (twist_db / 20) * np.sin(2 * np.pi * column * (1 + deviation) * t + 1)
    return low + high


def detect(pieces: list[Samples], snr_db: float = 20.0, seed: int = 7) -> str:
    signal = np.concatenate(pieces)
    power = float(np.mean(signal**2))
    noise = np.random.default_rng(seed).normal(0, np.sqrt(power / 10 ** (snr_db / 10)), len(signal))
    pcm = np.clip(signal + noise, -32768, 32767).astype(np.int16)
    detector = InbandDtmfDetector()
    # Fed in 20 ms frames, as the engine does.
    frames = (pcm[i : i + 160] for i in range(0, len(pcm), 160))
    return "".join(d.digit for frame in frames for d in detector.feed(frame))


GAP = np.zeros(400)
KEYS = "0123456789*#ABCD"


@pytest.mark.parametrize("deviation", [-0.015, 0.0, 0.015])
def test_inband_detects_every_key_within_q24_frequency_tolerance(deviation):
    pieces = [GAP] + [p for k in KEYS for p in (keypad_tone(k, deviation=deviation), GAP)]
    assert detect(pieces) == KEYS


@pytest.mark.parametrize("deviation", [-0.035, 0.035])
def test_inband_rejects_tones_beyond_q24_frequency_tolerance(deviation):
    pieces = [GAP] + [p for k in KEYS for p in (keypad_tone(k, deviation=deviation), GAP)]
    assert detect(pieces) == ""


@pytest.mark.parametrize("twist_db", [-3.0, 6.0])
def test_inband_accepts_twist_within_limits(twist_db):
    pieces = [GAP] + [p for k in KEYS for p in (keypad_tone(k, twist_db=twist_db), GAP)]
    assert detect(pieces) == KEYS


def test_inband_rejects_too_short_tones_single_tones_and_silence():
    short = [GAP] + [p for k in "123" for p in (keypad_tone(k, duration=0.02), GAP)]
    assert detect(short) == ""
    t = np.arange(4000) / 8000
    assert detect([6000 * np.sin(2 * np.pi * 697 * t)]) == ""
    assert detect([np.zeros(4000)], snr_db=0) == ""


def test_a_long_key_press_is_one_digit_and_a_repeated_key_is_two():
    assert detect([GAP, keypad_tone("5", duration=1.5), GAP]) == "5"
    assert detect([GAP, keypad_tone("5"), GAP, keypad_tone("5"), GAP]) == "55"


@pytest.mark.parametrize("fixture", ["dtmf_inband_noisy.wav", "dtmf_inband_alaw.wav"])
def test_inband_decodes_sox_generated_tones(fixture):
    # Made by tests/fixtures/media/make-dtmf-fixtures (sox): 60 ms keys, noise 20 dB down.
    audio = read_wav(FIXTURES / fixture)
    digits = InbandDtmfDetector().feed(audio.channel(0))
    assert "".join(d.digit for d in digits) == "1234567890*#ABCD"
    assert all(d.source == "inband" for d in digits)
