"""Jitter buffer with an explicit clock: order, loss concealment, late packets, adaptation."""

from __future__ import annotations

import numpy as np

from hotline.media.codecs import Pcm
from hotline.media.jitter import JitterBuffer


def frame(value: int) -> Pcm:
    return np.full(160, value, dtype=np.int16)


def play(buffer: JitterBuffer, ticks: int) -> list[Pcm | None]:
    return [buffer.get() for _ in range(ticks)]


def test_waits_for_the_target_delay_then_plays_in_order():
    buffer = JitterBuffer(min_delay=0.04)
    buffer.put(1, frame(1), 0.0)
    assert buffer.get() is None  # 20 ms buffered, 40 ms wanted
    buffer.put(2, frame(2), 0.02)
    out = play(buffer, 2)
    assert [int(f[0]) for f in out if f is not None] == [1, 2]
    assert buffer.stats.played == 2


def test_reordered_packets_come_out_in_order():
    buffer = JitterBuffer(min_delay=0.06)
    for seq in (10, 12, 11, 13, 15, 14):
        buffer.put(seq, frame(seq), seq * 0.02)
    out = play(buffer, 6)
    assert [int(f[0]) for f in out if f is not None] == [10, 11, 12, 13, 14, 15]
    assert buffer.stats.concealed == 0


def test_a_lost_frame_is_concealed_by_a_fading_repeat():
    buffer = JitterBuffer(min_delay=0.04)
    for seq in (1, 2, 4, 5):
        buffer.put(seq, frame(1000), seq * 0.02)
    out = play(buffer, 4)
    assert [int(f[0]) for f in out if f is not None] == [1000, 1000, 500, 1000]
    assert buffer.stats.concealed == 1


def test_a_long_gap_fades_to_silence_and_counts_underruns():
    buffer = JitterBuffer(min_delay=0.02, max_conceal=2)
    buffer.put(1, frame(800), 0.0)
    out = play(buffer, 5)
    assert [int(f[0]) for f in out if f is not None] == [800, 400, 200, 0, 0]
    assert buffer.stats.underruns == 4
    assert buffer.target > 0.02  # it will wait longer next time


def test_late_and_duplicate_packets_are_dropped():
    buffer = JitterBuffer(min_delay=0.02)
    buffer.put(1, frame(1), 0.0)
    buffer.put(2, frame(2), 0.02)
    buffer.put(2, frame(2), 0.02)
    play(buffer, 2)
    buffer.put(1, frame(1), 0.1)  # its time has passed
    assert (buffer.stats.duplicates, buffer.stats.late) == (1, 1)


def test_sequence_wrap_keeps_order():
    buffer = JitterBuffer(min_delay=0.04)
    for seq in (65534, 65535, 0, 1):
        buffer.put(seq, frame(seq % 100), 0.0)
    out = play(buffer, 4)
    assert [int(f[0]) for f in out if f is not None] == [34, 35, 0, 1]


def test_delay_follows_jitter_up_and_trims_back_down():
    rng = np.random.default_rng(3)
    buffer = JitterBuffer(min_delay=0.04)
    for seq in range(200):  # up to 60 ms of arrival jitter
        buffer.put(seq, frame(1), seq * 0.02 + float(rng.uniform(0, 0.06)))
    assert buffer.target > 0.06
    high = buffer.target
    calm = JitterBuffer(min_delay=0.04)
    calm.target = high
    for seq in range(400):  # steady arrivals, but far more buffered than needed
        calm.put(seq, frame(1), seq * 0.02)
        if seq > 30:
            calm.get()
    assert calm.stats.trimmed > 0
    assert calm.target < high
