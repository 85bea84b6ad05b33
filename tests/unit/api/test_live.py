"""The live API over a real ContactCenter: agent states, the wallboard views, call controls,
and who may see and do what (agents themselves, supervisors their departments)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from hotline.acd import Acd, AgentProfile, QueueConfig
from hotline.calls import commands as control
from hotline.calls.numbers import NumberingPlan
from hotline.calls.routing import InboundRoute, InboundRouter
from hotline.services.contact_center import ContactCenter, Output
from hotline.services.operations import LiveOperations
from hotline.store.models import AuditEntry
from tests.unit.api.conftest import World


class Recorder:
    """Stands in for the telephony runtime's ``execute``: keeps what it was given."""

    def __init__(self) -> None:
        self.outputs: list[Output] = []

    async def __call__(self, outputs: Sequence[Output]) -> None:
        self.outputs.extend(outputs)


def center() -> ContactCenter:
    """Mirrors the API test world: department A has queue A and agent 100, B likewise."""
    acd = Acd()
    routes = []
    for name, extension, did in (("A", "100", "400800"), ("B", "101", "400801")):
        department = f"department {name}"
        acd.configure_queue(QueueConfig(name=f"queue {name}", department=department))
        acd.add_agent(
            AgentProfile(agent_id=extension, department=department, queues={f"queue {name}": 0})
        )
        routes.append(
            InboundRoute.model_validate(
                {
                    "name": f"route {name}",
                    "did": did,
                    "department": department,
                    "destination": {"type": "queue", "target": f"queue {name}"},
                }
            )
        )
    return ContactCenter(acd, InboundRouter(routes, {}, NumberingPlan(region="CN")))


@pytest.fixture
def live(world: World) -> Recorder:
    recorder = Recorder()
    world.context.operations = LiveOperations(center(), recorder, clock=lambda: 1000.0)
    return recorder


def call_in(world: World, did: str) -> str:
    operations = world.context.operations
    assert operations is not None
    outputs = operations.center.inbound_call(
        1000.0,
        call_id=f"call-{did}",
        leg_id=f"leg-{did}",
        caller="13800138000",
        callee=did,
        trunk=None,
    )
    assert any(isinstance(o, control.AnswerLeg) for o in outputs)
    return f"call-{did}"


async def test_an_agent_logs_itself_in_and_gets_the_next_call(
    world: World, clients, live: Recorder
) -> None:
    agent = clients["agent"]
    assert (await agent.post("/api/v1/live/agents/100/login")).status_code == 204
    assert (await agent.post("/api/v1/live/agents/100/ready")).status_code == 204
    (me,) = (await agent.get("/api/v1/live/agents")).json()
    assert (me["agent_id"], me["state"]) == ("100", "available")
    call_id = call_in(world, "400800")
    operations = world.context.operations
    assert operations is not None
    # The contact centre offered the call to the only available agent of queue A.
    (view,) = operations.calls()
    assert view.ringing == ("100",)
    calls = (await agent.get("/api/v1/live/calls")).json()
    assert [c["call_id"] for c in calls] == [call_id]
    (queue,) = (await clients["supervisor"].get("/api/v1/live/queues")).json()
    assert queue["name"] == "queue A"
    assert queue["agents_by_state"]["reserved"] == 1
    # Its own state changes are not audited; nothing of department B is visible to it.
    assert (await agent.post("/api/v1/live/agents/101/ready")).status_code == 404
    assert (
        await agent.post("/api/v1/live/agents/100/break", json={"reason": "lunch"})
    ).status_code == 204


async def test_supervisors_act_on_their_department_only_and_are_audited(
    world: World, clients, live: Recorder
) -> None:
    supervisor = clients["supervisor"]
    assert (await supervisor.post("/api/v1/live/agents/100/login")).status_code == 204
    response = await supervisor.post("/api/v1/live/agents/100/break", json={"reason": "training"})
    assert response.status_code == 204
    agents = (await supervisor.get("/api/v1/live/agents")).json()
    assert [(a["agent_id"], a["state"], a["reason"]) for a in agents] == [
        ("100", "break", "training")
    ]
    assert (await supervisor.post("/api/v1/live/agents/101/login")).status_code == 404
    assert (await supervisor.post("/api/v1/live/agents/999/login")).status_code == 404
    call_in(world, "400801")
    assert (await supervisor.get("/api/v1/live/calls")).json() == []
    assert len((await clients["supervisor_b"].get("/api/v1/live/calls")).json()) == 1
    async with world.context.database.session() as session:
        from sqlalchemy import select

        actions = list(
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.resource == "agent_state")
            )
        )
    assert actions == ["login", "break"]


async def test_call_controls_check_the_calls_state(world: World, clients, live: Recorder) -> None:
    admin = clients["admin"]
    call_id = call_in(world, "400800")
    # Waiting in the queue, not connected: nothing to hold.
    assert (await admin.post(f"/api/v1/live/calls/{call_id}/hold")).status_code == 409
    assert (await admin.post("/api/v1/live/calls/nope/hold")).status_code == 404
    both = {"queue": "queue B", "target": "101"}
    assert (
        await admin.post(f"/api/v1/live/calls/{call_id}/transfer", json=both)
    ).status_code == 422
    assert (await admin.post(f"/api/v1/live/calls/{call_id}/hangup")).status_code == 204
    assert any(isinstance(o, control.RejectLeg | control.HangUpLeg) for o in live.outputs)
    assert (await admin.get("/api/v1/live/calls")).json() == []


async def test_a_transfer_to_one_of_our_numbers_goes_where_its_route_leads(
    world: World, clients, live: Recorder
) -> None:
    call_id = await connected_call(world, clients, live)
    # 400801 is department B's number, routed to queue B: the caller waits there; the
    # number is not rung as a user (sip:400801@...), which would drop the caller.
    moved = await clients["agent"].post(
        f"/api/v1/live/calls/{call_id}/transfer", json={"target": "400801"}
    )
    assert moved.status_code == 204, moved.text
    operations = world.context.operations
    assert operations is not None
    assert operations.center.calls[call_id].state == "queued"
    assert operations.center.calls[call_id].queue == "queue B"
    assert not any(isinstance(o, control.RingAgent) and o.agent == "400801" for o in live.outputs)


async def test_auditors_look_but_do_not_touch(world: World, clients, live: Recorder) -> None:
    auditor = clients["auditor"]
    assert len((await auditor.get("/api/v1/live/agents")).json()) == 2
    assert (await auditor.post("/api/v1/live/agents/100/login")).status_code == 403
    assert (await clients["qa"].get("/api/v1/live/queues")).status_code == 403


async def connected_call(world: World, clients, live: Recorder) -> str:
    """A call in queue A answered by agent 100."""
    agent = clients["agent"]
    assert (await agent.post("/api/v1/live/agents/100/login")).status_code == 204
    assert (await agent.post("/api/v1/live/agents/100/ready")).status_code == 204
    operations = world.context.operations
    assert operations is not None
    outputs = operations.center.inbound_call(
        1000.0, call_id="c9", leg_id="c9-in", caller="13800138000", callee="400800", trunk=None
    )
    ring = next(o for o in outputs if isinstance(o, control.RingAgent))
    operations.center.leg_answered(1001.0, "c9", ring.leg_id)
    return "c9"


async def test_supervisors_listen_whisper_and_barge_agents_may_not(
    world: World, clients, live: Recorder
) -> None:
    call_id = await connected_call(world, clients, live)
    url = f"/api/v1/live/calls/{call_id}/supervise"
    assert (
        await clients["agent"].post(url, json={"mode": "listen", "phone": "9"})
    ).status_code == 403
    other = clients["supervisor_b"]
    assert (await other.post(url, json={"mode": "listen", "phone": "9"})).status_code == 404
    supervisor = clients["supervisor"]
    assert (await supervisor.post(url, json={"mode": "shout", "phone": "9"})).status_code == 422
    assert (await supervisor.post(url, json={"mode": "listen"})).status_code == 422  # no phone
    assert (await supervisor.post(url, json={"mode": "listen", "phone": "9001"})).status_code == 204
    ring = [o for o in live.outputs if isinstance(o, control.RingAgent)][-1]
    assert (ring.agent, ring.role) == ("9001", "supervisor")
    (view,) = (await supervisor.get("/api/v1/live/calls")).json()
    assert view["parties"] == [
        {
            "leg_id": ring.leg_id,
            "role": "supervisor",
            "party": "9001",
            "mode": "listen",
            "answered": False,
        }
    ]
    assert view["recording"] == "on"
    # Posting again switches the mode (noted while it rings).
    assert (await supervisor.post(url, json={"mode": "whisper"})).status_code == 422
    assert (
        await supervisor.post(url, json={"mode": "whisper", "phone": "9001"})
    ).status_code == 204
    (view,) = (await supervisor.get("/api/v1/live/calls")).json()
    assert view["parties"][0]["mode"] == "whisper"
    assert (await supervisor.post(url + "/stop")).status_code == 204
    assert (await supervisor.post(url + "/stop")).status_code == 409
    async with world.context.database.session() as session:
        from sqlalchemy import select

        actions = list(
            await session.scalars(select(AuditEntry.action).where(AuditEntry.resource == "call"))
        )
    assert actions == ["supervise", "supervise", "supervise-stop"]


async def test_agents_consult_conference_and_pause_recording_on_their_call(
    world: World, clients, live: Recorder
) -> None:
    call_id = await connected_call(world, clients, live)
    agent = clients["agent"]
    base = f"/api/v1/live/calls/{call_id}"
    assert (await agent.post(base + "/recording/pause")).status_code == 204
    assert any(isinstance(o, control.PauseRecording) for o in live.outputs)
    (view,) = (await agent.get("/api/v1/live/calls")).json()
    assert view["recording"] == "paused"
    assert (await agent.post(base + "/recording/resume")).status_code == 204
    assert (await agent.post(base + "/consult/complete")).status_code == 409  # none yet
    assert (await agent.post(base + "/consult", json={"target": "bad target"})).status_code == 422
    assert (await agent.post(base + "/consult", json={"target": "101"})).status_code == 204
    ring = [o for o in live.outputs if isinstance(o, control.RingAgent)][-1]
    assert (ring.agent, ring.role) == ("101", "consult")
    (view,) = (await agent.get("/api/v1/live/calls")).json()
    assert view["held"] is True
    assert (await agent.post(base + "/conference", json={"target": "102"})).status_code == 409
    assert (await agent.post(base + "/consult/cancel")).status_code == 204
    assert (await agent.post(base + "/conference", json={"target": "102"})).status_code == 204
    assert (await agent.post(base + "/conference/drop")).status_code == 204
    assert (await agent.post(base + "/recording/stop")).status_code == 204
    assert (await agent.post(base + "/recording/pause")).status_code == 409  # not recorded
