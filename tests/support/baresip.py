"""baresip, the softphone of the interop tests: its configuration, its process and its
ctrl_tcp remote control, in one place for every test that needs a real phone.

A phone talks a WAV file (or nothing) and, when asked, keeps what it heard in the sndfile
module's WAV dumps, so a test can prove who was heard when.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from tests.interop.conftest import require_peer


def free_port_pair() -> int:
    """A port p with p and p+1 free for UDP and TCP (baresip binds sip_listen and +1 for TLS)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        if port >= 65534:
            continue
        try:
            for candidate in (port, port + 1):
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    with socket.socket(socket.AF_INET, kind) as s:
                        s.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair")


class Baresip:
    """One baresip process configured in ``directory`` with one ``account`` line.

    ``talks``: a WAV it plays as its microphone (default: silence); ``heard_dir``: where the
    sndfile module dumps what it decoded; ``extra``: more config lines (``sip_cafile …``).
    """

    def __init__(
        self,
        directory: Path,
        account: str,
        *,
        talks: Path | None = None,
        heard_dir: Path | None = None,
        extra: Sequence[str] = (),
    ) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.sip_port = free_port_pair()
        self.ctrl_port = free_port_pair()
        lines = [
            f"sip_listen 127.0.0.1:{self.sip_port}",
            "net_interface 127.0.0.1",
            f"audio_source aufile,{talks or '/dev/null'}",
            "audio_player aufile,/dev/null",
            "audio_alert aufile,/dev/null",
        ]
        if talks is not None:
            lines += ["ausrc_srate 8000", "auplay_srate 8000"]
        lines += ["module_path /usr/lib/baresip/modules", "module g711.so", "module aufile.so"]
        if heard_dir is not None:
            lines += ["module sndfile.so", f"snd_path {heard_dir}"]
        lines += [
            "module_app account.so",
            "module_app menu.so",
            "module_app ctrl_tcp.so",
            f"ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}",
            *extra,
            "",
        ]
        (directory / "config").write_text("\n".join(lines))
        (directory / "accounts").write_text(account + "\n")
        self.proc = subprocess.Popen(
            [require_peer("baresip"), "-f", str(directory)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )

    def command(self, command: str, params: str = "") -> str:
        """One ctrl_tcp command (JSON netstring); returns baresip's response text."""
        payload = json.dumps({"command": command, "params": params, "token": "t"}).encode()
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.ctrl_port), timeout=3) as conn:
                    conn.sendall(str(len(payload)).encode() + b":" + payload + b",")
                    return conn.recv(8192).decode(errors="replace")
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def last_dump(self, heard_dir: Path, timeout: float = 10.0) -> Path:
        """The newest decoded-audio dump, once baresip has finished writing it.

        baresip closes the dump when its call's audio stops; on a loaded machine that comes
        a while after a BYE from the node, so the file may not be there, or still growing,
        when a test first looks."""
        deadline = time.monotonic() + timeout
        last: tuple[Path, int] | None = None
        while True:
            files = sorted(heard_dir.glob("*-dec.wav"), key=lambda f: f.stat().st_mtime)
            if files:
                current = (files[-1], files[-1].stat().st_size)
                if current == last and current[1] > 44:  # the same size twice: closed
                    return current[0]
                last = current
            if time.monotonic() > deadline:
                assert files, f"baresip in {self.directory} wrote no decoded-audio dump"
                return files[-1]
            time.sleep(0.3)

    def stop(self) -> str:
        """Stop the phone; its console output, for a failing test's message."""
        self.proc.terminate()
        try:
            output, _ = self.proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            output, _ = self.proc.communicate()
        return output
