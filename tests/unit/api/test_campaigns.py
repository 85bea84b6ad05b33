"""Outbound campaigns through the API: CRUD with validation, status changes, list imports
(problems by line, merges on re-import, GBK files, dry runs, limits), do-not-call lists,
paging, statistics, scoping by department, the audit trail, and the module switch."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from hotline.api.app import create_api
from hotline.api.context import ApiContext
from hotline.api.routes import campaigns as campaign_routes
from hotline.store.campaigns import CampaignRepository
from hotline.store.models import CampaignAttempt
from tests.unit.api.conftest import World
from tests.unit.api.test_admin_api import audit

BASE = "/api/v1/campaigns"
MAPPING = {"phone": ["mobile", "home"], "name": "name", "fields": ["plan"]}
LIST = (
    "name,mobile,home,plan\n"
    "Li Lei,138 0013 8000,,gold\n"  # line 2
    "Han Meimei,not a number,,silver\n"  # line 3: no usable number
    "Wang Wu,+86 139 0013 9000,021 6888 8888,bronze\n"  # line 4
)


def campaign_body(world: World, name: str = "renewals", **values: Any) -> dict[str, Any]:
    return {
        "name": name,
        "department_id": world.ids["dept_A"],
        "queue_id": world.ids["queue_A"],
        **values,
    }


async def create(world: World, client: httpx.AsyncClient, **values: Any) -> dict[str, Any]:
    response = await client.post(BASE, json=campaign_body(world, **values))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def upload(
    client: httpx.AsyncClient,
    name: str,
    content: bytes,
    *,
    mapping: dict[str, Any] | None = None,
    filename: str = "list.csv",
    dry_run: bool = False,
) -> httpx.Response:
    return await client.post(
        f"{BASE}/{name}/contacts",
        files={"file": (filename, content, "text/csv")},
        data={"mapping": json.dumps(mapping or MAPPING), "dry_run": str(dry_run).lower()},
    )


async def test_create_read_update_delete_with_an_audit_trail(world: World, clients) -> None:
    admin = clients["admin"]
    created = await create(world, admin)
    assert created["status"] == "draft"
    assert created["mode"] == "progressive"
    assert created["abandon_target"] == 0.03
    assert created["calling_hours"] == {"mon-fri": "09:00-20:00"}
    assert (await admin.get(f"{BASE}/renewals")).json() == created
    assert [c["name"] for c in (await admin.get(BASE)).json()] == ["renewals"]

    changed = await admin.patch(
        f"{BASE}/renewals",
        json={"abandon_target": 0.02, "calling_hours": {"mon-sat": "09:00-12:00,14:00-21:00"}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["abandon_target"] == 0.02
    assert changed.json()["queue_id"] == world.ids["queue_A"]  # untouched
    assert (await admin.delete(f"{BASE}/renewals")).status_code == 204
    assert (await admin.get(f"{BASE}/renewals")).status_code == 404

    entries = await audit(world, "campaigns")
    assert [e["action"] for e in entries] == ["create", "update", "delete"]
    assert {e["resource_id"] for e in entries} == {"renewals"}
    assert entries[1]["detail"]["before"]["abandon_target"] == 0.03
    assert all(e["department_id"] == world.ids["dept_A"] for e in entries)


async def test_invalid_campaigns_are_refused_naming_the_field(world: World, clients) -> None:
    admin = clients["admin"]

    async def refused(body: dict[str, Any], status: int = 422) -> str:
        response: httpx.Response = await admin.post(BASE, json=body)
        assert response.status_code == status, response.text
        return response.text

    assert "set flow" in await refused(campaign_body(world, mode="robot", queue_id=None))
    assert "set queue_id" in await refused(campaign_body(world, queue_id=None))
    assert "calling_hours" in await refused(campaign_body(world, calling_hours={"mon": "9-5"}))
    assert "nobody would be called" in await refused(
        campaign_body(world, calling_hours={"daily": "closed"})
    )
    assert "no_anwser" in await refused(
        campaign_body(world, retry_rules={"no_anwser": {"delay_seconds": 60}})
    )
    assert "abandon_target" in await refused(campaign_body(world, abandon_target=0.5))
    assert "abandon_target" in await refused(campaign_body(world, abandon_target=0))
    assert "Mars/Olympus" in await refused(campaign_body(world, default_time_zone="Mars/Olympus"))
    assert "region" in await refused(campaign_body(world, default_region="XX"))
    assert "machine_message" in await refused(
        campaign_body(world, amd_enabled=True, machine_action="message")
    )
    assert "name" in await refused(campaign_body(world, name="has spaces"))
    assert "queue_id" in await refused(campaign_body(world, queue_id=9999), 409)
    assert "flow" in await refused(campaign_body(world, mode="robot", flow="no-such-flow"), 409)
    await create(world, admin)
    assert "renewals" in await refused(campaign_body(world), 409)
    # A PATCH is checked against the stored campaign: robot mode needs a flow.
    response = await admin.patch(f"{BASE}/renewals", json={"mode": "robot"})
    assert response.status_code == 422
    assert "set flow" in response.text


async def test_a_robot_campaign_runs_a_flow_without_a_queue(world: World, clients) -> None:
    admin = clients["admin"]
    flow = await admin.post(
        "/api/v1/ivr-flows",
        json={
            "name": "survey",
            "department_id": world.ids["dept_A"],
            "definition": {"start": "bye", "nodes": {"bye": {"type": "hangup"}}},
        },
    )
    assert flow.status_code == 201, flow.text
    created = await create(world, admin, mode="robot", queue_id=None, flow="survey")
    assert (created["mode"], created["flow"], created["queue_id"]) == ("robot", "survey", None)
    assert created["robot_lines"] == 10
    changed = await admin.patch(f"{BASE}/survey-campaign", json={"robot_lines": 30})
    assert changed.status_code == 404  # by name: the campaign is "renewals"
    changed = await admin.patch(f"{BASE}/renewals", json={"robot_lines": 30})
    assert changed.json()["robot_lines"] == 30


async def test_status_transitions(world: World, clients) -> None:
    admin = clients["admin"]
    await create(world, admin)

    async def act(action: str, expected: int = 200) -> dict[str, Any]:
        response = await admin.post(f"{BASE}/renewals/{action}")
        assert response.status_code == expected, (action, response.text)
        body: dict[str, Any] = response.json()
        return body

    assert "draft: it cannot pause" in (await act("pause", 409))["detail"]
    assert (await act("start"))["status"] == "running"
    await act("start", 409)
    delete = await admin.delete(f"{BASE}/renewals")
    assert delete.status_code == 409
    assert "stop it" in delete.text
    assert (await act("pause"))["status"] == "paused"
    await act("pause", 409)
    assert (await act("start"))["status"] == "running"
    assert (await act("stop"))["status"] == "stopped"
    await act("stop", 409)
    assert (await act("start"))["status"] == "running"
    assert (await act("stop"))["status"] == "stopped"
    assert (await admin.delete(f"{BASE}/renewals")).status_code == 204
    actions = [e["action"] for e in await audit(world, "campaigns")]
    assert actions == ["create", "start", "pause", "start", "stop", "start", "stop", "delete"]


async def test_csv_import_reports_problems_by_line_and_merges_on_reimport(
    world: World, clients
) -> None:
    admin = clients["admin"]
    await create(world, admin)
    first = await upload(admin, "renewals", LIST.encode())
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["rows"], body["imported"], body["merged"]) == (3, 2, 0)
    assert [p["line"] for p in body["problems"]] == [3]
    assert body["problems_truncated"] == 0

    contacts = (await admin.get(f"{BASE}/renewals/contacts")).json()
    assert contacts["count"] == 2
    li, wang = contacts["items"]
    assert (li["name"], li["phones"], li["data"]) == (
        "Li Lei",
        ["+8613800138000"],
        {"plan": "gold"},
    )
    assert wang["phones"] == ["+8613900139000", "+862168888888"]
    assert (wang["status"], wang["source_line"]) == ("pending", 4)

    # The same people again, Li Lei with a second number: merged, nobody is added twice.
    again = "name,mobile,home,plan\nLi Lei,13800138000,13700137000,platinum\n"
    second = (await upload(admin, "renewals", again.encode())).json()
    assert (second["imported"], second["merged"]) == (0, 1)
    li = (await admin.get(f"{BASE}/renewals/contacts")).json()["items"][0]
    assert li["phones"] == ["+8613800138000", "+8613700137000"]
    assert li["data"] == {"plan": "gold"}  # the stored contact's data is kept
    (entry,) = [e for e in await audit(world, "campaigns") if e["action"] == "import"][-1:]
    assert entry["detail"]["merged"] == 1


async def test_gbk_lists_dry_runs_headers_and_whole_file_errors(world: World, clients) -> None:
    admin = clients["admin"]
    await create(world, admin)
    gbk = "姓名,手机\n李雷,13800138000\n韩梅梅,13900139000\n".encode("gbk")
    header = await admin.post(
        f"{BASE}/renewals/contacts/header", files={"file": ("名单.csv", gbk, "text/csv")}
    )
    assert header.status_code == 200, header.text
    assert header.json() == {"columns": ["姓名", "手机"]}
    mapping = {"phone": ["手机"], "name": "姓名"}

    dry = (await upload(admin, "renewals", gbk, mapping=mapping, dry_run=True)).json()
    assert (dry["dry_run"], dry["imported"]) == (True, 2)
    assert (await admin.get(f"{BASE}/renewals/contacts")).json()["count"] == 0

    stored = (await upload(admin, "renewals", gbk, mapping=mapping)).json()
    assert stored["imported"] == 2
    names = [c["name"] for c in (await admin.get(f"{BASE}/renewals/contacts")).json()["items"]]
    assert names == ["李雷", "韩梅梅"]

    missing = await upload(admin, "renewals", gbk, mapping={"phone": ["mobile"]})
    assert missing.status_code == 422
    assert "mobile" in missing.json()["detail"]
    bad_mapping = await admin.post(
        f"{BASE}/renewals/contacts",
        files={"file": ("list.csv", gbk, "text/csv")},
        data={"mapping": '{"phone": []}'},
    )
    assert bad_mapping.status_code == 422
    assert "mapping" in bad_mapping.text
    not_json = await admin.post(
        f"{BASE}/renewals/contacts",
        files={"file": ("list.csv", gbk, "text/csv")},
        data={"mapping": "phone=mobile"},
    )
    assert not_json.status_code == 422
    assert (await upload(admin, "nobody", gbk, mapping=mapping)).status_code == 404


async def test_uploads_over_the_limit_are_refused(world: World, clients, monkeypatch) -> None:
    admin = clients["admin"]
    await create(world, admin)
    monkeypatch.setattr(campaign_routes, "MAX_UPLOAD_BYTES", 100)
    response = await upload(admin, "renewals", LIST.encode() * 3)
    assert response.status_code == 413
    assert "split the list" in response.text


async def test_problems_are_capped(world: World, clients, monkeypatch) -> None:
    from hotline.api.services import campaigns as campaign_service

    admin = clients["admin"]
    await create(world, admin)
    monkeypatch.setattr(campaign_service, "MAX_PROBLEMS", 2)
    bad = "name,mobile\n" + "".join(f"n{i},bad\n" for i in range(5))
    body = (await upload(admin, "renewals", bad.encode(), mapping={"phone": ["mobile"]})).json()
    assert [p["line"] for p in body["problems"]] == [2, 3]
    assert body["problems_truncated"] == 3


async def test_do_not_call_global_and_per_campaign(world: World, clients) -> None:
    admin, supervisor = clients["admin"], clients["supervisor"]
    await create(world, admin)
    await upload(admin, "renewals", LIST.encode())

    added = await supervisor.post(
        "/api/v1/do-not-call",
        json={"numbers": ["138 0013 8000", "not a number", "+8613800138000"], "reason": "asked"},
    )
    assert added.status_code == 200, added.text
    body = added.json()
    assert [e["number"] for e in body["added"]] == ["+8613800138000"]
    assert body["added"][0]["added_by"] == "supervisor"
    assert body["added"][0]["campaign_id"] is None
    assert [i["number"] for i in body["invalid"]] == ["not a number"]
    again = (await admin.post("/api/v1/do-not-call", json={"number": "13800138000"})).json()
    assert again["already_listed"] == ["+8613800138000"]

    own = await supervisor.post(f"{BASE}/renewals/do-not-call", json={"number": "13900139000"})
    assert own.status_code == 200, own.text
    (entry,) = own.json()["added"]
    assert entry["campaign_id"] is not None
    # Both lists stop the campaign dialling those contacts.
    stats = (await admin.get(f"{BASE}/renewals/stats")).json()
    assert stats["contacts"]["do_not_call"] == 2
    assert (await admin.get("/api/v1/do-not-call")).json()["count"] == 1
    assert (await admin.get(f"{BASE}/renewals/do-not-call")).json()["count"] == 1

    (global_entry,) = (await admin.get("/api/v1/do-not-call")).json()["items"]
    # Only an admin takes a number off the global list; a campaign's own, its supervisor.
    assert (await supervisor.delete(f"/api/v1/do-not-call/{global_entry['id']}")).status_code == 403
    assert (
        await clients["supervisor_b"].delete(f"/api/v1/do-not-call/{entry['id']}")
    ).status_code == 404
    assert (await supervisor.delete(f"/api/v1/do-not-call/{entry['id']}")).status_code == 204
    assert (await admin.delete(f"/api/v1/do-not-call/{global_entry['id']}")).status_code == 204
    assert (await admin.delete(f"/api/v1/do-not-call/{global_entry['id']}")).status_code == 404
    actions = [(e["action"], e["resource_id"]) for e in await audit(world, "do-not-call")]
    assert actions == [
        ("create", "global"),
        ("create", "renewals"),
        ("delete", "renewals"),
        ("delete", "global"),
    ]
    assert (await admin.post("/api/v1/do-not-call", json={})).status_code == 422


async def test_contacts_and_attempts_are_paged_and_counted(world: World, clients) -> None:
    admin = clients["admin"]
    created = await create(world, admin)
    rows = "".join(f"c{i},+861380013{i:04d}\n" for i in range(5))
    await upload(
        admin,
        "renewals",
        ("name,mobile\n" + rows).encode(),
        mapping={"phone": ["mobile"], "name": "name"},
    )
    page = (await admin.get(f"{BASE}/renewals/contacts", params={"limit": 2})).json()
    assert (page["count"], len(page["items"])) == (5, 2)
    seen = [c["name"] for c in page["items"]]
    while page["next"] is not None:
        page = (
            await admin.get(f"{BASE}/renewals/contacts", params={"limit": 2, "after": page["next"]})
        ).json()
        seen += [c["name"] for c in page["items"]]
    assert seen == [f"c{i}" for i in range(5)]
    pending = (await admin.get(f"{BASE}/renewals/contacts", params={"status": "done"})).json()
    assert (pending["count"], pending["items"], pending["next"]) == (0, [], None)
    assert (
        await admin.get(f"{BASE}/renewals/contacts", params={"status": "bogus"})
    ).status_code == 422

    # The runner's attempts: two answered, one abandoned, one still ringing.
    start = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
    async with world.context.database.session() as session:
        repo = CampaignRepository(session)
        contacts = await repo.candidates(created["id"], start, 10)
        for n, (contact, outcome) in enumerate(
            zip(contacts, ("answered", "answered", "abandoned", None), strict=False)
        ):
            await repo.add_attempt(
                CampaignAttempt(
                    campaign_id=created["id"],
                    contact_id=contact.id,
                    call_id=f"call-{n}",
                    number=contact.primary_phone,
                    started_at=start + timedelta(minutes=n),
                    outcome=outcome,
                )
            )
        await session.commit()
    attempts = (await admin.get(f"{BASE}/renewals/attempts", params={"limit": 3})).json()
    assert attempts["count"] == 4
    assert [a["call_id"] for a in attempts["items"]] == ["call-0", "call-1", "call-2"]
    rest = (await admin.get(f"{BASE}/renewals/attempts", params={"after": attempts["next"]})).json()
    assert ([a["call_id"] for a in rest["items"]], rest["next"]) == (["call-3"], None)
    stats = (await admin.get(f"{BASE}/renewals/stats")).json()
    assert stats["attempts"] == {"answered": 2, "abandoned": 1}
    assert stats["in_progress"] == 1
    assert abs(stats["abandon_rate"] - 1 / 3) < 1e-9
    assert stats["contacts"]["pending"] == 5


async def test_roles_and_departments(world: World, clients) -> None:
    await create(world, clients["admin"])
    name_b = "department-b"
    await create(
        world,
        clients["supervisor_b"],
        name=name_b,
        department_id=world.ids["dept_B"],
        queue_id=world.ids["queue_B"],
    )
    agent = clients["agent"]
    assert (await agent.get(BASE)).status_code == 403
    assert (await agent.get(f"{BASE}/renewals")).status_code == 403
    assert (await agent.post(f"{BASE}/renewals/start")).status_code == 403
    assert (await agent.get("/api/v1/do-not-call")).status_code == 403

    supervisor = clients["supervisor"]
    assert [c["name"] for c in (await supervisor.get(BASE)).json()] == ["renewals"]
    for method, path in (
        ("GET", f"{BASE}/{name_b}"),
        ("PATCH", f"{BASE}/{name_b}"),
        ("DELETE", f"{BASE}/{name_b}"),
        ("POST", f"{BASE}/{name_b}/start"),
        ("GET", f"{BASE}/{name_b}/contacts"),
        ("GET", f"{BASE}/{name_b}/stats"),
        ("POST", f"{BASE}/{name_b}/do-not-call"),
    ):
        body = {"number": "13800138000"} if path.endswith("do-not-call") else {}
        response = await supervisor.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
    # Writing into another department, or using its queue, is refused too.
    other = campaign_body(world, name="x", department_id=world.ids["dept_B"])
    assert (await supervisor.post(BASE, json=other)).status_code == 403
    foreign_queue = campaign_body(world, name="y", queue_id=world.ids["queue_B"])
    assert (await supervisor.post(BASE, json=foreign_queue)).status_code == 409
    auditor = clients["auditor"]
    assert len((await auditor.get(BASE)).json()) == 2
    assert (await auditor.post(f"{BASE}/renewals/start")).status_code == 403


async def test_switched_off_the_module_serves_no_campaign_route(world: World) -> None:
    context = world.context
    off = ApiContext(
        node_name="no-dialer",
        database=context.database,
        bus=context.bus,
        secret_key=context.secret_key,
        passwords=context.passwords,
        dialer=False,
    )
    app = create_api(off)
    paths = set(app.openapi()["paths"])
    assert "/api/v1/cdrs" in paths  # the rest is served
    assert not [p for p in paths if "campaign" in p or "do-not-call" in p or "preview" in p]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        assert (await client.get(BASE)).status_code == 404
        assert (await client.get("/api/v1/do-not-call")).status_code == 404
        assert (await client.get("/api/v1/cdrs")).status_code == 401  # the rest is served
