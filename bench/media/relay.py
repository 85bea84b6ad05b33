"""Bench of the built-in media engine (see bench/media/run).

1. Hot path: ``RtpEndpoint.datagram_received`` called directly with a transport that only
   counts, so the figure is Python's own cost per relayed packet, without the kernel.
2. Relay: one ``MediaWorkerPool`` worker process; this driver process plays C bridged calls
   (a caller socket and an agent socket per call, both directions, 20 ms packets), stamps each
   payload with the send time and measures loss and the added latency (send → relayed copy
   received). CPU of the worker and of this driver come from /proc. The driver is a Python
   load generator on the same 2 cores, so it competes with the worker: figures are a floor.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

import numpy as np
import uvloop

from hotline.media.default_codecs import default_registry
from hotline.media.engine import (
    Allocate,
    Bridge,
    CodecOffer,
    SetRemote,
    StartRecording,
    StopRecording,
)
from hotline.media.recorder import CallRecorder
from hotline.transport.media_worker import MediaWorkerPool
from hotline.transport.rtp_endpoint import RtpEndpoint

PCMU = (CodecOffer("PCMU", 0), CodecOffer("telephone-event", 101))
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def say(line: str) -> None:
    """The bench's report goes to stdout, line by line as each step finishes."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class _CountingTransport:
    def __init__(self) -> None:
        self.sent = 0

    def sendto(self, data: bytes, addr: Any = None) -> None:
        self.sent += 1

    def close(self) -> None:
        pass


def hot_path(packets: int = 200_000) -> None:
    registry = default_registry(with_g729=False)
    results = {}
    for label in ("relay", "relay+record", "relay, PCMU->PCMA transcode"):
        a = RtpEndpoint("a", "c", (*PCMU, CodecOffer("PCMA", 8)), registry)
        b = RtpEndpoint("b", "c", (*PCMU, CodecOffer("PCMA", 8)), registry)
        out = _CountingTransport()
        a.transport = cast(Any, _CountingTransport())
        b.transport = cast(Any, out)
        a.set_remote("127.0.0.1", 4000, 0, 101)
        b.set_remote("127.0.0.1", 4002, 8 if "transcode" in label else 0, 101)
        a.connect(b)
        b.connect(a)
        tmp = tempfile.TemporaryDirectory()
        if label == "relay+record":
            recorder = CallRecorder(
                Path(tmp.name) / "r.wav",
                call_id="c",
                now=0.0,
                decoders=(registry.get("PCMU").decoder(), registry.get("PCMU").decoder()),
            )
            a.recorder = recorder
        frames = [
            struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, seq * 160, 1234) + bytes(160)
            for seq in range(packets)
        ]
        source = ("127.0.0.1", 4000)
        started = time.perf_counter()
        receive = a.datagram_received
        for index, frame in enumerate(frames):
            receive(frame, source)
            if label == "relay+record" and index % 50 == 49:
                a.recorder.flush(index / 50.0, drain=True)  # type: ignore[union-attr]
        elapsed = time.perf_counter() - started
        assert out.sent == packets, (label, out.sent)
        results[label] = elapsed / packets * 1e6
        tmp.cleanup()
    say("== hot path (datagram_received, no kernel), µs per packet:")
    for label, cost in results.items():
        say(f"   {label:32s} {cost:6.2f} µs  (= {1e6 / cost:,.0f} packets/s of pure Python)")


class Phone(asyncio.DatagramProtocol):
    """A caller or agent socket of the load generator; measures one-way relay delay."""

    def __init__(self, delays: list[float]) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.received = 0
        self.delays = delays

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if 192 <= data[1] <= 223:
            return  # the engine's RTCP reports, not relayed media
        self.received += 1
        if self.received % 8 == 0:  # sample: keep the generator's own cost low
            (sent_ns,) = struct.unpack_from("!Q", data, 12)
            self.delays.append((time.perf_counter_ns() - sent_ns) / 1e6)


async def load_step(
    calls: int, seconds: float, record: bool, workdir: Path, workers: int = 1
) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    pool = MediaWorkerPool(workers=workers)
    await pool.start()
    delays: list[float] = []
    phones: list[tuple[Phone, Phone, tuple[str, int], tuple[str, int]]] = []
    try:
        for index in range(calls):
            call_id = f"bench-{index}"
            ends = []
            for _ in range(2):
                phone = Phone(delays)
                await loop.create_datagram_endpoint(lambda p=phone: p, local_addr=("127.0.0.1", 0))
                ends.append(phone)
            a = await pool.allocate(Allocate(call_id, codecs=PCMU))
            b = await pool.allocate(Allocate(call_id, codecs=PCMU))
            for endpoint, phone in ((a, ends[0]), (b, ends[1])):
                assert phone.transport is not None
                port = phone.transport.get_extra_info("sockname")[1]
                await pool.execute(SetRemote(endpoint.endpoint_id, "127.0.0.1", port, 0))
            await pool.execute(Bridge(a.endpoint_id, b.endpoint_id))
            if record:
                path = workdir / f"{call_id}.wav"
                await pool.execute(StartRecording(call_id, a.endpoint_id, b.endpoint_id, str(path)))
            phones.append((ends[0], ends[1], ("127.0.0.1", a.port), ("127.0.0.1", b.port)))
        worker_pids = [w.process.pid for w in pool._workers if w.process.pid is not None]
        payload_tail = bytes(152)
        ssrc = 1
        ticks = int(seconds / 0.02)
        worker_cpu0 = sum(cpu_seconds(pid) for pid in worker_pids)
        me_cpu0 = cpu_seconds(os.getpid())
        wall0 = time.perf_counter()
        next_tick = loop.time()
        sent = 0
        late_ticks = 0
        for seq in range(ticks):
            header = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, seq * 160, ssrc)
            for caller, agent, to_a, to_b in phones:
                # Stamped per call, so a late place in the burst is not counted as relay delay.
                packet = header + struct.pack("!Q", time.perf_counter_ns()) + payload_tail
                assert caller.transport is not None
                assert agent.transport is not None
                caller.transport.sendto(packet, to_a)
                agent.transport.sendto(packet, to_b)
            sent += 2 * len(phones)
            next_tick += 0.02
            pause = next_tick - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
            else:
                late_ticks += 1
                await asyncio.sleep(0)
        send_wall = time.perf_counter() - wall0  # longer than planned when ticks ran late
        await asyncio.sleep(0.3)  # let the last packets arrive
        wall = time.perf_counter() - wall0
        worker_cpu = sum(cpu_seconds(pid) for pid in worker_pids) - worker_cpu0
        me_cpu = cpu_seconds(os.getpid()) - me_cpu0
        received = sum(c.received + g.received for c, g, _, _ in phones)
        if record:
            for index in range(calls):
                await pool.execute(StopRecording(f"bench-{index}"))
    finally:
        await pool.close()
        for caller, agent, _, _ in phones:
            for phone in (caller, agent):
                if phone.transport is not None:
                    phone.transport.close()
    ordered = sorted(delays) or [0.0]
    return {
        "calls": calls,
        "pps": sent / send_wall,  # what was really offered, not the nominal rate
        "loss_pct": 100.0 * (sent - received) / sent,
        "worker_cpu_pct": 100.0 * worker_cpu / wall,
        "worker_us_per_packet": 1e6 * worker_cpu / max(1, received),
        "driver_cpu_pct": 100.0 * me_cpu / wall,
        "lat_mean_ms": statistics.fmean(ordered),
        "lat_p99_ms": ordered[int(0.99 * (len(ordered) - 1))],
        "late_ticks": late_ticks,
    }


async def relay(
    steps: list[int], seconds: float, record: bool, workers: int = 1
) -> list[dict[str, float]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        for calls in steps:
            row = await load_step(calls, seconds, record, Path(tmp), workers)
            rows.append(row)
            say(
                f"   calls={calls:4d} relayed={row['pps']:8,.0f} pps loss={row['loss_pct']:6.3f}% "
                f"worker CPU={row['worker_cpu_pct']:5.1f}% "
                f"({row['worker_cpu_pct'] / calls:.3f}%/call, "
                f"{row['worker_us_per_packet']:.1f} µs/packet) "
                f"driver CPU={row['driver_cpu_pct']:5.1f}% "
                f"latency mean={row['lat_mean_ms']:.3f} ms p99={row['lat_p99_ms']:.3f} ms "
                f"late ticks={row['late_ticks']}"
            )
            if row["loss_pct"] > 0.1 or row["driver_cpu_pct"] > 95:
                break
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short steps, few loads")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (calls sharded)")
    parser.add_argument("--no-hot-path", action="store_true", help="skip the hot-path figures")
    parser.add_argument("--recording", choices=["both", "off", "on"], default="both")
    parser.add_argument("--steps", default="100,200,300,400,500,600,800,1000")
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    seconds = args.seconds
    if args.quick:
        steps, seconds = [50, 100], 2.0
    say(f"python {sys.version.split()[0]}, numpy {np.__version__}, uvloop {uvloop.__version__}")
    if not args.no_hot_path:
        hot_path(50_000 if args.quick else 200_000)
    modes = {"both": (False, True), "off": (False,), "on": (True,)}[args.recording]
    for record in modes:
        label = "with" if record else "without"
        say(
            f"== bridged PCMU calls, {args.workers} worker process(es), {label} recording "
            f"({seconds:g} s/step):"
        )
        rows = uvloop.run(relay(steps, seconds, record, args.workers))
        good = [r for r in rows if r["loss_pct"] <= 0.1]
        if good:
            best = good[-1]
            say(
                f"   best under 0.1 % loss: {best['calls']:.0f} calls = {best['pps']:,.0f} pps "
                f"at {best['worker_cpu_pct']:.0f}% of a core for the worker(s)"
            )


if __name__ == "__main__":
    main()
