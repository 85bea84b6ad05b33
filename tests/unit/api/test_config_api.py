"""Configuration CRUD: validation errors are clear 4xx, conflicts are 409, every change
is committed and audited with before and after, secrets never reach the audit log."""

from __future__ import annotations

from tests.unit.api.conftest import World


async def test_create_read_update_delete_round_trip(world: World, clients) -> None:
    admin = clients["admin"]
    body = {
        "name": "VIP",
        "department_id": world.ids["dept_A"],
        "strategy": "skills-best-match",
        "required_skills": [{"skill": "mandarin", "level": 3}],
        "wrap_up_seconds": 15,
        "tiers": [{"after_seconds": 0}, {"after_seconds": 30, "relax_levels": 2}],
    }
    created = await admin.post("/api/v1/queues", json=body)
    assert created.status_code == 201, created.text
    queue = created.json()
    assert queue | body | {"tiers": queue["tiers"]} == queue
    assert [tier["relax_levels"] for tier in queue["tiers"]] == [0, 2]
    changed = await admin.patch(f"/api/v1/queues/{queue['id']}", json={"max_wait_seconds": 90})
    assert changed.json()["max_wait_seconds"] == 90
    assert changed.json()["name"] == "VIP"
    assert (await admin.get(f"/api/v1/queues/{queue['id']}")).json() == changed.json()
    assert (await admin.delete(f"/api/v1/queues/{queue['id']}")).status_code == 204
    assert (await admin.get(f"/api/v1/queues/{queue['id']}")).status_code == 404


async def test_bad_payloads_are_422_naming_the_field(clients) -> None:
    admin = clients["admin"]
    cases = [
        ("/api/v1/queues", {"name": "x"}, "department_id"),
        ("/api/v1/queues", {"name": "", "department_id": 1}, "name"),
        ("/api/v1/queues", {"name": "x", "department_id": 1, "strategy": "fastest"}, "strategy"),
        ("/api/v1/queues", {"name": "x", "department_id": 1, "tiers": [{"after_seconds": 5}]}, ""),
        ("/api/v1/queues", {"name": "x", "department_id": 1, "on_max_wait": "overflow"}, ""),
        ("/api/v1/queues", {"name": "x", "department_id": 1, "color": "red"}, "color"),
        ("/api/v1/trunks", {"name": "t", "host": "h", "port": 70000}, "port"),
        ("/api/v1/departments", {"name": "nul\u0000"}, "name"),
        ("/api/v1/users", {"username": "u", "password": "short", "role": "admin"}, "password"),
        ("/api/v1/users", {"username": "u2", "password": "long enough!", "role": "agent"}, ""),
        ("/api/v1/business-hours", {"name": "h", "timezone": "Mars/Olympus"}, "timezone"),
        (
            "/api/v1/business-hours",
            {"name": "h", "weekly": [{"day": 0, "start": "18:00", "end": "09:00"}]},
            "weekly",
        ),
    ]
    for path, body, field in cases:
        response = await admin.post(path, json=body)
        assert response.status_code == 422, (path, body, response.text)
        assert field in str(response.json()["detail"]), (body, response.text)
    not_json = await admin.post(
        "/api/v1/queues", content=b"{", headers={"content-type": "application/json"}
    )
    assert not_json.status_code == 422
    null_name = await admin.patch("/api/v1/queues/1", json={"name": None})
    assert null_name.status_code == 422
    huge_id = await admin.get(f"/api/v1/queues/{2**40}")
    assert huge_id.status_code == 422


async def test_conflicts_are_409(world: World, clients) -> None:
    admin = clients["admin"]
    duplicate = await admin.post(
        "/api/v1/queues", json={"name": "queue A", "department_id": world.ids["dept_A"]}
    )
    assert duplicate.status_code == 409
    missing_dept = await admin.post("/api/v1/queues", json={"name": "q", "department_id": 999})
    assert missing_dept.status_code == 409
    in_use = await admin.delete(f"/api/v1/departments/{world.ids['dept_A']}")
    assert in_use.status_code == 409
    assert (await admin.get(f"/api/v1/departments/{world.ids['dept_A']}")).status_code == 200


async def test_changes_are_audited_with_before_after_and_no_secrets(world: World, clients) -> None:
    admin = clients["admin"]
    queue_id = world.ids["queue_A"]
    await admin.patch(f"/api/v1/queues/{queue_id}", json={"max_wait_seconds": 30})
    user = await admin.post(
        "/api/v1/users",
        json={"username": "newbie", "password": "hunter2hunter2", "role": "qa"},
    )
    assert user.status_code == 201
    await admin.patch(f"/api/v1/users/{user.json()['id']}", json={"password": "another-secret"})
    entries = (await clients["auditor"].get("/api/v1/audit-log")).json()
    update = next(e for e in entries if e["resource"] == "queues" and e["action"] == "update")
    assert update["detail"] == {
        "before": {"max_wait_seconds": None},  # no limit: the row was made without the API
        "after": {"max_wait_seconds": 30},
    }
    assert (update["actor"], update["resource_id"]) == ("admin", str(queue_id))
    assert update["department_id"] == world.ids["dept_A"]
    text = str(entries)
    assert "hunter2hunter2" not in text
    assert "another-secret" not in text
    assert "$argon2" not in text
    # Reading the audit log is itself a sensitive read.
    again = await clients["auditor"].get("/api/v1/audit-log", params={"resource": "audit_log"})
    assert again.json()[0]["actor"] == "auditor"


async def test_new_password_works_and_old_one_does_not(world: World, clients) -> None:
    await clients["admin"].patch(
        f"/api/v1/users/{world.ids['user_qa']}", json={"password": "brand new password"}
    )
    async with world.client() as client:
        old = await client.post(
            "/api/v1/auth/login", json={"username": "qa", "password": "correct horse battery"}
        )
        new = await client.post(
            "/api/v1/auth/login", json={"username": "qa", "password": "brand new password"}
        )
    assert (old.status_code, new.status_code) == (401, 200)


async def test_agent_skills_are_replaced_as_a_set(world: World, clients) -> None:
    admin = clients["admin"]
    english = (await admin.post("/api/v1/skills", json={"name": "english"})).json()["id"]
    agent_id = world.ids["agent_A"]
    skills = [{"skill_id": world.ids["skill"], "level": 3}, {"skill_id": english, "level": 1}]
    response = await admin.patch(f"/api/v1/agents/{agent_id}", json={"skills": skills})
    assert response.status_code == 200, response.text
    assert response.json()["skills"] == skills
    response = await admin.patch(
        f"/api/v1/agents/{agent_id}", json={"skills": [{"skill_id": english, "level": 5}]}
    )
    assert response.json()["skills"] == [{"skill_id": english, "level": 5}]
    duplicate = await admin.patch(
        f"/api/v1/agents/{agent_id}",
        json={"skills": [{"skill_id": english}, {"skill_id": english}]},
    )
    assert duplicate.status_code == 422


async def test_ivr_flow_versions_are_immutable_and_one_is_published(world: World, clients) -> None:
    supervisor = clients["supervisor"]
    v1 = {
        "start": "welcome",
        "nodes": {
            "welcome": {"type": "play", "prompt": {"text": {"en": "Hello"}}, "next": "q"},
            "q": {"type": "queue", "queue": "sales"},
        },
    }
    created = await supervisor.post(
        "/api/v1/ivr-flows",
        json={"name": "main", "department_id": world.ids["dept_A"], "definition": v1},
    )
    assert created.status_code == 201, created.text
    flow = created.json()
    assert (flow["latest_version"], flow["published_version"]) == (1, None)
    v2 = {"start": "closed", "nodes": {"closed": {"type": "hangup"}}}
    added = await supervisor.post(
        f"/api/v1/ivr-flows/{flow['id']}/versions", json={"definition": v2}
    )
    assert added.json()["version"] == 2
    published = await supervisor.post(
        f"/api/v1/ivr-flows/{flow['id']}/publish", json={"version": 1}
    )
    assert (published.json()["published_version"], published.json()["latest_version"]) == (1, 2)
    versions = (await supervisor.get(f"/api/v1/ivr-flows/{flow['id']}/versions")).json()
    assert [v["definition"] for v in versions] == [v1, v2]
    missing = await supervisor.post(f"/api/v1/ivr-flows/{flow['id']}/publish", json={"version": 9})
    assert missing.status_code == 404
    bad = await supervisor.post(
        f"/api/v1/ivr-flows/{flow['id']}/versions",
        json={"definition": {"start": "nowhere", "nodes": {"a": {}}}},
    )
    assert bad.status_code == 422
    assert "start node 'nowhere'" in bad.text
    other = await clients["supervisor_b"].get(f"/api/v1/ivr-flows/{flow['id']}")
    assert other.status_code == 404


async def test_cdr_filters_and_csv_export_is_audited(world: World, clients) -> None:
    admin = clients["admin"]
    abandoned = (await admin.get("/api/v1/cdrs", params={"disposition": "abandoned"})).json()
    assert {row["call_id"] for row in abandoned} == {"call-A-2", "call-B-2"}
    window = await admin.get(
        "/api/v1/cdrs",
        params={
            "since": "2026-05-04T09:05:00Z",
            "until": "2026-05-04T09:15:00",
            "queue_id": world.ids["queue_A"],
        },
    )
    assert [row["call_id"] for row in window.json()] == ["call-A-1"]
    export = await admin.get("/api/v1/cdrs/export.csv", params={"disposition": "answered"})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    lines = export.text.strip().splitlines()
    assert lines[0].startswith("call_id,direction,caller")
    assert len(lines) == 1 + 4
    audit = (await admin.get("/api/v1/audit-log", params={"resource": "cdrs"})).json()
    assert audit[0]["detail"] == {"export": "csv", "rows": 4, "disposition": "answered"}


async def test_readyz_and_metrics(world: World) -> None:
    async with world.client() as client:
        ready = await client.get("/readyz")
        assert ready.json() == {"status": "ready", "checks": {"database": "ok"}}

        async def sip_down() -> None:
            raise RuntimeError("no transport")

        world.context.readiness_checks["sip"] = sip_down
        not_ready = await client.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["checks"]["sip"] == "failed: no transport"
        metrics = await client.get("/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        assert "hotline_events_published_total 0.0" in metrics.text
