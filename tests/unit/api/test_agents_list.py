"""``GET /api/v1/agents``: a page of the agents with their live status, listed by a
monitoring token (``live:read`` only) as well as by the configuration's readers, within
the caller's departments; no status filter without a contact centre to ask."""

from __future__ import annotations

from tests.unit.api.conftest import World


async def test_a_monitoring_token_lists_the_agents_of_its_departments(
    world: World, clients
) -> None:
    created = await clients["supervisor"].post(
        "/api/v1/tokens", json={"name": "monitoring", "scopes": ["live:read"]}
    )
    assert created.status_code == 201, created.text
    async with world.client() as monitoring:
        monitoring.headers["Authorization"] = f"Bearer {created.json()['token']}"
        listed = await monitoring.get("/api/v1/agents", params={"limit": 1})
        assert listed.status_code == 200, listed.text
        page = listed.json()
        everyone = (await clients["supervisor"].get("/api/v1/agents")).json()
        assert page["count"] == everyone["count"] >= 1
        assert len(page["items"]) == 1
        assert {a["department_id"] for a in everyone["items"]} == {world.ids["dept_A"]}
        # This API process runs no contact centre: no status to give, none to filter on.
        assert page["items"][0]["status"] is None
        filtered = await monitoring.get("/api/v1/agents", params={"status": "online"})
        assert filtered.status_code == 503
        assert (await monitoring.get("/api/v1/queues")).status_code == 403
        bad = await monitoring.get("/api/v1/agents", params={"status": "asleep"})
        assert bad.status_code == 422
    if everyone["count"] > 1:
        assert page["next"] == "/api/v1/agents?limit=1&offset=1"
    else:
        assert page["next"] is None


async def test_an_agent_does_not_list_the_other_agents(clients) -> None:
    assert (await clients["agent"].get("/api/v1/agents")).status_code == 403


async def test_every_list_is_a_page_with_a_count(clients) -> None:
    first = (await clients["admin"].get("/api/v1/departments", params={"limit": 1})).json()
    assert set(first) == {"count", "items", "next"}
    assert first["count"] >= 2  # the world has two departments
    assert first["next"] == "/api/v1/departments?limit=1&offset=1"
    last = (
        await clients["admin"].get(f"/api/v1/departments?limit=1&offset={first['count'] - 1}")
    ).json()
    assert (len(last["items"]), last["next"]) == (1, None)


def test_the_status_filter_knows_every_acd_state() -> None:
    from typing import get_args

    from hotline.acd.states import AgentState
    from hotline.api.routes.agents import AgentStatus

    assert set(get_args(AgentStatus)) == {"online", *(state.value for state in AgentState)}
