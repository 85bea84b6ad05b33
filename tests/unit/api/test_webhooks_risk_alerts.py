"""A live risk alert reaches the webhooks that subscribe to ``qa.risk_alert_raised``,
signed like every delivery, through the real dispatcher and database."""

from __future__ import annotations

import json
from typing import Any

from hotline.qa.events import RiskAlertRaised
from tests.unit.api.conftest import World
from tests.unit.api.test_webhooks import SECRET, Receiver, _dispatcher


async def test_a_risk_alert_is_delivered_to_its_webhooks(
    world: World, clients: dict[str, Any]
) -> None:
    created = await clients["admin"].post(
        "/api/v1/webhooks",
        json={
            "name": "risk desk",
            "url": "https://tickets.example/hotline",
            "secret": SECRET,
            "event_types": ["qa.risk_alert_raised"],
        },
    )
    assert created.status_code == 201, created.text
    receiver = Receiver(failures=0)
    dispatcher = await _dispatcher(world, receiver, [])
    dispatcher.start()
    try:
        world.context.bus.publish(
            RiskAlertRaised(
                at=10.5,
                call_id="ab12-7",
                queue="complaints",
                agent="1002",
                category="legal_threat",
                text="再这样我就报警了",
                spoken_at=9.1,
                language="zh",
            )
        )
        await dispatcher.idle()
    finally:
        await dispatcher.stop()
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.headers["x-hotline-event"] == "qa.risk_alert_raised"
    assert request.headers["x-hotline-signature"].startswith("sha256=")
    assert json.loads(request.content) == {
        "type": "qa.risk_alert_raised",
        "at": 10.5,
        "call_id": "ab12-7",
        "queue": "complaints",
        "agent": "1002",
        "category": "legal_threat",
        "text": "再这样我就报警了",
        "spoken_at": 9.1,
        "language": "zh",
    }
