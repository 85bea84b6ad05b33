"""The admin console's pages for what the ACD routes calls by: queues, agents, skills and
wrap-up codes (``/admin/queues``, ``/agents``, ``/skills``, ``/wrapup-codes``).

Supervisors manage the queues, agents and wrap-up codes of their departments; skills are
shared by every department and need ``config:write``.
"""

from __future__ import annotations

from fastapi import APIRouter

from hotline.api.schemas.agents import AgentCreate, AgentRead
from hotline.api.schemas.queues import QueueCreate, QueueRead
from hotline.api.schemas.skills import SkillCreate, SkillRead
from hotline.api.schemas.wrapup_codes import WrapUpCodeCreate, WrapUpCodeRead
from hotline.api.services import resources as r
from hotline.web.admin_forms import Input
from hotline.web.pages import ADMIN_PREFIX
from hotline.web.routes.admin_sections import Column, Section, add_section_routes

router = APIRouter(prefix=ADMIN_PREFIX, include_in_schema=False)
DEPARTMENT = Input("department_id", "select", required=True, choices="departments")
SECTIONS: tuple[Section, ...] = (
    Section(
        r.QUEUES,
        QueueCreate,
        QueueRead,
        (
            Column("name"),
            Column("department_id", "departments"),
            Column("strategy", "queue_strategies"),
            Column("service_level_seconds"),
            Column("max_wait_seconds"),
            Column("required_skills"),
        ),
        (
            Input("name", required=True),
            DEPARTMENT,
            Input("strategy", "select", choices="queue_strategies", integer=False),
            Input("service_level_seconds", "number", hint=True),
            Input("max_wait_seconds", "number"),
            Input("required_skills", "levels", choices="skill_names", integer=False, hint=True),
            Input("pooled_department_ids", "checkboxes", choices="departments", hint=True),
            Input("ring_timeout_seconds", "number"),
            Input("wrap_up_seconds", "number"),
            Input("announce_every_seconds", "number", blank="null", hint=True),
            Input("max_length", "number", blank="null", hint=True),
            Input("on_max_wait", "select", choices="max_wait_actions", integer=False),
            Input("overflow_queue_id", "select", blank="null", choices="queues"),
            Input("recording", "select", choices="recording_modes", integer=False),
            Input("survey_flow", "select", blank="null", choices="flow_names", integer=False),
            Input(
                "qa_language",
                "select",
                blank="null",
                choices="qa_languages",
                integer=False,
                hint=True,
            ),
        ),
    ),
    Section(
        r.AGENTS,
        AgentCreate,
        AgentRead,
        (
            Column("extension"),
            Column("user_id", "users"),
            Column("department_id", "departments"),
            Column("skills"),
        ),
        (
            Input("extension", required=True, hint=True),
            Input("user_id", "select", required=True, choices="users"),
            DEPARTMENT,
            Input("skills", "levels", choices="skills", hint=True),
            Input("sip_password", "password", hint=True),
        ),
        label_field="extension",
    ),
    Section(
        r.SKILLS,
        SkillCreate,
        SkillRead,
        (Column("name"),),
        (Input("name", required=True),),
    ),
    Section(
        r.WRAPUP_CODES,
        WrapUpCodeCreate,
        WrapUpCodeRead,
        (Column("code"), Column("label"), Column("department_id", "departments")),
        (Input("code", required=True, hint=True), Input("label", required=True), DEPARTMENT),
        label_field="code",
    ),
)
add_section_routes(router, SECTIONS)
