"""Create, read, update and delete the node's configuration, one resource type at a time.

Every configuration table follows the same rules (permission to read or write, department
scope, audit entry per change, conflicts reported as 409), so they share one service and
differ only in a :class:`Resource` description. Resources with extra behaviour (users'
passwords, agents' skills) give a ``prepare`` hook that turns API values into columns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.rbac import Permission, Principal
from hotline.api.security import Passwords
from hotline.api.services.audit import AuditService
from hotline.api.services.errors import ConflictError, NotFoundError
from hotline.api.services.integrity import Integrity
from hotline.events.bus import EventBus
from hotline.store.models import Base
from hotline.store.repositories import Repository

ModelT = TypeVar("ModelT", bound=Base)


def _unchanged(values: dict[str, Any], _passwords: Passwords) -> dict[str, Any]:
    return values


#: Checks a change against stored data: (integrity, values sent, row or None on create).
Check = Callable[[Integrity, Mapping[str, Any], Any], Awaitable[None]]
#: Why a row cannot be deleted (a message), or None.
InUse = Callable[[Integrity, Any], Awaitable[str | None]]


async def _no_check(_integrity: Integrity, _values: Mapping[str, Any], _item: Any) -> None:
    return None


async def _not_used(_integrity: Integrity, _item: Any) -> str | None:
    return None


@dataclass(frozen=True)
class Resource(Generic[ModelT]):
    """One configuration resource: its table, URL name and the permissions it needs."""

    name: str
    model: type[ModelT]
    read: Permission
    write: Permission
    #: Rows belong to a department; supervisors see and change only their own.
    department_scoped: bool = False
    prepare: Callable[[dict[str, Any], Passwords], dict[str, Any]] = field(default=_unchanged)
    #: ``prepare`` for an update, given the stored row too (an agent's new phone password
    #: is hashed with its stored extension); None: ``prepare`` serves updates as well.
    prepare_update: Callable[[dict[str, Any], Passwords, Any], dict[str, Any]] | None = None
    check: Check = field(default=_no_check)
    in_use: InUse = field(default=_not_used)


class ConfigService(Generic[ModelT]):
    def __init__(
        self,
        session: AsyncSession,
        principal: Principal,
        resource: Resource[ModelT],
        passwords: Passwords,
        bus: EventBus | None = None,
    ) -> None:
        self.passwords = passwords
        self.session = session
        self.principal = principal
        self.resource = resource
        self.repository = Repository(session, resource.model)
        self.audit = AuditService(session, principal)
        self.integrity = Integrity(session, principal)
        self.bus = bus

    async def _check(self, values: dict[str, Any], item: ModelT | None) -> None:
        """References, uniqueness and the resource's own rules, each naming its field."""
        await self.integrity.references(self.resource.model, values, item)
        await self.integrity.unique(self.resource.model, values, item)
        await self.resource.check(self.integrity, values, item)

    @property
    def _scope(self) -> frozenset[int] | None:
        return self.principal.departments if self.resource.department_scoped else None

    async def list(self, *, limit: int, offset: int) -> Sequence[ModelT]:
        self.principal.require(self.resource.read)
        return await self.repository.list(self._scope, limit=limit, offset=offset)

    async def count(self) -> int:
        """How many rows this caller's list pages through."""
        self.principal.require(self.resource.read)
        return await self.repository.count(self._scope)

    async def get(self, item_id: int) -> ModelT:
        self.principal.require(self.resource.read)
        return await self._get(item_id)

    async def _get(self, item_id: int) -> ModelT:
        item = await self.repository.get(item_id, self._scope)
        if item is None:
            raise NotFoundError(f"{self.resource.name} {item_id} not found")
        return item

    async def create(self, values: dict[str, Any]) -> ModelT:
        self.principal.require(self.resource.write)
        if self.resource.department_scoped:
            self.principal.require_department(values.get("department_id"))
        await self._check(values, None)
        item = self.resource.model(**self.resource.prepare(values, self.passwords))
        try:
            await self.repository.add(item)
            await self.audit.record(
                "create",
                self.resource.name,
                _identity(item),
                detail=values,
                department_id=getattr(item, "department_id", None),
            )
            await self.session.commit()
        except IntegrityError as error:
            await self.session.rollback()
            raise _conflict(self.resource.name, error) from None
        return item

    async def update(self, item_id: int, values: dict[str, Any]) -> ModelT:
        self.principal.require(self.resource.write)
        item = await self._get(item_id)
        if self.resource.department_scoped and "department_id" in values:
            self.principal.require_department(values["department_id"])
        await self._check(values, item)
        before = {name: _jsonable(getattr(item, name, None)) for name in values}
        try:
            prepare_update = self.resource.prepare_update
            columns = (
                prepare_update(values, self.passwords, item)
                if prepare_update is not None
                else self.resource.prepare(values, self.passwords)
            )
            await self.repository.update(item, columns)
            await self.audit.record(
                "update",
                self.resource.name,
                item_id,
                detail={"before": before, "after": values},
                department_id=getattr(item, "department_id", None),
            )
            await self.session.commit()
        except IntegrityError as error:
            await self.session.rollback()
            raise _conflict(self.resource.name, error) from None
        return item

    async def delete(self, item_id: int) -> None:
        self.principal.require(self.resource.write)
        item = await self._get(item_id)
        department_id = getattr(item, "department_id", None)
        reason = await self.resource.in_use(self.integrity, item)
        if reason is not None:
            raise ConflictError(f"{self.resource.name} {item_id}: {reason}")
        try:
            await self.repository.delete(item)
            await self.audit.record(
                "delete", self.resource.name, item_id, department_id=department_id
            )
            await self.session.commit()
        except IntegrityError as error:
            await self.session.rollback()
            raise ConflictError(f"{self.resource.name} {item_id} is still in use") from error


def _identity(item: Base) -> object:
    return getattr(item, "id", None)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(element) for element in value]
    if isinstance(value, dict):
        return {str(key): _jsonable(element) for key, element in value.items()}
    if isinstance(value, Base):
        return {
            column.key: _jsonable(getattr(value, column.key))
            for column in value.__mapper__.column_attrs
        }
    return str(value)


def _conflict(resource: str, error: IntegrityError) -> ConflictError:
    # The driver's message names the constraint (uq_queues_name, fk_...); keep only that
    # line so that no SQL or parameters reach the client.
    reason = str(error.orig).splitlines()[0] if error.orig is not None else "constraint"
    return ConflictError(
        f"{resource}: conflicts with existing data (duplicate, or a referenced row is "
        f"missing or in use): {reason}"
    )
