"""The admin console in Debian's Chromium against a running demo node: an admin creates a
queue and a wrap-up code and finds them listed, fixes an IVR flow whose error points at
its node, works in Chinese; an agent and a supervisor get 403 where they may not go."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from tests.conftest import HotlineProcess
from tests.support.ivr import MENU_FLOW, MENU_FLOW_TYPO
from tests.support.web import log_in

pytestmark = pytest.mark.interop


@dataclass
class Demo:
    url: str
    passwords: dict[str, str]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """One demo node for the module (a start costs seconds on a loaded machine)."""
    data = tmp_path_factory.mktemp("admin-demo")
    cache = tmp_path_factory.mktemp("admin-prompts")
    process = HotlineProcess(
        ["demo", "--http-port", "0", "--sip-port", "0", "--data-dir", str(data)],
        {"HOTLINE_PROMPT_CACHE_DIR": str(cache)},
    )
    try:
        match = re.search(r"http://127\.0\.0\.1:\d+", process.wait_for("http listening", 60))
        assert match
        process.wait_for("demo hotline number", 60)  # after the agents' passwords
        log = "".join(process.lines)
        passwords = dict(re.findall(r"demo user created: (\w+) / (\S+)", log))
        passwords |= dict(re.findall(r"demo agent (\d+): SIP user '\d+', password '([^']+)'", log))
        assert {"admin", "supervisor", "1001"} <= set(passwords), log
        yield Demo(match.group(0), passwords)
    finally:
        if process.proc.poll() is None:
            assert process.terminate(timeout=60) == 0


def login(browser: Browser, demo: Demo, username: str, language: str = "en") -> Page:
    return log_in(browser, demo.url, demo.passwords, username, language)


def test_admin_creates_a_queue_and_a_wrapup_code_and_sees_them_listed(
    browser: Browser, demo: Demo
) -> None:
    page = login(browser, demo, "admin")
    page.goto(f"{demo.url}/admin/queues")
    page.click("[data-testid=new]")
    page.fill("input[name=name]", "vip-callers")
    page.select_option("select[name=department_id]", label="sales")
    page.select_option("select[name=strategy]", "ring-all")
    page.fill("input[name=max_wait_seconds]", "0")
    page.click("button[type=submit].primary")
    # Refused next to the field, what was typed kept.
    expect(page.locator(".field-error[data-field=max_wait_seconds]")).to_contain_text("At least 1")
    expect(page.locator("input[name=name]")).to_have_value("vip-callers")
    page.fill("input[name=max_wait_seconds]", "300")
    page.click("button[type=submit].primary")
    expect(page.locator("[data-testid=notice]")).to_contain_text("“vip-callers” created.")
    row = page.locator("[data-testid=list] tr", has_text="vip-callers")
    expect(row).to_contain_text("Ring all")
    expect(row).to_contain_text("300")

    page.goto(f"{demo.url}/admin/wrapup-codes/new")
    page.fill("input[name=code]", "callback")
    page.fill("input[name=label]", "Customer asked for a call back")
    page.select_option("select[name=department_id]", label="sales")
    page.click("button[type=submit].primary")
    expect(page.locator("[data-testid=list]")).to_contain_text("Customer asked for a call back")

    # Delete asks first, then removes.
    page.locator("[data-testid=list] tr", has_text="callback").locator("a.danger").click()
    expect(page.locator("h1")).to_have_text("Delete for good?")
    page.click("button.danger")
    expect(page.locator("[data-testid=notice]")).to_contain_text("deleted")
    expect(page.locator("body")).not_to_contain_text("Customer asked for a call back")
    page.context.close()


def test_an_invalid_ivr_flow_points_at_its_node_and_the_fix_is_a_new_version(
    browser: Browser, demo: Demo
) -> None:
    page = login(browser, demo, "admin")
    page.goto(f"{demo.url}/admin/ivr-flows/new")
    page.fill("input[name=name]", "after-hours")
    page.select_option("select[name=department_id]", label="sales")
    page.fill("textarea[name=yaml]", MENU_FLOW)
    page.click("button[type=submit].primary")
    expect(page.locator("[data-testid=notice]")).to_contain_text("version 1")

    # An uploaded file with a typo is refused: the error points at the node and its line,
    # the uploaded text is in the editor, and the line is marked in the listing.
    upload: FilePayload = {
        "name": "after-hours.yaml",
        "mimeType": "application/yaml",
        "buffer": MENU_FLOW_TYPO.encode(),
    }
    page.set_input_files("[data-testid=ivr-file]", files=upload)
    page.click("[data-testid=ivr-save]")
    problem = page.locator("[data-testid=ivr-problems] li").first
    expect(problem).to_contain_text("Line 8")
    expect(problem).to_contain_text("node menu")
    expect(problem).to_contain_text("no node 'salse'")
    expect(page.locator("#line-8.bad")).to_contain_text('"1": salse')
    expect(page.locator("#line-8 .problem")).to_contain_text("node menu")
    expect(page.locator("textarea[name=yaml]")).to_have_value(MENU_FLOW_TYPO)
    expect(page.locator("[data-testid=versions] tr[data-version]")).to_have_count(1)
    # The check button asks the validator about the edited text without saving (htmx).
    page.fill("textarea[name=yaml]", MENU_FLOW_TYPO.replace("on_failure: bye", "on_failure: byee"))
    page.click("[data-testid=ivr-check]")
    expect(page.locator("[data-testid=ivr-problems] li")).to_have_count(2)
    expect(page.locator("[data-testid=ivr-problems]")).to_contain_text("no node 'byee'")

    edited = MENU_FLOW.replace("Press 1 for sales", "Press 1 for sales now")
    page.fill("textarea[name=yaml]", edited)
    page.check("input[name=publish]")
    page.click("[data-testid=ivr-save]")
    expect(page.locator("[data-testid=notice]")).to_contain_text("Version 2 published.")
    expect(page.locator("[data-testid=versions] tr[data-version]")).to_have_count(2)
    expect(page.locator("tr[data-version='2']")).to_contain_text("published")
    expect(page.locator("textarea[name=yaml]")).to_have_value(re.compile("# after-hours menu"))
    page.context.close()


def test_a_supervisor_pilots_a_new_version_in_their_department_and_promotes_it(
    browser: Browser, demo: Demo
) -> None:
    admin = login(browser, demo, "admin")
    admin.goto(f"{demo.url}/admin/ivr-flows/new")
    admin.fill("input[name=name]", "pilot-menu")
    admin.select_option("select[name=department_id]", label="after-sales")
    admin.fill("textarea[name=yaml]", MENU_FLOW)
    admin.click("button[type=submit].primary")
    expect(admin.locator("[data-testid=notice]")).to_contain_text("version 1")
    flow_url = admin.url.split("?")[0]
    admin.fill("textarea[name=yaml]", MENU_FLOW.replace("Press 1 for sales", "Press 1, new menu"))
    admin.check("input[name=publish]")
    admin.click("[data-testid=ivr-save]")
    admin.locator("tr[data-version='1'] button").click()  # v1 stays published, v2 is new
    expect(admin.locator("tr[data-version='1']")).to_contain_text("published")
    admin.context.close()

    # The demo's supervisor belongs to after-sales: they pilot v2 there.
    page = login(browser, demo, "supervisor")
    page.goto(flow_url)
    expect(page.locator("[data-testid=no-pilots]")).to_be_visible()
    page.select_option("[data-testid=pilot-department]", label="after-sales")
    page.select_option("[data-testid=pilot-version]", "2")
    page.click("[data-testid=pilot-start]")
    expect(page.locator("[data-testid=notice]")).to_contain_text("Pilot of version 2 started.")
    expect(page.locator("[data-testid=pilots] tbody tr")).to_have_count(1)
    expect(page.locator("[data-testid=pilots] tbody tr")).to_contain_text("after-sales")
    page.click("[data-testid=pilot-promote]")
    expect(page.locator("[data-testid=notice]")).to_contain_text("Version 2 published")
    expect(page.locator("tr[data-version='2']")).to_contain_text("published")
    expect(page.locator("[data-testid=no-pilots]")).to_be_visible()
    page.context.close()


def test_the_console_speaks_chinese(browser: Browser, demo: Demo) -> None:
    page = login(browser, demo, "admin", "zh-CN")
    page.goto(f"{demo.url}/admin")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("h1")).to_have_text("系统管理")
    expect(page.locator(".admin-menu")).to_contain_text("队列")
    expect(page.locator(".admin-menu")).to_contain_text("话后小结代码")
    page.goto(f"{demo.url}/admin/queues/new")
    page.click("button[type=submit].primary")
    expect(page.locator(".field-error[data-field=name]")).to_contain_text("必填项")
    page.goto(f"{demo.url}/admin/ivr-flows/new")
    page.fill("textarea[name=yaml]", MENU_FLOW_TYPO)
    page.click("[data-testid=ivr-check]")
    expect(page.locator("[data-testid=ivr-problems] li").first).to_contain_text("第 8 行")
    # The switch in the top bar turns the same page to English.
    page.click("form.language button[value=en]")
    expect(page.locator("h1")).to_contain_text("IVR flows")
    page.context.close()


def test_agents_and_supervisors_get_403_where_they_may_not_go(browser: Browser, demo: Demo) -> None:
    agent = login(browser, demo, "1001")
    for path in ("/admin", "/admin/queues", "/admin/ivr-flows/new"):
        response = agent.goto(f"{demo.url}{path}")
        assert response is not None
        assert response.status == 403, path
        expect(agent.locator("[data-testid=error-message]")).to_contain_text("may not open")
    agent.context.close()

    supervisor = login(browser, demo, "supervisor")
    for path in ("/admin/trunks", "/admin/users", "/admin/inbound-routes/new"):
        response = supervisor.goto(f"{demo.url}{path}")
        assert response is not None
        assert response.status == 403, path
    # Their own department's queues they do manage, and only theirs are offered.
    response = supervisor.goto(f"{demo.url}/admin/queues/new")
    assert response is not None
    assert response.status == 200
    options = supervisor.locator("select[name=department_id] option").all_inner_texts()
    assert [o for o in options if o != "—"] == ["after-sales"]
    supervisor.context.close()
