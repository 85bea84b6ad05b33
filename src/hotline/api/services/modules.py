"""Optional modules: which a node has (its settings) and which run (the admin console's
switch, kept in the store). A module off in the settings cannot be switched on here: its
routes are not mounted and its worker was never built; the operator sets it in the
settings and restarts the node."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.rbac import Permission, Principal
from hotline.api.services.audit import AuditService
from hotline.api.services.errors import ConflictError, NotFoundError
from hotline.settings import ModulesSettings
from hotline.store.repositories import ModuleRepository

RESOURCE = "modules"


@dataclass(frozen=True)
class ModuleState:
    name: str
    description: str
    installed: bool  # switched on in the node's settings
    enabled: bool  # running: installed, and not switched off in the console
    changed_at: datetime | None
    changed_by: str | None


def module_names() -> list[str]:
    return list(ModulesSettings.model_fields)


class ModuleService:
    def __init__(
        self, session: AsyncSession, principal: Principal, installed: Mapping[str, bool]
    ) -> None:
        self.session = session
        self.principal = principal
        self.installed = installed
        self.repository = ModuleRepository(session)

    async def list(self) -> list[ModuleState]:
        self.principal.require(Permission.CONFIG_READ)
        switches = await self.repository.switches()
        out = []
        for name, field in ModulesSettings.model_fields.items():
            switch = switches.get(name)
            installed = self.installed.get(name, False)
            out.append(
                ModuleState(
                    name=name,
                    description=field.description or "",
                    installed=installed,
                    enabled=installed and (switch is None or switch.enabled),
                    changed_at=switch.changed_at if switch else None,
                    changed_by=switch.changed_by if switch else None,
                )
            )
        return out

    async def switch(self, name: str, enabled: bool) -> ModuleState:
        self.principal.require(Permission.CONFIG_WRITE)
        if name not in ModulesSettings.model_fields:
            raise NotFoundError(f"no module {name!r}")
        if not self.installed.get(name, False):
            raise ConflictError(
                f"module {name} is switched off in the node's settings "
                f"(modules.{name}); switch it on there and restart the node"
            )
        await self.repository.set(name, enabled, self.principal.username)
        # Audited as configuration: the node hears of it and starts or stops the module.
        await AuditService(self.session, self.principal).record(
            "enable" if enabled else "disable", RESOURCE, name, detail={"enabled": enabled}
        )
        await self.session.commit()
        return next(state for state in await self.list() if state.name == name)
