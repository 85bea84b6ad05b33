"""Stereo recording: channel placement, a playable file after every flush, pause, metadata."""

from __future__ import annotations

import hashlib
import itertools
import wave
from pathlib import Path

import numpy as np
import pytest

from hotline.media.codecs import Codec, Pcm
from hotline.media.g711 import pcma, pcmu
from hotline.media.recorder import AGENT, CUSTOMER, CallRecorder
from hotline.media.wav import WavError, WavWriter, parse_wav, read_wav


def tone(frequency: float, seconds: float, amplitude: int = 8000) -> Pcm:
    t = np.arange(int(seconds * 8000)) / 8000
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.int16)


def peak(samples: Pcm) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.argmax(spectrum)) * 8000 / len(samples)


def packets(pcm: Pcm, codec: Codec, size: int = 160) -> list[bytes]:
    encoder = codec.encoder()
    return [encoder.encode(pcm[i : i + size]) for i in range(0, len(pcm), size)]


_SEQUENCE = {CUSTOMER: itertools.count(65000), AGENT: itertools.count(100)}


def add(recorder: CallRecorder, channel: int, payload: bytes) -> None:
    """The next packet of a channel's stream (sequence numbers wrap past 65535)."""
    recorder.add_payload(channel, payload, next(_SEQUENCE[channel]) & 0xFFFF)


def make_recorder(path: Path, now: float = 0.0) -> CallRecorder:
    return CallRecorder(
        path,
        call_id="call-1",
        now=now,
        legs=("carrier-leg", "agent-leg"),
        decoders=(pcma().decoder(), pcmu().decoder()),
        codecs=("PCMA", "PCMU"),
    )


def test_customer_left_agent_right_each_with_its_own_codec(tmp_path):
    recorder = make_recorder(tmp_path / "r.wav")
    customer = packets(tone(440, 2.0), pcma())
    agent = packets(tone(1000, 2.0), pcmu())
    for index, (c, a) in enumerate(zip(customer, agent, strict=True)):
        add(recorder, CUSTOMER, c)
        add(recorder, AGENT, a)
        if index % 50 == 49:
            recorder.flush((index + 1) * 0.02)
    meta = recorder.close(2.0)
    audio = read_wav(tmp_path / "r.wav")
    assert (audio.sample_rate, audio.channels) == (8000, 2)
    assert audio.duration == pytest.approx(2.0, abs=0.02)
    assert peak(audio.channel(0)) == pytest.approx(440, abs=5)
    assert peak(audio.channel(1)) == pytest.approx(1000, abs=5)
    assert meta.duration == pytest.approx(2.0, abs=0.02)
    assert meta.codecs == ("PCMA", "PCMU")
    assert meta.legs == ("carrier-leg", "agent-leg")
    assert meta.sha256 == hashlib.sha256((tmp_path / "r.wav").read_bytes()).hexdigest()
    assert meta.size == (tmp_path / "r.wav").stat().st_size
    assert recorder.close(5.0) is meta  # idempotent


def test_file_is_playable_after_each_flush_as_if_the_process_had_died(tmp_path):
    path = tmp_path / "crash.wav"
    recorder = make_recorder(path)
    for second in range(1, 4):
        for payload in packets(tone(440, 1.0), pcma()):
            add(recorder, CUSTOMER, payload)
        recorder.flush(second + 0.2)  # a flush keeps the last 0.2 s open for late packets
        # Read the file while the recorder still holds it open: the stdlib reader agrees.
        with wave.open(str(path), "rb") as handle:
            assert handle.getnchannels() == 2
            assert handle.getnframes() == pytest.approx(second * 8000, abs=160)
        assert read_wav(path).duration == pytest.approx(second, abs=0.02)
    # No close(): the header written by the last flush is the one a crash would leave.


def test_a_silent_leg_is_padded_so_the_channels_stay_aligned(tmp_path):
    recorder = make_recorder(tmp_path / "oneway.wav")
    for payload in packets(tone(440, 1.0), pcma()):
        add(recorder, CUSTOMER, payload)
    recorder.flush(1.0)
    # One second with no packets at all (hold): both channels advance with silence.
    recorder.flush(2.0)
    for payload in packets(tone(440, 1.0), pcma()):
        add(recorder, CUSTOMER, payload)
    recorder.close(3.0)
    audio = read_wav(tmp_path / "oneway.wav")
    assert audio.duration == pytest.approx(3.0, abs=0.02)
    assert not audio.channel(1).any()
    middle = audio.channel(0)[9000:14000]  # the gap, written by the flush at 2.0 s
    assert np.abs(middle.astype(np.int32)).max() < 16


def test_pause_drops_audio_and_leaves_the_time_out(tmp_path):
    recorder = make_recorder(tmp_path / "pause.wav")
    for payload in packets(tone(440, 1.0), pcma()):
        add(recorder, CUSTOMER, payload)
    recorder.pause(1.0)
    assert recorder.paused
    for payload in packets(tone(2000, 1.0), pcma()):  # the card number: must not be kept
        add(recorder, CUSTOMER, payload)
    recorder.flush(1.5)
    recorder.resume(2.0)
    for payload in packets(tone(440, 1.0), pcma()):
        add(recorder, CUSTOMER, payload)
    meta = recorder.close(3.0)
    audio = read_wav(tmp_path / "pause.wav")
    assert audio.duration == pytest.approx(2.0, abs=0.02)
    assert recorder.dropped_while_paused == 50
    assert meta.pauses == ((1.0, 2.0),)
    spectrum = np.abs(np.fft.rfft(audio.channel(0).astype(np.float64)))
    at_2000 = spectrum[int(2000 * len(audio.channel(0)) / 8000)]
    assert at_2000 < spectrum.max() / 100


def test_a_fast_peer_clock_is_written_rather_than_held_back(tmp_path):
    recorder = make_recorder(tmp_path / "fast.wav", now=0.0)
    for payload in packets(tone(440, 1.5), pcma()):  # 1.5 s of audio arrives within 1 s
        add(recorder, CUSTOMER, payload)
    recorder.flush(1.0)
    assert recorder.writer.frames >= int(1.2 * 8000)
    recorder.close(1.0)
    assert read_wav(tmp_path / "fast.wav").duration == pytest.approx(1.5, abs=0.02)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a RIFF/WAVE"),
        (b"RIFF\x00\x00\x00\x00WAVEdata\x00\x00\x00\x00", "data chunk before fmt"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt \x04\x00\x00\x00abcd", "fmt chunk too short"),
        (b"RIFF\x00\x00\x00\x00WAVE", "no data chunk"),
    ],
)
def test_broken_wav_files_raise_a_clear_error(data, message):
    with pytest.raises(WavError, match=message):
        parse_wav(data)


def test_unsupported_wav_format_is_named(tmp_path):
    writer = WavWriter(tmp_path / "x.wav", 8000, 1)
    writer.close()
    header = bytearray((tmp_path / "x.wav").read_bytes())
    header[20:22] = (0x55).to_bytes(2, "little")  # MPEG layer 3
    with pytest.raises(WavError, match="unsupported WAV format 85"):
        parse_wav(bytes(header))


def test_truncated_data_is_read_up_to_the_last_whole_frame(tmp_path):
    writer = WavWriter(tmp_path / "t.wav", 8000, 2)
    writer.write(np.ones((100, 2), dtype=np.int16))
    writer.close()
    raw = (tmp_path / "t.wav").read_bytes()[:-3]
    assert parse_wav(raw).samples.shape == (99, 2)


def test_reordered_lost_and_late_packets_are_repaired_in_the_recording(tmp_path):
    """The recording path's jitter buffer: order by sequence number across the 16-bit wrap,
    silence in place of a lost packet (the timeline keeps its length), a packet that comes
    after its successors were written is dropped and counted, duplicates are kept once."""
    recorder = make_recorder(tmp_path / "jitter.wav")
    payloads = packets(tone(440, 1.0), pcma())  # 50 packets of 20 ms
    seqs = [(65530 + i) & 0xFFFF for i in range(50)]  # wraps after 6 packets
    arrivals = list(zip(seqs, payloads, strict=True))
    arrivals[10], arrivals[11] = arrivals[11], arrivals[10]  # reordered
    lost = arrivals.pop(20)  # lost: never arrives in time
    arrivals.append(arrivals[30])  # duplicated by the network
    for seq, payload in arrivals:
        recorder.add_payload(CUSTOMER, payload, seq)
    recorder.flush(1.0)
    recorder.add_payload(CUSTOMER, lost[1], lost[0])  # far too late now
    meta = recorder.close(1.2)
    assert recorder.repaired == (1, 1)  # one late, one filled
    audio = read_wav(tmp_path / "jitter.wav").channel(CUSTOMER)
    assert meta.duration == pytest.approx(1.2, abs=0.02)
    heard = audio[:8000]
    hole = heard[20 * 160 : 21 * 160]
    assert np.abs(hole.astype(np.int32)).max() < 16  # the lost 20 ms, silent, in place
    expected = np.concatenate([pcma().decoder().decode(p) for p in payloads])
    before, after = slice(0, 20 * 160), slice(21 * 160, 50 * 160)
    assert np.array_equal(heard[before], expected[before])  # reordering undone
    assert np.array_equal(heard[after], expected[after])  # and nothing shifted


def test_a_new_stream_with_lower_sequence_numbers_is_recorded_not_dropped_as_late(tmp_path):
    """An SSRC change (the far end of a transfer, a phone restarting its media) starts the
    sequence numbers afresh; without ``new_stream`` the new packets would all be "late"."""
    recorder = make_recorder(tmp_path / "streams.wav")
    first = packets(tone(440, 1.0), pcma())
    second = packets(tone(1000, 1.0), pcma())
    for index, payload in enumerate(first):
        recorder.add_payload(CUSTOMER, payload, 40000 + index)
    recorder.flush(1.0)
    recorder.new_stream(CUSTOMER)
    for index, payload in enumerate(second):
        recorder.add_payload(CUSTOMER, payload, 7 + index)
    recorder.close(2.0)
    assert recorder.repaired == (0, 0)
    audio = read_wav(tmp_path / "streams.wav").channel(CUSTOMER)
    assert peak(audio[:8000]) == pytest.approx(440, abs=5)
    assert peak(audio[8000:16000]) == pytest.approx(1000, abs=5)
