"""The live directory: what the store holds is what the node routes with."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import select

from hotline.acd import Acd, AgentState
from hotline.calls.routing import InboundRoute, InboundRouter
from hotline.calls.trunks import TrunkConfig, TrunkGroupConfig
from hotline.demo.config import (
    PLAN,
    SURVEY_FLOW,
    demo_agents,
    demo_queues,
    demo_routes,
    demo_survey_flow,
)
from hotline.demo.seed import seed_demo_directory
from hotline.events.bus import EventBus
from hotline.ivr.catalog import FlowCatalog
from hotline.services.contact_center import ContactCenter
from hotline.services.directory.live import LiveDirectory
from hotline.services.directory.loader import load_directory
from hotline.services.directory.model import Bootstrap
from hotline.store.database import Database
from hotline.store.models import (
    Campaign,
    CampaignLending,
    Department,
    IvrFlow,
    IvrFlowPilot,
    IvrFlowVersion,
    Queue,
    Trunk,
    TrunkGroup,
    TrunkGroupMember,
)
from hotline.store.models import InboundRoute as RouteRow
from hotline.store.types import utcnow


async def _seed(database: Database) -> None:
    await seed_demo_directory(database, {a.agent_id: "pw" for a in demo_agents()})


async def test_the_seeded_demo_loads_back_as_the_demo_configuration(database: Database) -> None:
    await _seed(database)
    directory = await load_directory(database)
    assert directory.problems == ()
    by_name = {queue.name: queue for queue in directory.queues}
    assert by_name == {queue.name: queue for queue in demo_queues()}
    assert sorted(directory.agents, key=lambda a: a.agent_id) == demo_agents()

    def essence(routes: Iterable[InboundRoute]) -> set[tuple[object, ...]]:
        return {(r.did, r.trunk, r.department, r.destination, r.closed) for r in routes}

    assert essence(directory.routes) == essence(demo_routes())
    assert sorted((flow.name, flow.version) for flow in directory.flows) == [
        ("demo-hotline", 1),
        ("demo-survey", 1),
    ]
    assert [flow for flow in directory.flows if flow.name == "demo-survey"] == [demo_survey_flow()]
    assert dict(directory.recording) == {queue.name: "always" for queue in demo_queues()}
    assert dict(directory.survey_flows) == {queue.name: SURVEY_FLOW for queue in demo_queues()}


async def test_rows_that_cannot_be_used_are_left_out_with_the_reason(database: Database) -> None:
    await _seed(database)
    async with database.session() as session:
        department = Department(name="pilot")
        session.add(department)
        await session.flush()
        session.add(Queue(name="odd", department_id=department.id, strategy="telepathy"))
        broken = IvrFlow(name="broken", department_id=department.id, published_version=1)
        session.add(broken)
        await session.flush()
        session.add(
            IvrFlowVersion(
                flow_id=broken.id,
                version=1,
                definition={
                    "start": "a",
                    "nodes": {
                        "a": {"type": "play", "prompt": {"text": {"en": "Hi"}}, "next": "nowhere"}
                    },
                },
            )
        )
        session.add(RouteRow(did="4999", target_type="queue", target_id=9999))
        session.add(Queue(name="rated", department_id=department.id, survey_flow="no-such-flow"))
        await session.commit()
    directory = await load_directory(database)
    problems = "\n".join(directory.problems)
    assert "queue 'odd' left out" in problems
    assert "telepathy" in problems
    assert "flow 'broken' left out" in problems
    assert "nowhere" in problems
    assert "route '4999' left out" in problems
    assert "survey flow 'no-such-flow' is not published" in problems
    # Everything else still loads.
    assert {queue.name for queue in directory.queues} == {q.name for q in demo_queues()} | {"rated"}
    assert {route.did for route in directory.routes} == {route.did for route in demo_routes()}


async def test_a_reload_changes_queues_and_agents_while_keeping_logged_in_agents(
    database: Database,
) -> None:
    await _seed(database)
    center = ContactCenter(Acd(), InboundRouter([], {}, PLAN))
    executed: list[object] = []
    live = LiveDirectory(database, center, FlowCatalog(), executed.extend, PLAN)
    await live.reload()
    assert sorted(center.acd.queue_names()) == sorted(q.name for q in demo_queues())
    assert center.router.route("4000", "local", 0.0) is not None
    center.agent_login(1.0, "1001")
    async with database.session() as session:
        queue = await session.scalar(select(Queue).where(Queue.name == "sales"))
        assert queue is not None
        queue.wrap_up_seconds = 42
        queue.survey_flow = "demo-hotline"
        queue.qa_language = "en"
        await session.commit()
    assert live.qa_language("sales") is None
    await live.reload()
    assert live.loaded is not None
    assert live.loaded.survey_flows["sales"] == "demo-hotline"
    assert (live.qa_language("sales"), live.qa_language("operator")) == ("en", None)
    assert center.acd.queue_config("sales").wrap_up_seconds == 42.0
    assert center.acd.agent_state("1001") is not AgentState.LOGGED_OUT


async def test_enabled_trunks_and_their_groups_load_beside_the_settings_ones(
    database: Database,
) -> None:
    settings_trunk = TrunkConfig(name="telecom", host="192.0.2.1")
    local = TrunkConfig(name="local", host="127.0.0.1", max_channels=50)
    bootstrap = Bootstrap(
        trunks=(local, settings_trunk),
        trunk_groups=(TrunkGroupConfig(name="main", trunks=("telecom",)),),
    )
    await _seed(database)  # its "local" trunk is the demo's own: the same carrier, no clash
    async with database.session() as session:
        rows = {
            "unicom": Trunk(
                name="unicom", host="198.51.100.5", port=5080, priority=2, password="s3cret"
            ),
            "spare": Trunk(name="spare", host="198.51.100.6", enabled=False),
            "telecom": Trunk(name="telecom", host="203.0.113.9"),  # clashes with settings
        }
        session.add_all(rows.values())
        await session.flush()

        def group(name: str, *members: str) -> TrunkGroup:
            return TrunkGroup(
                name=name,
                strategy="least_used",
                failover_on=["5xx"],
                members=[
                    TrunkGroupMember(trunk_id=rows[m].id, position=i) for i, m in enumerate(members)
                ],
            )

        session.add_all(
            [
                group("out", "spare", "unicom", "telecom"),
                group("idle", "spare"),
                group("main", "unicom"),  # clashes with the settings' group
            ]
        )
        await session.commit()
    directory = await load_directory(database, bootstrap)
    by_name = {trunk.name: trunk for trunk in directory.trunks}
    assert list(by_name) == ["local", "telecom", "unicom"]
    assert by_name["telecom"] == settings_trunk
    unicom = by_name["unicom"]
    assert (unicom.host, unicom.port, unicom.priority) == ("198.51.100.5", 5080, 2)
    assert unicom.password is not None
    assert unicom.password.get_secret_value() == "s3cret"
    groups = {group.name: group for group in directory.trunk_groups}
    assert list(groups) == ["main", "out"]
    assert groups["main"].trunks == ("telecom",)  # the settings' one
    # The disabled trunk and the clashing one are not in the stored group.
    assert (groups["out"].trunks, groups["out"].strategy) == (("unicom",), "least_used")
    assert groups["out"].failover_on == ("5xx",)
    problems = "\n".join(directory.problems)
    assert "trunk 'telecom' left out: settings have a trunk of that name" in problems
    assert "trunk group 'main' left out: settings have a group of that name" in problems
    assert "trunk group 'idle' left out: none of its trunks (spare)" in problems
    assert "'local'" not in problems


async def test_pilots_load_with_their_department_and_a_broken_one_is_left_out(
    database: Database,
) -> None:
    await _seed(database)
    hangup = {"start": "bye", "nodes": {"bye": {"type": "hangup"}}}
    async with database.session() as session:
        sales = await session.scalar(select(Department).where(Department.name == "sales"))
        after_sales = await session.scalar(
            select(Department).where(Department.name == "after-sales")
        )
        assert sales is not None
        assert after_sales is not None
        flow = await session.scalar(select(IvrFlow).where(IvrFlow.name == "demo-hotline"))
        assert flow is not None
        session.add(IvrFlowVersion(flow_id=flow.id, version=2, definition=hangup))
        broken = {"start": "a", "nodes": {"a": {"type": "play", "next": "nowhere"}}}
        session.add(IvrFlowVersion(flow_id=flow.id, version=3, definition=broken))
        session.add(IvrFlowPilot(flow_id=flow.id, department_id=sales.id, version=2))
        session.add(IvrFlowPilot(flow_id=flow.id, department_id=after_sales.id, version=3))
        await session.commit()
    directory = await load_directory(database)
    assert [(p.department, p.flow.name, p.flow.version) for p in directory.pilots] == [
        ("sales", "demo-hotline", 2)
    ]
    (problem,) = directory.problems
    assert "pilot of flow 'demo-hotline' in 'after-sales' left out" in problem
    catalog = FlowCatalog()
    live = LiveDirectory(
        database, ContactCenter(Acd(), InboundRouter([], {}, PLAN)), catalog, list, PLAN
    )
    await live.apply(directory)
    assert catalog.for_call("demo-hotline", "sales").version == 2
    assert catalog.for_call("demo-hotline", "after-sales").version == 1  # the published one


async def test_a_department_lent_to_a_campaign_joins_its_queue_for_the_period_only(
    database: Database,
) -> None:
    await _seed(database)
    now = utcnow()
    async with database.session() as session:
        departments = {d.name: d.id for d in (await session.execute(select(Department))).scalars()}
        queues = {q.name: q.id for q in (await session.execute(select(Queue))).scalars()}
        campaign = Campaign(
            name="renewals", department_id=departments["sales"], queue_id=queues["sales"]
        )
        session.add(campaign)
        await session.flush()
        session.add_all(
            [
                # After-sales is lent now, for an hour; complaints later; an old one ended.
                CampaignLending(
                    campaign_id=campaign.id,
                    department_id=departments["after-sales"],
                    starts_at=now - timedelta(minutes=5),
                    ends_at=now + timedelta(hours=1),
                ),
                CampaignLending(
                    campaign_id=campaign.id,
                    department_id=departments["after-sales"],
                    starts_at=now - timedelta(days=2),
                    ends_at=now - timedelta(days=1),
                    member_priority=0,
                ),
                CampaignLending(
                    campaign_id=campaign.id,
                    department_id=departments["sales"],
                    starts_at=now + timedelta(minutes=30),
                    ends_at=now + timedelta(hours=2),
                ),
            ]
        )
        await session.commit()
    directory = await load_directory(database)
    queues_of = {a.agent_id: dict(a.queues) for a in directory.agents}
    # Lent agents serve the campaign's queue after their own (member priority 1) ...
    assert queues_of["1002"] == {"after-sales": 0, "sales": 1}
    assert queues_of["1005"] == {"complaints": 0, "sales": 1}
    # ... and an agent already a member keeps its own priority.
    assert queues_of["1001"] == {"sales": 0, "operator": 0}
    # The directory changes by itself when the next lending starts.
    assert directory.next_change is not None
    assert abs(directory.next_change - (now + timedelta(minutes=30)).timestamp()) < 1


async def test_the_live_directory_reloads_by_itself_when_a_lending_starts(
    database: Database,
) -> None:
    await _seed(database)
    async with database.session() as session:
        departments = {d.name: d.id for d in (await session.execute(select(Department))).scalars()}
        queues = {q.name: q.id for q in (await session.execute(select(Queue))).scalars()}
        campaign = Campaign(
            name="renewals", department_id=departments["sales"], queue_id=queues["sales"]
        )
        session.add(campaign)
        await session.flush()
        session.add(
            CampaignLending(
                campaign_id=campaign.id,
                department_id=departments["after-sales"],
                starts_at=utcnow() + timedelta(seconds=0.5),
                ends_at=utcnow() + timedelta(hours=1),
            )
        )
        await session.commit()
    center = ContactCenter(Acd(), InboundRouter([], {}, PLAN))
    live = LiveDirectory(
        database, center, FlowCatalog(), list, PLAN, bus=EventBus(), settle_seconds=0.01
    )
    await live.reload()
    assert "sales" not in center.acd.agent_profile("1002").queues
    live.start()
    try:
        for _ in range(100):  # no store change: the lending's start alone reloads
            if "sales" in center.acd.agent_profile("1002").queues:
                break
            await asyncio.sleep(0.05)
        assert center.acd.agent_profile("1002").queues == {"after-sales": 0, "sales": 1}
    finally:
        await live.stop()
