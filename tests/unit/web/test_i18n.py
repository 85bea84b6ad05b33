"""The translation layer: negotiation, catalogs in step, every template key translated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hotline.acd.config import DEFAULT_BREAK_REASONS
from hotline.acd.states import AgentState
from hotline.store.models import Role
from hotline.web import i18n
from hotline.web.i18n import Translator, catalogs, negotiate, normalize
from hotline.web.routes.admin_qa import MESSAGE_PREFIXES as SCORECARD_KEYS
from hotline.web.routes.desktop import PROBLEM_KEYS, PROBLEM_OTHER
from hotline.web.routes.qa_console import MESSAGE_PREFIXES as QA_KEYS
from tests.unit.web.test_admin_i18n import ADMIN_KEYS

WEB = Path(i18n.__file__).parent
#: The values a template appends to a key prefix.
DYNAMIC_KEYS: dict[str, list[str]] = {
    "role.": [role.value for role in Role],
    "state.": [state.value for state in AgentState],
    "break.": sorted(DEFAULT_BREAK_REASONS),
    "disposition.": ["handled", "abandoned", "queue_exit", "ivr_only", "unanswered"],
    "ivr.": ["order_number", "language", "status_zh", "status_en"],  # the demo flow's
    **ADMIN_KEYS,
    **{prefix: list(values) for prefix, values in QA_KEYS.items()},
    **{prefix: list(values) for prefix, values in SCORECARD_KEYS.items()},
}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "zh-CN"),
        ("", "zh-CN"),
        ("en-US,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("fr-FR, en;q=0.5, zh;q=0.7", "zh-CN"),
        ("de, en-GB;q=0.3", "en"),
        ("de, fr", "zh-CN"),
        ("zh-Hans-CN", "zh-CN"),
        ("en;q=0, zh;q=0.1", "zh-CN"),
        ("*", "zh-CN"),
        ("en;q=abc, zh-TW;q=0.2", "zh-CN"),
        ("garbage;;;,,,", "zh-CN"),
    ],
)
def test_the_browser_language_picks_the_page_language(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_tags_normalize_to_known_languages() -> None:
    assert normalize("EN-gb") == "en"
    assert normalize("zh") == "zh-CN"
    assert normalize("ja") is None
    assert normalize("") is None


def test_catalogs_have_the_same_keys_and_placeholders() -> None:
    loaded = catalogs()
    en, zh = loaded["en"], loaded["zh-CN"]
    assert set(en) == set(zh), set(en) ^ set(zh)
    field = re.compile(r"\{(\w+)\}")
    for key in en:
        assert set(field.findall(en[key])) == set(field.findall(zh[key])), key
        assert en[key].strip(), key
        assert zh[key].strip(), key


def _keys_used() -> set[str]:
    """Literal keys in templates (t("…")) and Python (t("…"), page.t("…"), label="…")."""
    used: set[str] = set()
    call = re.compile(r"""\bt\(\s*["']([a-z0-9_.]+)["']""")
    for path in [*WEB.rglob("*.html"), *WEB.rglob("*.py")]:
        if path.name != "i18n.py":
            used |= set(call.findall(path.read_text(encoding="utf-8")))
    nav = re.compile(r"""NavItem\([^,]+,\s*["']([a-z0-9_.]+)["']""")
    used |= set(nav.findall((WEB / "pages.py").read_text(encoding="utf-8")))
    return used | set(PROBLEM_KEYS.values()) | {PROBLEM_OTHER}


def test_every_key_the_pages_use_is_translated() -> None:
    used = _keys_used()
    # A key ending in "." is a prefix completed at render time by a value of a closed set.
    dynamic = {key for key in used if key.endswith(".")}
    used -= dynamic
    for prefix in dynamic:
        values = DYNAMIC_KEYS[prefix]
        used |= {prefix + value for value in values}
    assert len(used) > 10  # the scan found the templates
    for language in i18n.LANGUAGES:
        missing = sorted(key for key in used if not Translator(language).has(key))
        assert not missing, f"{language}: {missing}"


def test_placeholders_are_filled_and_bad_parameters_do_not_crash() -> None:
    assert Translator("en")("login.throttled", seconds=7) == (
        "Too many failed attempts. Try again in 7 s."
    )
    assert "7" in Translator("zh-CN")("login.throttled", seconds=7)
    assert Translator("en")("login.throttled") == Translator("en")("login.throttled")
    assert Translator("en")("no.such.key") == "no.such.key"
    assert Translator("en")("login.throttled", wrong=1).startswith("Too many")
