"""CRUD routes for the configuration resources, generated from one pattern.

Each resource gets list, get, create, patch and delete with its own schemas and operation
ids, so the OpenAPI document is as precise as hand-written routes would be. Which resources
are served, with which bodies, is the table :data:`CONFIG_RESOURCES`; the rules of each are
in ``services/resources.py``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response, status
from pydantic import BaseModel

from hotline.api.deps import ContextDep, Limit, Offset, PrincipalDep, SessionDep
from hotline.api.schemas.agents import AgentCreate, AgentRead
from hotline.api.schemas.base import MAX_INT, Page, next_page
from hotline.api.schemas.base import update_model as derived_update_model
from hotline.api.schemas.business_hours import BusinessHoursCreate, BusinessHoursRead
from hotline.api.schemas.customers import CustomerCreate, CustomerRead
from hotline.api.schemas.departments import DepartmentCreate, DepartmentRead
from hotline.api.schemas.inbound_routes import InboundRouteCreate, InboundRouteRead
from hotline.api.schemas.queues import QueueCreate, QueueRead
from hotline.api.schemas.skills import SkillCreate, SkillRead
from hotline.api.schemas.trunk_groups import TrunkGroupCreate, TrunkGroupRead
from hotline.api.schemas.trunks import TrunkCreate, TrunkRead
from hotline.api.schemas.users import UserCreate, UserRead
from hotline.api.schemas.webhooks import WebhookCreate, WebhookRead
from hotline.api.schemas.wrapup_codes import WrapUpCodeCreate, WrapUpCodeRead
from hotline.api.services import resources as r
from hotline.api.services.config import ConfigService, Resource
from hotline.store.models import Base

ItemId = Annotated[int, Path(ge=1, le=MAX_INT)]

#: Each configuration resource with its create and read bodies (the PATCH body is derived
#: from the create body), in the order the OpenAPI document lists them.
CONFIG_RESOURCES: tuple[tuple[Resource[Any], type[BaseModel], type[BaseModel]], ...] = (
    (r.DEPARTMENTS, DepartmentCreate, DepartmentRead),
    (r.SKILLS, SkillCreate, SkillRead),
    (r.USERS, UserCreate, UserRead),
    (r.AGENTS, AgentCreate, AgentRead),
    (r.QUEUES, QueueCreate, QueueRead),
    (r.TRUNKS, TrunkCreate, TrunkRead),
    (r.TRUNK_GROUPS, TrunkGroupCreate, TrunkGroupRead),
    (r.INBOUND_ROUTES, InboundRouteCreate, InboundRouteRead),
    (r.BUSINESS_HOURS, BusinessHoursCreate, BusinessHoursRead),
    (r.WRAPUP_CODES, WrapUpCodeCreate, WrapUpCodeRead),
    (r.CUSTOMERS, CustomerCreate, CustomerRead),
    (r.WEBHOOKS, WebhookCreate, WebhookRead),
)


def crud_router(
    resource: Resource[Any],
    create_model: type[BaseModel],
    update_model: type[BaseModel],
    read_model: type[BaseModel],
    *,
    list_route: bool = True,
) -> APIRouter:
    """List, get, create, change and delete ``resource``; without ``list_route`` when the
    resource's list is its own route (agents: ``routes/agents.py``)."""
    name = resource.name
    ident = name.replace("-", "_")
    router = APIRouter(prefix=f"/{name}", tags=[name])

    def service(session: Any, principal: Any, context: Any) -> ConfigService[Base]:
        return ConfigService(session, principal, resource, context.passwords, context.bus)

    async def list_items(
        request: Request,
        session: SessionDep,
        principal: PrincipalDep,
        context: ContextDep,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> Any:
        config = service(session, principal, context)
        items = await config.list(limit=limit, offset=offset)
        count = await config.count()
        return {
            "count": count,
            "items": [read_model.model_validate(item) for item in items],
            "next": next_page(request, offset, len(items), count),
        }

    async def get_item(
        item_id: ItemId, session: SessionDep, principal: PrincipalDep, context: ContextDep
    ) -> Any:
        return read_model.model_validate(await service(session, principal, context).get(item_id))

    async def create_item(
        body: BaseModel, session: SessionDep, principal: PrincipalDep, context: ContextDep
    ) -> Any:
        item = await service(session, principal, context).create(body.model_dump(mode="json"))
        return read_model.model_validate(item)

    async def update_item(
        item_id: ItemId,
        body: BaseModel,
        session: SessionDep,
        principal: PrincipalDep,
        context: ContextDep,
    ) -> Any:
        # Only the fields sent, but each one whole (nested defaults included).
        values = body.model_dump(mode="json", include=body.model_fields_set)
        item = await service(session, principal, context).update(item_id, values)
        return read_model.model_validate(item)

    async def delete_item(
        item_id: ItemId, session: SessionDep, principal: PrincipalDep, context: ContextDep
    ) -> Response:
        await service(session, principal, context).delete(item_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    # The body types differ per resource; FastAPI reads them from the annotations.
    create_item.__annotations__["body"] = create_model
    update_item.__annotations__["body"] = update_model

    if list_route:
        router.add_api_route(
            "",
            list_items,
            methods=["GET"],
            response_model=Page[read_model],  # type: ignore[valid-type]
            operation_id=f"list_{ident}",
            summary=f"List {name}",
        )
    router.add_api_route(
        "",
        create_item,
        methods=["POST"],
        response_model=read_model,
        status_code=status.HTTP_201_CREATED,
        operation_id=f"create_{ident}",
        summary=f"Create one of {name}",
    )
    router.add_api_route(
        "/{item_id}",
        get_item,
        methods=["GET"],
        response_model=read_model,
        operation_id=f"get_{ident}",
        summary=f"Get one of {name}",
    )
    router.add_api_route(
        "/{item_id}",
        update_item,
        methods=["PATCH"],
        response_model=read_model,
        operation_id=f"update_{ident}",
        summary=f"Change one of {name}",
    )
    router.add_api_route(
        "/{item_id}",
        delete_item,
        methods=["DELETE"],
        status_code=status.HTTP_204_NO_CONTENT,
        response_class=Response,
        operation_id=f"delete_{ident}",
        summary=f"Delete one of {name}",
    )
    return router


def config_routers() -> list[APIRouter]:
    """One CRUD router per configuration resource, in the order of the table."""
    return [
        crud_router(
            resource, create, derived_update_model(create), read, list_route=resource != r.AGENTS
        )
        for resource, create, read in CONFIG_RESOURCES
    ]
