"""The ``hotline`` command as an operator meets it: exit codes, errors, start and stop."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path

import httpx

from hotline import __version__
from tests.conftest import HOTLINE, HotlineProcess


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HOTLINE, *args], capture_output=True, text=True, timeout=30, env=env, check=False
    )


def http_url(line: str) -> str:
    match = re.search(r"(http://127\.0\.0\.1:\d+)", line)
    assert match, line
    return match.group(1)


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"hotline, version {__version__}"


def test_bad_settings_file_is_one_clear_line_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("http:\n  port: 99999\n")
    result = run("serve", "--config", str(config))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"hotline: invalid {config}: http.port: Input should be less than or equal to 65535 "
        "(got 99999)"
    ]


def test_unknown_setting_in_file_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "typo.yaml"
    config.write_text("sip:\n  udp_prot: 5060\n")
    result = run("serve", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.strip() == f"hotline: invalid {config}: sip.udp_prot: unknown setting"


def test_demo_on_public_address_refused(tmp_path: Path) -> None:
    result = run(
        "demo", "--data-dir", str(tmp_path), env={**os.environ, "HOTLINE_HTTP__HOST": "0.0.0.0"}
    )
    assert result.returncode == 2
    assert "http.host='0.0.0.0' is not a loopback address" in result.stderr


def test_demo_starts_serves_and_stops_cleanly_on_sigterm(run_hotline, data_dir: Path) -> None:
    demo: HotlineProcess = run_hotline(
        ["demo", "--http-port", "0", "--sip-port", "0", "--data-dir", str(data_dir)]
    )
    url = http_url(demo.wait_for("http listening"))
    demo.wait_for("hotline ready")
    health = httpx.get(f"{url}/healthz", timeout=5)
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "version": __version__, "node": "hotline-1"}
    assert data_dir.is_dir()
    assert demo.terminate() == 0
    assert "hotline stopped" in demo.drain()


def test_demo_stops_cleanly_on_ctrl_c(run_hotline, data_dir: Path) -> None:
    demo: HotlineProcess = run_hotline(
        ["demo", "--http-port", "0", "--sip-port", "0", "--data-dir", str(data_dir)]
    )
    demo.wait_for("hotline ready")
    demo.proc.send_signal(signal.SIGINT)
    assert demo.proc.wait(timeout=60) == 0


def test_serve_logs_json_lines(run_hotline, tmp_path: Path) -> None:
    config = tmp_path / "hotline.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nnode_name: pbx-test\nhttp:\n  port: 0\n"
        "sip:\n  udp_port: 0\n  tcp_port: 0\n"
        f"secret_key: {'s' * 16}{'k' * 16}\n"
    )
    assert run("db", "upgrade", "--config", str(config)).returncode == 0
    node: HotlineProcess = run_hotline(["serve", "--config", str(config)])
    line = node.wait_for("http listening")
    record = json.loads(line)
    assert record["level"] == "info"
    assert record["url"].startswith("http://127.0.0.1:")
    assert node.terminate() == 0
    for line in node.drain().splitlines():
        json.loads(line)  # every line is JSON, uvicorn's included


def test_port_in_use_fails_with_clear_message(run_hotline, data_dir: Path) -> None:
    import socket

    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        demo: HotlineProcess = run_hotline(
            ["demo", "--http-port", str(port), "--sip-port", "0", "--data-dir", str(data_dir)]
        )
        assert demo.proc.wait(timeout=60) == 1
        assert f"cannot listen for HTTP on 127.0.0.1:{port}: Address already in use" in (
            demo.drain()
        )
