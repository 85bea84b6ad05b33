"""The admin console's campaign pages over a real database: every page renders in both
languages for an admin and a supervisor, read-only for an auditor, 403 for an agent; the
settings form stores through the API's service and shows the API's refusals next to their
field; start / pause / stop; the list import in its steps; do-not-call lists; lendings."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.unit.api.conftest import World
from tests.unit.web.conftest import browser_login

API = "/api/v1/campaigns"
HAN = re.compile(r"[\u4e00-\u9fff]")
LIST = (
    "姓名,手机,座机,套餐\n"
    "Li Lei,138 0013 8000,,gold\n"  # line 2
    "Han Meimei,not a number,,silver\n"  # line 3: no usable number
    "Wang Wu,+86 139 0013 9000,021 6888 8888,bronze\n"  # line 4
).encode()


async def _campaign(web: World, name: str = "renewals", dept: str = "A", **values: Any) -> None:
    body = {
        "name": name,
        "department_id": web.ids[f"dept_{dept}"],
        "queue_id": web.ids[f"queue_{dept}"],
        **values,
    }
    response = await web.clients["admin"].post(API, json=body)
    assert response.status_code == 201, response.text


async def _get(web: World, name: str = "renewals") -> dict[str, Any]:
    found: dict[str, Any] = (await web.clients["admin"].get(f"{API}/{name}")).json()
    return found


def _pages(name: str) -> list[str]:
    base = f"/admin/campaigns/{name}"
    return [
        "/admin/campaigns",
        "/admin/campaigns/new",
        "/admin/do-not-call",
        base,
        base + "/settings",
        base + "/contacts",
        base + "/contacts?status=pending",
        base + "/attempts",
        base + "/import",
        base + "/do-not-call",
        base + "/lendings",
        base + "/delete",
    ]


def _no_raw_keys(text: str) -> bool:
    visible = re.sub(r'[a-z-]+="[^"]*"', "", text)
    return not re.search(r"\b(admin|campaign|dnc|lending)\.[a-z_]+", visible)


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("username", ["admin", "supervisor"])
async def test_every_campaign_page_renders(
    web: World, clients, language: str, username: str
) -> None:
    await _campaign(web)
    user = await browser_login(web, username, language)
    for path in _pages("renewals"):
        response = await user.get(path)
        assert response.status_code == 200, (path, response.text[:800])
        assert f'<html lang="{language}">' in response.text
        assert _no_raw_keys(response.text), (path, response.text)
        title = re.search(r"<h1>(.*?)</h1>", response.text, re.S)
        assert title is not None, path
        assert bool(HAN.search(title.group(1))) == (language == "zh-CN"), (path, title.group(1))
    menu = (await user.get("/admin")).text
    assert 'href="/admin/campaigns"' in menu
    assert 'href="/admin/do-not-call"' in menu


async def test_roles_open_what_their_permissions_allow(web: World, clients) -> None:
    await _campaign(web)
    await _campaign(web, "other-dept", "B")
    agent = await browser_login(web, "agent")
    for path in ["/admin/campaigns", "/admin/do-not-call", "/admin/campaigns/renewals"]:
        assert (await agent.get(path)).status_code == 403, path
    assert (await agent.post("/admin/campaigns/renewals/start")).status_code == 403

    # A supervisor has their departments' campaigns; another's is "not found".
    supervisor = await browser_login(web, "supervisor")
    listed = (await supervisor.get("/admin/campaigns")).text
    assert "renewals" in listed
    assert "other-dept" not in listed
    assert (await supervisor.get("/admin/campaigns/other-dept")).status_code == 404

    # An auditor reads campaigns, without a button to change them.
    auditor = await browser_login(web, "auditor")
    index = await auditor.get("/admin")
    assert index.status_code == 200
    assert 'href="/admin/campaigns"' in index.text
    assert 'href="/admin/queues"' not in index.text
    listed = (await auditor.get("/admin/campaigns")).text
    assert "renewals" in listed
    assert "other-dept" in listed
    assert 'data-testid="new"' not in listed
    assert 'data-testid="start"' not in listed
    overview = (await auditor.get("/admin/campaigns/renewals")).text
    assert 'data-testid="campaign-start"' not in overview
    assert 'data-testid="tab-import"' not in overview
    settings = (await auditor.get("/admin/campaigns/renewals/settings")).text
    assert 'data-testid="save"' not in settings
    assert '<fieldset class="plain" disabled>' in settings
    assert 'data-testid="dnc-form"' not in (await auditor.get("/admin/do-not-call")).text
    for path in ["/admin/campaigns/new", "/admin/campaigns/renewals/import"]:
        assert (await auditor.get(path)).status_code == 403, path
    assert (await auditor.post("/admin/campaigns/renewals/start")).status_code == 403


async def test_a_campaign_made_in_the_form_is_stored_with_every_setting(
    web: World, clients
) -> None:
    admin = await browser_login(web, "admin")
    form = {
        "name": "winter-sale",
        "department_id": str(web.ids["dept_A"]),
        "mode": "predictive",
        "queue_id": str(web.ids["queue_A"]),
        "caller_id": "+862100000000",
        "abandon_target": "0.02",
        "max_ratio": "2.5",
        "priority": "5",
        "calling_hours.0": "09:00-12:00, 14:00-20:00",
        "calling_hours.1": "09:00-20:00",
        "calling_hours.5": "10:00-18:00",
        "default_region": "CN",
        "default_time_zone": "Asia/Shanghai",
        "retry_rules.busy.delay_seconds": "300",
        "retry_rules.busy.max_attempts": "5",
        "retry_rules.congestion_delay_seconds": "60",
        "amd_enabled": "on",
        "machine_action": "message",
        "machine_message": "您好，我们稍后再联系您。",
        "abandon_message": "请稍候。",
    }
    created = await admin.post("/admin/campaigns/new", data=form)
    assert created.status_code == 303, created.text
    assert created.headers["location"].startswith("/admin/campaigns/winter-sale?done=created")
    stored = await _get(web, "winter-sale")
    assert stored["calling_hours"] == {
        "mon": "09:00-12:00,14:00-20:00",
        "tue": "09:00-20:00",
        "sat": "10:00-18:00",
    }
    assert stored["retry_rules"] == {
        "busy": {"delay_seconds": 300, "max_attempts": 5},
        "congestion_delay_seconds": 60,
    }
    assert (stored["abandon_target"], stored["max_ratio"], stored["mode"]) == (
        0.02,
        2.5,
        "predictive",
    )
    assert (stored["amd_enabled"], stored["machine_action"]) == (True, "message")
    assert stored["status"] == "draft"

    # The edit form shows what is stored, by weekday; saving it unchanged changes nothing.
    page = (await admin.get("/admin/campaigns/winter-sale/settings")).text
    assert 'name="calling_hours.0" value="09:00-12:00, 14:00-20:00"' in page
    assert (
        'name="retry_rules.busy.max_attempts" class="short-wide" inputmode="numeric" value="5"'
        in (page)
    )
    overview = (await admin.get("/admin/campaigns/winter-sale")).text
    assert "Mon 09:00-12:00, 14:00-20:00; Tue 09:00-20:00; Sat 10:00-18:00" in overview
    form.update({"priority": "7", "calling_hours.5": ""})
    saved = await admin.post("/admin/campaigns/winter-sale/settings", data=form)
    assert saved.status_code == 303, saved.text
    stored = await _get(web, "winter-sale")
    assert stored["priority"] == 7
    assert "sat" not in stored["calling_hours"]
    # Days with the same hours are stored as one range, as the API's settings form.
    every_day = {f"calling_hours.{day}": "08:00-21:00" for day in range(5)}
    await admin.post("/admin/campaigns/winter-sale/settings", data={**form, **every_day})
    assert (await _get(web, "winter-sale"))["calling_hours"] == {"mon-fri": "08:00-21:00"}
    overview = (await admin.get("/admin/campaigns/winter-sale")).text
    assert "Mon\u2013Fri 08:00-21:00" in overview


async def test_the_api_refusals_stand_next_to_their_field(web: World, clients) -> None:
    admin = await browser_login(web, "admin")
    base = {"name": "bad", "department_id": str(web.ids["dept_A"])}
    cases = [
        ({"mode": "robot"}, "flow", "a robot campaign runs an IVR flow"),
        (
            {"queue_id": str(web.ids["queue_A"]), "abandon_target": "0.5"},
            "abandon_target",
            "At most 0.2",
        ),
        (
            {"queue_id": str(web.ids["queue_A"]), "abandon_target": "a lot"},
            "abandon_target",
            "Enter a number",
        ),
        (
            {"queue_id": str(web.ids["queue_A"]), "calling_hours.2": "20:00-09:00"},
            "calling_hours",
            "crosses midnight",
        ),
        (
            {"queue_id": str(web.ids["queue_A"]), "retry_rules.busy.max_attempts": "0"},
            "retry_rules",
            "max_attempts",
        ),
        (
            {"queue_id": str(web.ids["queue_A"]), "default_time_zone": "Mars/Base"},
            "default_time_zone",
            "Mars/Base",
        ),
        (
            {"queue_id": str(web.ids["queue_A"]), "name": "has space"},
            "name",
            "Not in the expected form",
        ),
    ]
    for extra, field, words in cases:
        response = await admin.post("/admin/campaigns/new", data={**base, **extra})
        assert response.status_code == 422, (extra, response.text[:300])
        errors = re.findall(
            rf'<p class="error field-error" data-field="{field}"[^>]*>(.*?)</p>', response.text
        )
        assert errors, (field, response.text[-3000:])
        assert words in " ".join(errors), (field, errors)
    # What was typed is shown again.
    response = await admin.post(
        "/admin/campaigns/new", data={**base, "mode": "robot", "caller_id": "+8610"}
    )
    assert 'value="+8610"' in response.text
    assert (await web.clients["admin"].get(f"{API}/bad")).status_code == 404
    # Chinese lead-ins in zh-CN.
    zh = await browser_login(web, "admin", "zh-CN")
    response = await zh.post("/admin/campaigns/new", data={**base, "mode": "robot"})
    assert "不允许" in response.text or "不符合" in response.text


async def test_start_pause_stop_and_a_refused_change(web: World, clients) -> None:
    await _campaign(web)
    admin = await browser_login(web, "admin")
    started = await admin.post("/admin/campaigns/renewals/start", data={"next": "/admin/campaigns"})
    assert started.status_code == 303
    assert started.headers["location"].startswith("/admin/campaigns?done=start")
    assert (await _get(web))["status"] == "running"
    listed = (await admin.get(started.headers["location"])).text
    assert "“renewals” started." in listed
    assert 'data-testid="pause"' in listed
    again = await admin.post("/admin/campaigns/renewals/start")
    assert again.status_code == 409
    assert "renewals" in again.text
    assert "running" in again.text
    assert (await admin.post("/admin/campaigns/renewals/pause")).status_code == 303
    assert (await _get(web))["status"] == "paused"
    assert (await admin.post("/admin/campaigns/renewals/stop")).status_code == 303
    assert (await _get(web))["status"] == "stopped"
    deleted = await admin.post("/admin/campaigns/renewals/delete")
    assert deleted.status_code == 303
    assert (await web.clients["admin"].get(f"{API}/renewals")).status_code == 404


async def test_a_running_campaign_is_not_deleted(web: World, clients) -> None:
    await _campaign(web)
    admin = await browser_login(web, "admin")
    await admin.post("/admin/campaigns/renewals/start")
    refused = await admin.post("/admin/campaigns/renewals/delete")
    assert refused.status_code == 409
    assert "stop it before deleting it" in refused.text


def _files(content: bytes = LIST, filename: str = "名单.csv") -> dict[str, Any]:
    return {"file": (filename, content, "text/csv")}


async def test_a_list_is_imported_in_steps_with_problems_by_line(web: World, clients) -> None:
    await _campaign(web)
    admin = await browser_login(web, "admin")
    url = "/admin/campaigns/renewals/import"
    htmx = {"HX-Request": "true"}
    header = await admin.post(url, data={"step": "header"}, files=_files(), headers=htmx)
    assert header.status_code == 200, header.text
    assert "<html" not in header.text  # a fragment for htmx
    # The roles are guessed from the column names.
    for column, role in (("姓名", "name"), ("手机", "phone"), ("座机", "data"), ("套餐", "data")):
        select = re.search(rf'data-testid="role-{column}">(.*?)</select>', header.text, re.S)
        assert select is not None, column
        assert f'<option value="{role}" selected>' in select.group(1), column

    mapping = {
        "column.0": "姓名",
        "role.0": "name",
        "column.1": "手机",
        "role.1": "phone",
        "column.2": "座机",
        "role.2": "phone",
        "column.3": "套餐",
        "role.3": "data",
    }
    dry = await admin.post(url, data={**mapping, "step": "dry_run"}, files=_files(), headers=htmx)
    assert dry.status_code == 200, dry.text
    assert 'data-dry-run="true"' in dry.text
    problems = re.search(r'data-testid="line-problems">(.*?)</table>', dry.text, re.S)
    assert problems is not None
    assert "<td>3</td>" in problems.group(1)  # Han Meimei's row
    assert (await web.clients["admin"].get(f"{API}/renewals/contacts")).json()["count"] == 0

    done = await admin.post(url, data={**mapping, "step": "import"}, files=_files(), headers=htmx)
    assert done.status_code == 200, done.text
    assert 'data-dry-run="false"' in done.text
    assert re.search(r'data-testid="imported">2<', done.text)
    contacts = (await web.clients["admin"].get(f"{API}/renewals/contacts")).json()["items"]
    assert [c["name"] for c in contacts] == ["Li Lei", "Wang Wu"]
    assert contacts[1]["phones"] == ["+8613900139000", "+862168888888"]
    assert contacts[0]["data"] == {"套餐": "gold"}

    page = (await admin.get("/admin/campaigns/renewals/contacts")).text
    assert "Wang Wu" in page
    assert "+862168888888" in page
    assert "套餐: bronze" in page
    overview = (await admin.get("/admin/campaigns/renewals")).text
    assert re.search(r"status=pending\">2<", overview)


async def test_import_refusals_are_shown(web: World, clients) -> None:
    await _campaign(web)
    admin = await browser_login(web, "admin", "zh-CN")
    url = "/admin/campaigns/renewals/import"
    htmx = {"HX-Request": "true"}
    no_file = await admin.post(url, data={"step": "header"}, headers=htmx)
    assert no_file.status_code == 422
    assert "请先选择文件" in no_file.text
    no_phone = {"column.0": "姓名", "role.0": "name", "column.1": "手机", "role.1": "data"}
    response = await admin.post(
        url, data={**no_phone, "step": "dry_run"}, files=_files(), headers=htmx
    )
    assert response.status_code == 422
    assert "请至少将一列标为电话号码" in response.text
    broken = await admin.post(
        url,
        data={"column.0": "mobile", "role.0": "phone", "step": "import"},
        files=_files(b"\x00\x01\x02binary", "list.csv"),
        headers=htmx,
    )
    assert broken.status_code == 422
    assert "名单无法使用" in broken.text
    # Without JavaScript the whole page comes back.
    page = await admin.post(url, data={"step": "header"}, files=_files())
    assert page.status_code == 200
    assert "<html" in page.text
    assert "手机" in page.text


async def test_do_not_call_lists(web: World, clients) -> None:
    await _campaign(web)
    admin = await browser_login(web, "admin")
    added = await admin.post(
        "/admin/campaigns/renewals/do-not-call",
        data={"numbers": "138 0013 8000\nnot a number\n+8613800138000", "reason": "asked"},
    )
    assert added.status_code == 200, added.text
    assert "1 added." in added.text
    assert "<code>not a number</code>" in added.text
    again = await admin.post(
        "/admin/campaigns/renewals/do-not-call", data={"numbers": "13800138000"}
    )
    assert "0 added. Already listed: +8613800138000." in again.text
    entries = (await web.clients["admin"].get(f"{API}/renewals/do-not-call")).json()["items"]
    assert [e["number"] for e in entries] == ["+8613800138000"]
    empty = await admin.post("/admin/do-not-call", data={"numbers": " "})
    assert empty.status_code == 422
    assert "Enter at least one number." in empty.text

    glob = await admin.post("/admin/do-not-call", data={"numbers": "13900139000"})
    assert "1 added." in glob.text
    (entry,) = (await web.clients["admin"].get("/api/v1/do-not-call")).json()["items"]
    # A supervisor adds to the global list but does not see "remove" there.
    supervisor = await browser_login(web, "supervisor")
    page = (await supervisor.get("/admin/do-not-call")).text
    assert "+8613900139000" in page
    assert 'data-testid="dnc-remove"' not in page
    refused = await supervisor.post(f"/admin/do-not-call/{entry['id']}/delete")
    assert refused.status_code == 403
    own = (await supervisor.get("/admin/campaigns/renewals/do-not-call")).text
    assert 'data-testid="dnc-remove"' in own

    removed = await admin.post(
        f"/admin/do-not-call/{entry['id']}/delete", data={"next": "/admin/do-not-call"}
    )
    assert removed.status_code == 303
    assert removed.headers["location"] == "/admin/do-not-call?done=removed"
    assert (await web.clients["admin"].get("/api/v1/do-not-call")).json()["count"] == 0


async def test_lending_a_department_for_a_period(web: World, clients) -> None:
    await _campaign(web)
    admin = await browser_login(web, "admin")
    url = "/admin/campaigns/renewals/lendings"
    form = {
        "department_id": str(web.ids["dept_B"]),
        "starts_at": "2026-12-08T09:00",
        "ends_at": "2026-12-08T18:00",
        "member_priority": "1",
        "note": "low season",
    }
    backwards = await admin.post(url, data={**form, "ends_at": "2026-12-08T08:00"})
    assert backwards.status_code == 422
    assert "ends_at must be after starts_at" in backwards.text
    assert 'value="low season"' in backwards.text
    missing = await admin.post(url, data={**form, "starts_at": ""})
    assert missing.status_code == 422
    assert re.search(r'data-field="starts_at"[^>]*>Required', missing.text)

    lent = await admin.post(url, data=form)
    assert lent.status_code == 303, lent.text
    (lending,) = (await web.clients["admin"].get(f"{API}/renewals/lendings")).json()
    # Read in the campaign's time zone (Asia/Shanghai, +08:00).
    assert lending["starts_at"].startswith("2026-12-08T01:00")
    page = (await admin.get(lent.headers["location"])).text
    assert "department B" in page
    assert "2026-12-08 09:00" in page
    assert "low season" in page

    # A supervisor cannot lend another department's agents.
    supervisor = await browser_login(web, "supervisor")
    refused = await supervisor.post(url, data=form)
    assert refused.status_code == 422
    assert "your own departments" in refused.text

    ended = await admin.post(f"{url}/{lending['id']}/delete")
    assert ended.status_code == 303
    assert (await web.clients["admin"].get(f"{API}/renewals/lendings")).json() == []


async def test_contacts_and_attempts_are_paged(web: World, clients) -> None:
    await _campaign(web)
    rows = "name,mobile\n" + "".join(f"P{n},1380013{n:04d}\n" for n in range(60))
    response = await web.clients["admin"].post(
        f"{API}/renewals/contacts",
        files={"file": ("list.csv", rows.encode(), "text/csv")},
        data={"mapping": '{"phone": ["mobile"], "name": "name"}'},
    )
    assert response.status_code == 200, response.text
    admin = await browser_login(web, "admin")
    first = (await admin.get("/admin/campaigns/renewals/contacts")).text
    assert "60 in all" in first
    assert "P0<" in first
    assert "P50<" not in first
    link = re.search(r'href="\?(after=\d+)" data-testid="next-page"', first)
    assert link is not None
    second = (await admin.get(f"/admin/campaigns/renewals/contacts?{link.group(1)}")).text
    assert "P50<" in second
    assert "P0<" not in second
    assert 'data-testid="next-page"' not in second
    attempts = (await admin.get("/admin/campaigns/renewals/attempts")).text
    assert "0 in all" in attempts


async def test_without_the_dialer_module_there_are_no_campaign_pages(web: World, clients) -> None:
    client: httpx.AsyncClient = await browser_login(web, "admin")
    assert (await client.get("/admin/campaigns")).status_code == 200
    web.context.dialer = False  # the menu follows the switch at once
    assert 'href="/admin/campaigns"' not in (await client.get("/admin")).text
