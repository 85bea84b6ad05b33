"""Login and logout for the web (session cookie) and API tokens for integrations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response, status

from hotline.api.deps import ContextDep, PrincipalDep, SessionDep, client_address
from hotline.api.rbac import Principal
from hotline.api.schemas.auth import LoginBody, Me, TokenCreate, TokenCreated, TokenRead
from hotline.api.schemas.base import MAX_INT
from hotline.api.services.auth import (
    AuthService,
    LoginRefusedError,
    LoginThrottledError,
    TokenService,
)

router = APIRouter(tags=["auth"])


def _me(principal: Principal) -> Me:
    return Me(
        id=principal.user_id,
        username=principal.username,
        role=principal.role,
        department_id=principal.department_id,
        permissions=sorted(p.value for p in principal.permissions),
        via=principal.via,
    )


@router.post(
    "/auth/login",
    responses={401: {"description": "wrong credentials"}, 429: {"description": "throttled"}},
)
async def login(body: LoginBody, request: Request, session: SessionDep, context: ContextDep) -> Me:
    """Start a web session; the cookie is HttpOnly and SameSite=strict."""
    try:
        principal = await AuthService(session).login(
            body.username,
            body.password,
            client_address(request),
            context.limiter,
            context.passwords,
        )
    except LoginThrottledError as error:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            str(error),
            headers={"Retry-After": str(int(error.retry_after + 0.999))},
        ) from None
    except LoginRefusedError:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password") from None
    # A fresh session on login: nothing set before authentication survives it.
    request.session.clear()
    request.session["user_id"] = principal.user_id
    return _me(principal)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def logout(request: Request) -> Response:
    request.session.clear()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/auth/me")
async def me(principal: PrincipalDep) -> Me:
    return _me(principal)


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
async def create_token(
    body: TokenCreate, session: SessionDep, principal: PrincipalDep
) -> TokenCreated:
    """Create a bearer token limited to ``scopes``; the secret is in this response only."""
    row, secret = await TokenService(session, principal).create(
        body.name, body.scopes, body.expires_in_days
    )
    return TokenCreated.model_validate(
        {**TokenRead.model_validate(row).model_dump(), "token": secret}
    )


@router.get("/tokens")
async def list_tokens(session: SessionDep, principal: PrincipalDep) -> list[TokenRead]:
    return [TokenRead.model_validate(row) for row in await TokenService(session, principal).list()]


@router.delete(
    "/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response
)
async def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=MAX_INT)], session: SessionDep, principal: PrincipalDep
) -> Response:
    await TokenService(session, principal).revoke(token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
