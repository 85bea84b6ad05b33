"""The admin console over a real database: every page renders in both languages for an
admin, forms store through the API's services with errors next to their field, and each
role opens only the sections its permissions allow."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.unit.api.conftest import World
from tests.unit.web.conftest import ADMIN_SECTIONS, browser_login

FLOW = """\
start: menu
nodes:
  menu:
    type: menu
    prompt: {text: {en: "Press 1"}}
    options:
      "1": sales
    on_failure: bye
  sales:
    type: queue
    queue: sales
  bye:
    type: hangup
"""
HAN = re.compile(r"[\u4e00-\u9fff]")


async def _flow(web: World) -> int:
    response = await web.clients["admin"].post(
        "/api/v1/ivr-flows",
        json={"name": "main", "department_id": web.ids["dept_A"], "yaml": FLOW},
    )
    assert response.status_code == 201, response.text
    flow_id: int = response.json()["id"]
    return flow_id


def _pages(web: World, flow_id: int) -> list[str]:
    ids = {
        "queues": web.ids["queue_A"],
        "agents": web.ids["agent_A"],
        "skills": web.ids["skill"],
        "users": web.ids["user_agent"],
        "departments": web.ids["dept_A"],
        "trunks": web.ids["trunk"],
        "wrapup-codes": web.ids["code_A"],
    }
    pages = ["/admin", "/admin/roles", "/admin/ivr-flows", "/admin/ivr-flows/new"]
    pages += [f"/admin/ivr-flows/{flow_id}", f"/admin/ivr-flows/{flow_id}/delete"]
    for section in ADMIN_SECTIONS:
        pages += [f"/admin/{section.slug}", f"/admin/{section.slug}/new"]
        if section.slug in ids:
            item = ids[section.slug]
            pages += [f"/admin/{section.slug}/{item}", f"/admin/{section.slug}/{item}/delete"]
    return pages


@pytest.mark.parametrize("language", ["en", "zh-CN"])
async def test_every_admin_page_renders_for_an_admin(web: World, clients, language: str) -> None:
    flow_id = await _flow(web)
    admin = await browser_login(web, "admin", language)
    for path in _pages(web, flow_id):
        response = await admin.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert f'<html lang="{language}">' in response.text
        assert "admin." not in re.sub(
            r'(href|action|class|name|id|for)="[^"]*"', "", response.text
        ), path
        title = re.search(r"<h1>(.*?)</h1>", response.text, re.S)
        assert title is not None, path
        assert bool(HAN.search(title.group(1))) == (language == "zh-CN"), (path, title.group(1))


async def test_a_queue_made_in_a_form_is_stored_audited_and_listed(web: World, clients) -> None:
    admin = await browser_login(web, "admin")
    form = {
        "name": "VIP",
        "department_id": str(web.ids["dept_A"]),
        "strategy": "ring-all",
        "service_level_seconds": "15",
        "max_wait_seconds": "300",
        "required_skills.mandarin": "3",
    }
    created = await admin.post("/admin/queues/new", data=form)
    assert created.status_code == 303, created.text
    listed = await admin.get(created.headers["location"])
    assert "VIP" in listed.text
    assert "“VIP” created." in listed.text
    queues = (await clients["admin"].get("/api/v1/queues")).json()["items"]
    vip = next(q for q in queues if q["name"] == "VIP")
    assert (vip["strategy"], vip["required_skills"], vip["max_wait_seconds"]) == (
        "ring-all",
        [{"skill": "mandarin", "level": 3}],
        300,
    )
    audit = (
        await clients["auditor"].get("/api/v1/audit-log", params={"resource": "queues"})
    ).json()
    assert audit[-1]["action"] == "create"
    assert audit[-1]["actor"] == "admin"


async def test_a_queue_form_sets_how_the_queue_runs_and_shows_it_again(web: World, clients) -> None:
    """Every setting the live queue runs with, not only name and strategy: skill levels,
    a shared pool, timers, overflow, recording policy; an edit shows what is stored."""
    admin = await browser_login(web, "admin")
    queue_a, queue_b = web.ids["queue_A"], web.ids["queue_B"]
    form = {
        "name": "queue A",
        "department_id": str(web.ids["dept_A"]),
        "strategy": "skills-best-match",
        "required_skills.mandarin": "4",
        "pooled_department_ids": str(web.ids["dept_B"]),
        "ring_timeout_seconds": "20",
        "wrap_up_seconds": "30",
        "announce_every_seconds": "60",
        "max_length": "",
        "on_max_wait": "overflow",
        "overflow_queue_id": str(queue_b),
        "recording": "on_demand",
        "survey_flow": "",
        "qa_language": "en",
    }
    saved = await admin.post(f"/admin/queues/{queue_a}", data=form)
    assert saved.status_code == 303, saved.text
    stored = (await clients["admin"].get(f"/api/v1/queues/{queue_a}")).json()
    assert {k: stored[k] for k in form if "." not in k} | {
        "required_skills": stored["required_skills"]
    } == {
        "name": "queue A",
        "department_id": web.ids["dept_A"],
        "strategy": "skills-best-match",
        "pooled_department_ids": [web.ids["dept_B"]],
        "ring_timeout_seconds": 20,
        "wrap_up_seconds": 30,
        "announce_every_seconds": 60,
        "max_length": None,
        "on_max_wait": "overflow",
        "overflow_queue_id": queue_b,
        "recording": "on_demand",
        "survey_flow": None,
        "qa_language": "en",
        "required_skills": [{"skill": "mandarin", "level": 4}],
    }
    edit = (await admin.get(f"/admin/queues/{queue_a}")).text
    assert re.search(r'<option value="4" selected>4</option>', edit)
    assert re.search(rf'value="{web.ids["dept_B"]}" checked', edit)
    assert re.search(r'<option value="on_demand" selected>', edit)
    assert re.search(r'<option value="en" selected>English</option>', edit)
    assert re.search(rf'<option value="{queue_b}" selected>queue B</option>', edit)
    # A supervisor of department A cannot list department B nor its queue; saving the
    # form unchanged keeps both (they come back as hidden and kept values).
    supervisor = await browser_login(web, "supervisor")
    page = (await supervisor.get(f"/admin/queues/{queue_a}")).text
    assert f'<input type="hidden" name="pooled_department_ids" value="{web.ids["dept_B"]}">' in (
        page
    )
    assert f'<option value="{queue_b}" selected>{queue_b}</option>' in page
    kept = await supervisor.post(
        f"/admin/queues/{queue_a}",
        data={**form, "overflow_queue_id": str(queue_b), "wrap_up_seconds": "45"},
    )
    assert kept.status_code == 303, kept.text
    stored = (await clients["admin"].get(f"/api/v1/queues/{queue_a}")).json()
    assert (stored["pooled_department_ids"], stored["overflow_queue_id"]) == (
        [web.ids["dept_B"]],
        queue_b,
    )
    assert stored["wrap_up_seconds"] == 45
    # An overflow without a queue is the API's error, shown next to the form.
    refused = await admin.post(f"/admin/queues/{queue_a}", data={**form, "overflow_queue_id": ""})
    assert refused.status_code == 422


async def test_form_errors_stand_next_to_their_field(web: World, clients) -> None:
    admin = await browser_login(web, "admin", "zh-CN")
    bad = await admin.post(
        "/admin/queues/new",
        data={"name": "queue A", "department_id": str(web.ids["dept_A"]), "max_wait_seconds": "0"},
    )
    assert bad.status_code == 422
    assert re.search(r'data-field="max_wait_seconds"[^>]*>不能小于 1', bad.text)
    assert 'value="queue A"' in bad.text  # what was typed stays
    duplicate = await admin.post(
        "/admin/queues/new", data={"name": "queue A", "department_id": str(web.ids["dept_A"])}
    )
    assert duplicate.status_code == 422
    assert re.search(r'data-field="name"[^>]*>与已有数据冲突', duplicate.text)
    hours = await admin.post(
        "/admin/business-hours/new",
        data={"name": "office", "timezone": "Asia/Shanghai", "weekly.0": "9-18"},
    )
    assert hours.status_code == 422
    assert 'data-field="weekly"' in hours.text
    route = await admin.post(
        "/admin/inbound-routes/new", data={"did": "4001", "target": "queue:99999"}
    )
    assert route.status_code == 422
    assert 'data-field="target"' in route.text


async def test_edit_and_delete_with_confirmation(web: World, clients) -> None:
    admin = await browser_login(web, "admin")
    hours = await admin.post(
        "/admin/business-hours/new",
        data={
            "name": "office",
            "timezone": "Asia/Shanghai",
            "weekly.0": "09:00-12:00, 13:00-18:00",
            "weekly.5": "10:00-16:00",
            "holidays": "2026-10-01\n2026-10-02\n",
        },
    )
    assert hours.status_code == 303, hours.text
    stored = (await clients["admin"].get("/api/v1/business-hours")).json()["items"][0]
    assert stored["weekly"] == [
        {"day": 0, "start": "09:00", "end": "12:00"},
        {"day": 0, "start": "13:00", "end": "18:00"},
        {"day": 5, "start": "10:00", "end": "16:00"},
    ]
    assert stored["holidays"] == ["2026-10-01", "2026-10-02"]
    edit = await admin.get(f"/admin/business-hours/{stored['id']}")
    assert 'value="09:00-12:00, 13:00-18:00"' in edit.text
    confirm = await admin.get(f"/admin/business-hours/{stored['id']}/delete")
    assert "cannot be undone" in confirm.text
    deleted = await admin.post(f"/admin/business-hours/{stored['id']}/delete")
    assert deleted.status_code == 303
    assert (await clients["admin"].get("/api/v1/business-hours")).json()["items"] == []
    # A queue that a route sends calls to stays, and the page says why.
    await clients["admin"].post(
        "/api/v1/inbound-routes",
        json={"did": "4000", "target_type": "queue", "target_id": web.ids["queue_A"]},
    )
    refused = await admin.post(f"/admin/queues/{web.ids['queue_A']}/delete")
    assert refused.status_code == 409
    assert "4000" in refused.text


async def test_ivr_editor_shows_problems_at_their_line_and_saves_versions(
    web: World, clients
) -> None:
    flow_id = await _flow(web)
    admin = await browser_login(web, "admin", "zh-CN")
    broken = FLOW.replace('"1": sales', '"1": salse')
    checked = await admin.post(
        "/admin/ivr-flows/check", data={"yaml": broken}, headers={"HX-Request": "true"}
    )
    assert checked.status_code == 200
    assert "第 7 行" in checked.text
    assert "节点 menu" in checked.text
    assert '<li id="line-7" class="bad">' in checked.text
    refused = await admin.post(f"/admin/ivr-flows/{flow_id}", data={"yaml": broken})
    assert refused.status_code == 422
    assert "no node &#39;salse&#39;" in refused.text
    assert "salse" in refused.text  # the text stays in the editor
    uploaded = await admin.post(
        f"/admin/ivr-flows/{flow_id}",
        data={"yaml": FLOW},
        files={"file": ("flow.yaml", broken.encode(), "application/yaml")},
    )
    assert uploaded.status_code == 422  # the file wins over the text
    assert "第 7 行" in uploaded.text
    not_text = await admin.post(
        f"/admin/ivr-flows/{flow_id}", files={"file": ("flow.yaml", b"\xff\xfe\x00bad")}
    )
    assert not_text.status_code == 422
    assert "UTF-8" in not_text.text
    saved = await admin.post(
        f"/admin/ivr-flows/{flow_id}",
        data={"yaml": FLOW.replace("Press 1", "Press one"), "publish": "on"},
    )
    assert saved.status_code == 303
    flow = (await clients["admin"].get(f"/api/v1/ivr-flows/{flow_id}")).json()
    assert (flow["latest_version"], flow["published_version"]) == (2, 2)
    page = await admin.get(saved.headers["location"])
    assert "已发布版本 2" in page.text
    assert "Press one" in page.text


async def test_the_flow_page_starts_promotes_and_ends_a_department_pilot(
    web: World, clients
) -> None:
    flow_id = await _flow(web)
    api = clients["admin"]
    await api.post(f"/api/v1/ivr-flows/{flow_id}/publish", json={"version": 1})
    second = await api.post(
        f"/api/v1/ivr-flows/{flow_id}/versions", json={"yaml": FLOW.replace("Press 1", "Hi")}
    )
    assert second.status_code == 201
    supervisor = await browser_login(web, "supervisor", "en")  # department A
    page = await supervisor.get(f"/admin/ivr-flows/{flow_id}")
    assert 'data-testid="no-pilots"' in page.text
    assert '<option value="2">v2</option>' in page.text  # the published v1 is not offered
    dept_a, dept_b = web.ids["dept_A"], web.ids["dept_B"]
    outside = await supervisor.post(
        f"/admin/ivr-flows/{flow_id}/pilots", data={"department_id": dept_b, "version": 2}
    )
    assert outside.status_code == 403
    assert "department outside your scope" in outside.text
    published = await supervisor.post(
        f"/admin/ivr-flows/{flow_id}/pilots", data={"department_id": dept_a, "version": 1}
    )
    assert published.status_code == 422
    assert "is the published version" in published.text
    started = await supervisor.post(
        f"/admin/ivr-flows/{flow_id}/pilots", data={"department_id": dept_a, "version": 2}
    )
    assert started.status_code == 303
    page = await supervisor.get(started.headers["location"])
    assert "Pilot of version 2 started." in page.text
    assert f'data-pilot-department="{dept_a}"' in page.text
    ended = await supervisor.post(f"/admin/ivr-flows/{flow_id}/pilots/{dept_a}/end")
    assert ended.status_code == 303
    again = await supervisor.post(f"/admin/ivr-flows/{flow_id}/pilots/{dept_a}/end")
    assert again.status_code == 404
    assert "has no pilot" in again.text
    await supervisor.post(
        f"/admin/ivr-flows/{flow_id}/pilots", data={"department_id": dept_a, "version": 2}
    )
    promoted = await supervisor.post(f"/admin/ivr-flows/{flow_id}/pilots/{dept_a}/promote")
    assert promoted.status_code == 303
    page = await supervisor.get(promoted.headers["location"])
    assert "Version 2 published; the pilot has ended." in page.text
    flow = (await api.get(f"/api/v1/ivr-flows/{flow_id}")).json()
    assert flow["published_version"] == 2
    assert (await api.get(f"/api/v1/ivr-flows/{flow_id}/pilots")).json() == []


@pytest.mark.parametrize(
    ("username", "path", "status"),
    [
        ("agent", "/admin", 403),
        ("agent", "/admin/queues", 403),
        ("agent", "/admin/ivr-flows", 403),
        ("qa", "/admin/wrapup-codes", 403),
        ("auditor", "/admin/users", 403),
        ("supervisor", "/admin/trunks", 403),
        ("supervisor", "/admin/users", 403),
        ("supervisor", "/admin/inbound-routes/new", 403),
        ("supervisor", "/admin", 200),
        ("supervisor", "/admin/queues", 200),
        ("supervisor", "/admin/ivr-flows", 200),
        ("supervisor", "/admin/wrapup-codes/new", 200),
    ],
)
async def test_each_role_opens_only_its_sections(
    web: World, clients, username: str, path: str, status: int
) -> None:
    client = await browser_login(web, username)
    response = await client.get(path)
    assert response.status_code == status, response.text[:300]


async def test_a_supervisor_sees_and_writes_only_their_department(web: World, clients) -> None:
    supervisor = await browser_login(web, "supervisor")
    listed = await supervisor.get("/admin/queues")
    assert "queue A" in listed.text
    assert "queue B" not in listed.text
    form = await supervisor.get("/admin/queues/new")
    assert "department B" not in form.text
    other = await supervisor.get(f"/admin/queues/{web.ids['queue_B']}")
    assert other.status_code == 404
    sneaky = await supervisor.post(
        "/admin/queues/new", data={"name": "x", "department_id": str(web.ids["dept_B"])}
    )
    assert sneaky.status_code == 422
    assert 'data-field="department_id"' in sneaky.text
    assert isinstance(supervisor, httpx.AsyncClient)


async def test_an_agents_phone_password_is_set_in_the_form_and_kept_when_left_empty(
    web: World, clients
) -> None:
    admin = await browser_login(web, "admin")
    agent_id = web.ids["agent_A"]
    form = {
        "extension": "100",
        "user_id": str(web.ids["user_agent"]),
        "department_id": str(web.ids["dept_A"]),
    }
    saved = await admin.post(
        f"/admin/agents/{agent_id}", data={**form, "sip_password": "phone-pw-1"}
    )
    assert saved.status_code == 303, saved.text
    stored = (await clients["admin"].get(f"/api/v1/agents/{agent_id}")).json()
    assert stored["has_sip_password"] is True
    edit = await admin.get(f"/admin/agents/{agent_id}")
    assert "phone-pw-1" not in edit.text
    assert 'name="sip_password"' in edit.text
    kept = await admin.post(f"/admin/agents/{agent_id}", data={**form, "sip_password": ""})
    assert kept.status_code == 303, kept.text
    assert (await clients["admin"].get(f"/api/v1/agents/{agent_id}")).json()["has_sip_password"]
    short = await admin.post(f"/admin/agents/{agent_id}", data={**form, "sip_password": "short"})
    assert short.status_code == 422
