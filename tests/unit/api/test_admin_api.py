"""What the admin console needs from the API: checks against stored data that name the
field at fault, trunk groups, trunk credentials, and IVR flows uploaded as YAML whose
problems point at the node and the line."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.ivr import MENU_FLOW, MENU_FLOW_TYPO
from tests.unit.api.conftest import World


def fields(response: httpx.Response) -> list[str]:
    """The body fields a 422 names, as dotted paths without the leading ``body``."""
    return [".".join(map(str, error["loc"][1:])) for error in response.json()["detail"]]


async def audit(world: World, resource: str) -> list[dict[str, Any]]:
    auditor = world.clients["auditor"]
    entries: list[dict[str, Any]] = (
        await auditor.get("/api/v1/audit-log", params={"resource": resource})
    ).json()
    return entries


async def test_trunk_groups_keep_order_and_protect_their_trunks(world: World, clients) -> None:
    admin = clients["admin"]
    second = await admin.post(
        "/api/v1/trunks",
        json={
            "name": "backup carrier",
            "host": "203.0.113.5",
            "username": "hotline",
            "password": "s3cret-digest",
            "priority": 1,
            "weight": 3,
            "dial_format": "e164",
            "caller_id": "+862112345678",
        },
    )
    assert second.status_code == 201, second.text
    trunk = second.json()
    assert "password" not in trunk
    assert (trunk["has_password"], trunk["dial_format"], trunk["weight"]) == (True, "e164", 3)
    order = [trunk["id"], world.ids["trunk"]]
    created = await admin.post(
        "/api/v1/trunk-groups",
        json={"name": "outbound", "strategy": "priority", "trunk_ids": order},
    )
    assert created.status_code == 201, created.text
    group = created.json()
    assert group["trunk_ids"] == order
    assert group["failover_on"] == ["408", "5xx", "604", "606"]
    reordered = await admin.patch(
        f"/api/v1/trunk-groups/{group['id']}", json={"trunk_ids": order[::-1]}
    )
    assert reordered.json()["trunk_ids"] == order[::-1]

    missing = await admin.post(
        "/api/v1/trunk-groups", json={"name": "other", "trunk_ids": [order[0], 99999]}
    )
    assert missing.status_code == 409
    assert missing.json()["field"] == "trunk_ids.1"
    twice = await admin.post(
        "/api/v1/trunk-groups", json={"name": "other", "trunk_ids": [order[0], order[0]]}
    )
    assert twice.status_code == 422
    assert fields(twice) == ["trunk_ids"]
    bad_rule = await admin.post(
        "/api/v1/trunk-groups",
        json={"name": "other", "trunk_ids": [order[0]], "failover_on": ["9xx"]},
    )
    assert bad_rule.status_code == 422
    assert fields(bad_rule) == ["failover_on.0"]

    in_use = await admin.delete(f"/api/v1/trunks/{trunk['id']}")
    assert in_use.status_code == 409
    assert (await admin.delete(f"/api/v1/trunk-groups/{group['id']}")).status_code == 204
    assert (await admin.delete(f"/api/v1/trunks/{trunk['id']}")).status_code == 204

    entries = await audit(world, "trunks")
    assert "s3cret-digest" not in str(entries)
    assert [e["action"] for e in entries[-2:]] == ["create", "delete"]
    groups = await audit(world, "trunk-groups")
    assert [e["action"] for e in groups] == ["create", "update", "delete"]
    assert groups[1]["detail"] == {
        "before": {"trunk_ids": order},
        "after": {"trunk_ids": order[::-1]},
    }


async def test_users_roles_need_their_department_on_the_whole_row(world: World, clients) -> None:
    admin = clients["admin"]
    created = await admin.post(
        "/api/v1/users",
        json={"username": "newqa", "password": "long enough pw", "role": "qa"},
    )
    assert created.status_code == 201
    user_id = created.json()["id"]
    # A QA user without a department cannot become a supervisor...
    promoted = await admin.patch(f"/api/v1/users/{user_id}", json={"role": "supervisor"})
    assert promoted.status_code == 422
    assert fields(promoted) == ["department_id"]
    # ...but can with one, and an agent's role alone can change when the row has one.
    promoted = await admin.patch(
        f"/api/v1/users/{user_id}",
        json={"role": "supervisor", "department_id": world.ids["dept_A"]},
    )
    assert promoted.status_code == 200, promoted.text
    agent = await admin.patch(f"/api/v1/users/{world.ids['user_agent']}", json={"role": "agent"})
    assert agent.status_code == 200, agent.text
    # An agent row belongs to a user who takes calls.
    demoted = await admin.patch(f"/api/v1/users/{world.ids['user_agent']}", json={"role": "qa"})
    assert demoted.status_code == 422
    assert fields(demoted) == ["role"]
    assert "agent 100" in demoted.text


async def test_agents_are_checked_against_their_user_and_skills(world: World, clients) -> None:
    admin, supervisor = clients["admin"], clients["supervisor"]
    new_user = await admin.post(
        "/api/v1/users",
        json={
            "username": "li.na",
            "password": "long enough pw",
            "role": "agent",
            "department_id": world.ids["dept_A"],
        },
    )
    user_id = new_user.json()["id"]
    body = {"user_id": user_id, "department_id": world.ids["dept_A"], "extension": "2001"}
    not_agent = await admin.post("/api/v1/agents", json=body | {"user_id": world.ids["user_qa"]})
    assert not_agent.status_code == 422
    assert fields(not_agent) == ["user_id"]
    other_dept = await admin.post(
        "/api/v1/agents", json=body | {"department_id": world.ids["dept_B"]}
    )
    assert other_dept.status_code == 422
    assert fields(other_dept) == ["department_id"]
    no_skill = await admin.post(
        "/api/v1/agents",
        json=body | {"skills": [{"skill_id": world.ids["skill"]}, {"skill_id": 4242}]},
    )
    assert no_skill.status_code == 409
    assert no_skill.json()["field"] == "skills.1.skill_id"
    taken = await admin.post("/api/v1/agents", json=body | {"extension": "100"})
    assert taken.status_code == 409
    assert taken.json()["field"] == "extension"
    # A supervisor cannot attach a user of another department (it is not even visible).
    hidden = await supervisor.post(
        "/api/v1/agents", json=body | {"user_id": world.ids["user_agent_b"]}
    )
    assert hidden.status_code == 409
    assert hidden.json()["field"] == "user_id"
    created = await supervisor.post("/api/v1/agents", json=body)
    assert created.status_code == 201, created.text


async def test_queues_routes_and_codes_name_the_field(world: World, clients) -> None:
    admin, supervisor = clients["admin"], clients["supervisor"]
    queue = {"name": "vip", "department_id": world.ids["dept_A"]}
    unknown_skill = await supervisor.post(
        "/api/v1/queues", json=queue | {"required_skills": ["mandarin", "klingon"]}
    )
    assert unknown_skill.status_code == 409
    assert unknown_skill.json()["field"] == "required_skills.1"
    duplicate = await supervisor.post("/api/v1/queues", json=queue | {"name": "queue A"})
    assert duplicate.status_code == 409
    assert duplicate.json()["field"] == "name"
    foreign = await supervisor.post(
        "/api/v1/queues", json=queue | {"department_id": world.ids["dept_B"]}
    )
    assert foreign.status_code == 403

    code = {"department_id": world.ids["dept_A"], "code": "sale", "label": "Again"}
    same_code = await supervisor.post("/api/v1/wrapup-codes", json=code)
    assert same_code.status_code == 409
    assert same_code.json()["field"] == "code"
    # The same code in another department is another code.
    other = await admin.post(
        "/api/v1/wrapup-codes", json=code | {"department_id": world.ids["dept_B"], "code": "won"}
    )
    assert other.status_code == 201

    route = {"did": "4008001000", "target_type": "queue", "target_id": 999999}
    nowhere = await admin.post("/api/v1/inbound-routes", json=route)
    assert nowhere.status_code == 409
    assert nowhere.json()["field"] == "target_id"
    no_trunk = await admin.post(
        "/api/v1/inbound-routes",
        json=route | {"target_id": world.ids["queue_A"], "trunk_id": 77777},
    )
    assert no_trunk.status_code == 409
    assert no_trunk.json()["field"] == "trunk_id"
    created = await admin.post(
        "/api/v1/inbound-routes", json=route | {"target_id": world.ids["queue_A"]}
    )
    assert created.status_code == 201, created.text
    # A route's target cannot disappear under it.
    routed = await admin.delete(f"/api/v1/queues/{world.ids['queue_A']}")
    assert routed.status_code == 409
    assert "4008001000" in routed.text
    retarget = await admin.patch(
        f"/api/v1/inbound-routes/{created.json()['id']}", json={"target_type": "ivr_flow"}
    )
    assert retarget.status_code == 409
    assert retarget.json()["field"] == "target_id"


async def test_business_hours_calendar_with_holidays(world: World, clients) -> None:
    admin = clients["admin"]
    body = {
        "name": "office",
        "timezone": "Asia/Shanghai",
        "weekly": [{"day": d, "start": "09:00", "end": "18:00"} for d in range(5)],
        "holidays": ["2026-10-01", "2026-10-02"],
    }
    created = await admin.post("/api/v1/business-hours", json=body)
    assert created.status_code == 201
    assert created.json() | body == created.json()
    bad_day = await admin.patch(
        f"/api/v1/business-hours/{created.json()['id']}", json={"holidays": ["2026-02-30"]}
    )
    assert bad_day.status_code == 422
    assert fields(bad_day) == ["holidays.0"]
    assert (await clients["supervisor"].get("/api/v1/business-hours")).status_code == 200
    assert (
        await clients["supervisor"].post("/api/v1/business-hours", json=body | {"name": "x"})
    ).status_code == 403


async def test_ivr_yaml_problems_point_at_node_and_line(world: World, clients) -> None:
    supervisor = clients["supervisor"]
    checked = await supervisor.post("/api/v1/ivr-flows/validate", json={"yaml": MENU_FLOW_TYPO})
    assert checked.json() == {
        "valid": False,
        "problems": [
            {
                "location": "nodes.menu.options.1",
                "node": "menu",
                "line": 8,
                "message": "no node 'salse'",
            }
        ],
    }
    broken = await supervisor.post(
        "/api/v1/ivr-flows/validate", json={"yaml": "start: a\nnodes: [oops\n"}
    )
    assert broken.json()["problems"][0]["line"] == 3
    assert broken.json()["problems"][0]["message"].startswith("not valid YAML")

    body = {"name": "after-hours", "department_id": world.ids["dept_A"], "yaml": MENU_FLOW_TYPO}
    refused = await supervisor.post("/api/v1/ivr-flows", json=body)
    assert refused.status_code == 422
    (error,) = refused.json()["detail"]
    assert error["loc"] == ["body", "yaml", "nodes", "menu", "options", "1"]
    assert (error["node"], error["line"]) == ("menu", 8)
    assert (await supervisor.get("/api/v1/ivr-flows")).json() == []  # nothing stored
    # A name the interpreter refuses would be stored, then left out of the live node.
    spaced = await supervisor.post(
        "/api/v1/ivr-flows", json=body | {"yaml": MENU_FLOW, "name": "after hours"}
    )
    assert spaced.status_code == 422
    assert spaced.json()["detail"][0]["loc"] == ["body", "name"]

    created = await supervisor.post("/api/v1/ivr-flows", json=body | {"yaml": MENU_FLOW})
    assert created.status_code == 201, created.text
    flow_id = created.json()["id"]
    unknown_field = MENU_FLOW.replace("    type: hangup\n", "    type: hangup\n    colour: red\n")
    second = await supervisor.post(
        f"/api/v1/ivr-flows/{flow_id}/versions", json={"yaml": unknown_field}
    )
    assert second.status_code == 422
    assert (second.json()["detail"][0]["node"], second.json()["detail"][0]["line"]) == ("bye", 15)
    fixed = MENU_FLOW.replace("Press 1 for sales", "Press 1 for sales, or wait")
    saved = await supervisor.post(
        f"/api/v1/ivr-flows/{flow_id}/versions", json={"yaml": fixed, "publish": True}
    )
    assert saved.status_code == 201, saved.text
    assert saved.json()["version"] == 2
    assert saved.json()["source"] == fixed  # comments kept for the editor
    assert saved.json()["definition"]["nodes"]["menu"]["options"] == {"1": "sales"}
    flow = (await supervisor.get(f"/api/v1/ivr-flows/{flow_id}")).json()
    assert (flow["published_version"], flow["latest_version"]) == (2, 2)

    # Assigned per department (within the caller's scope) and per route.
    moved = await supervisor.patch(
        f"/api/v1/ivr-flows/{flow_id}", json={"department_id": world.ids["dept_B"]}
    )
    assert moved.status_code == 403
    admin = clients["admin"]
    route = await admin.post(
        "/api/v1/inbound-routes",
        json={"did": "4008002000", "target_type": "ivr_flow", "target_id": flow_id},
    )
    assert route.status_code == 201
    assert (await supervisor.delete(f"/api/v1/ivr-flows/{flow_id}")).status_code == 409
    moved = await admin.patch(
        f"/api/v1/ivr-flows/{flow_id}", json={"department_id": world.ids["dept_B"]}
    )
    assert moved.status_code == 200
    assert moved.json()["department_id"] == world.ids["dept_B"]
    assert (await supervisor.get(f"/api/v1/ivr-flows/{flow_id}")).status_code == 404

    actions = [e["action"] for e in await audit(world, "ivr-flows")]
    assert actions == ["create", "create_version", "create_version", "publish", "update"]


async def test_json_definitions_get_the_same_checks(world: World, clients) -> None:
    supervisor = clients["supervisor"]
    response = await supervisor.post(
        "/api/v1/ivr-flows",
        json={
            "name": "json-flow",
            "department_id": world.ids["dept_A"],
            "definition": {"start": "a", "nodes": {"a": {"type": "play", "next": "a"}}},
        },
    )
    assert response.status_code == 422
    assert fields(response) == ["definition.nodes.a.prompt"]
    both = await supervisor.post(
        "/api/v1/ivr-flows",
        json={
            "name": "json-flow",
            "department_id": world.ids["dept_A"],
            "definition": {"start": "a", "nodes": {"a": {"type": "hangup"}}},
            "yaml": MENU_FLOW,
        },
    )
    assert both.status_code == 422


async def test_pooling_lends_agents_only_from_departments_the_caller_manages(
    world: World, clients
) -> None:
    """A supervisor may not borrow another department's agents for their queue; what an
    admin set up (a pool, an overflow into another department's queue) survives the
    supervisor's own edits of that queue."""
    supervisor, admin = clients["supervisor"], clients["admin"]
    queue_a, queue_b = world.ids["queue_A"], world.ids["queue_B"]
    dept_b = world.ids["dept_B"]
    borrowed = await supervisor.patch(
        f"/api/v1/queues/{queue_a}", json={"pooled_department_ids": [dept_b]}
    )
    assert borrowed.status_code == 409
    assert f"department {dept_b} is not yours" in borrowed.json()["detail"]
    lent = await admin.patch(
        f"/api/v1/queues/{queue_a}",
        json={
            "pooled_department_ids": [dept_b],
            "on_max_wait": "overflow",
            "overflow_queue_id": queue_b,
        },
    )
    assert lent.status_code == 200, lent.text
    unchanged = {"pooled_department_ids": [dept_b], "overflow_queue_id": queue_b}
    kept = await supervisor.patch(
        f"/api/v1/queues/{queue_a}", json={**unchanged, "max_wait_seconds": 90}
    )
    assert kept.status_code == 200, kept.text
    assert (kept.json()["pooled_department_ids"], kept.json()["overflow_queue_id"]) == (
        [dept_b],
        queue_b,
    )
    # A new reference to a queue the supervisor cannot see is still refused.
    other = await admin.post("/api/v1/queues", json={"name": "queue B2", "department_id": dept_b})
    moved = await supervisor.patch(
        f"/api/v1/queues/{queue_a}", json={"overflow_queue_id": other.json()["id"]}
    )
    assert moved.status_code == 409
