"""Who may do what: the role table, token scopes and department scoping, in one place.

A request's :class:`Principal` carries the permissions of its user's role, narrowed by the
scopes of the API token when it came with one, and the set of departments whose data it
may see (``None`` = every department). Services check permissions and pass the department
set down to the repositories, so a supervisor's list of queues is filtered in SQL and a
row of another department is "not found" rather than "forbidden": its existence does not
leak either.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from fastapi import HTTPException, status

from hotline.store.models import Role


class Permission(enum.StrEnum):
    """Also the vocabulary of API token scopes."""

    CONFIG_READ = "config:read"  # trunks, routes, business hours, skills, departments
    CONFIG_WRITE = "config:write"
    DEPARTMENT_READ = "department:read"  # queues, agents, wrap-up codes, IVR flows
    DEPARTMENT_WRITE = "department:write"
    USERS_READ = "users:read"
    USERS_WRITE = "users:write"
    CDR_READ = "cdr:read"
    CDR_EXPORT = "cdr:export"
    CUSTOMERS_READ = "customers:read"
    CUSTOMERS_WRITE = "customers:write"
    RECORDINGS_READ = "recordings:read"
    AUDIT_READ = "audit:read"
    EVENTS = "events"
    TOKENS = "tokens"  # manage one's own API tokens
    LIVE_READ = "live:read"  # queues, agents and calls in progress (wallboard, desktop)
    AGENT_STATE = "agent:state"  # log in/out, ready, break (agents: their own)
    CALLS_CONTROL = "calls:control"  # hold, resume, transfer, hang up (agents: their own)
    CALLS_SUPERVISE = "calls:supervise"  # listen, whisper, barge (supervisors, admins)
    CAMPAIGNS_READ = "campaigns:read"  # outbound campaigns, contacts, attempts, do-not-call
    CAMPAIGNS_WRITE = "campaigns:write"  # edit, start/pause/stop, import lists, add to DNC
    QA_READ = "qa:read"  # transcripts, analytics, search, scores, QA reports (agents: their own)
    QA_REVIEW = "qa:review"  # override an automatic score, settle a dispute
    QA_DISPUTE = "qa:dispute"  # an agent contests a score of their own call
    QA_CONFIG = "qa:config"  # scorecards, rule categories, live risk alerts
    RECORDINGS_UNREDACTED = "recordings:unredacted"  # personal data in clear, in text and audio


P = Permission

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.SUPERVISOR: frozenset(
        {
            P.CONFIG_READ,
            P.DEPARTMENT_READ,
            P.DEPARTMENT_WRITE,
            P.USERS_READ,
            P.CDR_READ,
            P.CDR_EXPORT,
            P.CUSTOMERS_READ,
            P.CUSTOMERS_WRITE,
            P.RECORDINGS_READ,
            P.EVENTS,
            P.TOKENS,
            P.LIVE_READ,
            P.AGENT_STATE,
            P.CALLS_CONTROL,
            P.CALLS_SUPERVISE,
            P.CAMPAIGNS_READ,
            P.CAMPAIGNS_WRITE,
            P.QA_READ,
            P.QA_REVIEW,
        }
    ),
    Role.AGENT: frozenset(
        {
            P.CDR_READ,
            P.CUSTOMERS_READ,
            P.CUSTOMERS_WRITE,
            P.EVENTS,
            P.LIVE_READ,
            P.AGENT_STATE,
            P.CALLS_CONTROL,
            P.QA_READ,
            P.QA_DISPUTE,
        }
    ),
    Role.QA: frozenset(
        {
            P.CDR_READ,
            P.RECORDINGS_READ,
            P.TOKENS,
            P.QA_READ,
            P.QA_REVIEW,
            P.QA_CONFIG,
            P.RECORDINGS_UNREDACTED,
        }
    ),
    Role.AUDITOR: frozenset(
        {
            P.CONFIG_READ,
            P.DEPARTMENT_READ,
            P.USERS_READ,
            P.CDR_READ,
            P.CDR_EXPORT,
            P.RECORDINGS_READ,
            P.AUDIT_READ,
            P.EVENTS,
            P.TOKENS,
            P.LIVE_READ,
            P.CAMPAIGNS_READ,
            P.QA_READ,
        }
    ),
}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of one request."""

    user_id: int
    username: str
    role: Role
    department_id: int | None
    permissions: frozenset[Permission]
    via: str  # "session" or "token"
    client: str | None = None

    @property
    def departments(self) -> frozenset[int] | None:
        """Departments whose data this caller may see; ``None`` means all of them."""
        if self.role in (Role.ADMIN, Role.AUDITOR, Role.QA):
            return None
        if self.department_id is None:
            return frozenset()
        return frozenset({self.department_id})

    @property
    def only_self(self) -> bool:
        """An agent sees only records about themselves."""
        return self.role is Role.AGENT

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if permission not in self.permissions:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"permission {permission.value!r} required"
            )

    def require_department(self, department_id: int | None) -> None:
        """Refuse writing a row into a department outside the caller's scope."""
        scope = self.departments
        if scope is not None and (department_id is None or department_id not in scope):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "department outside your scope")


def permissions_for(role: Role, scopes: list[str] | None) -> frozenset[Permission]:
    """A role's permissions, narrowed to ``scopes`` for a token (``None``: a session)."""
    granted = ROLE_PERMISSIONS[role]
    if scopes is None:
        return granted
    return granted & frozenset(Permission(scope) for scope in scopes if scope in _SCOPES)


_SCOPES = frozenset(p.value for p in Permission)
