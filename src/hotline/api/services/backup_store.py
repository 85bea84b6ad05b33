"""What the configuration backup does to the store: whole tables read for an export or for
resolving an import's names, and :class:`ImportPlan`, the upserts by natural key that
record what changed.

An import creates and updates; it never deletes (a file missing a queue must not silently
drop it). Each upsert compares the stored row with the document's values and records the
difference, field by field, so that the diff an import reports is the exact change; a dry
run is the same plan rolled back. The per-resource rules that are more than columns live
here too: a trunk group's ordered members, an IVR flow's new published version, a
department's pilot pinned to the version that has its definition.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.services.backup_document import TrunkGroupDoc
from hotline.api.services.errors import InvalidError
from hotline.store.models import (
    IvrFlow,
    IvrFlowPilot,
    IvrFlowVersion,
    Trunk,
    TrunkGroup,
    TrunkGroupMember,
)
from hotline.store.repositories import (
    IvrFlowPilotRepository,
    IvrFlowVersionRepository,
    Repository,
)

#: A limit no configuration table reaches: a backup reads tables whole.
ALL = 1_000_000


async def all_rows(session: AsyncSession, model: type[Any]) -> list[Any]:
    """Every row of ``model``'s table, by id."""
    return list(await Repository(session, model).list(limit=ALL))


class ImportPlan:
    """Upserts by natural key, recording what changed for the diff."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.created: list[str] = []
        self.updated: list[str] = []
        self.unchanged = 0

    async def upsert(
        self,
        model: type[Any],
        section: str,
        key: dict[str, Any],
        values: dict[str, Any],
        label: str | None = None,
    ) -> Any:
        label = label or f"{section}/{'/'.join(str(v) for v in key.values())}"
        found = await Repository(self.session, model).list(limit=1, **key)
        if not found:
            row = model(**key, **values)
            await Repository(self.session, model).add(row)
            self.created.append(label)
            return row
        row = found[0]
        changes = [
            f"{name}: {getattr(row, name)!r} -> {value!r}"
            for name, value in values.items()
            if _normal(getattr(row, name)) != _normal(value)
        ]
        if changes:
            for name, value in values.items():
                setattr(row, name, value)
            await self.session.flush()
            self.updated.append(f"{label} ({'; '.join(changes)})")
        else:
            self.unchanged += 1
        return row

    async def trunk_group(self, doc: TrunkGroupDoc, trunks: dict[str, Trunk]) -> None:
        """A group's columns like any row; its members (trunks by name, ordered) replace the
        stored ones when they differ, reported as one change."""
        where = f"trunk_groups/{doc.name}"
        unknown = [name for name in doc.trunks if name not in trunks]
        if unknown:
            raise InvalidError(f"{where}: unknown trunk {unknown[0]!r}")
        wanted = [trunks[name].id for name in doc.trunks]
        values = {"strategy": doc.strategy, "failover_on": list(doc.failover_on)}
        found = await Repository(self.session, TrunkGroup).list(limit=1, name=doc.name)
        if not found:
            members = [TrunkGroupMember(trunk_id=i, position=n) for n, i in enumerate(wanted)]
            group = TrunkGroup(name=doc.name, **values, members=members)
            await Repository(self.session, TrunkGroup).add(group)
            self.created.append(where)
            return
        group = found[0]
        before = self.updated[:]
        await self.upsert(TrunkGroup, "trunk_groups", {"name": doc.name}, values)
        if group.trunk_ids != wanted:
            names = {t.id: name for name, t in trunks.items()}
            change = f"trunks: {[names.get(i, i) for i in group.trunk_ids]!r} -> {doc.trunks!r}"
            group.members = [TrunkGroupMember(trunk_id=i, position=n) for n, i in enumerate(wanted)]
            await self.session.flush()
            if self.updated != before:  # the columns changed too: one line for the group
                self.updated[-1] = self.updated[-1][:-1] + f"; {change})"
            else:
                self.unchanged -= 1
                self.updated.append(f"{where} ({change})")

    async def pilot(
        self,
        flow: IvrFlow,
        department_id: int,
        definition: dict[str, Any],
        user_id: int,
        label: str,
    ) -> None:
        """A department's pilot of ``flow``: the version with this definition (a new,
        unpublished one when no version has it), never the published version."""
        versions = IvrFlowVersionRepository(self.session)
        history = await versions.versions(flow.id)
        same = [v for v in history if v.definition == definition]
        if any(v.version == flow.published_version for v in same):
            # The published definition: the department runs it anyway. A backup taken just
            # as a pilot was promoted must still restore, so this is no error.
            self.unchanged += 1
            return
        if same:
            number = same[-1].version
        else:
            number = (history[-1].version if history else 0) + 1
            await versions.add(
                IvrFlowVersion(
                    flow_id=flow.id, version=number, definition=definition, created_by=user_id
                )
            )
        pilots = IvrFlowPilotRepository(self.session)
        pilot = await pilots.find(flow.id, department_id)
        if pilot is None:
            await pilots.add(
                IvrFlowPilot(
                    flow_id=flow.id, department_id=department_id, version=number, started_by=user_id
                )
            )
            self.created.append(label)
        elif pilot.version != number:
            self.updated.append(f"{label} (version {pilot.version} -> {number})")
            pilot.version = number
            await self.session.flush()
        else:
            self.unchanged += 1

    async def flow(
        self, name: str, department_id: int, definition: dict[str, Any], user_id: int
    ) -> IvrFlow:
        flows = Repository(self.session, IvrFlow)
        versions = IvrFlowVersionRepository(self.session)
        found = await flows.list(limit=1, name=name)
        if not found:
            flow = await flows.add(IvrFlow(name=name, department_id=department_id))
            number = 0
            self.created.append(f"ivr_flows/{name}")
        else:
            flow = found[0]
            history = await versions.versions(flow.id)
            number = history[-1].version if history else 0
            current = next(
                (v for v in history if v.version == flow.published_version),
                history[-1] if history else None,
            )
            if current is not None and current.definition == definition:
                self.unchanged += 1
                return flow
            self.updated.append(f"ivr_flows/{name} (new version {number + 1})")
        await versions.add(
            IvrFlowVersion(
                flow_id=flow.id, version=number + 1, definition=definition, created_by=user_id
            )
        )
        flow.published_version = number + 1
        await self.session.flush()
        return flow


def _normal(value: Any) -> Any:
    # Enums and strings compare by value; lists and dicts by content.
    return getattr(value, "value", value)
