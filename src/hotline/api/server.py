"""Runs the HTTP application inside the node's own event loop.

uvicorn's ``Server.serve`` installs its own signal handlers and re-raises the signal after
shutdown, which would make a clean SIGTERM end with a signal exit status. The node owns
signals (it has SIP and media to stop too), so this wrapper switches that off and binds the
socket itself: that way a bind error is reported before anything starts, and port 0 works.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import uvicorn
from fastapi import FastAPI

# An app whose startup hook hangs must not hang the node.
STARTUP_TIMEOUT_S = 10.0


class HttpStartError(Exception):
    """The HTTP server could not start (address in use, app startup failed)."""


class _UvicornWithoutSignals(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HttpServer:
    """An ASGI app served on one TCP socket until :meth:`stop`."""

    def __init__(
        self,
        app: FastAPI,
        host: str,
        port: int,
        *,
        tls_certfile: Path | None = None,
        tls_keyfile: Path | None = None,
    ) -> None:
        self._app = app
        self._tls_certfile = tls_certfile
        self._tls_keyfile = tls_keyfile
        self._host = host
        self._port = port
        self._server: _UvicornWithoutSignals | None = None
        self._task: asyncio.Task[None] | None = None
        self.address: tuple[str, int] | None = None

    async def start(self) -> None:
        try:
            sock = socket.create_server((self._host, self._port))
        except OSError as error:
            raise HttpStartError(
                f"cannot listen for HTTP on {self._host}:{self._port}: {error.strerror}"
            ) from None
        self.address = sock.getsockname()[:2]
        config = uvicorn.Config(
            self._app,
            log_config=None,
            lifespan="on",
            access_log=False,
            ssl_certfile=self._tls_certfile,
            ssl_keyfile=self._tls_keyfile,
        )
        try:
            config.load()
        except (OSError, ssl.SSLError) as error:
            sock.close()
            raise HttpStartError(f"cannot load the TLS certificate or key: {error}") from None
        self._server = _UvicornWithoutSignals(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]), name="http")
        async with asyncio.timeout(STARTUP_TIMEOUT_S):
            while not self._server.started:
                if self._task.done():
                    sock.close()
                    raise HttpStartError("HTTP server stopped during startup")
                await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await self._task
