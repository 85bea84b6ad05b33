"""The audit trail: every change and every sensitive read, with who, what and from where.

Entries are added to the caller's session, so a change and its audit entry commit together
(or not at all). A sensitive read is committed on its own before its data is returned:
if the audit cannot be written, the data is not served.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.rbac import Permission, Principal
from hotline.store.database import note_change
from hotline.store.events import ConfigurationChanged
from hotline.store.models import AuditEntry
from hotline.store.repositories import AuditRepository

REDACTED = "***"
SECRET_FIELDS = frozenset(
    {"password", "password_hash", "token", "token_hash", "secret", "sip_password"}
)
#: Audited resources that the live node's directory is built from: a committed change to
#: one is announced as ``ConfigurationChanged`` (``hotline.services.directory`` reloads).
CONFIGURATION = frozenset(
    {
        "departments",
        "skills",
        "users",
        "agents",
        "queues",
        "trunks",
        "trunk-groups",
        "inbound-routes",
        "business-hours",
        "ivr-flows",
        "wrapup-codes",
        "campaign-lendings",  # lent agents join a campaign's queue
        "modules",  # a module switched off or on in the console
        "config",
    }
)


def redact(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every secret field replaced, at any depth (``before``/``after``)."""
    return {
        key: REDACTED
        if key in SECRET_FIELDS
        else redact(value)
        if isinstance(value, dict)
        else value
        for key, value in values.items()
    }


class AuditService:
    def __init__(self, session: AsyncSession, principal: Principal | None) -> None:
        self.session = session
        self.principal = principal
        self.repository = AuditRepository(session)

    async def record(
        self,
        action: str,
        resource: str,
        resource_id: object = None,
        *,
        detail: dict[str, Any] | None = None,
        department_id: int | None = None,
        actor: str | None = None,
        client: str | None = None,
    ) -> None:
        principal = self.principal
        await self.repository.append(
            AuditEntry(
                actor_id=principal.user_id if principal else None,
                actor=actor or (principal.username if principal else "anonymous"),
                action=action,
                resource=resource,
                resource_id=None if resource_id is None else str(resource_id),
                department_id=department_id,
                detail=redact(detail or {}),
                client=client or (principal.client if principal else None),
            )
        )
        if resource in CONFIGURATION and action != "read":
            item_id = resource_id if isinstance(resource_id, int) else None
            note_change(
                self.session,
                ConfigurationChanged(
                    at=time.time(),
                    resource=resource,
                    action=action,
                    item_id=item_id,
                    department_id=department_id,
                ),
            )

    async def sensitive_read(self, resource: str, detail: dict[str, Any]) -> None:
        await self.record("read", resource, detail=detail)
        await self.session.commit()

    async def list(
        self,
        *,
        resource: str | None,
        actor: str | None,
        since: datetime | None,
        limit: int,
        offset: int,
    ) -> Sequence[AuditEntry]:
        assert self.principal is not None
        self.principal.require(Permission.AUDIT_READ)
        entries = await self.repository.list(
            resource=resource, actor=actor, since=since, limit=limit, offset=offset
        )
        await self.sensitive_read(
            "audit_log",
            {"resource": resource, "actor": actor, "count": len(entries)},
        )
        return entries
