"""Checks a configuration change must pass against the data already stored.

The schemas check each body on its own; these check it against other rows: references
that must exist (and be visible to the caller), unique names, a role's department, an
agent's user, a route's target, and rows still in use when deleted. Each failure names the
body field at fault, so the admin console shows it next to that field. The database
constraints stay the last line of defence (a concurrent change still ends as a 409).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table, UniqueConstraint
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.rbac import Principal
from hotline.api.services.errors import ConflictError, FieldError
from hotline.store.models import (
    Agent,
    Base,
    Department,
    InboundRoute,
    IvrFlow,
    Queue,
    Role,
    Skill,
    Trunk,
    User,
)
from hotline.store.repositories import Repository

#: What an inbound route's ``target_type`` names.
ROUTE_TARGETS: dict[str, type[Base]] = {"queue": Queue, "ivr_flow": IvrFlow, "agent": Agent}
#: Roles that sit at a department's phones or manage one: they need a department.
DEPARTMENT_ROLES = frozenset({Role.SUPERVISOR, Role.AGENT})
#: Roles whose users may have an agent row (an extension that takes calls).
CALL_TAKING_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR})


class Integrity:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    def _scope(self, model: type[Base]) -> frozenset[int] | None:
        # Rows of another department are invisible to a supervisor, as everywhere.
        if hasattr(model, "department_id"):
            return self.principal.departments
        return None

    async def row(self, model: type[Base], item_id: int) -> Base | None:
        return await Repository(self.session, model).get(item_id, self._scope(model))

    async def require_row(self, model: type[Base], item_id: int, field: str) -> Base:
        found = await self.row(model, item_id)
        if found is None:
            raise ConflictError(
                f"{field}: no {model.__tablename__.rstrip('s').replace('_', ' ')} {item_id}",
                field=field,
            )
        return found

    async def references(
        self, model: type[Base], values: Mapping[str, Any], item: Base | None = None
    ) -> None:
        """Every foreign key in ``values`` points at a row the caller can see; a value the
        row already has is left alone (an admin set it to another department's row, and a
        supervisor's unchanged form must still save)."""
        for column in _table(model).columns:
            value = values.get(column.key)
            if value is None or not column.foreign_keys or column.key == "department_id":
                continue  # department_id: checked by require_department (403) first
            if item is not None and getattr(item, column.key, None) == value:
                continue
            target_table = next(iter(column.foreign_keys)).column.table
            target = _model_of(target_table.name)
            await self.require_row(target, int(value), column.key)

    async def unique(self, model: type[Base], values: Mapping[str, Any], item: Base | None) -> None:
        """No other row has the same value(s) of a unique constraint."""
        for constraint in _table(model).constraints:
            if not isinstance(constraint, UniqueConstraint):
                continue
            names = [column.key for column in constraint.columns]
            if not any(name in values for name in names):
                continue
            merged: dict[str, Any] = {
                name: values[name] if name in values else getattr(item, name, None)
                for name in names
            }
            if any(value is None for value in merged.values()):
                continue
            found = await Repository(self.session, model).list(None, limit=2, **merged)
            if any(row is not item for row in found):
                shown = ", ".join(f"{name} {value!r}" for name, value in merged.items())
                raise ConflictError(
                    f"{names[-1]}: another {model.__tablename__} row has {shown}",
                    field=names[-1],
                )


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _model_of(table: str) -> type[Base]:
    for mapper in Base.registry.mappers:
        if isinstance(mapper.local_table, Table) and mapper.local_table.name == table:
            cls: type[Base] = mapper.class_
            return cls
    raise LookupError(table)


def merged(values: Mapping[str, Any], item: Base | None, names: tuple[str, ...]) -> dict[str, Any]:
    """The values a row will have after the change, for the fields in ``names``."""
    return {name: values[name] if name in values else getattr(item, name, None) for name in names}


# --- per resource ------------------------------------------------------------------------


async def check_user(integrity: Integrity, values: Mapping[str, Any], item: Base | None) -> None:
    state = merged(values, item, ("role", "department_id"))
    role = Role(state["role"]) if state["role"] is not None else None
    if role in DEPARTMENT_ROLES and state["department_id"] is None:
        raise FieldError.one(
            "department_id", f"a {role.value} belongs to a department: set department_id"
        )
    if item is not None and role not in CALL_TAKING_ROLES:
        agent = await Repository(integrity.session, Agent).list(limit=1, user_id=item.id)  # type: ignore[attr-defined]
        if agent:
            raise FieldError.one(
                "role",
                f"this user is agent {agent[0].extension}; delete the agent first "
                "or keep a role that takes calls",
            )


async def check_agent(integrity: Integrity, values: Mapping[str, Any], item: Base | None) -> None:
    state = merged(values, item, ("user_id", "department_id"))
    if "user_id" in values or "department_id" in values:
        user = await integrity.require_row(User, int(state["user_id"]), "user_id")
        assert isinstance(user, User)
        if user.role not in CALL_TAKING_ROLES:
            raise FieldError.one(
                "user_id", f"user {user.username} is a {user.role.value}; agents take calls"
            )
        if user.department_id != state["department_id"]:
            raise FieldError.one("department_id", f"user {user.username} is in another department")
    if (
        isinstance(item, Agent)
        and item.sip_ha1_md5
        and values.get("extension", item.extension) != item.extension
        and "sip_password" not in values
    ):
        # The stored HA1s hash the extension in: they cannot follow a new one.
        raise FieldError.one(
            "extension", "a new extension needs a new sip_password (or null to remove it)"
        )
    for index, skill in enumerate(values.get("skills") or []):
        await integrity.require_row(Skill, int(skill["skill_id"]), f"skills.{index}.skill_id")
    for index, membership in enumerate(values.get("queues") or []):
        # A supervisor sees only their departments' queues: no membership elsewhere.
        await integrity.require_row(Queue, int(membership["queue_id"]), f"queues.{index}.queue_id")


async def check_queue(integrity: Integrity, values: Mapping[str, Any], item: Base | None) -> None:
    for index, need in enumerate(values.get("required_skills") or []):
        name = need["skill"] if isinstance(need, Mapping) else need
        if not await Repository(integrity.session, Skill).list(limit=1, name=name):
            raise ConflictError(
                f"required_skills.{index}: no skill {name!r}", field=f"required_skills.{index}"
            )
    stored = set(getattr(item, "pooled_department_ids", None) or [])
    for index, department_id in enumerate(values.get("pooled_department_ids") or []):
        field = f"pooled_department_ids.{index}"
        await integrity.require_row(Department, int(department_id), field)
        # Pooling lends a department's agents to this queue: only whoever manages that
        # department may add it (one already pooled by an admin stays on a supervisor's save).
        scope = integrity.principal.departments
        if department_id not in stored and scope is not None and department_id not in scope:
            raise ConflictError(f"{field}: department {department_id} is not yours", field=field)


async def check_route(integrity: Integrity, values: Mapping[str, Any], item: Base | None) -> None:
    state = merged(values, item, ("target_type", "target_id"))
    if "target_type" in values or "target_id" in values:
        model = ROUTE_TARGETS.get(str(state["target_type"]))
        if model is None:
            raise FieldError.one("target_type", "one of queue, ivr_flow, agent")
        if await integrity.row(model, int(state["target_id"])) is None:
            raise ConflictError(
                f"target_id: no {state['target_type']} {state['target_id']}", field="target_id"
            )


async def check_trunk_group(
    integrity: Integrity, values: Mapping[str, Any], item: Base | None
) -> None:
    for index, trunk_id in enumerate(values.get("trunk_ids") or []):
        await integrity.require_row(Trunk, int(trunk_id), f"trunk_ids.{index}")


async def routed_to(integrity: Integrity, target_type: str, item: Base) -> str | None:
    """Why ``item`` cannot be deleted: the inbound routes that send calls to it."""
    routes = await Repository(integrity.session, InboundRoute).list(
        limit=5,
        target_type=target_type,
        target_id=item.id,  # type: ignore[attr-defined]
    )
    if not routes:
        return None
    return "still the target of inbound route " + ", ".join(route.did for route in routes)
