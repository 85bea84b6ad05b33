"""The configuration resources served by the generic CRUD routes, and their rules."""

from __future__ import annotations

from typing import Any

from hotline.api.rbac import Permission
from hotline.api.security import Passwords
from hotline.api.services.config import Resource
from hotline.api.services.integrity import (
    Integrity,
    check_agent,
    check_queue,
    check_route,
    check_trunk_group,
    check_user,
    routed_to,
)
from hotline.services.phone_accounts import NO_PHONE_ACCOUNT
from hotline.store.models import (
    Agent,
    AgentQueue,
    AgentSkill,
    BusinessHours,
    Customer,
    Department,
    InboundRoute,
    Queue,
    Skill,
    Trunk,
    TrunkGroup,
    TrunkGroupMember,
    User,
    Webhook,
    WrapUpCode,
)


def _user_columns(values: dict[str, Any], passwords: Passwords) -> dict[str, Any]:
    values = dict(values)
    if "password" in values:
        values["password_hash"] = passwords.hash(values.pop("password"))
    return values


def _agent_columns(values: dict[str, Any], passwords: Passwords) -> dict[str, Any]:
    values = _agent_memberships(values)
    password = values.pop("sip_password", None)
    if password is not None:
        values.update(passwords.phone_account(values["extension"], password))
    return values


def _agent_update_columns(
    values: dict[str, Any], passwords: Passwords, item: Any
) -> dict[str, Any]:
    values = _agent_memberships(values)
    if "sip_password" in values:  # null removes the phone account
        password = values.pop("sip_password")
        extension = values.get("extension", item.extension)
        values.update(
            NO_PHONE_ACCOUNT if password is None else passwords.phone_account(extension, password)
        )
    return values


def _agent_memberships(values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    if "skills" in values:
        values["skills"] = [
            AgentSkill(skill_id=skill["skill_id"], level=skill.get("level", 1))
            for skill in values["skills"]
        ]
    if "queues" in values:
        values["queues"] = [
            AgentQueue(queue_id=queue["queue_id"], priority=queue.get("priority", 0))
            for queue in values["queues"]
        ]
    return values


def _trunk_group_columns(values: dict[str, Any], _passwords: Passwords) -> dict[str, Any]:
    values = dict(values)
    if "trunk_ids" in values:
        values["members"] = [
            TrunkGroupMember(trunk_id=trunk_id, position=position)
            for position, trunk_id in enumerate(values.pop("trunk_ids"))
        ]
    return values


def _routed(target_type: str) -> Any:
    async def in_use(integrity: Integrity, item: Any) -> str | None:
        return await routed_to(integrity, target_type, item)

    return in_use


DEPARTMENTS = Resource("departments", Department, Permission.CONFIG_READ, Permission.CONFIG_WRITE)
SKILLS = Resource("skills", Skill, Permission.CONFIG_READ, Permission.CONFIG_WRITE)
TRUNKS = Resource("trunks", Trunk, Permission.CONFIG_READ, Permission.CONFIG_WRITE)
TRUNK_GROUPS = Resource(
    "trunk-groups",
    TrunkGroup,
    Permission.CONFIG_READ,
    Permission.CONFIG_WRITE,
    prepare=_trunk_group_columns,
    check=check_trunk_group,
)
INBOUND_ROUTES = Resource(
    "inbound-routes",
    InboundRoute,
    Permission.CONFIG_READ,
    Permission.CONFIG_WRITE,
    check=check_route,
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
    check=check_user,
)
QUEUES = Resource(
    "queues",
    Queue,
    Permission.DEPARTMENT_READ,
    Permission.DEPARTMENT_WRITE,
    department_scoped=True,
    check=check_queue,
    in_use=_routed("queue"),
)
AGENTS = Resource(
    "agents",
    Agent,
    Permission.DEPARTMENT_READ,
    Permission.DEPARTMENT_WRITE,
    department_scoped=True,
    prepare=_agent_columns,
    prepare_update=_agent_update_columns,
    check=check_agent,
    in_use=_routed("agent"),
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
