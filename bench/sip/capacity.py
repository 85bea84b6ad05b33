"""SIPp against the SIP service in its own process: the highest call-setup rate and
REGISTER rate (digest) with 0 failures, stepping the rate up until a step fails.

Each step runs ``rate * SECONDS`` calls against a fresh server process; a step passes when
SIPp exits 0 with every call successful AND the server saw every ACK and BYE (or every
authenticated REGISTER). The second check matters: SIPp's default scenario accepts a
retransmitted 200 to the INVITE as the 200 to its BYE, so a lost ACK and BYE can still
count as a "successful call" on SIPp's side. Calls hang up at once (-d 0): a setup is
INVITE/100/200/ACK then BYE/200.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).parent
SECONDS = 10
CALL_RATES = [50, 100, 200, 300, 400, 500, 600, 800, 1000, 1200, 1500]
REGISTER_RATES = [50, 100, 200, 300, 400, 500, 600, 800, 1000, 1200]


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def start_server() -> tuple[subprocess.Popen[str], dict[str, int]]:
    server = subprocess.Popen(
        [sys.executable, str(HERE / "serve.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ports: dict[str, int] = {}
    assert server.stdout is not None
    while len(ports) < 2:
        name, port = server.stdout.readline().split()
        ports[name] = int(port)
    return server, ports


def sipp(args: list[str], workdir: Path) -> tuple[bool, str]:
    result = subprocess.run(
        ["sipp", *args, "-i", "127.0.0.1", "-p", "0", "-nostdin", "-timeout", "60s"],
        cwd=workdir,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=120,
        check=False,
    )
    ok = re.findall(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", result.stdout)
    failed = re.findall(r"Failed call\s*\|\s*\d+\s*\|\s*(\d+)", result.stdout)
    rates = re.findall(r"Call Rate\s*\|\s*[\d.]+ cps\s*\|\s*([\d.]+) cps", result.stdout)
    achieved = rates[-1] if rates else "?"
    summary = (
        f"ok={ok[-1] if ok else '?'} failed={failed[-1] if failed else '?'} "
        f"achieved={achieved} cps (SIPp cumulative)"
    )
    return result.returncode == 0 and failed[-1:] == ["0"], summary


def limits(rate: int) -> list[str]:
    return ["-r", str(rate), "-m", str(rate * SECONDS), "-l", str(rate * 4)]


def stop_server(server: subprocess.Popen[str]) -> dict[str, int]:
    server.terminate()
    _, stats = server.communicate(timeout=10)
    result: dict[str, int] = ast.literal_eval(stats.strip().splitlines()[-1])
    return result


def step_up(
    label: str,
    rates: list[int],
    make_args: Callable[[int, str], list[str]],
    expected: Callable[[int], dict[str, int]],
    workdir: Path,
) -> int:
    best = 0
    for rate in rates:
        server, ports = start_server()
        try:
            passed, summary = sipp(make_args(rate, f"127.0.0.1:{ports['UDP']}"), workdir)
        finally:
            stats = stop_server(server)
        wanted = expected(rate * SECONDS)
        seen = {key: stats.get(key, 0) for key in wanted}
        passed = passed and seen == wanted
        say(
            f"{label} {rate}/s x {rate * SECONDS}: {'pass' if passed else 'FAIL'} {summary}; "
            f"server saw {seen}"
        )
        if not passed:
            break
        best = rate
    return best


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        register = ["-sf", str(HERE / "register.xml"), "-au", "bench1", "-ap", "secret"]
        calls = step_up(
            "calls",
            CALL_RATES,
            lambda r, target: ["-sn", "uac", target, "-d", "0", *limits(r)],
            lambda n: {"calls.confirmed": n, "bye.200": n},
            workdir,
        )
        registers = step_up(
            "registers",
            REGISTER_RATES,
            lambda r, target: [*register, target, *limits(r)],
            lambda n: {"register.200": n},
            workdir,
        )
    say(f"max call setups/s with 0 failures (UDP, {SECONDS} s steps): {calls}")
    say(f"max digest REGISTERs/s with 0 failures (UDP, {SECONDS} s steps): {registers}")


if __name__ == "__main__":
    main()
