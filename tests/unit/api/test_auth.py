"""Login sessions, login throttling and scoped API tokens."""

from __future__ import annotations

from sqlalchemy import select

from hotline.store.models import ApiToken
from tests.unit.api.conftest import PASSWORD, FakeClock, World


async def test_login_sets_an_httponly_strict_cookie_and_logout_ends_it(world: World) -> None:
    async with world.client() as client:
        response = await client.post(
            "/api/v1/auth/login", json={"username": "supervisor", "password": PASSWORD}
        )
        assert response.status_code == 200
        assert response.json()["role"] == "supervisor"
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=strict" in cookie
        me = (await client.get("/api/v1/auth/me")).json()
        assert (me["username"], me["via"]) == ("supervisor", "session")
        assert (await client.post("/api/v1/auth/logout")).status_code == 204
        assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_wrong_password_and_unknown_user_look_the_same(world: World) -> None:
    async with world.client() as client:
        wrong = await client.post(
            "/api/v1/auth/login", json={"username": "admin", "password": "nope"}
        )
        unknown = await client.post(
            "/api/v1/auth/login", json={"username": "nobody", "password": "nope"}
        )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_deactivated_user_loses_their_session_at_once(world: World, clients) -> None:
    agent_id = world.ids["user_agent"]
    assert (await clients["agent"].get("/api/v1/auth/me")).status_code == 200
    response = await clients["admin"].patch(f"/api/v1/users/{agent_id}", json={"active": False})
    assert response.status_code == 200
    assert (await clients["agent"].get("/api/v1/auth/me")).status_code == 401


async def test_failed_logins_are_throttled_per_user_and_client(
    world: World, clock: FakeClock
) -> None:
    async with world.client() as client:

        async def attempt(password: str, username: str = "agent") -> int:
            body = {"username": username, "password": password}
            return (await client.post("/api/v1/auth/login", json=body)).status_code

        assert [await attempt("bad") for _ in range(3)] == [401, 401, 401]
        throttled = await client.post(
            "/api/v1/auth/login", json={"username": "agent", "password": PASSWORD}
        )
        assert throttled.status_code == 429
        assert throttled.headers["retry-after"] == "60"
        assert await attempt(PASSWORD, username="supervisor") == 200  # other users unaffected
        clock.now += 30
        assert await attempt(PASSWORD) == 429
        clock.now += 31
        assert await attempt(PASSWORD) == 200
    metrics = (await world.client().get("/metrics")).text
    assert "hotline_logins_throttled_total 2.0" in metrics
    audit = (await (await world.login("auditor")).get("/api/v1/audit-log")).json()
    actions = [(entry["action"], entry["actor"]) for entry in audit]
    assert actions.count(("login_failed", "agent")) == 3
    assert actions.count(("login_throttled", "agent")) == 2


async def test_token_is_shown_once_stored_hashed_and_limited_to_its_scopes(
    world: World, clients
) -> None:
    created = await clients["supervisor"].post(
        "/api/v1/tokens", json={"name": "crm", "scopes": ["cdr:read", "customers:read"]}
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert token.startswith("hl_")
    async with world.context.database.session() as session:
        stored = (await session.execute(select(ApiToken))).scalar_one()
    assert token not in (stored.token_hash, stored.name)
    assert len(stored.token_hash) == 64
    async with world.client() as integration:
        integration.headers["Authorization"] = f"Bearer {token}"
        rows = (await integration.get("/api/v1/cdrs")).json()
        assert {row["department_id"] for row in rows} == {world.ids["dept_A"]}
        assert (await integration.get("/api/v1/customers")).status_code == 200
        assert (await integration.get("/api/v1/queues")).status_code == 403  # not in scopes
        me = (await integration.get("/api/v1/auth/me")).json()
        assert (me["via"], me["permissions"]) == ("token", ["cdr:read", "customers:read"])
        # A token cannot mint tokens.
        minted = await integration.post("/api/v1/tokens", json={"name": "x", "scopes": ["tokens"]})
        assert minted.status_code == 403
        token_id = created.json()["id"]
        assert (await clients["admin"].delete(f"/api/v1/tokens/{token_id}")).status_code == 404
        assert (await clients["supervisor"].delete(f"/api/v1/tokens/{token_id}")).status_code == 204
        assert (await integration.get("/api/v1/cdrs")).status_code == 401
    listed = (await clients["supervisor"].get("/api/v1/tokens")).json()
    assert listed[0]["revoked_at"] is not None
    assert "token" not in listed[0]


async def test_token_scopes_cannot_exceed_the_role(clients) -> None:
    beyond = await clients["supervisor"].post(
        "/api/v1/tokens", json={"name": "x", "scopes": ["audit:read"]}
    )
    assert beyond.status_code == 422
    assert "exceed" in beyond.json()["detail"]
    unknown = await clients["admin"].post("/api/v1/tokens", json={"name": "x", "scopes": ["root"]})
    assert unknown.status_code == 422


async def test_bad_bearer_is_401_with_challenge(world: World) -> None:
    async with world.client() as client:
        response = await client.get(
            "/api/v1/queues", headers={"Authorization": "Bearer hl_not-a-token"}
        )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
