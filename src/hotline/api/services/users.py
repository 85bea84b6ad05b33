"""Users outside the REST API: the demo's first admin and ``hotline user create``."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from hotline.api.security import Passwords
from hotline.store.models import AuditEntry, Role, User
from hotline.store.repositories import AuditRepository, UserRepository

if TYPE_CHECKING:
    from hotline.api.context import ApiContext
    from hotline.store.database import Database

DEMO_ADMIN = "admin"


class UserError(Exception):
    pass


async def create_user_directly(
    database: Database,
    username: str,
    password: str,
    role: Role,
    department_id: int | None,
    *,
    actor: str = "cli",
    passwords: Passwords | None = None,
) -> int:
    passwords = passwords or Passwords()
    if len(password) < 8:
        raise UserError("password: at least 8 characters")
    async with database.session() as session:
        user = User(
            username=username,
            display_name=username,
            password_hash=passwords.hash(password),
            role=role,
            department_id=department_id,
        )
        session.add(user)
        try:
            await session.flush()
            await AuditRepository(session).append(
                AuditEntry(
                    actor=actor,
                    action="create",
                    resource="users",
                    resource_id=str(user.id),
                    detail={"username": username, "role": role.value},
                )
            )
            await session.commit()
        except IntegrityError:
            raise UserError(f"user {username!r} exists or department is unknown") from None
        return user.id


async def ensure_demo_admin(context: ApiContext) -> str | None:
    """Create the demo's admin on an empty user table; return its password if created.

    The password is random per demo database and printed in the demo's log, which only
    its operator sees; a fixed password would be a standing invitation.
    """
    async with context.database.session() as session:
        if await UserRepository(session).count() > 0:
            return None
    password = secrets.token_urlsafe(9)
    await create_user_directly(
        context.database,
        DEMO_ADMIN,
        password,
        Role.ADMIN,
        None,
        actor="demo",
        passwords=context.passwords,
    )
    return password
