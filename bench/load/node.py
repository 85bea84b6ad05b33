"""A Hotline node configured for the load bench, in its own process so its CPU is its own.

The same runtime as `hotline demo` (Telephony: SIP, media, IVR sessions, the ACD, the call
history writer on SQLite), with a bench configuration: one number (5000) to a short IVR
(a prompt, "press 1"), one queue served by AGENTS agents whose phones are one SIPp UAS farm
(their registrations are written straight into the registrar: the bench measures calls,
not REGISTERs). Every second it prints one JSON line of counters for the driver.

Usage: node.py AGENTS FARM_PORT DATA_DIR [MEDIA_WORKERS]
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import httpx
import uvloop

from hotline.acd import Acd, AgentProfile, QueueConfig
from hotline.calls.events import CallConnected, CallEnded, LegMediaStats
from hotline.calls.numbers import NumberingPlan
from hotline.calls.routing import InboundRoute, InboundRouter
from hotline.calls.trunks import TrunkConfig
from hotline.events.bus import EventBus
from hotline.ivr.catalog import FlowCatalog
from hotline.ivr.flow import load_flow
from hotline.ivr.tts import PromptRenderer, create_engines
from hotline.media.engine import MediaEngine
from hotline.services.call_history import CallHistoryWriter
from hotline.services.contact_center import ContactCenter
from hotline.services.telephony.config import TelephonyConfig
from hotline.services.telephony.runtime import Telephony
from hotline.sip.registrar import Binding
from hotline.store.database import Database
from hotline.transport.media_worker import LocalMediaEngine, MediaWorkerPool
from hotline.transport.sip_service import SipServiceConfig

FLOW = """
name: load
version: 1
language: en
start: menu
nodes:
  menu:
    type: menu
    prompt: {text: {en: "For sales, press 1."}}
    options: {1: sales}
    timeout_s: 5
    max_attempts: 1
    on_failure: sales
  sales: {type: queue, queue: sales}
"""


def say(line: str) -> None:
    """One line for the reader (the driver, or a person), at once."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(agents: int, farm_port: int, data_dir: Path, workers: int) -> None:
    acd = Acd()
    acd.configure_queue(QueueConfig(name="sales", department="sales", ring_timeout=10))
    ids = [str(2000 + n) for n in range(agents)]
    for agent_id in ids:
        acd.add_agent(AgentProfile(agent_id=agent_id, department="sales", queues={"sales": 0}))
    route = InboundRoute.model_validate(
        {"name": "load", "did": "5000", "destination": {"type": "flow", "target": "load"}}
    )
    center = ContactCenter(acd, InboundRouter([route], {}, NumberingPlan(region="CN")))
    catalog = FlowCatalog()
    flow = load_flow(FLOW, "load flow")
    catalog.add(flow)
    catalog.publish(flow.name, flow.version)
    bus = EventBus()
    database = Database(f"sqlite+aiosqlite:///{data_dir / 'hotline.db'}")
    await database.upgrade()
    history = CallHistoryWriter(database, bus)
    history.start()
    engine: MediaEngine
    if workers:
        pool = MediaWorkerPool(workers)
        await pool.start()
        engine = pool
    else:
        engine = LocalMediaEngine()
    async with httpx.AsyncClient() as http:
        telephony = Telephony(
            center,
            SipServiceConfig(udp_port=0, tcp_port=None),
            engine,
            catalog,
            PromptRenderer(create_engines(["piper"]), data_dir / "prompts", data_dir / "rec"),
            bus,
            http,
            TelephonyConfig(
                recordings_dir=data_dir / "recordings",
                trunks=[TrunkConfig(name="sipp", host="127.0.0.1")],
            ),
        )
        addresses = await telephony.start()
        await telephony.prerender(flow)
        now = time.time()
        for agent_id in ids:
            telephony.sip.registrar.store.save(
                f"sip:{agent_id}@127.0.0.1",
                [
                    Binding(
                        contact=f"sip:{agent_id}@127.0.0.1:{farm_port}",
                        expires_at=now + 86400,
                        call_id=f"bench-{agent_id}",
                        cseq=1,
                        source=f"UDP:127.0.0.1:{farm_port}",
                    )
                ],
            )
            await telephony.execute(center.agent_login(now, agent_id))
            await telephony.execute(center.agent_ready(now, agent_id))
        counters = {"connected": 0, "ended": 0, "received": 0, "lost": 0, "jitter_ms_max": 0.0}
        waits: list[float] = []
        subscription = bus.subscribe(CallConnected, CallEnded, LegMediaStats, maxsize=100_000)

        async def count() -> None:
            async for event in subscription:
                if isinstance(event, CallConnected):
                    counters["connected"] += 1
                elif isinstance(event, CallEnded):
                    counters["ended"] += 1
                elif isinstance(event, LegMediaStats):
                    counters["received"] += event.received
                    counters["lost"] += event.lost
                    counters["jitter_ms_max"] = max(counters["jitter_ms_max"], event.jitter_ms)

        counting = asyncio.create_task(count())
        say(json.dumps({"sip_port": addresses["UDP"][1]}))
        while True:
            await asyncio.sleep(1.0)
            stats = acd.queue_statistics("sales", time.time())
            if stats.average_speed_of_answer is not None:
                waits.append(stats.average_speed_of_answer)
            line = {
                **counters,
                "live_calls": len(center.calls),
                "answered": stats.answered,
                "abandoned": stats.abandoned,
                "asa_s": stats.average_speed_of_answer,
                "cdrs_written": history.written,
                "history_pending": history.pending,
            }
            say(json.dumps(line))
            if counting.done():  # the counter must not die silently
                raise RuntimeError("event counter stopped") from counting.exception()


if __name__ == "__main__":
    agents, farm, data = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    media_workers = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    data.mkdir(parents=True, exist_ok=True)
    uvloop.run(main(agents, farm, data, media_workers))
