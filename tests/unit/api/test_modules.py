"""Optional modules through the API: listed with what the settings have and what runs; an
administrator switches one off and on (audited, a configuration change); a module off in
the settings cannot be switched on here."""

from __future__ import annotations

from sqlalchemy import select

from hotline.store.models import AuditEntry
from tests.unit.api.conftest import World


async def test_an_admin_switches_the_dialer_off_and_on(world: World, clients) -> None:
    admin = clients["admin"]
    listed = {module["name"]: module for module in (await admin.get("/api/v1/modules")).json()}
    assert set(listed) == {"dialer", "qa"}
    dialer = listed["dialer"]
    assert (dialer["name"], dialer["installed"], dialer["enabled"]) == ("dialer", True, True)
    assert "campaigns" in dialer["description"]
    off = await admin.put("/api/v1/modules/dialer", json={"enabled": False})
    assert off.status_code == 200, off.text
    assert (off.json()["enabled"], off.json()["changed_by"]) == (False, "admin")
    states = {m["name"]: m["enabled"] for m in (await admin.get("/api/v1/modules")).json()}
    assert states["dialer"] is False
    assert (await admin.put("/api/v1/modules/dialer", json={"enabled": True})).json()["enabled"]
    async with world.context.database.session() as session:
        actions = await session.execute(
            select(AuditEntry.action).where(AuditEntry.resource == "modules")
        )
        assert list(actions.scalars()) == ["disable", "enable"]


async def test_who_may_and_what_cannot_be_switched(world: World, clients) -> None:
    body = {"enabled": False}
    assert (await clients["supervisor"].put("/api/v1/modules/dialer", json=body)).status_code == 403
    assert (await clients["agent"].get("/api/v1/modules")).status_code == 403
    assert (await clients["admin"].put("/api/v1/modules/nope", json=body)).status_code == 404
    world.context.modules = {"dialer": False, "qa": True}  # dialer off in the settings
    refused = await clients["admin"].put("/api/v1/modules/dialer", json={"enabled": True})
    assert refused.status_code == 409
    assert "restart" in refused.text
    listed = (await clients["admin"].get("/api/v1/modules")).json()
    dialer = next(module for module in listed if module["name"] == "dialer")
    assert (dialer["installed"], dialer["enabled"]) == (False, False)
