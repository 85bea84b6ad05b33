"""Configuration as one YAML document: export for backup, import with a dry-run diff.

:class:`BackupService` is what the routes call: who may back up (admins only: the whole
configuration, every department), the audit of both directions, and the transaction of an
import. A dry run is the same import rolled back instead of committed, so the diff it
reports is exactly what a real import would do. The document's shape and its parse are
``backup_document``; reading the store into one is ``backup_export``; applying one is
``backup_import`` over the upserts of ``backup_store``.
"""

from __future__ import annotations

import yaml
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.rbac import Permission, Principal
from hotline.api.services.audit import AuditService
from hotline.api.services.backup_document import ConfigDocument, ImportResult
from hotline.api.services.backup_export import export_document
from hotline.api.services.backup_import import import_document
from hotline.api.services.errors import ConflictError


class BackupService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self.audit = AuditService(session, principal)

    def require_permission(self) -> None:
        # The whole configuration, every department: admins only.
        self.principal.require(Permission.CONFIG_WRITE)
        self.principal.require(Permission.DEPARTMENT_WRITE)

    async def export(self) -> str:
        self.require_permission()
        document = await export_document(self.session)
        await self.audit.sensitive_read("config", {"export": "yaml"})
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)

    async def import_(self, document: ConfigDocument, *, dry_run: bool) -> ImportResult:
        self.require_permission()
        try:
            plan = await import_document(self.session, document, self.principal.user_id)
        except IntegrityError as error:
            await self.session.rollback()
            raise ConflictError(f"import conflicts with existing data: {error.orig}") from None
        except Exception:
            await self.session.rollback()
            raise
        result = ImportResult(
            dry_run=dry_run, created=plan.created, updated=plan.updated, unchanged=plan.unchanged
        )
        if dry_run:
            await self.session.rollback()
        else:
            await self.audit.record(
                "import", "config", detail={"created": plan.created, "updated": plan.updated}
            )
            await self.session.commit()
        return result
