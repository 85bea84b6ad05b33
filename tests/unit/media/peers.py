"""A scripted RTP peer for tests: sends captured or generated packets, keeps what it receives."""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, cast

from hotline.media.pcap import read_udp

Address = tuple[str, int]


class RtpPeer(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.received: list[tuple[bytes, Address]] = []
        self._arrived = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not every loop's datagram transport subclasses DatagramTransport; it quacks like one.
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.received.append((data, addr))
        self._arrived.set()

    @property
    def address(self) -> Address:
        assert self.transport is not None
        host, port = self.transport.get_extra_info("sockname")[:2]
        return host, port

    def send(self, data: bytes, to: Address) -> None:
        assert self.transport is not None
        self.transport.sendto(data, to)

    async def send_all(self, packets: list[bytes], to: Address, pace: float = 0.0) -> None:
        for index, packet in enumerate(packets):
            self.send(packet, to)
            if pace:
                await asyncio.sleep(pace)
            elif index % 20 == 19:
                await asyncio.sleep(0.001)  # let the engine's loop drain its socket

    async def wait_for(self, count: int, within: float = 5.0) -> list[bytes]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while len(self.received) < count and loop.time() < deadline:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), deadline - loop.time())
            except TimeoutError:
                break
        return [data for data, _ in self.received]

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def open_peer(host: str = "127.0.0.1") -> RtpPeer:
    loop = asyncio.get_running_loop()
    peer = RtpPeer()
    transport, _ = await loop.create_datagram_endpoint(lambda: peer, local_addr=(host, 0))
    peer.transport = transport
    return peer


def pcap_payloads(path: str | Path) -> list[bytes]:
    return [datagram.payload for datagram in read_udp(path)]


def in_own_loop(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test in a fresh event loop on its own thread.

    A session-scoped Playwright (sync API) fixture elsewhere in the suite leaves a running
    loop on the main thread, where pytest-asyncio then cannot start one; a thread of our own
    is immune to whatever ran before. Pytest still sees the test's own parameters (fixtures).
    """

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        failure: list[BaseException] = []

        def target() -> None:
            try:
                asyncio.run(test(*args, **kwargs))
            except BaseException as exc:  # handed to the test's thread below
                failure.append(exc)

        thread = threading.Thread(target=target, name=f"test-{test.__name__}")
        thread.start()
        thread.join()
        if failure:
            raise failure[0]

    return run
