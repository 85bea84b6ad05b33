"""An IVR session against a real HTTP back end on loopback: the order look-up path, and
every way a customer's system can fail (slow, 500, not JSON, too big, refused) taking the
fallback branch."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, Response

from hotline.api.server import HttpServer
from hotline.events import Event
from hotline.ivr.events import IvrFinished, IvrLookupFailed
from hotline.ivr.flow import load_flow
from hotline.ivr.io import Enqueue, Play
from hotline.ivr.lookups import MAX_ANSWER_BYTES
from tests.support.ivr import ScriptedCall, call_flow

FLOW = """
name: orders
version: 1
language: en
start: ask
nodes:
  ask:
    type: collect
    prompt: {text: {en: "Order number?"}}
    variable: order
    min_digits: 3
    next: lookup
    on_failure: agents
  lookup:
    type: http
    url: "BASE/orders/${order}"
    timeout_s: 0.5
    save: {status: status}
    next: say
    on_error: agents
  say:
    type: play
    prompt: {text: {en: "Your order is ${status}."}}
    next: agents
  agents: {type: queue, queue: after-sales}
"""


def back_end() -> FastAPI:
    app = FastAPI()

    @app.get("/orders/{order}")
    async def order(order: str) -> Response:
        if order == "111":
            await asyncio.sleep(3)  # slower than the flow's 0.5 s timeout
        if order == "222":
            return PlainTextResponse("database down", status_code=500)
        if order == "333":
            return PlainTextResponse("<html>login</html>")
        if order == "444":
            return PlainTextResponse("x" * (MAX_ANSWER_BYTES + 1))
        return Response(f'{{"status": "shipped {order}"}}', media_type="application/json")

    return app


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    server = HttpServer(back_end(), "127.0.0.1", 0)
    await server.start()
    assert server.address is not None
    yield f"http://127.0.0.1:{server.address[1]}"
    await server.stop()


async def run_call(keys: str, base: str) -> tuple[ScriptedCall, list[Event]]:
    return await call_flow(load_flow(FLOW.replace("BASE", base)), [keys])


async def test_order_status_is_looked_up_and_spoken(base_url: str) -> None:
    call, events = await run_call("12345#", base_url)
    plays = [c for c in call.commands if isinstance(c, Play)]
    assert plays[-1].prompts[0].text == "Your order is shipped 12345."
    final = call.commands[-1]
    assert isinstance(final, Enqueue)
    assert final.attributes["status"] == "shipped 12345"
    assert isinstance(events[-1], IvrFinished)
    assert events[-1].outcome == "queued"


@pytest.mark.parametrize(
    ("order", "reason"),
    [
        ("111", "no answer within 0.5 s"),
        ("222", "HTTP status 500"),
        ("333", "answer is not JSON"),
        ("444", f"answer larger than {MAX_ANSWER_BYTES} bytes"),
    ],
)
async def test_broken_back_end_takes_the_fallback(base_url: str, order: str, reason: str) -> None:
    call, events = await run_call(order + "#", base_url)
    assert call.commands[-1] == Enqueue("after-sales", 0, {}, {"language": "en", "order": order})
    failures = [e for e in events if isinstance(e, IvrLookupFailed)]
    assert [f.reason for f in failures] == [reason]


async def test_refused_connection_takes_the_fallback() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again before the call: nobody listens
    call, events = await run_call("555#", f"http://127.0.0.1:{port}")
    assert isinstance(call.commands[-1], Enqueue)
    failures = [e for e in events if isinstance(e, IvrLookupFailed)]
    assert len(failures) == 1
    assert failures[0].reason.startswith("ConnectError")
