"""Login, logout, API tokens, and turning a request's credentials into a Principal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.rbac import Permission, Principal, permissions_for
from hotline.api.security import LoginRateLimiter, Passwords, new_token, token_digest
from hotline.api.services.audit import AuditService
from hotline.api.services.errors import InvalidError, NotFoundError
from hotline.store.models import ApiToken, User
from hotline.store.repositories import ApiTokenRepository, UserRepository
from hotline.store.types import utcnow


class LoginRefusedError(Exception):
    """Wrong username or password (which one is not said)."""


class LoginThrottledError(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed logins; retry in {retry_after:.0f} s")
        self.retry_after = retry_after


def principal_for(
    user: User, *, via: str, scopes: list[str] | None, client: str | None
) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        department_id=user.department_id,
        permissions=permissions_for(user.role, scopes),
        via=via,
        client=client,
    )


class AuthService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.users = UserRepository(session)
        self.tokens = ApiTokenRepository(session)

    async def login(
        self,
        username: str,
        password: str,
        client: str,
        limiter: LoginRateLimiter,
        passwords: Passwords,
    ) -> Principal:
        retry_after = limiter.retry_after(username, client)
        audit = AuditService(self.session, None)
        if retry_after is not None:
            await audit.record("login_throttled", "sessions", actor=username, client=client)
            await self.session.commit()
            raise LoginThrottledError(max(retry_after, 1.0))
        user = await self.users.by_username(username)
        ok = passwords.verify(user.password_hash if user else None, password)
        if user is None or not ok or not user.active:
            limiter.failed(username, client)
            await audit.record("login_failed", "sessions", actor=username, client=client)
            await self.session.commit()
            raise LoginRefusedError
        limiter.succeeded(username, client)
        if passwords.needs_rehash(user.password_hash):
            user.password_hash = passwords.hash(password)
        principal = principal_for(user, via="session", scopes=None, client=client)
        await AuditService(self.session, principal).record("login", "sessions", user.id)
        await self.session.commit()
        return principal

    async def session_principal(self, user_id: int, client: str | None) -> Principal | None:
        user = await self.users.get(user_id)
        if user is None or not user.active:
            return None
        return principal_for(user, via="session", scopes=None, client=client)

    async def token_principal(self, token: str, client: str | None) -> Principal | None:
        row = await self.tokens.by_hash(token_digest(token))
        if row is None or row.revoked_at is not None:
            return None
        if row.expires_at is not None and row.expires_at <= utcnow():
            return None
        user = await self.users.get(row.user_id)
        if user is None or not user.active:
            return None
        return principal_for(user, via="token", scopes=list(row.scopes), client=client)


class TokenService:
    """A user's own API tokens; scopes can only narrow what the user's role allows."""

    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self.tokens = ApiTokenRepository(session)
        self.audit = AuditService(session, principal)

    async def create(
        self, name: str, scopes: list[str], expires_in_days: int | None
    ) -> tuple[ApiToken, str]:
        self.principal.require(Permission.TOKENS)
        if self.principal.via != "session":
            raise InvalidError("API tokens are created from a logged-in session, not a token")
        known = {p.value for p in Permission}
        unknown = sorted(set(scopes) - known)
        if unknown:
            raise InvalidError(f"unknown scopes {unknown}; known: {sorted(known)}")
        beyond = sorted(set(scopes) - {p.value for p in self.principal.permissions})
        if beyond:
            raise InvalidError(f"scopes {beyond} exceed what your role allows")
        secret = new_token()
        expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
        row = ApiToken(
            user_id=self.principal.user_id,
            name=name,
            token_hash=token_digest(secret),
            scopes=sorted(set(scopes)),
            expires_at=expires_at,
        )
        await self.tokens.add(row)
        await self.audit.record(
            "create", "api_tokens", row.id, detail={"name": name, "scopes": scopes}
        )
        await self.session.commit()
        return row, secret

    async def list(self) -> Sequence[ApiToken]:
        self.principal.require(Permission.TOKENS)
        return await self.tokens.list(limit=1000, user_id=self.principal.user_id)

    async def revoke(self, token_id: int) -> None:
        self.principal.require(Permission.TOKENS)
        row = await self.tokens.get(token_id)
        if row is None or row.user_id != self.principal.user_id:
            raise NotFoundError(f"token {token_id} not found")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            await self.audit.record("revoke", "api_tokens", token_id)
            await self.session.commit()
