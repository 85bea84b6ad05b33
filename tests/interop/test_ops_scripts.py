"""docs/ops.md's scripts, run as written (curl, jq, sh) against a demo node: a monitoring
token is made with the page's commands, and the seed's "online agents below threshold"
check mails its warning while too few agents are online and stays silent once enough are.
``mail`` is a stand-in on PATH that keeps what it was given."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import HotlineProcess
from tests.interop.conftest import require_peer
from tests.support.demo_node import DemoNode

pytestmark = pytest.mark.interop

DOC = Path(__file__).resolve().parents[2] / "docs" / "ops.md"


def scripts() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", DOC.read_text("utf-8"), re.DOTALL)


def run(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "-c", script], env=env, cwd=cwd, capture_output=True, text=True, timeout=30
    )


def admin_password(demo: DemoNode) -> str:
    found = re.search(r"admin / (\S+)", "".join(demo.process.lines))
    assert found is not None, "the demo's admin password is not logged"
    return found.group(1)


def test_the_online_agents_check_warns_below_the_threshold_and_is_silent_above(
    run_hotline: type[HotlineProcess], tmp_path: Path
) -> None:
    for tool in ("curl", "jq"):
        require_peer(tool)
    check, make_token = scripts()[:2]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    mailed = tmp_path / "mailed.txt"
    mail = bin_dir / "mail"
    mail.write_text(f'#!/bin/sh\n{{ echo "mail $*"; cat; }} >> {mailed}\n')
    mail.chmod(mail.stat().st_mode | stat.S_IEXEC)
    demo = DemoNode(run_hotline, tmp_path)
    try:
        env = {
            **os.environ,
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "HOTLINE": demo.base,
            "ADMIN_PASSWORD": admin_password(demo),
        }
        made = run(make_token, env, tmp_path)
        token = made.stdout.strip()
        assert made.returncode == 0, made.stderr
        assert token.startswith("hl_"), made.stdout
        env["HOTLINE_TOKEN"] = token

        # Nobody logged in: the warning is mailed.
        warned = run(check, env, tmp_path)
        assert (warned.returncode, warned.stdout, warned.stderr) == (0, "", "")
        assert mailed.read_text() == (
            "mail -s Alert admin@example.com\nWarning: Online agents below threshold!\n"
        )

        # The token reads the live state and nothing else.
        headers = {"Authorization": f"Bearer {token}"}
        assert demo.api.get("/api/v1/queues", headers=headers).status_code == 403
        for agent in ("1001", "1002"):
            assert demo.api.post(f"/api/v1/live/agents/{agent}/login").status_code == 204
        online = demo.api.get("/api/v1/agents", params={"status": "online"}, headers=headers)
        assert online.status_code == 200, online.text
        body = online.json()
        assert (body["count"], body["next"]) == (2, None)
        statuses = {a["extension"]: a["status"] for a in body["items"]}
        assert statuses == {"1001": "available", "1002": "available"}, statuses

        # Enough agents online (the same check with the demo's threshold of 2): silence.
        mailed.unlink()
        quiet = run(check.replace("-lt 10", "-lt 2"), env, tmp_path)
        assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
        assert not mailed.exists()
        assert demo.stop() == 0
    finally:
        demo.api.close()
