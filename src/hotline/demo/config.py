"""The demo hotline's configuration: routing, queues and agents.

4000 from the local demo trunk goes to the demo IVR; 4001-4004 reach the four queues
directly (sales, after-sales, complaints, operator), from anywhere on this machine, and are
also what an agent's phone transfers to (REFER to 4002). The four queues use different
routing strategies so that a visitor can see them at work; six agents 1001-1006 cover
them with different skills. Agents' SIP passwords are generated per demo installation
and printed at start (see the SIP wiring), never fixed in the source.
"""

from __future__ import annotations

import json
from importlib.resources import files

from hotline.acd import (
    Acd,
    AgentProfile,
    ExitAction,
    ExitKind,
    QueueConfig,
    SkillRequirement,
    Tier,
)
from hotline.calls.numbers import NumberingPlan
from hotline.calls.routing import InboundRoute, InboundRouter
from hotline.calls.trunks import TrunkConfig
from hotline.ivr.flow import Flow, load_flow, parse_flow
from hotline.services.contact_center import ContactCenter

HOTLINE_NUMBER = "4000"
PLAN = NumberingPlan(region="CN", area_code="21")


def demo_flow(http_base: str = "http://127.0.0.1:8080") -> Flow:
    """The demo IVR, with its order look-up pointed at this node's own HTTP address."""
    text = files("hotline.demo").joinpath("flow.yaml").read_text(encoding="utf-8")
    return load_flow(text.replace("http://127.0.0.1:8080", http_base), "demo flow.yaml")


SURVEY_FLOW = "demo-survey"


def demo_survey_flow() -> Flow:
    """The rating a caller is asked for when the agent hangs up first (1-5, on the CDR)."""
    text = files("hotline.demo").joinpath("survey.yaml").read_text(encoding="utf-8")
    return load_flow(text, "demo survey.yaml")


def rebase_demo_flow(flow: Flow, http_base: str) -> Flow:
    """``flow`` with the demo shop's address pointed at this node's own HTTP address: the
    stored demo flow names the default port, and a demo may listen on another one."""
    if flow.name != "demo-hotline":
        return flow
    text = json.dumps(flow.model_dump(mode="json"))
    return parse_flow(json.loads(text.replace("http://127.0.0.1:8080", http_base)), flow.name)


def demo_trunk(sip_host: str = "127.0.0.1") -> TrunkConfig:
    """Calls from this machine need no credentials in the demo (loopback only)."""
    return TrunkConfig(name="local", host=sip_host, max_channels=50, dial_format="national")


#: Queue numbers: dialled to skip the menu, and transfer targets for agents' phones.
QUEUE_NUMBERS = {
    "4001": ("sales", "sales"),
    "4002": ("after-sales", "after-sales"),
    "4003": ("complaints", "after-sales"),
    "4004": ("operator", "sales"),
}


def demo_routes() -> list[InboundRoute]:
    hotline = InboundRoute.model_validate(
        {
            "name": "demo-hotline",
            "did": HOTLINE_NUMBER,
            "trunk": "local",
            "department": "after-sales",
            "destination": {"type": "flow", "target": "demo-hotline"},
        }
    )
    queues = [
        InboundRoute.model_validate(
            {
                "name": f"queue-{queue}",
                "did": number,
                "department": department,
                "destination": {"type": "queue", "target": queue},
            }
        )
        for number, (queue, department) in QUEUE_NUMBERS.items()
    ]
    return [hotline, *queues]


def demo_queues() -> list[QueueConfig]:
    return [
        # Sales: whoever has waited longest for a call gets the next one.
        QueueConfig(name="sales", strategy="longest-idle", department="sales", wrap_up_seconds=5),
        # After-sales: the best match for the caller's language first; after 30 s anyone in
        # the queue, after 60 s agents pooled from sales.
        QueueConfig(
            name="after-sales",
            strategy="skills-best-match",
            department="after-sales",
            required_skills=(SkillRequirement("after-sales", 1),),
            tiers=(
                Tier(0.0),
                Tier(30.0, relax_levels=3),
                Tier(60.0, relax_levels=9, include_pooled=True),
            ),
            pooled_departments=frozenset({"sales"}),
            wrap_up_seconds=10,
            announce_every=30,
        ),
        # Complaints: ring every free senior agent at once.
        QueueConfig(
            name="complaints",
            strategy="ring-all",
            department="after-sales",
            required_skills=(SkillRequirement("complaints", 5),),
            wrap_up_seconds=20,
            max_wait=180,
            on_max_wait=ExitAction(ExitKind.OVERFLOW, "operator"),
        ),
        # Operator: top-down through the list, the team lead last.
        QueueConfig(name="operator", strategy="linear", department="sales", wrap_up_seconds=5),
    ]


def demo_agents() -> list[AgentProfile]:
    def agent(
        agent_id: str, department: str, skills: dict[str, int], queues: dict[str, int]
    ) -> AgentProfile:
        return AgentProfile(agent_id=agent_id, department=department, skills=skills, queues=queues)

    return [
        agent("1001", "sales", {"sales": 8, "en": 6}, {"sales": 0, "operator": 0}),
        agent("1002", "after-sales", {"after-sales": 9, "zh": 9}, {"after-sales": 0}),
        agent("1003", "after-sales", {"after-sales": 6, "en": 8}, {"after-sales": 0}),
        agent(
            "1004",
            "after-sales",
            {"after-sales": 7, "complaints": 8},
            {"after-sales": 1, "complaints": 0},
        ),
        agent("1005", "after-sales", {"complaints": 6, "zh": 7}, {"complaints": 0}),
        agent("1006", "sales", {"sales": 5, "after-sales": 3}, {"sales": 0, "operator": 1}),
    ]


def demo_contact_center() -> ContactCenter:
    """The demo's ACD and call control, configured and ready for agents to log in."""
    acd = Acd()
    for queue in demo_queues():
        acd.configure_queue(queue)
    for agent in demo_agents():
        acd.add_agent(agent)
    router = InboundRouter(demo_routes(), {}, PLAN)
    # Card numbers are never keyed in the demo, so every queue records. Every queue asks
    # for a rating when the agent hangs up first.
    surveys = {queue.name: SURVEY_FLOW for queue in demo_queues()}
    return ContactCenter(acd, router, default_recording="always", survey_flows=surveys)
