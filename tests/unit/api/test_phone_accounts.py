"""Agents' phone accounts: set through the API as a password, kept as HA1s, and followed by
the registrar through the live directory (SQLite and PostgreSQL, as every API test)."""

from __future__ import annotations

import asyncio
import itertools

from sqlalchemy import select

from hotline.acd import Acd
from hotline.calls.routing import InboundRouter
from hotline.demo.config import PLAN
from hotline.ivr.catalog import FlowCatalog
from hotline.services.contact_center import ContactCenter
from hotline.services.directory.live import LiveDirectory
from hotline.services.directory.model import Bootstrap, Directory
from hotline.services.phone_accounts import make_ha1s as stored_form
from hotline.sip.auth import (
    AccountCredentials,
    DigestAuthenticator,
    DigestParams,
    NonceKeeper,
    authorization,
    make_ha1s,
)
from hotline.sip.message import Request, parse_message
from hotline.sip.registrar import MemoryBindingStore, Registrar
from hotline.store.models import Agent, AuditEntry
from tests.unit.api.conftest import World

PHONE_PASSWORD = "desk-phone-42"
_cseq = itertools.count(1)


def register(user: str) -> Request:
    lines = [
        "REGISTER sip:127.0.0.1 SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKr",
        f"From: <sip:{user}@127.0.0.1>;tag=a",
        f"To: <sip:{user}@127.0.0.1>",
        f"Call-ID: reg-{user}",
        f"CSeq: {next(_cseq)} REGISTER",
        f"Contact: <sip:{user}@192.0.2.1>",
    ]
    message = parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


def registers(registrar: Registrar, user: str, password: str) -> int:
    """A phone's REGISTER, challenged and answered as a phone does: the final status."""
    challenge = registrar.handle(register(user), 100.0)
    assert challenge.status == 401
    params = DigestParams.parse(challenge.get_all("WWW-Authenticate")[0])
    assert params is not None
    request = register(user)
    request.headers.append(
        (
            "Authorization",
            authorization(
                params,
                method="REGISTER",
                uri="sip:127.0.0.1",
                username=user,
                password=password,
                cnonce="c0ffee",
            ),
        )
    )
    return registrar.handle(request, 101.0).status


async def _until(condition, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the live directory did not follow the change")


def test_the_stored_form_is_the_registrars_ha1() -> None:
    assert stored_form("1001", "hotline", "pw") == make_ha1s("1001", "hotline", "pw")


async def test_a_phone_password_is_kept_as_ha1s_of_its_realm_never_shown_nor_audited(
    world: World, clients
) -> None:
    admin = clients["admin"]
    agent_id = world.ids["agent_A"]
    changed = await admin.patch(f"/api/v1/agents/{agent_id}", json={"sip_password": PHONE_PASSWORD})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["has_sip_password"] is True
    assert body["sip_realm"] == "hotline"
    assert PHONE_PASSWORD not in changed.text
    async with world.context.database.session() as session:
        row = await session.get(Agent, agent_id)
        assert row is not None
        ha1s = make_ha1s(row.extension, "hotline", PHONE_PASSWORD)
        assert (row.sip_ha1_md5, row.sip_ha1_sha256) == (ha1s["MD5"], ha1s["SHA-256"])
        audit = (await session.scalars(select(AuditEntry))).all()
    assert audit
    assert all(PHONE_PASSWORD not in str(entry.detail) for entry in audit)
    assert any(entry.detail.get("after", {}).get("sip_password") == "***" for entry in audit)
    # The HA1 hashes the extension in: a new extension needs a new password.
    moved = await admin.patch(f"/api/v1/agents/{agent_id}", json={"extension": "777"})
    assert moved.status_code == 422, moved.text
    assert "sip_password" in moved.text
    moved = await admin.patch(
        f"/api/v1/agents/{agent_id}", json={"extension": "777", "sip_password": "another-pw"}
    )
    assert moved.status_code == 200, moved.text
    async with world.context.database.session() as session:
        row = await session.get(Agent, agent_id)
        assert row is not None
        assert row.sip_ha1_md5 == make_ha1s("777", "hotline", "another-pw")["MD5"]
    short = await admin.patch(f"/api/v1/agents/{agent_id}", json={"sip_password": "short"})
    assert short.status_code == 422
    removed = await admin.patch(f"/api/v1/agents/{agent_id}", json={"sip_password": None})
    assert removed.status_code == 200
    assert removed.json()["has_sip_password"] is False


async def test_the_registrar_follows_the_agents_in_the_database(world: World, clients) -> None:
    context = world.context
    admin = clients["admin"]
    settings_ha1s = make_ha1s("101", "hotline", "from-settings")
    credentials = AccountCredentials("hotline", {"101": settings_ha1s})
    registrar = Registrar(
        MemoryBindingStore(),
        DigestAuthenticator("hotline", credentials, NonceKeeper(b"k"), ("MD5",)),
    )
    loaded: list[Directory] = []

    def on_telephony(directory: Directory) -> None:
        credentials.replace(directory.accounts)
        loaded.append(directory)

    live = LiveDirectory(
        context.database,
        ContactCenter(Acd(), InboundRouter([], {}, PLAN)),
        FlowCatalog(),
        lambda _: None,
        PLAN,
        bus=context.bus,
        bootstrap=Bootstrap(realm="hotline", accounts={"101": settings_ha1s}),
        on_telephony=on_telephony,
    )
    live.settle_seconds = 0.01
    await live.reload()
    live.start()
    try:
        assert registers(registrar, "100", PHONE_PASSWORD) == 401  # no account yet
        assert registers(registrar, "101", "from-settings") == 200  # settings' bootstrap
        # A new agent made through the API with a phone password registers at once.
        user = await admin.post(
            "/api/v1/users",
            json={
                "username": "carol",
                "password": "carol-web-password",
                "role": "agent",
                "department_id": world.ids["dept_A"],
            },
        )
        assert user.status_code == 201, user.text
        agent = await admin.post(
            "/api/v1/agents",
            json={
                "user_id": user.json()["id"],
                "department_id": world.ids["dept_A"],
                "extension": "1234",
                "sip_password": PHONE_PASSWORD,
            },
        )
        assert agent.status_code == 201, agent.text
        assert agent.json()["has_sip_password"] is True
        await _until(lambda: "1234" in credentials.accounts)
        assert registers(registrar, "1234", PHONE_PASSWORD) == 200
        assert registers(registrar, "1234", "wrong-password") == 401
        # Settings win a clash, and the directory says so.
        clash = await admin.patch(
            f"/api/v1/agents/{world.ids['agent_B']}", json={"sip_password": "from-the-db"}
        )
        assert clash.status_code == 200
        await _until(lambda: any("'101'" in p for p in loaded[-1].problems))
        assert registers(registrar, "101", "from-the-db") == 401
        assert registers(registrar, "101", "from-settings") == 200
        # A disabled user's phone, then a removed account, can no longer register.
        disabled = await admin.patch(f"/api/v1/users/{user.json()['id']}", json={"active": False})
        assert disabled.status_code == 200
        await _until(lambda: "1234" not in credentials.accounts)
        assert registers(registrar, "1234", PHONE_PASSWORD) == 401
        await admin.patch(f"/api/v1/users/{user.json()['id']}", json={"active": True})
        await _until(lambda: "1234" in credentials.accounts)
        deleted = await admin.delete(f"/api/v1/agents/{agent.json()['id']}")
        assert deleted.status_code == 204, deleted.text
        await _until(lambda: "1234" not in credentials.accounts)
        assert registers(registrar, "1234", PHONE_PASSWORD) == 401
    finally:
        await live.stop()


async def test_hashes_of_another_realm_are_a_problem_not_an_account(world: World) -> None:
    async with world.context.database.session() as session:
        row = await session.get(Agent, world.ids["agent_A"])
        assert row is not None
        ha1s = make_ha1s(row.extension, "old-realm", PHONE_PASSWORD)
        row.sip_realm, row.sip_ha1_md5 = "old-realm", ha1s["MD5"]
        await session.commit()
    live = LiveDirectory(
        world.context.database,
        ContactCenter(Acd(), InboundRouter([], {}, PLAN)),
        FlowCatalog(),
        lambda _: None,
        PLAN,
        bootstrap=Bootstrap(realm="hotline"),
    )
    directory = await live.reload()
    assert "100" not in directory.accounts
    assert any("realm 'old-realm'" in p and "'hotline'" in p for p in directory.problems)
