"""Reading a node's directory from the store: every row it is built from, in one
transaction, so that what a node loads is consistent with itself (a queue and the route to
it from the same moment), then built into a :class:`Directory` by ``builder``.

The only module of the directory that talks to the database; the rules of what can be used
are the builder's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from hotline.services.directory.builder import StoredRows, build_directory
from hotline.services.directory.model import Bootstrap, Directory
from hotline.store import models as m
from hotline.store.database import Database
from hotline.store.types import utcnow


async def load_directory(database: Database, bootstrap: Bootstrap | None = None) -> Directory:
    """Read the directory in one transaction, so that it is consistent with itself."""
    return build_directory(await read_rows(database), bootstrap or Bootstrap())


async def read_rows(database: Database) -> StoredRows:
    """Every row a directory is built from, ordered by id, with the flow versions that are
    published or piloted."""
    async with database.session() as session:

        async def rows(model: type[Any]) -> Sequence[Any]:
            return (await session.execute(select(model).order_by(model.id))).scalars().all()

        departments = {d.id: d.name for d in await rows(m.Department)}
        skills = {s.id: s.name for s in await rows(m.Skill)}
        users = {u.id: u for u in await rows(m.User)}
        queue_rows = await rows(m.Queue)
        agent_rows = await rows(m.Agent)
        trunk_rows = await rows(m.Trunk)
        group_rows = await rows(m.TrunkGroup)
        hours_rows = await rows(m.BusinessHours)
        flow_rows = await rows(m.IvrFlow)
        versions: dict[tuple[int, int], dict[str, Any]] = {}
        published = [(f.id, f.published_version) for f in flow_rows if f.published_version]
        pilot_rows = await rows(m.IvrFlowPilot)
        wanted = set(published) | {(p.flow_id, p.version) for p in pilot_rows}
        for flow_id, version in sorted(wanted):
            row = await session.scalar(
                select(m.IvrFlowVersion).where(
                    m.IvrFlowVersion.flow_id == flow_id, m.IvrFlowVersion.version == version
                )
            )
            if row is not None:
                versions[(flow_id, version)] = row.definition
        route_rows = await rows(m.InboundRoute)
        read_at = utcnow()
        lendings = (
            (
                await session.execute(
                    select(m.CampaignLending)
                    .where(m.CampaignLending.ends_at > read_at)
                    .order_by(m.CampaignLending.id)
                )
            )
            .scalars()
            .all()
        )
        campaign_queues: dict[int, int] = {
            campaign_id: queue_id
            for campaign_id, queue_id in await session.execute(
                select(m.Campaign.id, m.Campaign.queue_id).where(
                    m.Campaign.id.in_({lending.campaign_id for lending in lendings}),
                    m.Campaign.queue_id.is_not(None),
                )
            )
            if queue_id is not None
        }
    return StoredRows(
        departments=departments,
        skills=skills,
        users=users,
        queues=queue_rows,
        agents=agent_rows,
        trunks=trunk_rows,
        trunk_groups=group_rows,
        business_hours=hours_rows,
        flows=flow_rows,
        flow_versions=versions,
        pilots=pilot_rows,
        routes=route_rows,
        lendings=lendings,
        campaign_queues=campaign_queues,
        read_at=read_at,
    )
