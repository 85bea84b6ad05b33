"""The load bench: SIPp callers through the IVR into a queue served by a SIPp agent farm,
with audio both ways and every call recorded; one step per line of STEPS.

Per step: a fresh node (bench/load/node.py, its own process), a SIPp UAS farm answering as
every agent with RTP echo, and a SIPp UAC placing calls at RATE per second, each pressing 1
(RFC 2833 capture) and talking a tone for HOLD seconds, at most LIMIT at once. Reported:
calls ok/failed (SIPp), post-dial delay (INVITE to 200, SIPp's response time) p50/p99,
average speed of answer in the queue, the node's CPU (all its processes) and memory, RTP
received and lost at the node's endpoints (both legs), and the peak of calls in progress.

Usage: bench/load/run [RATE:HOLD:CALLS ...]   (default: 5:20:150 10:25:400)

With PROFILE=1, py-spy samples the node and its media workers (50 Hz, without stopping
them) while the callers run, and the step reports where each kind of process spends its
CPU: the share of samples per source file and the busiest functions (self time).
"""

from __future__ import annotations

import csv
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.support.sipp_customer import customer_scenario  # noqa: E402

PY = ROOT / ".venv" / "bin" / "python"
PYSPY = ROOT / ".venv" / "bin" / "py-spy"
TICKS = os.sysconf("SC_CLK_TCK")


def say(line: str) -> None:
    """One line for the reader (the driver, or a person), at once."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tree(pid: int) -> list[int]:
    """The process and its descendants (media workers, their forkserver)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def cpu_and_rss(pids: list[int]) -> tuple[float, float]:
    cpu = rss = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / TICKS
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) / 1024
        except (OSError, ValueError, IndexError):
            continue
    return cpu, rss


def step(rate: float, hold: float, calls: int, workers: int) -> dict[str, object]:
    limit = int(rate * (hold + 8) * 1.3) + 10
    work = Path(tempfile.mkdtemp(prefix="hotline-load-"))
    farm_port, farm_media = free_port(), free_port()
    log = (work / "node.log").open("w")
    node = subprocess.Popen(
        [
            str(PY),
            str(ROOT / "bench/load/node.py"),
            str(limit + 20),
            str(farm_port),
            str(work),
            str(workers),
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        cwd=ROOT,
    )
    output = node.stdout
    assert output is not None
    sip_port = json.loads(output.readline())["sip_port"]
    lines: list[dict[str, float]] = []

    def read() -> None:
        for line in output:
            lines.append(json.loads(line))

    threading.Thread(target=read, daemon=True).start()
    farm = subprocess.Popen(
        [
            "sipp",
            "-sn",
            "uas",
            "-i",
            "127.0.0.1",
            "-p",
            str(farm_port),
            "-mi",
            "127.0.0.1",
            "-mp",
            str(farm_media),
            "-rtp_echo",
            "-nostdin",
            "-max_socket",
            "10000",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=work,
    )
    talk = work / "talk.wav"
    subprocess.run(
        [
            "sox",
            "-n",
            "-r",
            "8000",
            "-c",
            "1",
            "-e",
            "a-law",
            str(talk),
            "synth",
            str(hold + 10),
            "sine",
            "440",
            "vol",
            "0.5",
        ],
        check=True,
    )
    scenario = work / "customer.xml"
    scenario.write_text(
        customer_scenario([(2.0, "1")], talk_wav=talk, talk_seconds=hold, number="5000")
    )
    pids = tree(node.pid)
    cpu0, _ = cpu_and_rss(pids)
    main0, _ = cpu_and_rss([node.pid])
    started = time.monotonic()
    samples: list[float] = []
    peak_rss = 0.0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_rss
        last_cpu, last_t = cpu0, time.monotonic()
        while not done.wait(1.0):
            cpu, rss = cpu_and_rss(tree(node.pid))
            now = time.monotonic()
            samples.append((cpu - last_cpu) / (now - last_t) * 100)
            last_cpu, last_t = cpu, now
            peak_rss = max(peak_rss, rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    profile = work / "profile.raw"
    profiler = None
    if os.environ.get("PROFILE") == "1":
        profiler = subprocess.Popen(
            [
                str(PYSPY),
                "record",
                "--pid",
                str(node.pid),
                "--subprocesses",
                "--nonblocking",
                "--rate",
                "50",
                "--duration",
                str(int(calls / rate + hold)),
                "--format",
                "raw",
                "--output",
                str(profile),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    customers = subprocess.run(
        [
            "sipp",
            "-sf",
            str(scenario),
            f"127.0.0.1:{sip_port}",
            "-i",
            "127.0.0.1",
            "-p",
            "0",
            "-mi",
            "127.0.0.1",
            "-mp",
            str(free_port()),
            "-r",
            str(rate),
            "-m",
            str(calls),
            "-l",
            str(limit),
            "-nostdin",
            "-timeout",
            f"{int(calls / rate + hold + 60)}s",
            "-trace_rtt",
            "-rtt_freq",
            "1",
            "-max_socket",
            "10000",
        ],
        capture_output=True,
        text=True,
        errors="replace",
        cwd=work,
    )
    elapsed = time.monotonic() - started
    if profiler is not None:
        profiler.wait(60)
    time.sleep(3)  # the last legs' stats and CDRs
    done.set()
    sampler.join()
    cpu1, _ = cpu_and_rss(tree(node.pid))
    main1, _ = cpu_and_rss([node.pid])
    ok = failed = 0
    for line in customers.stdout.splitlines():
        if line.strip().startswith("Successful call"):
            ok = int(line.split("|")[-1].strip() or 0)
        if line.strip().startswith("Failed call"):
            failed = int(line.split("|")[-1].strip() or 0)
    pdd: list[float] = []
    for rtt_file in work.glob("customer_*_rtt.csv"):
        with rtt_file.open() as handle:
            for row in csv.DictReader(handle, delimiter=";"):
                if row.get("rtd_no") == "1":
                    pdd.append(float(row["response_time_ms"]))
    last = lines[-1] if lines else {}
    peak_calls = max((line["live_calls"] for line in lines), default=0)
    node.terminate()
    farm.terminate()
    node.wait(15)
    farm.wait(15)
    log.close()
    received, lost = float(last.get("received", 0)), float(last.get("lost", 0))
    return {
        "rate_cps": rate,
        "hold_s": hold,
        "calls": calls,
        "ok": ok,
        "failed": failed,
        "peak_concurrent": peak_calls,
        "pdd_ms_p50": round(statistics.median(pdd), 1) if pdd else None,
        "pdd_ms_p99": round(sorted(pdd)[int(len(pdd) * 0.99) - 1], 1) if pdd else None,
        "asa_s": last.get("asa_s"),
        "node_cpu_pct_avg": round((cpu1 - cpu0) / elapsed * 100, 1),
        "node_cpu_pct_peak": round(max(samples), 1) if samples else None,
        "node_main_process_cpu_pct_avg": round((main1 - main0) / elapsed * 100, 1),
        "node_rss_mb_peak": round(peak_rss, 1),
        "rtp_received": int(received),
        "rtp_lost": int(lost),
        "rtp_loss_pct": round(lost / (received + lost) * 100, 3) if received else None,
        "jitter_ms_max": last.get("jitter_ms_max"),
        "cdrs_written": last.get("cdrs_written"),
        "sipp_exit": customers.returncode,
        "work_dir": str(work),
        **({"profile": where_the_cpu_goes(profile, node.pid)} if profile.exists() else {}),
    }


def where_the_cpu_goes(raw: Path, main_pid: int, top: int = 12) -> dict[str, object]:
    """From py-spy's collapsed stacks: per kind of process (the node's main process, its
    media workers), the share of samples per source file and per leaf function."""
    by_file: dict[str, dict[str, int]] = {"main": {}, "workers": {}}
    by_function: dict[str, dict[str, int]] = {"main": {}, "workers": {}}
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = stack.split(";")
        processes = [f for f in frames if f.startswith("process ")]
        code = [f for f in frames if not f.startswith("process ") and not f.startswith("thread ")]
        if not processes or not code:
            continue
        pid = int(processes[-1].split(":", 1)[0].removeprefix("process "))
        kind = "main" if pid == main_pid else "workers"
        leaf = code[-1]
        if leaf.startswith("Runner.run (asyncio/runners.py"):
            # Below the loop's Python frame is uvloop's C: polling, recv/send, callbacks.
            leaf = "event loop, native (uvloop: poll, socket calls) (native:0)"
        source = leaf[leaf.rfind("(") + 1 : leaf.rfind(":")] if "(" in leaf else leaf
        count = int(count_text)
        by_file[kind][source] = by_file[kind].get(source, 0) + count
        by_function[kind][leaf] = by_function[kind].get(leaf, 0) + count

    def shares(counts: dict[str, int]) -> list[tuple[str, float]]:
        total = sum(counts.values()) or 1
        ranked = sorted(counts.items(), key=lambda item: -item[1])[:top]
        return [(name, round(100 * n / total, 1)) for name, n in ranked]

    return {
        kind: {
            "samples": sum(by_file[kind].values()),
            "files_pct": shares(by_file[kind]),
            "functions_pct": shares(by_function[kind]),
        }
        for kind in ("main", "workers")
    }


def main() -> None:
    steps = sys.argv[1:] or ["5:20:150", "10:25:400"]
    workers = int(os.environ.get("MEDIA_WORKERS", "0"))
    say(f"-- machine: {os.cpu_count()} cores; media workers: {workers or 'in the node process'}")
    for text in steps:
        rate, hold, calls = text.split(":")
        result = step(float(rate), float(hold), int(calls), workers)
        say(json.dumps(result))


if __name__ == "__main__":
    main()
