"""The admin console's words exist in both languages, including keys built at render time
(a section's name, a field's label, a strategy's name)."""

from __future__ import annotations

from hotline.api.rbac import Permission
from hotline.api.schemas.queues import Strategy
from hotline.api.services.modules import module_names
from hotline.dialer.retry_rules import OUTCOMES
from hotline.store.campaigns import CONTACT_STATUSES
from hotline.web.i18n import LANGUAGES, Translator
from hotline.web.routes.admin import MENU
from hotline.web.routes.admin_campaigns import (
    ACTIONS,
    CAMPAIGN_FORM,
    LENDING_FORM,
    MODES,
    ROLES,
    STATUSES,
    TABS,
)
from hotline.web.routes.admin_choices import CHOICES
from tests.unit.web.conftest import ADMIN_SECTIONS as SECTIONS

#: The campaign pages' forms, which are not generated sections.
FORMS = (CAMPAIGN_FORM, LENDING_FORM)

#: Values of the key prefixes the admin templates complete at render time (test_i18n.py
#: checks every template's keys with these).
ADMIN_KEYS: dict[str, list[str]] = {
    "admin.section.": [slug for slug, _ in MENU],
    "admin.about.": [slug for slug, _ in MENU],
    "admin.field.": sorted(
        {spec.name for section in SECTIONS for spec in section.inputs}
        | {column.field for section in SECTIONS for column in section.columns}
        | {spec.name for form in FORMS for spec in form.inputs}
    ),
    "admin.hint.": [
        f"{section.slug}.{spec.name}"
        for section in SECTIONS
        for spec in section.inputs
        if spec.hint
    ]
    + [f"{form.slug}.{spec.name}" for form in FORMS for spec in form.inputs if spec.hint],
    "admin.done.": ["created", "saved", "deleted"],
    "admin.ivr.done.": [
        "created",
        "saved",
        "published",
        "saved_settings",
        "pilot_started",
        "pilot_promoted",
        "pilot_ended",
    ],
    "admin.day.": [str(day) for day in range(7)],
    "admin.day_short.": [str(day) for day in range(7)],
    "admin.perm.": [p.value for p in Permission],
    "campaign.done.": ["created", "saved", "deleted", *ACTIONS],
    "campaign.action.": list(ACTIONS),
    "campaign.status.": list(STATUSES),
    "campaign.mode.": list(MODES),
    "campaign.machine_action.": ["hangup", "message"],
    "campaign.contact_status.": list(CONTACT_STATUSES),
    "campaign.outcome.": list(OUTCOMES),
    "campaign.tab.": list(TABS),
    "campaign.import.role.": list(ROLES),
    "lending.done.": ["lent", "ended"],
    "modules.name.": module_names(),
    "modules.about.": module_names(),
    "modules.done.": ["on", "off"],
}
#: Keys the handlers build in Python.
BUILT_KEYS = [
    *(f"admin.strategy.{x.value}" for x in Strategy),
    *(f"admin.trunk_strategy.{x}" for x in ("priority", "weighted_round_robin", "least_used")),
    *(f"admin.transport.{x}" for x in ("udp", "tcp", "tls")),
    *(f"admin.dial_format.{x}" for x in ("national", "e164", "international")),
    *(f"admin.target.{x}" for x in ("queue", "ivr_flow", "agent")),
    *(f"admin.error.{x}" for x in ("number", "weekly", "rule", "conflict", "department_scope")),
]


def test_every_built_key_is_translated() -> None:
    for language in LANGUAGES:
        t = Translator(language)
        keys = [prefix + value for prefix, values in ADMIN_KEYS.items() for value in values]
        missing = [key for key in [*keys, *BUILT_KEYS] if not t.has(key)]
        assert missing == [], language


def test_every_choice_list_has_a_builder() -> None:
    wanted = {key for section in SECTIONS for key in section.choice_keys()}
    assert wanted <= set(CHOICES)


def test_every_menu_entry_has_its_pages() -> None:
    # The sections come from several page modules; none may be left out of the menu.
    pages = {section.slug for section in SECTIONS} | {"roles", "ivr-flows"}
    pages |= {"campaigns", "do-not-call"}  # admin_campaigns.py
    pages |= {"modules"}  # admin_modules.py
    pages |= {"qa-scorecards"}  # admin_qa.py
    assert {slug for slug, _ in MENU} == pages
