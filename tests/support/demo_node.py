"""A running ``hotline demo`` with its ports and passwords read from its log, an admin API
client, and phones registered as its agents: what call-control interop tests start from."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import numpy as np

from hotline.media.wav import read_wav
from tests.conftest import HotlineProcess
from tests.support.phones import Phone
from tests.support.sipp_echo_caller import echoing_caller

T = TypeVar("T")


def wait_until(predicate: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class DemoNode:
    def __init__(
        self,
        run_hotline: type[HotlineProcess],
        directory: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.directory = directory
        self.data = directory / "demo"
        self.process = run_hotline(
            ["demo", "--http-port", "0", "--sip-port", "0", "--data-dir", str(self.data)], env
        )
        self.process.wait_for("hotline ready", timeout=90)
        self.base = self._logged(r"(http://127\.0\.0\.1:\d+)")
        self.sip_port = int(self._logged(r"address=127\.0\.0\.1:(\d+) transport=udp"))
        admin = self._logged(r"admin / (\S+)")
        self.api = httpx.Client(base_url=self.base, timeout=10)
        login = self.api.post("/api/v1/auth/login", json={"username": "admin", "password": admin})
        assert login.status_code == 200, login.text
        self.phones: list[Phone] = []

    def _logged(self, pattern: str) -> str:
        for line in self.process.lines:
            match = re.search(pattern, line)
            if match:
                return match.group(1)
        raise AssertionError(f"{pattern!r} not logged")

    def password(self, user: str) -> str:
        """An agent's SIP password (also its web password)."""
        return self._logged(rf"SIP user '{user}', password '([^']+)'")

    def logged_password(self, username: str) -> str:
        """A seeded web user's password (supervisor, qa)."""
        return self._logged(rf"demo user created: {username} / (\S+)")

    def login(self, username: str, password: str) -> httpx.Client:
        client = httpx.Client(base_url=self.base, timeout=10)
        response = client.post(
            "/api/v1/auth/login", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.text
        return client

    def agent_phone(
        self, agent: str, tone_hz: float, *, on_duty: bool = True, auto_answer: bool = True
    ) -> Phone:
        """Agent ``agent``'s baresip, registered (and logged in and ready when on duty);
        without ``auto_answer`` it rings until told ``accept``."""
        phone = Phone(
            self.directory / f"phone-{agent}",
            user=agent,
            registrar_port=self.sip_port,
            tone_hz=tone_hz,
            password=self.password(agent),
            auto_answer=auto_answer,
        )
        self.phones.append(phone)
        wait_until(
            lambda: any(
                a["agent_id"] == agent and a["phone_registered"]
                for a in self.api.get("/api/v1/live/agents").json()
            ),
            15,
            f"{agent}'s phone to register",
        )
        if on_duty:
            assert self.api.post(f"/api/v1/live/agents/{agent}/login").status_code == 204
            assert self.api.post(f"/api/v1/live/agents/{agent}/ready").status_code == 204
        return phone

    def customer_phone(self, tone_hz: float) -> Phone:
        phone = Phone(
            self.directory / "customer",
            user="13800138000",
            registrar_port=self.sip_port,
            tone_hz=tone_hz,
        )
        self.phones.append(phone)
        return phone

    def echoing_customer(self, number: str) -> subprocess.Popen[str]:
        """A SIPp caller of ``number`` that echoes what it hears (into the recording)."""
        return echoing_caller(self.directory / "caller", self.sip_port, number)

    def hang_up(self, call_id: str, caller: subprocess.Popen[str]) -> None:
        """End the call from the node (as a supervisor would) and let SIPp finish."""
        assert self.api.post(f"/api/v1/live/calls/{call_id}/hangup").status_code == 204
        output, _ = caller.communicate(timeout=60)
        assert caller.returncode == 0, output[-2000:]

    def heard_by_caller(self, count: int) -> list[np.ndarray]:
        """The left (customer) channel of the call's ``count`` recordings, oldest first:
        with an echoing caller, what the caller heard while each was recorded."""
        return [left for left, _ in self.recordings(count)]

    def recordings(self, count: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """Both channels (customer, agent side) of the call's ``count`` recordings, oldest
        first, fetched through the API as a QA inspector would play them."""

        def listed() -> list[dict[str, Any]] | None:
            rows: list[dict[str, Any]] = self.api.get("/api/v1/recordings").json()
            return rows if len(rows) == count else None

        rows = sorted(wait_until(listed, 20, f"{count} recordings"), key=lambda r: r["id"])
        channels = []
        for row in rows:
            audio = self.api.get(f"/api/v1/recordings/{row['id']}/audio")
            assert audio.status_code == 200
            path = self.directory / f"recording-{row['id']}.wav"
            path.write_bytes(audio.content)
            wav = read_wav(path)
            channels.append((wav.channel(0), wav.channel(1)))
        return channels

    def call(self, phone: Phone, number: str) -> None:
        phone.command("dial", f"sip:{number}@127.0.0.1:{self.sip_port}")

    def live_call(self, predicate: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        def find() -> dict[str, Any] | None:
            calls: list[dict[str, Any]] = self.api.get("/api/v1/live/calls").json()
            return next((c for c in calls if predicate(c)), None)

        return wait_until(find, 20, what)

    def cdr(self) -> dict[str, Any]:
        rows: list[dict[str, Any]] = wait_until(
            lambda: self.api.get("/api/v1/cdrs").json(), 15, "the CDR"
        )
        (row,) = rows
        return row

    def stop(self) -> int:
        for phone in self.phones:
            phone.stop()
        return self.process.terminate()
