"""The configuration resources served by the generic CRUD routes, and their rules."""

from __future__ import annotations

from typing import Any

from hotline.api.rbac import Permission
from hotline.api.security import Passwords
from hotline.api.services.config import Resource
from hotline.store.models import (
    Agent,
    AgentSkill,
    BusinessHours,
    Customer,
    Department,
    InboundRoute,
    Queue,
    Skill,
    Trunk,
    User,
    Webhook,
    WrapUpCode,
)


def _user_columns(values: dict[str, Any], passwords: Passwords) -> dict[str, Any]:
    values = dict(values)
    if "password" in values:
        values["password_hash"] = passwords.hash(values.pop("password"))
    return values


def _agent_columns(values: dict[str, Any], _passwords: Passwords) -> dict[str, Any]:
    values = dict(values)
    if "skills" in values:
        values["skills"] = [
            AgentSkill(skill_id=skill["skill_id"], level=skill.get("level", 1))
            for skill in values["skills"]
        ]
    return values


DEPARTMENTS = Resource("departments", Department, Permission.CONFIG_READ, Permission.CONFIG_WRITE)
SKILLS = Resource("skills", Skill, Permission.CONFIG_READ, Permission.CONFIG_WRITE)
TRUNKS = Resource("trunks", Trunk, Permission.CONFIG_READ, Permission.CONFIG_WRITE)
INBOUND_ROUTES = Resource(
    "inbound-routes", InboundRoute, Permission.CONFIG_READ, Permission.CONFIG_WRITE
)
BUSINESS_HOURS = Resource(
    "business-hours", BusinessHours, Permission.CONFIG_READ, Permission.CONFIG_WRITE
)
USERS = Resource(
    "users",
    User,
    Permission.USERS_READ,
    Permission.USERS_WRITE,
    department_scoped=True,
    prepare=_user_columns,
)
QUEUES = Resource(
    "queues", Queue, Permission.DEPARTMENT_READ, Permission.DEPARTMENT_WRITE, department_scoped=True
)
AGENTS = Resource(
    "agents",
    Agent,
    Permission.DEPARTMENT_READ,
    Permission.DEPARTMENT_WRITE,
    department_scoped=True,
    prepare=_agent_columns,
)
WRAPUP_CODES = Resource(
    "wrapup-codes",
    WrapUpCode,
    Permission.DEPARTMENT_READ,
    Permission.DEPARTMENT_WRITE,
    department_scoped=True,
)
WEBHOOKS = Resource("webhooks", Webhook, Permission.CONFIG_READ, Permission.CONFIG_WRITE)
CUSTOMERS = Resource("customers", Customer, Permission.CUSTOMERS_READ, Permission.CUSTOMERS_WRITE)
