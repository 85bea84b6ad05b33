"""The media worker processes as an operator meets them: a worker killed mid-call leaves a
playable recording up to its last flush, and the node gets an error instead of hanging.

(Kept beside the SIPp media tests because it runs real worker processes; it needs no peer.)
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from hotline.media.engine import (
    Allocate,
    Bridge,
    Done,
    GetStats,
    MediaEngineError,
    PlaybackFinished,
    PlayTone,
    SetRemote,
    StartRecording,
)
from hotline.media.g711 import pcmu
from hotline.media.players import tone
from hotline.media.rtp import RtpPacket
from hotline.media.wav import read_wav
from hotline.transport.media_worker import MediaWorkerPool
from tests.unit.media.peers import in_own_loop, open_peer


@in_own_loop
async def test_a_killed_worker_leaves_a_playable_recording(tmp_path: Path) -> None:
    pool = MediaWorkerPool(workers=1)
    await pool.start()
    caller, agent = await open_peer(), await open_peer()
    try:
        a = await pool.allocate(Allocate("crash"))
        b = await pool.allocate(Allocate("crash"))
        await pool.execute(SetRemote(a.endpoint_id, *caller.address, 0))
        await pool.execute(SetRemote(b.endpoint_id, *agent.address, 0))
        await pool.execute(Bridge(a.endpoint_id, b.endpoint_id))
        path = tmp_path / "crash.wav"
        assert (
            await pool.execute(StartRecording("crash", a.endpoint_id, b.endpoint_id, str(path)))
            == Done()
        )
        payload = pcmu().encoder().encode(tone((440.0,), 3.0, 0.25))
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index in range(125):  # 2.5 s at the real rate
            chunk = payload[index * 160 : (index + 1) * 160]
            caller.send(bytes(RtpPacket(0, index, index * 160, 7, chunk)), ("127.0.0.1", a.port))
            await asyncio.sleep(max(0.0, start + (index + 1) * 0.02 - loop.time()))
        pid = pool._workers[0].process.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # no goodbye, no close(): the header must already be right
        await asyncio.sleep(0.3)
        with pytest.raises(MediaEngineError):
            await asyncio.wait_for(pool.execute(GetStats(a.endpoint_id)), 5)
        # The shard is served again by a fresh worker: new calls work, with new endpoint ids.
        again = await asyncio.wait_for(pool.allocate(Allocate("crash")), 10)
        assert again.endpoint_id != a.endpoint_id
        assert again.endpoint_id.startswith("w0g1-")
    finally:
        await pool.close()
        caller.close()
        agent.close()

    audio = read_wav(path)
    assert audio.channels == 2
    # Flushed once a second with the last 0.2 s held open: at least 1 s of the 2.5 s survived.
    assert audio.duration >= 1.0
    left = audio.channel(0)
    start_sample = int(np.flatnonzero(left)[0])
    heard = left[start_sample : start_sample + 4000].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(heard * np.hanning(len(heard))))
    assert float(np.argmax(spectrum)) * 8000 / len(heard) == pytest.approx(440, abs=5)


@in_own_loop
async def test_events_cross_the_process_boundary() -> None:
    pool = MediaWorkerPool(workers=2)
    await pool.start()
    phone = await open_peer()
    try:
        call_ids = [f"call-{n}" for n in range(20)]
        chosen = [c for c in call_ids if pool.worker_for_call(c) == 0][:2]
        chosen += [c for c in call_ids if pool.worker_for_call(c) == 1][:2]
        assert len(chosen) == 4  # two calls on each worker
        endpoints = [await pool.allocate(Allocate(call_id)) for call_id in chosen]
        assert {e.endpoint_id[:2] for e in endpoints} == {"w0", "w1"}
        for endpoint in endpoints:
            await pool.execute(SetRemote(endpoint.endpoint_id, *phone.address, 0))
            assert await pool.execute(PlayTone(endpoint.endpoint_id, (440.0,), 0.1)) == Done()
        events = [await asyncio.wait_for(pool.next_event(), 5) for _ in endpoints]
        assert {e.endpoint_id for e in events} == {e.endpoint_id for e in endpoints}
        assert all(isinstance(e, PlaybackFinished) and not e.interrupted for e in events)
    finally:
        await pool.close()
        phone.close()


@in_own_loop
async def test_a_burst_of_replies_bigger_than_the_pipe_is_never_lost() -> None:
    """Under load the node may be busy while a worker answers: thousands of replies pile up
    in the pipe. Each must arrive (a lost reply once left a call waiting forever)."""
    pool = MediaWorkerPool(workers=1)
    await pool.start()
    try:
        endpoint = await pool.allocate(Allocate("burst"))
        pending = [
            asyncio.ensure_future(pool.execute(GetStats(endpoint.endpoint_id))) for _ in range(3000)
        ]
        await asyncio.sleep(0)  # the commands go out
        # The node's loop stuck on purpose: the worker's replies fill the pipe meanwhile.
        time.sleep(1.0)  # noqa: ASYNC251
        replies = await asyncio.wait_for(asyncio.gather(*pending), timeout=30)
        assert len(replies) == 3000
        assert all(r.endpoint_id == endpoint.endpoint_id for r in replies)  # type: ignore[union-attr]
    finally:
        await pool.close()


@in_own_loop
async def test_a_capture_crosses_the_worker_pipe_and_a_dead_worker_is_a_clear_error(
    tmp_path: Path,
) -> None:
    from hotline.media.engine import CaptureFinished, StartCapture, StopCapture
    from hotline.media.vad import EndpointingRules

    pool = MediaWorkerPool(workers=1)
    await pool.start()
    caller = await open_peer()
    try:
        endpoint = await pool.allocate(Allocate("vm"))
        await pool.execute(SetRemote(endpoint.endpoint_id, *caller.address, 0))
        rules = EndpointingRules(start_timeout=2.0, trailing_silence=0.3, max_duration=10.0)
        path = tmp_path / "vm.wav"
        command = StartCapture(endpoint.endpoint_id, rules, path=str(path), stop_digits="#")
        assert await pool.execute(command) == Done()
        payload = pcmu().encoder().encode(tone((440.0,), 1.0, 0.25))
        target = ("127.0.0.1", endpoint.port)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for index in range(50):
            chunk = payload[index * 160 : (index + 1) * 160]
            caller.send(bytes(RtpPacket(0, index, index * 160, 7, chunk)), target)
            await asyncio.sleep(max(0.0, start + (index + 1) * 0.02 - loop.time()))
        event = await asyncio.wait_for(pool.next_event(), 5)
        assert isinstance(event, CaptureFinished)  # the worker's own end of speech
        result = event.result
        assert (result.reason, result.speech, result.path) == ("end_of_speech", True, str(path))
        assert read_wav(path).duration == pytest.approx(result.duration, abs=0.03)

        assert await pool.execute(StartCapture(endpoint.endpoint_id, rules)) == Done()
        os.kill(pool._workers[0].process.pid, signal.SIGKILL)  # type: ignore[arg-type]
        pool._workers[0].process.join(5)
        # The capture died with its worker: a stop is refused with a reason, never hangs.
        stop = pool.execute(StopCapture(endpoint.endpoint_id))
        with pytest.raises(MediaEngineError):
            await asyncio.wait_for(stop, 5)
    finally:
        caller.close()
        await pool.close()
