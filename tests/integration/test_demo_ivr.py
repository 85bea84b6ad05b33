"""The demo hotline's IVR against a running `hotline demo`: the caller presses 2, keys an
order number, hears its status from the demo order system, and is queued for after-sales
(issue 8's path, up to the point where telephony takes over)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from hotline.demo.config import demo_flow, demo_routes, demo_trunk
from hotline.demo.orders import STATUSES
from hotline.ivr.events import IvrFinished, IvrLookupFailed
from hotline.ivr.io import Enqueue
from tests.conftest import HotlineProcess
from tests.support.ivr import call_flow


@pytest.fixture
def demo_url(run_hotline, tmp_path: Path) -> str:
    demo: HotlineProcess = run_hotline(
        ["demo", "--http-port", "0", "--sip-port", "0", "--data-dir", str(tmp_path)]
    )
    match = re.search(r"http://127\.0\.0\.1:\d+", demo.wait_for("http listening"))
    assert match
    return match.group(0)


def expected_status(order: str) -> dict[str, str]:
    return STATUSES[sum(map(int, order)) % len(STATUSES)]


async def test_mandarin_caller_hears_order_status_then_waits_for_after_sales(
    demo_url: str,
) -> None:
    call, events = await call_flow(demo_flow(demo_url), ["2", "20261123#"])
    status = expected_status("20261123")["zh-CN"]
    assert f"您的订单{status}。" in call.spoken()
    final = call.commands[-1]
    assert isinstance(final, Enqueue)
    assert final.queue == "after-sales"
    assert final.attributes["order_number"] == "20261123"
    assert isinstance(events[-1], IvrFinished)


async def test_english_caller_after_pressing_9(demo_url: str) -> None:
    call, _ = await call_flow(demo_flow(demo_url), ["9", "2", "12345678#"])
    assert f"Your order is {expected_status('12345678')['en']}." in call.spoken()


async def test_unknown_order_takes_the_apology_branch(demo_url: str) -> None:
    call, events = await call_flow(demo_flow(demo_url), ["2", "90000000#"])
    assert "暂时无法查询订单，正在为您转接售后服务。" in call.spoken()
    assert [e.reason for e in events if isinstance(e, IvrLookupFailed)] == ["HTTP status 404"]
    assert call.commands[-1] == Enqueue(
        "after-sales", 0, {}, {"language": "zh-CN", "order_number": "90000000"}
    )


def test_order_endpoint_refuses_malformed_numbers(demo_url: str) -> None:
    assert httpx.get(f"{demo_url}/demo/orders/123").status_code == 422
    assert httpx.get(f"{demo_url}/demo/orders/12345678").json()["order"] == "12345678"


def test_demo_routes_send_the_hotline_number_to_the_flow() -> None:
    from hotline.calls.routing import InboundRouter
    from hotline.demo.config import PLAN

    router = InboundRouter(demo_routes(), {}, PLAN)
    decision = router.route("4000", demo_trunk().name, now=0)
    assert decision is not None
    assert (decision.destination.type, decision.destination.target) == ("flow", "demo-hotline")
    assert router.route("4000", "some-carrier", now=0) is None  # only from the local trunk
