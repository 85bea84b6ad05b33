"""The wallboard's live risk alerts panel: there with the qa module (listening for
``qa.risk_alert_raised`` on the events WebSocket), absent without it; labels in both
languages."""

from __future__ import annotations

import html
import json
import re

from tests.unit.api.conftest import World
from tests.unit.web.conftest import browser_login


async def test_the_wallboard_lists_risk_alerts_with_the_qa_module(web: World) -> None:
    web.context.modules["qa"] = True
    supervisor = await browser_login(web, "supervisor", "zh-CN")
    page = await supervisor.get("/wallboard")
    assert page.status_code == 200
    assert 'data-testid="risk-alerts"' in page.text
    assert 'data-events="qa.risk_alert_raised"' in page.text
    assert "风险预警" in page.text
    found = re.search(
        r'<script type="application/json" id="live-messages">(.*?)</script>', page.text
    )
    assert found is not None
    labels = json.loads(html.unescape(found.group(1)))
    assert labels["legal_threat"] == "法律威胁"  # the category labels the script shows
    assert "/static/js/wallboard_alerts.js" in page.text
    script = await supervisor.get("/static/js/wallboard_alerts.js")
    assert script.status_code == 200
    assert "textContent = alert.text" in script.text  # words shown as text, not HTML


async def test_no_alerts_panel_without_the_qa_module(web: World) -> None:
    web.context.modules.pop("qa", None)
    admin = await browser_login(web, "admin", "en")
    page = await admin.get("/wallboard")
    assert page.status_code == 200
    assert "risk-alerts" not in page.text
    assert "wallboard_alerts.js" not in page.text
