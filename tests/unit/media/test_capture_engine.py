"""Caller-audio capture through the engine's command protocol, on loopback RTP."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from hotline.media.capture import CaptureResult
from hotline.media.engine import (
    CaptureFinished,
    Done,
    Failed,
    Release,
    StartCapture,
    StopCapture,
)
from hotline.media.g711 import pcma
from hotline.media.players import tone
from hotline.media.rtp import RtpPacket
from hotline.media.vad import EndpointingRules
from hotline.media.wav import read_wav
from hotline.transport.media_worker import LocalMediaEngine
from tests.unit.media.peers import open_peer
from tests.unit.media.test_engine_loopback import leg, peak, with_engine

RULES = EndpointingRules(start_timeout=3.0, trailing_silence=0.4, max_duration=10.0)


def alaw_packets(seconds: float, hz: float = 440.0) -> list[bytes]:
    samples = tone((hz,), seconds, 0.3)
    encoder = pcma().encoder()
    return [
        bytes(
            RtpPacket(
                payload_type=8,
                sequence_number=i + 1,
                timestamp=160 * i,
                ssrc=9,
                payload=encoder.encode(samples[i * 160 : (i + 1) * 160]),
            )
        )
        for i in range(len(samples) // 160)
    ]


async def next_capture(engine: LocalMediaEngine, within: float = 5.0) -> CaptureFinished:
    async def wait() -> CaptureFinished:
        while True:
            event = await engine.next_event()
            if isinstance(event, CaptureFinished):
                return event

    return await asyncio.wait_for(wait(), within)


@with_engine
async def test_an_answer_is_captured_to_memory_and_ends_after_the_silence(engine):
    caller = await open_peer()
    endpoint = await leg(engine, "c1", caller, 8)
    assert await engine.execute(StartCapture(endpoint.endpoint_id, RULES)) == Done()
    await caller.send_all(alaw_packets(1.0), ("127.0.0.1", endpoint.port), pace=0.02)
    finished = await next_capture(engine)  # the caller stopped sending: the clock ends it
    result = finished.result
    assert (finished.call_id, result.reason, result.speech) == ("c1", "end_of_speech", True)
    samples = np.frombuffer(result.pcm, dtype="<i2")
    assert len(samples) == pytest.approx(8000, abs=160)
    assert peak(samples) == pytest.approx(440, abs=10)
    # Over: a second stop finds nothing; a new capture may start.
    assert isinstance(await engine.execute(StopCapture(endpoint.endpoint_id)), Failed)
    assert await engine.execute(StartCapture(endpoint.endpoint_id, RULES)) == Done()
    assert isinstance(await engine.execute(StartCapture(endpoint.endpoint_id, RULES)), Failed)
    stopped = await engine.execute(StopCapture(endpoint.endpoint_id))
    assert isinstance(stopped, CaptureResult)
    assert (stopped.reason, stopped.speech) == ("stopped", False)
    caller.close()


@with_engine
async def test_a_file_capture_is_closed_and_reported_when_the_endpoint_goes(engine, tmp_path):
    caller = await open_peer()
    endpoint = await leg(engine, "c1", caller, 8)
    path = tmp_path / "2026" / "12" / "01" / "c1-vm1.wav"
    rules = EndpointingRules(start_timeout=3.0, trailing_silence=5.0, max_duration=60.0)
    command = StartCapture(endpoint.endpoint_id, rules, path=str(path), stop_digits="#")
    assert await engine.execute(command) == Done()
    await caller.send_all(alaw_packets(1.5, 1000.0), ("127.0.0.1", endpoint.port), pace=0.02)
    assert await engine.execute(Release(endpoint.endpoint_id)) == Done()  # the caller hung up
    result = (await next_capture(engine)).result
    assert (result.reason, result.speech, result.path) == ("released", True, str(path))
    wav = read_wav(path)
    assert wav.duration == pytest.approx(1.5, abs=0.05)
    assert peak(wav.channel(0)) == pytest.approx(1000, abs=10)
    assert result.size == len(await asyncio.to_thread(path.read_bytes))
    caller.close()


@with_engine
async def test_bad_capture_commands_are_clear_failures(engine, tmp_path):
    caller = await open_peer()
    endpoint = await leg(engine, "c1", caller, 8)
    (tmp_path / "taken").write_text("a file where a directory should be")
    bad_path = StartCapture(endpoint.endpoint_id, RULES, path=str(tmp_path / "taken" / "x.wav"))
    reply = await engine.execute(bad_path)
    assert isinstance(reply, Failed)
    assert "StartCapture" in reply.reason
    unknown = await engine.execute(StartCapture("w0-999", RULES))
    assert isinstance(unknown, Failed)
    caller.close()
