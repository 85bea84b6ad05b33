"""Configuration changed through the API reaches the live contact centre, without a restart."""

from __future__ import annotations

import asyncio

from hotline.acd import Acd
from hotline.calls.routing import InboundRouter
from hotline.demo.config import PLAN
from hotline.ivr.catalog import FlowCatalog
from hotline.services.contact_center import ContactCenter
from hotline.services.directory.live import LiveDirectory
from hotline.store.events import ConfigurationChanged
from tests.unit.api.conftest import World


async def _until(condition, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the live directory did not follow the change")


async def test_a_queue_and_an_agent_made_through_the_api_take_calls_at_once(
    world: World, clients
) -> None:
    context = world.context
    center = ContactCenter(Acd(), InboundRouter([], {}, PLAN))
    live = LiveDirectory(
        context.database, center, FlowCatalog(), lambda _: None, PLAN, bus=context.bus
    )
    live.settle_seconds = 0.01
    await live.reload()
    live.start()
    try:
        admin = clients["admin"]
        queue = await admin.post(
            "/api/v1/queues",
            json={
                "name": "vip",
                "department_id": world.ids["dept_A"],
                "strategy": "ring-all",
                "wrap_up_seconds": 30,
            },
        )
        assert queue.status_code == 201, queue.text
        await _until(lambda: "vip" in center.acd.queue_names())
        assert center.acd.queue_config("vip").strategy == "ring-all"
        member = await admin.patch(
            f"/api/v1/agents/{world.ids['agent_A']}",
            json={"queues": [{"queue_id": queue.json()["id"], "priority": 2}]},
        )
        assert member.status_code == 200, member.text
        extension = member.json()["extension"]
        await _until(lambda: dict(center.acd.agent_profile(extension).queues) == {"vip": 2})
        route = await admin.post(
            "/api/v1/inbound-routes",
            json={"did": "5000", "target_type": "queue", "target_id": queue.json()["id"]},
        )
        assert route.status_code == 201, route.text
        await _until(lambda: center.router.route("5000", None, 0.0) is not None)
    finally:
        await live.stop()


async def test_only_committed_changes_are_announced(world: World, clients) -> None:
    subscription = world.context.bus.subscribe(ConfigurationChanged, name="test")
    admin = clients["admin"]
    duplicate = await admin.post(
        "/api/v1/queues", json={"name": "queue A", "department_id": world.ids["dept_A"]}
    )
    assert duplicate.status_code == 409
    assert subscription.get_nowait() is None
    created = await admin.post("/api/v1/skills", json={"name": "cantonese"})
    assert created.status_code == 201
    change = subscription.get_nowait()
    assert change is not None
    assert (change.resource, change.action, change.item_id) == (
        "skills",
        "create",
        created.json()["id"],
    )
    subscription.close()


async def test_a_membership_names_a_queue_the_caller_can_see(world: World, clients) -> None:
    agent_a = world.ids["agent_A"]
    unknown = await clients["admin"].patch(
        f"/api/v1/agents/{agent_a}", json={"queues": [{"queue_id": 99999}]}
    )
    assert unknown.status_code == 409
    assert unknown.json()["field"] == "queues.0.queue_id"
    other_department = await clients["supervisor"].patch(
        f"/api/v1/agents/{agent_a}", json={"queues": [{"queue_id": world.ids["queue_B"]}]}
    )
    assert other_department.status_code == 409
    assert other_department.json()["field"] == "queues.0.queue_id"
