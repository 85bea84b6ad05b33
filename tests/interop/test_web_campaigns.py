"""The campaign consoles in Debian's Chromium against a running demo node, in Chinese: an
admin creates a preview campaign in the form (a refusal shown next to its field first),
uploads a small CSV, chooses what each column holds, sees the dry run's problem by line,
imports it, lends another department's agents, starts the campaign and opens the live
view, whose tile the node's dialler fills within a few seconds; an agent of the campaign's
queue gets the preview card (next contact, a refused call, skip). Screenshots of each step
are saved in the test's tmp dir."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FilePayload, expect

# The admin console tests' demo node fixture (module scope: one node for this module).
from tests.interop.test_web_admin import Demo, demo, login  # noqa: F401

pytestmark = pytest.mark.interop

CSV = (
    "姓名,手机,座机,套餐,到期日\n"
    "王芳,138 0013 8000,,金卡,2026-12-31\n"
    "李雷,不是号码,,银卡,2027-01-15\n"  # line 3: no usable number
    "韩梅梅,+86 139 0013 9000,021 6888 8888,铜卡,2027-02-01\n"
)


def test_a_campaign_is_created_imported_started_and_watched_in_chinese(
    browser: Browser,
    demo: Demo,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    page = login(browser, demo, "admin", "zh-CN")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{demo.url}/admin/campaigns")
    expect(page.locator("h1")).to_have_text("外呼活动")
    page.click("[data-testid=new]")
    page.fill("input[name=name]", "spring-renewals")
    page.select_option("select[name=department_id]", label="sales")
    page.select_option("select[name=mode]", "preview")
    page.fill("input[name=abandon_target]", "0.5")  # over the API's 0.2 cap
    page.fill("input[name='calling_hours.0']", "00:00-24:00")
    page.fill("input[name='calling_hours.1']", "00:00-24:00")
    page.click("[data-testid=save]")
    # The API's refusals, next to their fields, in Chinese; what was typed is kept.
    expect(page.locator(".field-error[data-field=abandon_target]")).to_contain_text("0.2")
    expect(page.locator("input[name=name]")).to_have_value("spring-renewals")
    page.screenshot(path=str(tmp_path / "1-form-errors.png"), full_page=True)
    page.select_option("select[name=queue_id]", label="sales")
    page.fill("input[name=abandon_target]", "0.03")
    for day in range(2, 7):
        page.fill(f"input[name='calling_hours.{day}']", "00:00-24:00")
    page.fill("input[name='retry_rules.no_answer.delay_seconds']", "1800")
    page.click("[data-testid=save]")
    expect(page.locator("[data-testid=notice]")).to_contain_text("已创建外呼活动“spring-renewals”")
    expect(page.locator("[data-testid=campaign-status]")).to_have_text("草稿")

    # The list: upload, read the columns, choose, dry run, import.
    page.click("[data-testid=tab-import]")
    upload: FilePayload = {"name": "名单.csv", "mimeType": "text/csv", "buffer": CSV.encode()}
    page.set_input_files("[data-testid=import-file]", files=upload)
    page.click("[data-testid=read-columns]")
    expect(page.locator("[data-testid=mapping] tbody tr")).to_have_count(5)
    expect(page.locator("[data-testid='role-手机']")).to_have_value("phone")
    expect(page.locator("[data-testid='role-姓名']")).to_have_value("name")
    page.select_option("[data-testid='role-座机']", "phone")  # a second number
    page.click("[data-testid=dry-run]")
    outcome = page.locator("[data-testid=import-outcome]")
    expect(outcome).to_have_attribute("data-dry-run", "true")
    expect(outcome).to_contain_text("试运行：未保存任何数据")
    expect(page.locator("[data-testid=line-problems] tbody tr")).to_have_count(1)
    expect(page.locator("[data-testid=line-problems] tbody tr td").first).to_have_text("3")
    page.screenshot(path=str(tmp_path / "2-dry-run.png"), full_page=True)
    page.click("[data-testid=import]")
    expect(outcome).to_have_attribute("data-dry-run", "false")
    expect(page.locator("[data-testid=imported]")).to_have_text("2")
    page.click("[data-testid=to-contacts]")
    contacts = page.locator("[data-testid=contacts] tbody tr")
    expect(contacts).to_have_count(2)
    expect(contacts.nth(1)).to_contain_text("+862168888888")
    expect(contacts.nth(1)).to_contain_text("套餐: 铜卡")
    page.screenshot(path=str(tmp_path / "3-contacts.png"), full_page=True)

    # Lend the after-sales agents for a day (times in the campaign's zone).
    page.click("[data-testid=tab-lendings]")
    page.select_option("select[name=department_id]", label="after-sales")
    page.fill("[data-testid=starts_at]", "2026-12-08T09:00")
    page.fill("[data-testid=ends_at]", "2026-12-08T18:00")
    page.fill("input[name=note]", "淡季支援")
    page.click("[data-testid=lend]")
    expect(page.locator("[data-testid=notice]")).to_have_text("已借调坐席。")
    lending = page.locator("[data-testid=lendings] tbody tr")
    expect(lending).to_have_count(1)
    expect(lending).to_contain_text("2026-12-08 09:00")
    expect(lending).to_contain_text("淡季支援")
    page.screenshot(path=str(tmp_path / "4-lendings.png"), full_page=True)

    # Start it, then watch it live.
    page.click("[data-testid=campaign-start]")
    expect(page.locator("[data-testid=notice]")).to_contain_text("已启动“spring-renewals”")
    expect(page.locator("[data-testid=campaign-status]")).to_have_text("运行中")
    page.screenshot(path=str(tmp_path / "5-overview.png"), full_page=True)
    page.click("[data-testid=live-view]")
    expect(page.locator("h1")).to_have_text("外呼活动实时")
    tile = page.locator("[data-testid=campaign-tile][data-campaign=spring-renewals]")
    expect(tile).to_be_visible()
    # The dialler picks the campaign up within seconds; the tiles refresh every 3 s.
    expect(tile.locator("[data-testid=abandon-meter]")).to_be_visible(timeout=30_000)
    expect(tile.locator("[data-testid=abandon-meter]")).to_have_attribute("data-cap", "0.0300")
    expect(tile).to_contain_text("坐席占用率")
    expect(tile.locator("[data-testid=lifetime]")).to_contain_text("剩余 2 个联系人")
    expect(tile.locator("[data-testid=pacing]")).to_have_text(re.compile(r"^\d+\.\d\d"))
    page.screenshot(path=str(tmp_path / "6-live.png"), full_page=True)

    # Agent 1001 serves the sales queue: the desktop's preview card offers the contacts.
    desk = login(browser, demo, "1001", "zh-CN")
    desk.set_viewport_size({"width": 1366, "height": 900})
    desk.goto(f"{demo.url}/desktop")
    # Logged out, an agent is shown no contact to call: log in (ready) first.
    desk.click("[data-testid=go-available]")
    expect(desk.locator("[data-testid=go-available]")).to_be_disabled()
    desk.click("[data-testid=preview-next]")
    card = desk.locator("[data-testid=preview-card]")
    expect(card).to_contain_text("王芳", timeout=15_000)
    expect(card).to_contain_text("+8613800138000")
    expect(card).to_contain_text("金卡")
    expect(card).to_contain_text("从未拨打")
    desk.screenshot(path=str(tmp_path / "8-preview.png"), full_page=True)
    # The demo's phones are not registered: the call is refused, the contact stays theirs.
    desk.click("[data-testid=preview-call]")
    expect(desk.locator("#desk-preview [data-testid=problem]")).to_contain_text("无法发起呼叫")
    desk.click("[data-testid=preview-next]")
    expect(card).to_contain_text("王芳")
    desk.click("[data-testid=preview-skip]")
    expect(desk.locator("[data-testid=preview-note]")).to_contain_text("已跳过")
    desk.context.close()

    # Pause from the list; the live view follows.
    page.goto(f"{demo.url}/admin/campaigns")
    page.locator("tr[data-campaign=spring-renewals] [data-testid=pause]").click()
    expect(page.locator("tr[data-campaign=spring-renewals] [data-testid=status]")).to_have_text(
        "已暂停"
    )
    page.screenshot(path=str(tmp_path / "7-list.png"), full_page=True)

    # The module itself: switched off from the console, then on again.
    page.goto(f"{demo.url}/admin/modules")
    row = page.locator("tr[data-module=dialer]")
    expect(row.locator("[data-testid=module-state]")).to_have_text("运行中")
    row.locator("[data-testid=module-switch]").click()
    expect(page.locator("[data-testid=done]")).to_contain_text("已关闭外呼活动")
    expect(row.locator("[data-testid=module-state]")).to_contain_text("已关闭")
    page.screenshot(path=str(tmp_path / "9-modules.png"), full_page=True)
    row.locator("[data-testid=module-switch]").click()
    expect(row.locator("[data-testid=module-state]")).to_have_text("运行中")
    page.context.close()
