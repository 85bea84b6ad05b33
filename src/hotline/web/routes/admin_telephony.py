"""The admin console's pages for how calls reach the centre and leave it: trunks, trunk
groups, inbound routes and the business hours routes follow (``/admin/trunks``,
``/trunk-groups``, ``/inbound-routes``, ``/business-hours``); all need ``config:write``.
"""

from __future__ import annotations

from fastapi import APIRouter

from hotline.api.schemas.business_hours import BusinessHoursCreate, BusinessHoursRead
from hotline.api.schemas.inbound_routes import InboundRouteCreate, InboundRouteRead
from hotline.api.schemas.trunk_groups import TrunkGroupCreate, TrunkGroupRead
from hotline.api.schemas.trunks import TrunkCreate, TrunkRead
from hotline.api.services import resources as r
from hotline.web.admin_forms import Input
from hotline.web.pages import ADMIN_PREFIX
from hotline.web.routes.admin_sections import Column, Section, add_section_routes

router = APIRouter(prefix=ADMIN_PREFIX, include_in_schema=False)
SECTIONS: tuple[Section, ...] = (
    Section(
        r.TRUNKS,
        TrunkCreate,
        TrunkRead,
        (
            Column("name"),
            Column("host"),
            Column("port"),
            Column("transport"),
            Column("max_channels"),
            Column("priority"),
            Column("enabled"),
        ),
        (
            Input("name", required=True),
            Input("host", required=True),
            Input("port", "number"),
            Input("transport", "select", choices="transports", integer=False),
            Input("username", blank="null"),
            Input("password", "password", hint=True),
            Input("max_channels", "number"),
            Input("priority", "number", hint=True),
            Input("weight", "number"),
            Input("dial_format", "select", choices="dial_formats", integer=False),
            Input("caller_id", blank="null", hint=True),
            Input("enabled", "checkbox"),
        ),
    ),
    Section(
        r.TRUNK_GROUPS,
        TrunkGroupCreate,
        TrunkGroupRead,
        (Column("name"), Column("strategy", "trunk_strategies"), Column("trunk_ids", "trunks")),
        (
            Input("name", required=True),
            Input("strategy", "select", choices="trunk_strategies", integer=False),
            Input("trunk_ids", "order", required=True, choices="trunks", hint=True),
            Input("failover_on", "csv", hint=True),
        ),
    ),
    Section(
        r.INBOUND_ROUTES,
        InboundRouteCreate,
        InboundRouteRead,
        (
            Column("did"),
            Column("trunk_id", "trunks"),
            Column("target"),
            Column("business_hours_id", "business_hours"),
        ),
        (
            Input("did", required=True, hint=True),
            Input(
                "target",
                "target",
                required=True,
                choices="targets",
                covers=("target_type", "target_id"),
            ),
            Input("trunk_id", "select", blank="null", choices="trunks"),
            Input("business_hours_id", "select", blank="null", choices="business_hours"),
        ),
        label_field="did",
    ),
    Section(
        r.BUSINESS_HOURS,
        BusinessHoursCreate,
        BusinessHoursRead,
        (Column("name"), Column("timezone"), Column("weekly"), Column("holidays")),
        (
            Input("name", required=True),
            Input("timezone", hint=True),
            Input("weekly", "weekly", hint=True),
            Input("holidays", "lines", hint=True),
        ),
    ),
)
add_section_routes(router, SECTIONS)
