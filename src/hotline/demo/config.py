"""The demo's call routing: 4000 from the local demo trunk goes to the demo IVR."""

from __future__ import annotations

from importlib.resources import files

from hotline.calls.numbers import NumberingPlan
from hotline.calls.routing import InboundRoute
from hotline.calls.trunks import TrunkConfig
from hotline.ivr.flow import Flow, load_flow

HOTLINE_NUMBER = "4000"
PLAN = NumberingPlan(region="CN", area_code="21")


def demo_flow(http_base: str = "http://127.0.0.1:8080") -> Flow:
    """The demo IVR, with its order look-up pointed at this node's own HTTP address."""
    text = files("hotline.demo").joinpath("flow.yaml").read_text(encoding="utf-8")
    return load_flow(text.replace("http://127.0.0.1:8080", http_base), "demo flow.yaml")


def demo_trunk(sip_host: str = "127.0.0.1") -> TrunkConfig:
    """Calls from this machine need no credentials in the demo (loopback only)."""
    return TrunkConfig(name="local", host=sip_host, max_channels=50, dial_format="national")


def demo_routes() -> list[InboundRoute]:
    return [
        InboundRoute.model_validate(
            {
                "name": "demo-hotline",
                "did": HOTLINE_NUMBER,
                "trunk": "local",
                "department": "after-sales",
                "destination": {"type": "flow", "target": "demo-hotline"},
            }
        )
    ]
