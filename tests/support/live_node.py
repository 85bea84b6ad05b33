"""A real Hotline node in the test's own event loop, with the test's routes and flows.

The demo's routing is fixed; flows under test (``tests/fixtures/ivr/``) need their own
numbers. This builds the node the demo command builds (SQLite, HTTP API, SIP over UDP and
TCP on free ports, the demo directory seeded) with a contact
centre and flows given by the test, and stops it cleanly afterwards. Peers (SIPp, baresip)
talk to it over loopback as to any node.

Media runs inside the node by default: the worker pipe protocol for captures has its own
test (``tests/interop/test_media_pool.py``), and a worker pool started from inside a test
process took 10 s to join at shutdown (not seen with ``hotline demo`` as a process).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from hotline.acd import Acd
from hotline.app import Node
from hotline.calls.routing import InboundRoute, InboundRouter
from hotline.demo.config import PLAN, demo_agents, demo_queues
from hotline.ivr.flow import Flow, load_flow
from hotline.services.contact_center import ContactCenter
from hotline.settings import DemoSettings, load_settings

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ivr"


def fixture_flow(name: str) -> Flow:
    path = FIXTURES / name
    return load_flow(path.read_text(encoding="utf-8"), str(path))


def contact_center(
    numbers: Mapping[str, tuple[str, str]], *, survey_flows: Mapping[str, str] | None = None
) -> ContactCenter:
    """The demo's queues and agents; ``numbers`` maps a dialled number to a destination
    ("flow", name) or ("queue", name), from the local trunk."""
    acd = Acd()
    for queue in demo_queues():
        acd.configure_queue(queue)
    for agent in demo_agents():
        acd.add_agent(agent)
    routes = [
        InboundRoute.model_validate(
            {
                "name": f"test-{number}",
                "did": number,
                "department": "after-sales",
                "destination": {"type": kind, "target": target},
            }
        )
        for number, (kind, target) in numbers.items()
    ]
    return ContactCenter(
        acd, InboundRouter(routes, {}, PLAN), default_recording="always", survey_flows=survey_flows
    )


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@dataclass
class LiveNode:
    node: Node
    base_url: str
    sip_port: int
    admin_password: str
    log: _Lines

    def logged(self, pattern: str) -> list[str]:
        return [line for line in self.log.lines if re.search(pattern, line)]


@asynccontextmanager
async def live_node(
    data_dir: Path,
    prompt_cache: Path,
    center: ContactCenter,
    flows: Sequence[Flow],
    *,
    media_workers: int = 0,
) -> AsyncIterator[LiveNode]:
    settings = load_settings(
        base=DemoSettings,
        data_dir=data_dir,
        prompt_cache_dir=prompt_cache,
        http={"port": 0},
        sip={"udp_port": 0, "tcp_port": 0, "tls_enabled": False},
        media={"workers": media_workers},
        # Telephony under test: transcription (a 480 MB worker after every recorded call)
        # is tested on its own and would only take the shared cores from the peers.
        modules={"qa": False},
    )
    lines = _Lines()
    logging.getLogger("hotline").addHandler(lines)
    logging.getLogger("hotline").setLevel(logging.INFO)
    node = Node(settings, center=center, flows=flows)
    stop = asyncio.Event()
    running = asyncio.create_task(node.run(stop), name="node")
    try:
        async with asyncio.timeout(60):
            while not any("hotline ready" in line for line in lines.lines):
                if running.done():
                    running.result()  # raises the start error
                    raise AssertionError("the node stopped during start")
                await asyncio.sleep(0.05)
        for flow in flows:  # every prompt rendered before the first call, as the demo does
            await node.telephony.prerender(flow)
        assert node.http.address is not None
        host, port = node.http.address
        password = next(
            m.group(1) for line in lines.lines if (m := re.search(r"admin / (\S+)", line))
        )
        yield LiveNode(node, f"http://{host}:{port}", node.sip_addresses["UDP"][1], password, lines)
    finally:
        stop.set()
        try:
            await asyncio.wait_for(running, 30)
        finally:
            logging.getLogger("hotline").removeHandler(lines)
