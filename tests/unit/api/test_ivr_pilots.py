"""IVR flow pilots through the API: a department runs a pinned version before everyone,
checked, scoped by role, audited, and followed by the live directory without a restart."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from hotline.acd import Acd
from hotline.calls.routing import InboundRouter
from hotline.demo.config import PLAN
from hotline.ivr.catalog import FlowCatalog
from hotline.services.contact_center import ContactCenter
from hotline.services.directory.live import LiveDirectory
from hotline.store.models import IvrFlowPilot, IvrFlowVersion
from tests.unit.api.conftest import World
from tests.unit.api.test_admin_api import audit, fields


def menu(greeting: str) -> dict[str, Any]:
    return {
        "start": "menu",
        "nodes": {
            "menu": {
                "type": "menu",
                "prompt": {"text": {"en": greeting}},
                "options": {"1": "sales"},
                "on_failure": "bye",
            },
            "sales": {"type": "queue", "queue": "queue-A"},
            "bye": {"type": "hangup"},
        },
    }


async def _flow_with_two_versions(world: World, client: Any) -> int:
    """A flow of department A: version 1 published, version 2 saved but not published."""
    created = await client.post(
        "/api/v1/ivr-flows",
        json={"name": "main-menu", "department_id": world.ids["dept_A"], "definition": menu("v1")},
    )
    assert created.status_code == 201, created.text
    flow_id: int = created.json()["id"]
    assert (
        await client.post(f"/api/v1/ivr-flows/{flow_id}/publish", json={"version": 1})
    ).status_code == 200
    second = await client.post(
        f"/api/v1/ivr-flows/{flow_id}/versions", json={"definition": menu("v2")}
    )
    assert second.status_code == 201, second.text
    return flow_id


async def test_a_pilot_starts_moves_ends_and_is_promoted_with_an_audit_trail(
    world: World, clients
) -> None:
    admin = clients["admin"]
    flow_id = await _flow_with_two_versions(world, admin)
    dept_b = world.ids["dept_B"]
    base = f"/api/v1/ivr-flows/{flow_id}/pilots"
    assert (await admin.get(base)).json() == []

    started = await admin.put(f"{base}/{dept_b}", json={"version": 2})
    assert started.status_code == 200, started.text
    assert (started.json()["department_id"], started.json()["version"]) == (dept_b, 2)
    assert started.json()["started_by"] == world.ids["user_admin"]
    (listed,) = (await admin.get(base)).json()
    assert (listed["department_id"], listed["version"]) == (dept_b, 2)
    # The published version is untouched by a pilot.
    assert (await admin.get(f"/api/v1/ivr-flows/{flow_id}")).json()["published_version"] == 1

    ended = await admin.delete(f"{base}/{dept_b}")
    assert ended.status_code == 204
    assert (await admin.get(base)).json() == []
    assert (await admin.delete(f"{base}/{dept_b}")).status_code == 404

    assert (await admin.put(f"{base}/{dept_b}", json={"version": 2})).status_code == 200
    promoted = await admin.post(f"{base}/{dept_b}/promote")
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["published_version"] == 2
    assert (await admin.get(base)).json() == []  # the pilot ended with its promotion
    assert (await admin.post(f"{base}/{dept_b}/promote")).status_code == 404

    entries = await audit(world, "ivr-flows")
    actions = [entry["action"] for entry in entries]
    assert actions[-5:] == ["start_pilot", "end_pilot", "start_pilot", "promote_pilot", "publish"]
    first_pilot = entries[-5]
    assert first_pilot["department_id"] == dept_b
    assert first_pilot["detail"] == {"department_id": dept_b, "before": None, "after": 2}


async def test_a_pilot_needs_a_version_that_exists_validates_and_is_not_published(
    world: World, clients
) -> None:
    admin = clients["admin"]
    flow_id = await _flow_with_two_versions(world, admin)
    base = f"/api/v1/ivr-flows/{flow_id}/pilots/{world.ids['dept_A']}"

    unknown = await admin.put(base, json={"version": 7})
    assert unknown.status_code == 422
    assert fields(unknown) == ["version"]
    assert "has no version 7" in unknown.text
    published = await admin.put(base, json={"version": 1})
    assert published.status_code == 422
    assert "is the published version" in published.text
    assert (await admin.put(base, json={"version": 0})).status_code == 422
    assert (await admin.put(base, json={})).status_code == 422
    assert (await admin.put(base, json={"version": "two"})).status_code == 422
    no_department = await admin.put(
        f"/api/v1/ivr-flows/{flow_id}/pilots/99999", json={"version": 2}
    )
    assert no_department.status_code == 409
    assert (
        await admin.put("/api/v1/ivr-flows/99999/pilots/1", json={"version": 2})
    ).status_code == 404

    # A version stored before the validator grew stricter: refused as a pilot, with the
    # validator's own reason, rather than failing when a caller arrives.
    async with world.context.database.session() as session:
        session.add(
            IvrFlowVersion(
                flow_id=flow_id,
                version=3,
                definition={"start": "a", "nodes": {"a": {"type": "play", "next": "nowhere"}}},
            )
        )
        await session.commit()
    stale = await admin.put(base, json={"version": 3})
    assert stale.status_code == 422
    assert fields(stale)[0].startswith("version")
    assert (await admin.get(f"/api/v1/ivr-flows/{flow_id}/pilots")).json() == []


async def test_supervisors_pilot_their_own_departments_flows_in_their_own_department(
    world: World, clients
) -> None:
    supervisor = clients["supervisor"]  # department A
    flow_id = await _flow_with_two_versions(world, supervisor)
    base = f"/api/v1/ivr-flows/{flow_id}/pilots"
    own = await supervisor.put(f"{base}/{world.ids['dept_A']}", json={"version": 2})
    assert own.status_code == 200, own.text
    other = await supervisor.put(f"{base}/{world.ids['dept_B']}", json={"version": 2})
    assert other.status_code == 403
    # Department B's supervisor cannot see department A's flow at all.
    supervisor_b = clients["supervisor_b"]
    assert (await supervisor_b.get(base)).status_code == 404
    assert (
        await supervisor_b.put(f"{base}/{world.ids['dept_B']}", json={"version": 2})
    ).status_code == 404
    assert (await supervisor_b.delete(f"{base}/{world.ids['dept_A']}")).status_code == 404
    for role in ("agent", "qa", "auditor"):
        response = await clients[role].put(f"{base}/{world.ids['dept_A']}", json={"version": 2})
        assert response.status_code == 403, role
    assert (await clients["auditor"].get(base)).status_code == 200  # read-only roles see it
    promoted = await supervisor.post(f"{base}/{world.ids['dept_A']}/promote")
    assert promoted.status_code == 200
    assert promoted.json()["published_version"] == 2


async def test_deleting_a_flow_ends_its_pilots(world: World, clients) -> None:
    admin = clients["admin"]
    flow_id = await _flow_with_two_versions(world, admin)
    assert (
        await admin.put(
            f"/api/v1/ivr-flows/{flow_id}/pilots/{world.ids['dept_B']}", json={"version": 2}
        )
    ).status_code == 200
    assert (await admin.delete(f"/api/v1/ivr-flows/{flow_id}")).status_code == 204
    async with world.context.database.session() as session:
        assert (await session.scalars(select(IvrFlowPilot))).all() == []


async def _until(condition: Any, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the live directory did not follow the change")


async def test_the_live_catalog_follows_pilots_and_calls_in_progress_keep_their_version(
    world: World, clients
) -> None:
    context = world.context
    catalog = FlowCatalog()
    center = ContactCenter(Acd(), InboundRouter([], {}, PLAN))
    live = LiveDirectory(context.database, center, catalog, lambda _: None, PLAN, bus=context.bus)
    live.settle_seconds = 0.01
    await live.reload()
    live.start()
    try:
        admin = clients["admin"]
        flow_id = await _flow_with_two_versions(world, admin)
        await _until(lambda: catalog.versions("main-menu") == [1])
        assert catalog.for_call("main-menu", "department B").version == 1
        base = f"/api/v1/ivr-flows/{flow_id}/pilots/{world.ids['dept_B']}"
        assert (await admin.put(base, json={"version": 2})).status_code == 200
        await _until(lambda: catalog.for_call("main-menu", "department B").version == 2)
        piloted = catalog.for_call("main-menu", "department B")  # a call that started now
        assert piloted.nodes["menu"].prompt.text["en"] == "v2"  # type: ignore[union-attr]
        assert catalog.for_call("main-menu", "department A").version == 1
        assert catalog.for_call("main-menu").version == 1  # a route with no owner

        assert (await admin.delete(base)).status_code == 204
        await _until(lambda: catalog.for_call("main-menu", "department B").version == 1)
        assert piloted.version == 2  # the call that started in the pilot keeps its flow

        assert (await admin.put(base, json={"version": 2})).status_code == 200
        await _until(lambda: catalog.for_call("main-menu", "department B").version == 2)
        assert (await admin.post(base + "/promote")).status_code == 200
        await _until(lambda: catalog.for_call("main-menu", "department A").version == 2)
        assert catalog.pilots() == {}
        assert live.loaded is not None
        assert live.loaded.pilots == ()
    finally:
        await live.stop()


async def test_a_department_that_pilots_a_flow_cannot_be_deleted(world: World, clients) -> None:
    admin = clients["admin"]
    created = await admin.post("/api/v1/departments", json={"name": "trial"})
    assert created.status_code == 201
    trial = created.json()["id"]
    flow_id = await _flow_with_two_versions(world, admin)
    pilot = await admin.put(f"/api/v1/ivr-flows/{flow_id}/pilots/{trial}", json={"version": 2})
    assert pilot.status_code == 200
    refused = await admin.delete(f"/api/v1/departments/{trial}")
    assert refused.status_code == 409, refused.text
    assert (await admin.delete(f"/api/v1/ivr-flows/{flow_id}/pilots/{trial}")).status_code == 204
    assert (await admin.delete(f"/api/v1/departments/{trial}")).status_code == 204


async def test_publishing_a_piloted_version_ends_the_pilots_of_that_version(
    world: World, clients
) -> None:
    """Two departments pilot v2; promoting one publishes v2, so the other's pilot pilots
    nothing any more: it ends (audited), and no pilot ever equals the published version."""
    admin = clients["admin"]
    flow_id = await _flow_with_two_versions(world, admin)
    base = f"/api/v1/ivr-flows/{flow_id}/pilots"
    for department in ("dept_A", "dept_B"):
        started = await admin.put(f"{base}/{world.ids[department]}", json={"version": 2})
        assert started.status_code == 200, started.text
    promoted = await admin.post(f"{base}/{world.ids['dept_A']}/promote")
    assert promoted.status_code == 200, promoted.text
    assert (await admin.get(base)).json() == []
    entries = await audit(world, "ivr-flows")
    ended = [e for e in entries if e["action"] == "end_pilot"]
    assert [e["detail"] for e in ended] == [
        {"department_id": world.ids["dept_B"], "version": 2, "reason": "published"}
    ]
