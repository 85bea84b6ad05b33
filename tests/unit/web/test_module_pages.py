"""The admin console's Modules page: an administrator sees the dialer running and switches
it off and on; a supervisor has no such page; a module off in the settings cannot be
switched on here."""

from __future__ import annotations

import pytest

from tests.unit.api.conftest import World
from tests.unit.web.conftest import browser_login


@pytest.mark.parametrize("language", ["en", "zh-CN"])
async def test_an_admin_switches_a_module_off_and_on(web: World, language: str) -> None:
    admin = await browser_login(web, "admin", language)
    page = await admin.get("/admin/modules")
    assert page.status_code == 200
    running = "Running" if language == "en" else "运行中"
    assert running in page.text
    assert ("Outbound campaigns" if language == "en" else "外呼活动") in page.text
    off = await admin.post("/admin/modules/dialer", data={"enabled": "false"})
    assert off.status_code == 303
    page = await admin.get(off.headers["location"])
    assert ("Switched off" if language == "en" else "已关闭") in page.text
    assert ("switched off." if language == "en" else "已关闭外呼活动") in page.text
    on = await admin.post("/admin/modules/dialer", data={"enabled": "true"})
    assert running in (await admin.get(on.headers["location"])).text
    assert "/admin/modules" in (await admin.get("/admin")).text  # in the console's menu


async def test_a_supervisor_has_no_modules_page_and_uninstalled_ones_stay_off(
    web: World,
) -> None:
    supervisor = await browser_login(web, "supervisor", "en")
    assert (await supervisor.get("/admin/modules")).status_code == 403
    web.context.modules = {"dialer": False}
    admin = await browser_login(web, "admin", "en")
    page = await admin.get("/admin/modules")
    assert "Not installed" in page.text
    assert 'data-testid="module-switch"' not in page.text
    refused = await admin.post("/admin/modules/dialer", data={"enabled": "true"})
    assert refused.status_code == 409
    assert "restart" in refused.text
