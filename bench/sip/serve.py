"""Runs the SIP service alone (UDP+TCP on 127.0.0.1, port 0) for the benchmarks: prints
``UDP <port>`` and ``TCP <port>`` and serves until SIGTERM. Users bench0..bench99 with
password 'secret' for the REGISTER benchmark; bindings in memory."""

from __future__ import annotations

import asyncio
import signal
import sys

import uvloop

from hotline.sip.auth import make_ha1s
from hotline.transport.sip_service import SipService, SipServiceConfig


async def main() -> None:
    users = {f"bench{i}": make_ha1s(f"bench{i}", "hotline", "secret") for i in range(100)}
    service = SipService(SipServiceConfig(users=users, nonce_secret=b"bench"))
    addresses = await service.start()
    for name, (_, port) in addresses.items():
        sys.stdout.write(f"{name} {port}\n")
    sys.stdout.flush()
    for _name, (_, _port) in addresses.items():
        pass
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    service.stop()
    sys.stderr.write(f"{dict(sorted(service.agent.stats.items()))}\n")


uvloop.run(main())
