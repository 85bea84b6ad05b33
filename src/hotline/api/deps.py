"""Dependencies of the routes, as ``Annotated`` aliases so that signatures stay readable.

A request gets one database session (closed after the response) and, for every route
except login and the probes, a :class:`Principal` from its bearer token or its session
cookie: 401 when neither is valid.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from hotline.api.context import ApiContext
from hotline.api.rbac import Principal
from hotline.api.schemas.base import MAX_INT
from hotline.api.services.auth import AuthService

SESSION_COOKIE = "hotline_session"

_bearer = HTTPBearer(auto_error=False, description="API token (`hl_…`) created at /api/v1/tokens")
# Declared for the OpenAPI document; the cookie itself is read by SessionMiddleware.
_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="web session")


def context_of(connection: HTTPConnection) -> ApiContext:
    context: ApiContext = connection.app.state.context
    return context


def get_context(request: Request) -> ApiContext:
    return context_of(request)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with context_of(request).database.session() as session:
        yield session


ContextDep = Annotated[ApiContext, Depends(get_context)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]


def client_address(connection: HTTPConnection) -> str:
    return connection.client.host if connection.client else "unknown"


async def resolve_principal(
    connection: HTTPConnection, session: AsyncSession, bearer: str | None
) -> Principal | None:
    service = AuthService(session)
    client = client_address(connection)
    if bearer is not None:
        return await service.token_principal(bearer, client)
    user_id = connection.session.get("user_id")
    if isinstance(user_id, int):
        principal = await service.session_principal(user_id, client)
        if principal is None:
            connection.session.clear()
        return principal
    return None


async def get_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _cookie_value: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    bearer = credentials.credentials if credentials is not None else None
    principal = await resolve_principal(request, session, bearer)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "invalid or expired token" if bearer else "not logged in",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]
Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, le=MAX_INT, description="rows to skip")]
