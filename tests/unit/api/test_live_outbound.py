"""Click-to-call and trunk health through the live API, over a real ContactCenter with a
trunk group: who may place a call for whom, the audit trail, and each refusal's status."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.acd import AgentState
from hotline.api.rbac import ROLE_PERMISSIONS, Principal
from hotline.api.routes.events import LiveAudience, visible
from hotline.calls import commands as control
from hotline.calls.events import CallConnected, CallEnded, CallHeld, CallStarted
from hotline.calls.numbers import NumberingPlan
from hotline.calls.trunks import TrunkConfig, TrunkGroup, TrunkGroupConfig, trunk_states
from hotline.events import Event
from hotline.services.contact_center import OUTBOUND_BREAK, ContactCenter, Output
from hotline.services.operations import LiveOperations, TrunkView
from hotline.store.models import AuditEntry, Role
from tests.unit.api.conftest import World
from tests.unit.api.test_live import Recorder, center


class Node:
    """What the live API sees of a node: its contact centre with one trunk group, phones
    registered or not, and the commands it was asked to carry out."""

    def __init__(self) -> None:
        self.center: ContactCenter = center()
        self.states = trunk_states([TrunkConfig(name="telecom", host="198.51.100.1")])
        group = TrunkGroupConfig(name="out", trunks=("telecom",))
        self.center.configure_trunks(
            {"out": TrunkGroup.build(group, self.states)}, NumberingPlan(region="CN")
        )
        self.registered = {"100", "101"}
        self.outputs: list[Output] = []
        self.executed = Recorder()  # what the live API had the node carry out
        self.calls = 0

    def originate(self, agent: str, number: str, group: str | None, caller: str | None) -> str:
        self.calls += 1
        call_id = f"out-{self.calls}"
        self.outputs += self.center.originate(
            1000.0, call_id=call_id, agent=agent, number=number, group=group, caller_id=caller
        )
        return call_id

    def trunks(self) -> list[TrunkView]:
        state = self.states["telecom"]
        return [
            TrunkView(
                name="telecom",
                host=state.config.host,
                port=5060,
                transport="udp",
                groups=("out",),
                probed=True,
                up=state.up,
                active_calls=state.active_calls,
                max_channels=None,
                calls_total=state.calls_total,
                last_probe_status=200,
                last_probe_at=999.0,
            )
        ]


@pytest.fixture
def node(world: World) -> Node:
    node = Node()
    world.context.operations = LiveOperations(
        node.center,
        node.executed,
        clock=lambda: 1000.0,
        phone_registered=lambda agent: agent in node.registered,
        originate=node.originate,
        trunks=node.trunks,
    )
    return node


async def test_an_agent_places_a_call_as_itself_and_its_phone_rings_first(
    world: World, clients, node: Node
) -> None:
    agent = clients["agent"]
    assert (await agent.post("/api/v1/live/agents/100/login")).status_code == 204
    placed = await agent.post(
        "/api/v1/live/calls", json={"agent": "100", "number": "+86 21 6888 8888"}
    )
    assert placed.status_code == 201, placed.text
    call_id = placed.json()["call_id"]
    assert control.RingAgent(call_id, f"{call_id}-a1", "100") in node.outputs
    (call,) = (await clients["supervisor"].get("/api/v1/live/calls")).json()
    assert (call["call_id"], call["direction"], call["state"]) == (
        call_id,
        "outbound",
        "ringing_agent",
    )
    assert call["callee"] == "+862168888888"
    assert call["kind"] == "click_to_call"  # what created it: data, not another code path
    # Available before: on a break for the call, so the ACD offers it nothing meanwhile.
    acd = node.center.acd
    assert (acd.agent_state("100"), acd.agent_reason("100")) == (AgentState.BREAK, OUTBOUND_BREAK)
    again = await agent.post("/api/v1/live/calls", json={"agent": "100", "number": "13800138000"})
    assert again.status_code == 409  # already on a call
    # A click-to-call is transferred or consulted once the customer talks, not while the
    # agent rings (the same controls as any call, refused alike).
    transfer = await clients["admin"].post(
        f"/api/v1/live/calls/{call_id}/transfer", json={"queue": "queue A"}
    )
    assert transfer.status_code == 409
    consult = await clients["admin"].post(
        f"/api/v1/live/calls/{call_id}/consult", json={"target": "101"}
    )
    assert consult.status_code == 409
    assert "ringing_agent, not connected" in consult.json()["detail"]
    assert (await clients["admin"].post(f"/api/v1/live/calls/{call_id}/hangup")).status_code == 204
    assert (acd.agent_state("100"), call_id in node.center.calls) == (
        AgentState.AVAILABLE,
        False,
    )
    # Another agent's phone is out of an agent's reach.
    other = await agent.post("/api/v1/live/calls", json={"agent": "101", "number": "13800138000"})
    assert other.status_code == 404


async def test_the_agent_pauses_and_resumes_the_recording_of_its_click_to_call(
    world: World, clients, node: Node
) -> None:
    agent = clients["agent"]
    placed = await agent.post("/api/v1/live/calls", json={"agent": "100", "number": "13800138000"})
    call_id = placed.json()["call_id"]
    base = f"/api/v1/live/calls/{call_id}/recording"
    node.outputs += node.center.leg_answered(1001.0, call_id, f"{call_id}-a1")
    assert (await agent.post(base + "/pause")).status_code == 409  # dialling: not recorded
    node.outputs += node.center.leg_answered(1002.0, call_id, f"{call_id}-t1")
    (view,) = (await agent.get("/api/v1/live/calls")).json()
    assert (view["direction"], view["recording"]) == ("outbound", "on")
    # Another department's agent and supervisor do not see the call; an auditor may not act.
    assert (await clients["agent_b"].post(base + "/pause")).status_code == 404
    assert (await clients["supervisor_b"].post(base + "/pause")).status_code == 404
    assert (await clients["auditor"].post(base + "/pause")).status_code == 403
    assert (await agent.post(base + "/pause")).status_code == 204
    assert control.PauseRecording(f"{call_id}-r1") in node.executed.outputs
    (view,) = (await clients["supervisor"].get("/api/v1/live/calls")).json()
    assert view["recording"] == "paused"
    assert (await clients["supervisor"].post(base + "/resume")).status_code == 204
    assert control.ResumeRecording(f"{call_id}-r1") in node.executed.outputs
    (view,) = (await agent.get("/api/v1/live/calls")).json()
    assert view["recording"] == "on"
    assert (await agent.post(base + "/stop")).status_code == 204
    assert control.StopRecording(f"{call_id}-r1") in node.executed.outputs
    refused = await agent.post(base + "/pause")
    assert refused.status_code == 409
    assert f"call {call_id} is not being recorded" in refused.json()["detail"]
    assert node.center.calls[call_id].state == "connected"  # the refusal lost nothing
    async with world.context.database.session() as session:
        actions = list(
            await session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.action.like("recording-%"))
                .order_by(AuditEntry.id)
            )
        )
    assert actions == ["recording-pause", "recording-resume", "recording-stop"]


async def test_supervisors_place_calls_for_their_departments_and_are_audited(
    world: World, clients, node: Node
) -> None:
    body = {"agent": "100", "number": "13800138000", "trunk_group": "out"}
    assert (await clients["supervisor_b"].post("/api/v1/live/calls", json=body)).status_code == 404
    placed = await clients["supervisor"].post("/api/v1/live/calls", json=body)
    assert placed.status_code == 201
    async with world.context.database.session() as session:
        (entry,) = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "originate"))
        )
    assert (entry.resource, entry.resource_id) == ("call", placed.json()["call_id"])
    assert entry.detail == {"agent": "100", "number": "13800138000", "trunk_group": "out"}
    assert (await clients["auditor"].post("/api/v1/live/calls", json=body)).status_code == 403


async def test_each_refusal_has_its_own_status_and_reason(
    world: World, clients, node: Node
) -> None:
    admin = clients["admin"]

    async def place(**body: str) -> tuple[int, str]:
        response = await admin.post("/api/v1/live/calls", json={"agent": "100", **body})
        return response.status_code, response.json().get("detail", "")

    assert (await place(number="13800138000", trunk_group="nope"))[0] == 404
    assert (await place(number="12"))[0] == 422  # not a number in CN
    assert (await place(number="call me"))[0] == 422  # not even digits
    assert (await place(number="13800138000", caller_id="+862169999999"))[0] == 422
    assert (await place(number="13800138000", extra="x"))[0] == 422
    node.registered.discard("100")
    assert await place(number="13800138000") == (409, "agent 100 has no registered phone")
    node.registered.add("100")
    node.states["telecom"].up = False
    status, reason = await place(number="13800138000")
    assert (status, reason) == (503, "no usable trunk in group out: telecom down")
    response = await admin.post("/api/v1/live/calls", json={"agent": "999", "number": "110"})
    assert response.status_code == 404
    assert node.outputs == []  # nothing rang for any of them


async def test_trunk_health_is_shown_to_those_who_read_configuration(
    world: World, clients, node: Node
) -> None:
    (view,) = (await clients["supervisor"].get("/api/v1/live/trunks")).json()
    assert (view["name"], view["up"], view["groups"], view["last_probe_status"]) == (
        "telecom",
        True,
        ["out"],
        200,
    )
    assert (await clients["agent"].get("/api/v1/live/trunks")).status_code == 403
    metrics = (await clients["admin"].get("/metrics")).text
    assert 'hotline_trunk_up{trunk="telecom"} 1.0' in metrics


def test_an_agents_click_to_call_events_reach_it_and_its_departments_supervisors() -> None:
    """Outbound events name only the call: the live operations place them in the agent's
    department and with the agent, as an inbound call's."""
    node = Node()
    operations = LiveOperations(node.center, Recorder(), clock=lambda: 1000.0)
    node.center.agent_login(1000.0, "100")
    call_id = node.originate("100", "13800138000", None, None)

    def principal(role: Role, department_id: int | None) -> Principal:
        return Principal(9, "u", role, department_id, ROLE_PERMISSIONS[role], "session")

    seen = {
        "agent_100": (
            principal(Role.AGENT, 1),
            LiveAudience(frozenset({"department A"}), "100", operations),
        ),
        "agent_101": (
            principal(Role.AGENT, 2),
            LiveAudience(frozenset({"department B"}), "101", operations),
        ),
        "supervisor_a": (
            principal(Role.SUPERVISOR, 1),
            LiveAudience(frozenset({"department A"}), None, operations),
        ),
        "supervisor_b": (
            principal(Role.SUPERVISOR, 2),
            LiveAudience(frozenset({"department B"}), None, operations),
        ),
        "admin": (principal(Role.ADMIN, None), LiveAudience(None, None, operations)),
    }

    def who(event: Event) -> set[str]:
        return {name for name, (p, audience) in seen.items() if visible(p, event, audience)}

    everyone_concerned = {"agent_100", "supervisor_a", "admin"}
    started = CallStarted(
        at=1000.0, call_id=call_id, direction="outbound", caller="100", callee="13800138000"
    )
    assert who(started) == everyone_concerned
    assert who(CallHeld(at=1001.0, call_id=call_id)) == everyone_concerned
    connected = CallConnected(at=1001.0, call_id=call_id, leg_id=f"{call_id}-a1", agent="100")
    assert who(connected) == everyone_concerned
    # The call has left the live centre when its end arrives: its parties were remembered.
    node.center.hangup(1002.0, call_id)
    assert call_id not in node.center.calls
    assert who(CallEnded(at=1002.0, call_id=call_id, side="agent", cause="bye")) == (
        everyone_concerned
    )


async def test_an_inbound_call_is_transferred_to_an_outside_number_within_the_rules(
    world: World, clients, node: Node
) -> None:
    from tests.unit.api.test_live import connected_call

    call_id = await connected_call(world, clients, Recorder())
    url = f"/api/v1/live/calls/{call_id}/transfer"
    agent = clients["agent"]
    # International numbers are off by default (toll fraud): refused, the call unchanged.
    refused = await agent.post(url, json={"target": "+44 20 7123 4567"})
    assert refused.status_code == 403
    assert "international transfers are not allowed" in refused.json()["detail"]
    assert (await agent.post(url, json={"target": "110"})).status_code == 403  # short code
    # No usable trunk: 503 with why; the caller stays with the agent.
    node.states["telecom"].up = False
    down = await agent.post(url, json={"target": "021 6888 8888"})
    assert down.status_code == 503
    assert "telecom down" in down.json()["detail"]
    assert node.center.calls[call_id].agent == "100"
    node.states["telecom"].up = True
    moved = await agent.post(url, json={"target": "021 6888 8888"})
    assert moved.status_code == 204, moved.text
    (call,) = (await clients["admin"].get("/api/v1/live/calls")).json()
    assert call["state"] == "transferring"
    assert call["agent"] is None
    assert [(p["role"], p["party"], p["answered"]) for p in call["parties"]] == [
        ("external", "+862168888888", False)
    ]
    assert node.states["telecom"].active_calls == 1
    async with world.context.database.session() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "transfer").order_by(AuditEntry.id)
        )
    assert entry is not None
    assert entry.detail == {"target": "021 6888 8888"}


async def test_a_connected_click_to_call_is_transferred_into_a_queue(
    world: World, clients, node: Node
) -> None:
    agent = clients["agent"]
    placed = await agent.post("/api/v1/live/calls", json={"agent": "100", "number": "13800138000"})
    call_id = placed.json()["call_id"]
    node.outputs += node.center.leg_answered(1001.0, call_id, f"{call_id}-a1")
    node.outputs += node.center.leg_answered(1002.0, call_id, f"{call_id}-t1")
    moved = await agent.post(f"/api/v1/live/calls/{call_id}/transfer", json={"queue": "queue A"})
    assert moved.status_code == 204, moved.text
    (call,) = (await clients["admin"].get("/api/v1/live/calls")).json()
    assert (call["call_id"], call["direction"], call["state"], call["queue"]) == (
        call_id,
        "outbound",
        "queued",
        "queue A",
    )
    assert call["agent"] is None
