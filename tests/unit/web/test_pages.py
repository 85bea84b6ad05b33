"""Login, logout, the language switch, guards by role and the admin prefix, headers."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from hotline.store.models import AuditEntry
from tests.unit.api.conftest import PASSWORD, World
from tests.unit.web.conftest import browser_login


async def test_login_page_follows_the_browser_language(web: World) -> None:
    client = web.client()
    zh = await client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert zh.status_code == 200
    assert '<html lang="zh-CN">' in zh.text
    assert "用户名" in zh.text
    assert zh.headers["content-language"] == "zh-CN"
    en = await client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in en.text
    assert "User name" in en.text
    await client.aclose()


async def test_the_language_choice_is_kept_in_a_cookie(web: World) -> None:
    client = web.client()
    chosen = await client.post("/language", data={"language": "en", "next": "/login"})
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/login"
    assert "hotline_lang=en" in chosen.headers["set-cookie"]
    page = await client.get("/login", headers={"Accept-Language": "zh-CN"})
    assert "User name" in page.text  # the cookie wins over the browser
    unknown = await client.post("/language", data={"language": "xx", "next": "//evil.test/"})
    assert unknown.headers["location"] == "/"  # no open redirect, no cookie change
    assert "set-cookie" not in unknown.headers
    await client.aclose()


async def test_login_form_starts_a_session_shared_with_the_api(web: World) -> None:
    client = web.client()
    response = await client.post(
        "/login", data={"username": "supervisor", "password": PASSWORD, "next": "/"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/wallboard"
    me = await client.get("/api/v1/auth/me")
    assert me.json()["username"] == "supervisor"
    home = await client.get("/")
    assert home.headers["location"] == "/wallboard"
    out = await client.post("/logout")
    assert out.status_code == 303
    assert (await client.get("/api/v1/auth/me")).status_code == 401
    await client.aclose()


async def test_a_wrong_password_is_refused_in_the_page_language_and_audited(
    web: World,
) -> None:
    client = web.client()
    client.cookies.set("hotline_lang", "zh-CN")
    response = await client.post("/login", data={"username": "agent", "password": "nope"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert 'value="agent"' in response.text  # the user name stays in the form
    async with web.context.database.session() as session:
        actions = (await session.scalars(select(AuditEntry.action))).all()
    assert "login_failed" in actions
    for _ in range(3):
        await client.post("/login", data={"username": "agent", "password": "nope"})
    throttled = await client.post("/login", data={"username": "agent", "password": PASSWORD})
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"]
    await client.aclose()


async def test_after_login_the_user_goes_back_where_they_were_sent_from(web: World) -> None:
    client = web.client()
    page = await client.get("/admin/users?page=2")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/admin/users%3Fpage%3D2"
    form = await client.get(page.headers["location"])
    assert 'name="next" value="/admin/users?page=2"' in form.text
    response = await client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "next": "/admin/users?page=2"}
    )
    assert response.headers["location"] == "/admin/users?page=2"
    evil = await client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "next": "https://evil.test"}
    )
    assert evil.headers["location"] == "/wallboard"  # the admin's home, not elsewhere
    await client.aclose()


async def test_an_agent_gets_the_403_page_anywhere_under_admin(web: World) -> None:
    agent = await browser_login(web, "agent")
    for path in ("/admin", "/admin/users", "/admin/no/such/page"):
        response = await agent.get(path)
        assert response.status_code == 403, path
        assert "text/html" in response.headers["content-type"]
        assert "Your role may not open this page." in response.text
    nav = (await agent.get("/login")).text
    assert 'href="/admin"' not in nav
    assert (await agent.post("/admin/users")).status_code == 403


async def test_anonymous_visitors_are_sent_to_login_from_guarded_pages(web: World) -> None:
    client = web.client()
    for path in ("/admin", "/admin/users"):
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")
    htmx = await client.get("/admin", headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["hx-redirect"] == "/login?next=/admin"
    await client.aclose()


async def test_an_admin_sees_the_admin_entry_and_gets_404_where_no_admin_page_exists(
    web: World,
) -> None:
    admin = await browser_login(web, "admin")
    page = await admin.get("/login")
    assert 'href="/admin"' in page.text
    assert (await admin.get("/admin/no/such/page")).status_code == 404


async def test_a_role_without_a_console_gets_a_start_page(web: World) -> None:
    qa = await browser_login(web, "qa")
    assert (await qa.get("/", follow_redirects=False)).status_code == 200
    page = await qa.get("/")
    assert page.status_code == 200
    assert "There is no console for your role yet." in page.text


async def test_pages_carry_security_headers_and_refuse_cross_origin_posts(web: World) -> None:
    client = web.client()
    page = await client.get("/login")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    cross = await client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD},
        headers={"Origin": "https://evil.test"},
    )
    assert cross.status_code == 403
    same = await client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD},
        headers={"Origin": "http://testserver"},
    )
    assert same.status_code == 303
    api = await client.get("/api/v1/auth/me")
    assert "content-security-policy" not in api.headers
    await client.aclose()


async def test_pages_stay_out_of_the_openapi_document(web: World) -> None:
    client: httpx.AsyncClient = web.client()
    paths = (await client.get("/openapi.json")).json()["paths"]
    probes = ("/healthz", "/readyz", "/metrics")
    assert not [p for p in paths if not p.startswith("/api/") and p not in probes]
    await client.aclose()
