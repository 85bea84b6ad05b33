"""The desktop's and wallboard's API: screen pop, wrap-up, interval statistics, and live
events placed by department and agent on the events WebSocket."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.acd.events import AgentStateChanged, ContactQueued
from hotline.acd.states import AgentState
from hotline.api.rbac import ROLE_PERMISSIONS, Principal
from hotline.api.routes.events import LiveAudience, visible
from hotline.api.services import desk
from hotline.calls.events import CallConnected, CallEnded
from hotline.events.base import Event
from hotline.services.operations import LiveOperations
from hotline.store.models import Cdr, Customer, Role
from tests.unit.api.conftest import World
from tests.unit.api.test_live import Recorder, center


@pytest.fixture
def live(world: World) -> LiveOperations:
    operations = LiveOperations(center(), Recorder(), clock=lambda: 1000.0)
    world.context.operations = operations
    return operations


def ring(operations: LiveOperations, call_id: str, did: str) -> None:
    operations.center.inbound_call(
        1000.0,
        call_id=call_id,
        leg_id=f"{call_id}-leg",
        caller="13800138000",
        callee=did,
        trunk=None,
    )


async def test_screen_pop_for_the_ringing_agent_only(world: World, clients, live) -> None:
    await clients["agent"].post("/api/v1/live/agents/100/login")
    ring(live, "c-a", "400800")
    async with world.context.database.session() as session:
        session.add(Customer(phone="13800138000", name="Li Na", external_id="C-7"))
        await session.commit()
    pop = await clients["agent"].get("/api/v1/live/calls/c-a/screen-pop")
    assert pop.status_code == 200, pop.text
    body = pop.json()
    assert body["customer"]["name"] == "Li Na"
    assert body["queue"] == "queue A"
    assert body["ivr"] == {}
    # Agent B does not ring and is in another department; the auditor lacks customers:read.
    assert (await clients["agent_b"].get("/api/v1/live/calls/c-a/screen-pop")).status_code == 404
    assert (
        await clients["supervisor_b"].get("/api/v1/live/calls/c-a/screen-pop")
    ).status_code == 404
    assert (await clients["auditor"].get("/api/v1/live/calls/c-a/screen-pop")).status_code == 403
    assert (await clients["agent"].get("/api/v1/live/calls/none/screen-pop")).status_code == 404


async def test_the_live_call_carries_the_ivr_data(world: World, clients, live) -> None:
    live.center.inbound_call(
        1000.0, call_id="c-i", leg_id="c-i-leg", caller="1", callee="400800", trunk=None
    )
    call = live.center.calls["c-i"]
    # Queue A takes the call straight from the route; a transfer into a queue from an IVR
    # hands over its variables the same way (``Call.enqueue``).
    live.center.ivr_enqueue(1000.0, "c-i", "queue A", attributes={"order_number": "1234"})
    assert call.attributes == {"order_number": "1234"}
    (view,) = (await clients["admin"].get("/api/v1/live/calls")).json()
    assert view["attributes"] == {"order_number": "1234"}


async def test_wrapup_is_stored_once_and_checked(world: World, clients, monkeypatch) -> None:
    monkeypatch.setattr(desk, "CDR_WAIT_S", 0.2)
    agent = clients["agent"]

    async def wrap(extension: str, body: dict[str, str], who=agent) -> int:
        response = await who.post(f"/api/v1/live/agents/{extension}/wrapup", json=body)
        return int(response.status_code)

    assert await wrap("100", {"call_id": "call-A-0", "code": "sale", "notes": "ok"}) == 204
    assert await wrap("100", {"call_id": "call-A-0", "code": "sale"}) == 409  # once
    assert await wrap("100", {"call_id": "call-A-1", "code": "nope"}) == 409  # unknown code
    assert await wrap("100", {"call_id": "call-A-2", "code": "sale"}) == 404  # not its call
    assert await wrap("100", {"call_id": "no-such-call", "code": "sale"}) == 404
    assert await wrap("101", {"call_id": "call-B-0", "code": "sale"}) == 404  # another agent
    bad = {"call_id": "call-A-1", "code": "sale", "notes": "bell\x07"}
    assert await wrap("100", bad) == 422
    supervisor_b = clients["supervisor_b"]
    assert await wrap("100", {"call_id": "call-A-1", "code": "sale"}, supervisor_b) == 404
    assert await wrap("100", {"call_id": "call-A-1", "code": "sale"}, clients["supervisor"]) == 204
    async with world.context.database.session() as session:
        rows = (await session.scalars(select(Cdr).order_by(Cdr.call_id))).all()
    wrapped = {row.call_id: (row.wrapup_code, row.notes) for row in rows if row.wrapup_code}
    assert wrapped == {"call-A-0": ("sale", "ok"), "call-A-1": ("sale", None)}


async def test_interval_statistics_count_the_days_calls_per_slot(world: World, clients) -> None:
    # The seeded CDRs: three per department on 2026-05-04 at 09:00, 09:10, 09:20 UTC.
    admin = clients["admin"]
    response = await admin.get(
        "/api/v1/stats/intervals", params={"day": "2026-05-04", "minutes": 15}
    )
    assert response.status_code == 200, response.text
    stats = response.json()
    assert len(stats["intervals"]) == 96
    busy = {i["start"][11:16]: i for i in stats["intervals"] if i["offered"]}
    counts = {k: (v["offered"], v["handled"], v["abandoned"], v["other"]) for k, v in busy.items()}
    assert counts == {
        "09:00": (4, 0, 0, 4),  # seeded as "answered": an outcome the CDR writer never uses
        "09:15": (2, 0, 2, 0),
    }
    shanghai = await admin.get(
        "/api/v1/stats/intervals",
        params={"day": "2026-05-04", "minutes": 60, "timezone": "Asia/Shanghai"},
    )
    hours = {i["start"][11:13]: i["offered"] for i in shanghai.json()["intervals"] if i["offered"]}
    assert hours == {"17": 6}
    supervisor = await clients["supervisor"].get(
        "/api/v1/stats/intervals", params={"day": "2026-05-04", "minutes": 60}
    )
    assert sum(i["offered"] for i in supervisor.json()["intervals"]) == 3  # department A
    agent = await clients["agent"].get(
        "/api/v1/stats/intervals", params={"day": "2026-05-04", "minutes": 60}
    )
    assert sum(i["offered"] for i in agent.json()["intervals"]) == 2  # its own calls
    for params in (
        {"day": "2026-05-04", "minutes": 7},
        {"day": "x"},
        {"day": "2026-05-04", "timezone": "Mars/Base"},
    ):
        assert (await admin.get("/api/v1/stats/intervals", params=params)).status_code == 422


async def test_a_dst_day_has_its_own_number_of_slots(world: World, clients) -> None:
    response = await clients["admin"].get(
        "/api/v1/stats/intervals",
        params={"day": "2026-03-08", "minutes": 60, "timezone": "America/New_York"},
    )
    assert len(response.json()["intervals"]) == 23


def _principal(role: Role, department_id: int | None, user_id: int = 9) -> Principal:
    return Principal(user_id, "u", role, department_id, ROLE_PERMISSIONS[role], "session")


def test_live_events_reach_the_departments_supervisor_and_the_agent_on_them() -> None:
    operations = LiveOperations(center(), Recorder(), clock=lambda: 1000.0)
    operations.center.agent_login(1000.0, "100")
    ring(operations, "c-1", "400800")  # rings agent 100 in department A
    supervisor_a = _principal(Role.SUPERVISOR, 1)
    supervisor_b = _principal(Role.SUPERVISOR, 2)
    agent_100 = _principal(Role.AGENT, 1)
    agent_101 = _principal(Role.AGENT, 2)
    admin = _principal(Role.ADMIN, None)

    def audiences() -> dict[str, tuple[Principal, LiveAudience]]:
        return {
            "supervisor_a": (
                supervisor_a,
                LiveAudience(frozenset({"department A"}), None, operations),
            ),
            "supervisor_b": (
                supervisor_b,
                LiveAudience(frozenset({"department B"}), None, operations),
            ),
            "agent_100": (agent_100, LiveAudience(frozenset({"department A"}), "100", operations)),
            "agent_101": (agent_101, LiveAudience(frozenset({"department B"}), "101", operations)),
            "admin": (admin, LiveAudience(None, None, operations)),
        }

    seen = audiences()
    state = AgentStateChanged(
        at=1000.0, agent_id="100", previous=AgentState.AVAILABLE, state=AgentState.RESERVED
    )
    queued = ContactQueued(
        at=1000.0, contact_id="c-1", queue="queue A", priority=0, position=1, estimated_wait=0
    )
    connected = CallConnected(at=1000.0, call_id="c-1", leg_id="c-1-a1", agent="100")
    ended = CallEnded(at=1001.0, call_id="c-1", side="customer", cause="bye")

    def who(event: Event) -> set[str]:
        return {
            name
            for name, (principal, audience) in seen.items()
            if visible(principal, event, audience)
        }

    assert who(state) == {"supervisor_a", "agent_100", "admin"}
    assert who(queued) == {"supervisor_a", "agent_100", "admin"}
    assert who(connected) == {"supervisor_a", "agent_100", "admin"}
    # The call is gone from the live centre when its end arrives: its parties were kept.
    operations.center.calls.clear()
    assert who(ended) == {"supervisor_a", "agent_100", "admin"}
    # A connection that never saw the call cannot place its end: only unscoped roles see it.
    seen = audiences()
    assert who(ended) == {"admin"}
    # Without live operations (an API-only node), the old rules hold.
    assert (
        visible(supervisor_a, state, LiveAudience(frozenset({"department A"}), None, None)) is False
    )
    assert visible(admin, state) is True
