"""Nothing leaks across departments: a supervisor or agent of department A neither sees
nor changes department B's rows, in lists, single reads, writes, exports or events."""

from __future__ import annotations

from tests.unit.api.conftest import World


async def test_supervisor_lists_only_own_department(world: World, clients) -> None:
    supervisor = clients["supervisor"]
    dept_a = world.ids["dept_A"]
    for resource in ("queues", "agents", "wrapup-codes", "users"):
        rows = (await supervisor.get(f"/api/v1/{resource}")).json()["items"]
        assert rows, resource
        assert {row["department_id"] for row in rows} == {dept_a}, resource
    everything = (await clients["admin"].get("/api/v1/queues")).json()["items"]
    assert len(everything) == 2


async def test_other_departments_rows_are_not_found_not_forbidden(world: World, clients) -> None:
    supervisor = clients["supervisor"]
    queue_b = world.ids["queue_B"]
    for method, body in (("GET", None), ("PATCH", {"max_wait_seconds": 5}), ("DELETE", None)):
        response = await supervisor.request(method, f"/api/v1/queues/{queue_b}", json=body)
        assert response.status_code == 404, (method, response.text)
    still = await clients["admin"].get(f"/api/v1/queues/{queue_b}")
    assert still.json()["max_wait_seconds"] is None  # unchanged: made without a limit


async def test_supervisor_cannot_write_into_or_move_to_another_department(
    world: World, clients
) -> None:
    supervisor = clients["supervisor"]
    dept_b = world.ids["dept_B"]
    created = await supervisor.post("/api/v1/queues", json={"name": "x", "department_id": dept_b})
    assert created.status_code == 403
    moved = await supervisor.patch(
        f"/api/v1/queues/{world.ids['queue_A']}", json={"department_id": dept_b}
    )
    assert moved.status_code == 403
    queue_a = (await clients["admin"].get(f"/api/v1/queues/{world.ids['queue_A']}")).json()
    assert queue_a["department_id"] == world.ids["dept_A"]


async def test_cdrs_are_scoped_for_supervisor_and_agent(world: World, clients) -> None:
    supervisor_rows = (await clients["supervisor"].get("/api/v1/cdrs")).json()
    assert {row["call_id"] for row in supervisor_rows} == {"call-A-0", "call-A-1", "call-A-2"}
    agent_rows = (await clients["agent"].get("/api/v1/cdrs")).json()
    assert {row["call_id"] for row in agent_rows} == {"call-A-0", "call-A-1"}
    other_agent = await clients["agent"].get(
        "/api/v1/cdrs", params={"agent_id": world.ids["agent_B"]}
    )
    assert other_agent.json() == []
    assert len((await clients["qa"].get("/api/v1/cdrs")).json()) == 6
    export = await clients["supervisor"].get("/api/v1/cdrs/export.csv")
    assert "call-A-0" in export.text
    assert "call-B" not in export.text


async def test_events_are_filtered_by_department_and_self(world: World, clients) -> None:
    from tests.unit.api.test_events import QueueChanged, receive_events

    dept_a, dept_b = world.ids["dept_A"], world.ids["dept_B"]
    events = [
        QueueChanged(at=1.0, department_id=dept_b, user_id=None, waiting=1),
        QueueChanged(at=2.0, department_id=dept_a, user_id=None, waiting=2),
        QueueChanged(at=3.0, department_id=dept_a, user_id=world.ids["user_agent"], waiting=3),
    ]
    supervisor = await receive_events(world, "supervisor", events, count=2)
    assert [event["waiting"] for event in supervisor] == [2, 3]
    agent = await receive_events(world, "agent", events, count=1)
    assert [event["waiting"] for event in agent] == [3]
    admin = await receive_events(world, "admin", events, count=3)
    assert [event["waiting"] for event in admin] == [1, 2, 3]
