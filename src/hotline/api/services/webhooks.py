"""The webhook delivery log, for admins debugging an integration."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.rbac import Permission, Principal
from hotline.api.services.errors import NotFoundError
from hotline.store.models import Webhook, WebhookDelivery
from hotline.store.repositories import Repository


class WebhookLogService:
    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal

    async def deliveries(
        self, webhook_id: int, *, limit: int, offset: int
    ) -> Sequence[WebhookDelivery]:
        self.principal.require(Permission.CONFIG_READ)
        if await Repository(self.session, Webhook).get(webhook_id) is None:
            raise NotFoundError(f"webhook {webhook_id} not found")
        return await Repository(self.session, WebhookDelivery).list(
            limit=limit, offset=offset, webhook_id=webhook_id
        )
