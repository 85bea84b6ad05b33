"""Configuration backup: an export imports into an empty node to the same export, a
dry run reports the diff and changes nothing, bad documents are clear 422s."""

from __future__ import annotations

import yaml

from tests.unit.api.conftest import World

DOCUMENT = """
version: 1
departments: [{name: Sales}]
skills: [{name: cantonese}]
trunks:
  - {name: carrier-b, host: 203.0.113.9, transport: tcp}
  - {name: carrier-c, host: 198.51.100.7}
trunk_groups: [{name: outbound, strategy: least_used, trunks: [carrier-b, carrier-c]}]
business_hours:
  - name: office
    timezone: Asia/Shanghai
    weekly: [{day: 0, start: "09:00", end: "18:00"}]
    holidays: ["2026-10-01"]
queues: [{name: sales, department: Sales, max_wait_seconds: 300}]
wrapup_codes: [{department: Sales, code: won, label: Deal won}]
ivr_flows:
  - name: sales-menu
    department: Sales
    definition: {start: hello, nodes: {hello: {type: queue, queue: sales}}}
inbound_routes:
  - {did: "4008001234", trunk: carrier-b, target_type: ivr_flow, target: sales-menu,
     business_hours: office}
"""


async def _import(client, text: str, dry_run: bool):
    return await client.post(
        "/api/v1/config/import",
        params={"dry_run": str(dry_run).lower()},
        content=text.encode(),
        headers={"content-type": "application/yaml"},
    )


async def test_dry_run_reports_and_changes_nothing_then_import_applies(
    world: World, clients
) -> None:
    admin = clients["admin"]
    before = (await admin.get("/api/v1/config/export")).text
    dry = await _import(admin, DOCUMENT, dry_run=True)
    assert dry.status_code == 200, dry.text
    assert dry.json()["created"] == [
        "departments/Sales",
        "skills/cantonese",
        "trunks/carrier-b",
        "trunks/carrier-c",
        "trunk_groups/outbound",
        "business_hours/office",
        "queues/sales",
        "wrapup_codes/Sales/won",
        "ivr_flows/sales-menu",
        "inbound_routes/4008001234",
    ]
    assert (await admin.get("/api/v1/config/export")).text == before
    applied = await _import(admin, DOCUMENT, dry_run=False)
    assert applied.json()["created"] == dry.json()["created"]
    exported = yaml.safe_load((await admin.get("/api/v1/config/export")).text)
    route = next(r for r in exported["inbound_routes"] if r["did"] == "4008001234")
    assert route == {
        "did": "4008001234",
        "trunk": "carrier-b",
        "target_type": "ivr_flow",
        "target": "sales-menu",
        "business_hours": "office",
        "closed_target_type": None,
        "closed_target": None,
        "department": None,
    }
    assert exported["trunk_groups"] == [
        {
            "name": "outbound",
            "strategy": "least_used",
            "trunks": ["carrier-b", "carrier-c"],
            "failover_on": ["408", "5xx", "604", "606"],
        }
    ]
    again = await _import(admin, DOCUMENT, dry_run=False)
    assert (again.json()["created"], again.json()["updated"]) == ([], [])


async def test_changes_show_as_a_diff_and_flows_get_a_new_version(world: World, clients) -> None:
    admin = clients["admin"]
    await _import(admin, DOCUMENT, dry_run=False)
    changed = DOCUMENT.replace("max_wait_seconds: 300", "max_wait_seconds: 120").replace(
        "queue: sales}", "queue: sales, priority: 5}"
    )
    diff = (await _import(admin, changed, dry_run=True)).json()
    regrouped = DOCUMENT.replace("[carrier-b, carrier-c]", "[carrier-c, carrier-b]")
    assert (await _import(admin, regrouped, dry_run=True)).json()["updated"] == [
        "trunk_groups/outbound (trunks: ['carrier-b', 'carrier-c'] -> ['carrier-c', 'carrier-b'])"
    ]
    both = regrouped.replace("strategy: least_used", "strategy: priority")
    assert (await _import(admin, both, dry_run=True)).json()["updated"] == [
        "trunk_groups/outbound (strategy: 'least_used' -> 'priority'; trunks: "
        "['carrier-b', 'carrier-c'] -> ['carrier-c', 'carrier-b'])"
    ]
    assert diff["updated"] == [
        "queues/sales (max_wait_seconds: 300 -> 120)",
        "ivr_flows/sales-menu (new version 2)",
    ]


PILOTED = DOCUMENT.replace(
    "    definition: {start: hello, nodes: {hello: {type: queue, queue: sales}}}\n",
    "    definition: {start: hello, nodes: {hello: {type: queue, queue: sales}}}\n"
    "    pilots:\n"
    "      - department: Sales\n"
    "        definition: {start: hi, nodes: {hi: {type: queue, queue: sales, priority: 3}}}\n",
)


async def test_a_pilot_travels_with_its_definition_and_gets_its_own_version(
    world: World, clients
) -> None:
    admin = clients["admin"]
    await _import(admin, DOCUMENT, dry_run=False)
    applied = (await _import(admin, PILOTED, dry_run=False)).json()
    assert applied["created"] == ["ivr_flows/sales-menu/pilots/Sales"]
    flows = (await admin.get("/api/v1/ivr-flows")).json()
    flow = next(f for f in flows if f["name"] == "sales-menu")
    assert (flow["published_version"], flow["latest_version"]) == (1, 2)
    (pilot,) = (await admin.get(f"/api/v1/ivr-flows/{flow['id']}/pilots")).json()
    assert pilot["version"] == 2
    exported = yaml.safe_load((await admin.get("/api/v1/config/export")).text)
    (flow_doc,) = [f for f in exported["ivr_flows"] if f["name"] == "sales-menu"]
    assert flow_doc["pilots"] == [
        {
            "department": "Sales",
            "definition": {
                "start": "hi",
                "nodes": {"hi": {"type": "queue", "queue": "sales", "priority": 3}},
            },
        }
    ]
    again = (await _import(admin, yaml.safe_dump(exported), dry_run=True)).json()
    assert (again["created"], again["updated"]) == ([], [])
    # A pilot of the published definition pilots nothing (a backup taken as a pilot was
    # promoted): no error, and no pilot.
    same = DOCUMENT.replace(
        "    definition: {start: hello, nodes: {hello: {type: queue, queue: sales}}}\n",
        "    definition: {start: hello, nodes: {hello: {type: queue, queue: sales}}}\n"
        "    pilots: [{department: Sales, definition: "
        "{start: hello, nodes: {hello: {type: queue, queue: sales}}}}]\n",
    )
    noop = await _import(admin, same, dry_run=True)
    assert noop.status_code == 200, noop.text
    assert (noop.json()["created"], noop.json()["updated"]) == ([], [])
    # Promoting the pilot publishes its version; the export then carries no pilot.
    sales = next(
        d for d in (await admin.get("/api/v1/departments")).json()["items"] if d["name"] == "Sales"
    )
    promoted = await admin.post(f"/api/v1/ivr-flows/{flow['id']}/pilots/{sales['id']}/promote")
    assert promoted.status_code == 200, promoted.text
    exported = yaml.safe_load((await admin.get("/api/v1/config/export")).text)
    (flow_doc,) = [f for f in exported["ivr_flows"] if f["name"] == "sales-menu"]
    assert flow_doc["pilots"] == []


async def test_export_round_trips_into_an_empty_node(world: World, clients) -> None:
    admin = clients["admin"]
    await _import(admin, DOCUMENT, dry_run=False)
    exported = (await admin.get("/api/v1/config/export")).text
    again = await _import(admin, exported, dry_run=True)
    assert again.json()["created"] == []
    assert again.json()["updated"] == []
    audit = (await admin.get("/api/v1/audit-log", params={"resource": "config"})).json()
    # The import and the export are audited; a dry run changes nothing, audit included.
    assert [entry["action"] for entry in audit] == ["import", "read"]


async def test_bad_documents_are_422_and_only_admins_may_import(clients) -> None:
    admin = clients["admin"]
    for text, message in (
        ("version: 1\nqueues: [", "not valid YAML"),
        ("- a\n- b\n", "mapping"),
        ("version: 2\n", "version 2"),
        ("queues: [{name: q, department: Nowhere}]", "unknown department 'Nowhere'"),
        ("trunks: [{name: t, host: h, port: 0}]", "trunks.0.port"),
        ("colour: blue", "colour"),
        ("trunk_groups: [{name: g, trunks: [nowhere]}]", "trunk_groups/g: unknown trunk 'nowhere'"),
        ("trunk_groups: [{name: g, trunks: []}]", "trunk_groups.0.trunks"),
        # Well-formed YAML whose value cannot be built: a clear 422, never a 500.
        ("business_hours: [{name: h, holidays: [2026-02-30]}]", "a value cannot be read"),
        # Hostile uploads are refused before the parser could spend minutes on them.
        ("skills: " + "[" * 100_000, "nested deeper than 40 levels (line 1)"),
        ("a: &x [1, 2]\nb: [*x, *x]\n", "aliases (*name) are not allowed (line 2)"),
    ):
        response = await _import(admin, text, dry_run=True)
        assert response.status_code == 422, (text, response.text)
        assert message in response.json()["detail"], (text, response.text)
    for role in ("supervisor", "agent", "qa", "auditor"):
        assert (await _import(clients[role], DOCUMENT, dry_run=True)).status_code == 403
        assert (await clients[role].get("/api/v1/config/export")).status_code == 403
