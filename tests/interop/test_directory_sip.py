"""Phone accounts and carrier trunks made through the API reach a running node, no restart.

(a) An agent created with a ``sip_password`` registers a real phone (baresip) and is rung
for a queue call from a SIPp customer; the same extension with a wrong password is refused
(401) and never registered. (b) A trunk and a trunk group created through the API are
probed (OPTIONS) and carry a click-to-call to a SIPp carrier; disabled while the call is
up, the trunk takes no new call while the call on it goes on to a normal end.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import HotlineProcess
from tests.interop.test_call_path import tone_wav
from tests.interop.test_trunks import Carrier
from tests.support.demo_node import DemoNode, wait_until
from tests.support.phones import Phone
from tests.support.sipp_carrier import carrier_scenario

pytestmark = pytest.mark.interop

PHONE_PASSWORD = "carols-desk-phone"


def _id(node: DemoNode, resource: str, name: str) -> int:
    rows: list[dict[str, Any]] = node.api.get(f"/api/v1/{resource}").json()["items"]
    return next(int(row["id"]) for row in rows if row["name"] == name)


def _sent_401(node: DemoNode) -> float:
    metrics = node.api.get("/metrics").text
    found = re.search(r'hotline_sip_responses_total\{code="401",direction="sent"\} (\S+)', metrics)
    return float(found.group(1)) if found else 0.0


def _registered(node: DemoNode, agent: str) -> bool:
    agents: list[dict[str, Any]] = node.api.get("/api/v1/live/agents").json()
    return any(a["agent_id"] == agent and a["phone_registered"] for a in agents)


def test_an_agent_made_through_the_api_registers_its_phone_and_takes_a_queue_call(
    run_hotline: type[HotlineProcess], tmp_path: Path
) -> None:
    node = DemoNode(run_hotline, tmp_path)
    try:
        department = _id(node, "departments", "after-sales")
        complaints = _id(node, "queues", "complaints")  # ring-all, number 4003
        skill = _id(node, "skills", "complaints")  # the queue needs it at level 5
        user = node.api.post(
            "/api/v1/users",
            json={
                "username": "carol",
                "password": "carols-web-password",
                "role": "agent",
                "department_id": department,
            },
        )
        assert user.status_code == 201, user.text
        agent = node.api.post(
            "/api/v1/agents",
            json={
                "user_id": user.json()["id"],
                "department_id": department,
                "extension": "2001",
                "queues": [{"queue_id": complaints}],
                "skills": [{"skill_id": skill, "level": 6}],
                "sip_password": PHONE_PASSWORD,
            },
        )
        assert agent.status_code == 201, agent.text
        # The directory is reloaded after the commit: wait until the ACD knows the agent.
        wait_until(
            lambda: any(
                a["agent_id"] == "2001" for a in node.api.get("/api/v1/live/agents").json()
            ),
            15,
            "agent 2001 in the live directory",
        )
        # A wrong password: challenged, answered, challenged again; never registered.
        before = _sent_401(node)
        wrong = Phone(
            tmp_path / "wrong-phone",
            user="2001",
            registrar_port=node.sip_port,
            tone_hz=700.0,
            password="not-the-password",
        )
        try:
            wait_until(lambda: _sent_401(node) >= before + 2, 15, "the wrong password's 401s")
            assert not _registered(node, "2001")
        finally:
            wrong.stop()
        # The right one registers, and the agent on duty is rung for a queue call.
        phone = Phone(
            tmp_path / "phone-2001",
            user="2001",
            registrar_port=node.sip_port,
            tone_hz=1000.0,
            password=PHONE_PASSWORD,
        )
        node.phones.append(phone)
        wait_until(lambda: _registered(node, "2001"), 15, "2001's phone to register")
        assert node.api.post("/api/v1/live/agents/2001/login").status_code == 204
        assert node.api.post("/api/v1/live/agents/2001/ready").status_code == 204
        caller = node.echoing_customer("4003")
        call = node.live_call(
            lambda c: c["agent"] == "2001" and c["state"] == "connected",
            "the queue call to reach agent 2001",
        )
        assert call["queue"] == "complaints"
        node.hang_up(call["call_id"], caller)
        cdr = node.cdr()
        assert cdr["disposition"] == "handled"
        assert cdr["agent_id"] == agent.json()["id"]
    finally:
        node.stop()


def test_a_trunk_and_group_made_through_the_api_carry_a_click_to_call(
    run_hotline: type[HotlineProcess], tmp_path: Path
) -> None:
    tone = tone_wav(tmp_path / "customer.wav", 440.0, 60.0, "a-law")
    carrier = Carrier(tmp_path, "db", carrier_scenario("answer", talk_wav=tone))
    node = DemoNode(run_hotline, tmp_path)
    try:
        node.agent_phone("1002", 1000.0)  # the demo's account, seeded into the database
        trunk = node.api.post(
            "/api/v1/trunks",
            json={"name": "db-carrier", "host": "127.0.0.1", "port": carrier.port},
        )
        assert trunk.status_code == 201, trunk.text
        group = node.api.post(
            "/api/v1/trunk-groups", json={"name": "db-out", "trunk_ids": [trunk.json()["id"]]}
        )
        assert group.status_code == 201, group.text

        def view() -> dict[str, Any] | None:
            views: list[dict[str, Any]] = node.api.get("/api/v1/live/trunks").json()
            return next((v for v in views if v["name"] == "db-carrier"), None)

        probed = wait_until(
            lambda: (v := view()) is not None and v["last_probe_status"] == 200 and v,
            20,
            "the new trunk's OPTIONS probe",
        )
        assert probed["groups"] == ["db-out"]
        placed = node.api.post(
            "/api/v1/live/calls",
            json={"agent": "1002", "number": "021 6888 8888", "trunk_group": "db-out"},
        )
        assert placed.status_code == 201, placed.text
        call_id = placed.json()["call_id"]
        node.live_call(
            lambda c: c["call_id"] == call_id and c["state"] == "connected",
            "the carrier to answer",
        )
        # Disabled during the call: gone from the node, no new call, this one goes on.
        disabled = node.api.patch(f"/api/v1/trunks/{trunk.json()['id']}", json={"enabled": False})
        assert disabled.status_code == 200, disabled.text
        wait_until(lambda: view() is None, 15, "the disabled trunk to leave the node")
        refused = node.api.post(
            "/api/v1/live/calls",
            json={"agent": "1002", "number": "021 6888 8888", "trunk_group": "db-out"},
        )
        assert refused.status_code == 503, refused.text  # the node has no group left
        assert "trunk group" in refused.json()["detail"]
        calls: list[dict[str, Any]] = node.api.get("/api/v1/live/calls").json()
        assert [c["state"] for c in calls if c["call_id"] == call_id] == ["connected"]
        assert node.api.post(f"/api/v1/live/calls/{call_id}/hangup").status_code == 204
        cdr = wait_until(
            lambda: next(
                (r for r in node.api.get("/api/v1/cdrs").json() if r["call_id"] == call_id), None
            ),
            15,
            "the CDR",
        )
        assert cdr["disposition"] == "handled"
        attempts = [(a["trunk"], a["status"]) for a in cdr["details"]["trunk_attempts"]]
        assert attempts == [("db-carrier", 200)]
        assert "INVITE sip:02168888888@127.0.0.1:" in carrier.messages.read_text()
    finally:
        node.stop()
        carrier.kill()
