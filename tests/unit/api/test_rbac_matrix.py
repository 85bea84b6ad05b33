"""Every endpoint for every role: allowed roles succeed, the others get 403.

Supervisor and agent belong to department A and act on department A's rows here; what
they must not see of department B is in test_departments.py. Objects changed or deleted
are created fresh by the admin for each attempt, so an allowed delete really deletes.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.unit.api.conftest import World
from tests.unit.api.qa_scorecard_cases import QA_RESOURCES, qa_cases
from tests.unit.api.qa_search_cases import RECORDING, qa_search_cases

ROLES = ("admin", "supervisor", "agent", "qa", "auditor")
ALL = frozenset(ROLES)
CONFIG_READ = frozenset({"admin", "supervisor", "auditor"})
ADMIN = frozenset({"admin"})
DEPT_WRITE = frozenset({"admin", "supervisor"})
CUSTOMERS = frozenset({"admin", "supervisor", "agent"})
TOKENS = frozenset({"admin", "supervisor", "qa", "auditor"})
RECORDINGS = frozenset({"admin", "supervisor", "qa", "auditor"})
LIVE_READ = frozenset({"admin", "supervisor", "agent", "auditor"})
LIVE_ACT = frozenset({"admin", "supervisor", "agent"})
SUPERVISE = frozenset({"admin", "supervisor"})
CAMPAIGNS_READ = frozenset({"admin", "supervisor", "auditor"})

_counter = itertools.count(1)
Payload = Callable[[World, int], Awaitable[dict[str, Any]]]


def flow_definition() -> dict[str, Any]:
    return {"start": "menu", "nodes": {"menu": {"type": "hangup"}}}


async def _user_payload(world: World, n: int) -> dict[str, Any]:
    return {
        "username": f"user{n}",
        "password": "long enough password",
        "role": "agent",
        "department_id": world.ids["dept_A"],
    }


async def _agent_payload(world: World, n: int) -> dict[str, Any]:
    response = await world.clients["admin"].post(
        "/api/v1/users", json=await _user_payload(world, n)
    )
    assert response.status_code == 201, response.text
    return {
        "user_id": response.json()["id"],
        "department_id": world.ids["dept_A"],
        "extension": f"2{n}",
    }


def simple(make: Callable[[World, int], dict[str, Any]]) -> Payload:
    async def payload(world: World, n: int) -> dict[str, Any]:
        return make(world, n)

    return payload


CREATE: dict[str, Payload] = {
    "departments": simple(lambda w, n: {"name": f"dept {n}"}),
    "skills": simple(lambda w, n: {"name": f"skill {n}"}),
    "users": _user_payload,
    "agents": _agent_payload,
    "queues": simple(lambda w, n: {"name": f"queue {n}", "department_id": w.ids["dept_A"]}),
    "trunks": simple(lambda w, n: {"name": f"trunk {n}", "host": "198.51.100.7"}),
    "trunk-groups": simple(lambda w, n: {"name": f"group {n}", "trunk_ids": [w.ids["trunk"]]}),
    "inbound-routes": simple(
        lambda w, n: {"did": f"400{n}", "target_type": "queue", "target_id": w.ids["queue_A"]}
    ),
    "business-hours": simple(
        lambda w, n: {
            "name": f"hours {n}",
            "timezone": "Asia/Shanghai",
            "weekly": [{"day": 0, "start": "09:00", "end": "18:00"}],
            "holidays": ["2026-10-01"],
        }
    ),
    "wrapup-codes": simple(
        lambda w, n: {"department_id": w.ids["dept_A"], "code": f"c{n}", "label": "Callback"}
    ),
    "customers": simple(lambda w, n: {"phone": f"+8613{n:09d}", "name": "Li Lei"}),
    "webhooks": simple(
        lambda w, n: {
            "name": f"hook {n}",
            "url": "https://crm.example/hook",
            "secret": "0123456789abcdef",
            "event_types": ["*"],
        }
    ),
    "ivr-flows": simple(
        lambda w, n: {
            "name": f"flow-{n}",  # a name the node can run (pilots are checked so)
            "department_id": w.ids["dept_A"],
            "definition": flow_definition(),
        }
    ),
}
PATCH: dict[str, Callable[[int], dict[str, Any]]] = {
    "departments": lambda n: {"name": f"renamed {n}"},
    "skills": lambda n: {"name": f"renamed {n}"},
    "users": lambda n: {"display_name": f"renamed {n}"},
    "agents": lambda n: {"extension": f"3{n}"},
    "queues": lambda n: {"max_wait_seconds": 120},
    "trunks": lambda n: {"enabled": False},
    "trunk-groups": lambda n: {"strategy": "least_used"},
    "ivr-flows": lambda n: {"name": f"renamed-flow-{n}"},
    "inbound-routes": lambda n: {"did": f"500{n}"},
    "business-hours": lambda n: {"timezone": "UTC"},
    "wrapup-codes": lambda n: {"label": "Renamed"},
    "customers": lambda n: {"name": "Han Meimei"},
    "webhooks": lambda n: {"active": False},
}
PERMISSIONS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "departments": (CONFIG_READ, ADMIN),
    "skills": (CONFIG_READ, ADMIN),
    "users": (CONFIG_READ, ADMIN),
    "agents": (CONFIG_READ, DEPT_WRITE),
    "queues": (CONFIG_READ, DEPT_WRITE),
    "trunks": (CONFIG_READ, ADMIN),
    "trunk-groups": (CONFIG_READ, ADMIN),
    "inbound-routes": (CONFIG_READ, ADMIN),
    "business-hours": (CONFIG_READ, ADMIN),
    "wrapup-codes": (CONFIG_READ, DEPT_WRITE),
    "customers": (CUSTOMERS, CUSTOMERS),
    "webhooks": (CONFIG_READ, ADMIN),
    "ivr-flows": (CONFIG_READ, DEPT_WRITE),
}


#: Campaigns are addressed by name: ``{name}`` in a path is the fresh campaign's.
_campaign_names: dict[int, str] = {}


async def _campaign(world: World, n: int) -> int:
    name = f"campaign-{n}"
    response = await world.clients["admin"].post(
        "/api/v1/campaigns",
        json={"name": name, "department_id": world.ids["dept_A"], "queue_id": world.ids["queue_A"]},
    )
    assert response.status_code == 201, response.text
    campaign_id: int = response.json()["id"]
    _campaign_names[campaign_id] = name
    return campaign_id


async def _do_not_call_entry(world: World, n: int, campaign: bool) -> int:
    path = "/api/v1/do-not-call"
    if campaign:
        path = f"/api/v1/campaigns/{_campaign_names[await _campaign(world, n)]}/do-not-call"
    response = await world.clients["admin"].post(path, json={"number": f"+86138{n:08d}"})
    assert response.status_code == 200, response.text
    entry_id: int = response.json()["added"][0]["id"]
    return entry_id


def _period() -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "starts_at": now.isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
    }


async def _lending(world: World, n: int) -> int:
    """A lending of department A's agents to a fresh campaign; ``{name}`` is the campaign's."""
    name = _campaign_names[await _campaign(world, n)]
    response = await world.clients["admin"].post(
        f"/api/v1/campaigns/{name}/lendings",
        json={"department_id": world.ids["dept_A"], **_period()},
    )
    assert response.status_code == 201, response.text
    lending_id: int = response.json()["id"]
    _campaign_names[lending_id] = name
    return lending_id


async def fresh(world: World, resource: str) -> int:
    if resource == "recording":  # written by the node, not through the API
        return world.ids["recording_A"]
    if resource == "campaigns":
        return await _campaign(world, next(_counter))
    if resource in ("dnc-global", "dnc-campaign"):
        return await _do_not_call_entry(world, next(_counter), resource == "dnc-campaign")
    if resource == "lendings":
        return await _lending(world, next(_counter))
    if resource in QA_RESOURCES:
        return await QA_RESOURCES[resource](world)
    payload = await CREATE[resource](world, next(_counter))
    response = await world.clients["admin"].post(f"/api/v1/{resource}", json=payload)
    assert response.status_code == 201, response.text
    item_id: int = response.json()["id"]
    return item_id


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    allowed: frozenset[str]
    status: int = 200
    resource: str | None = None  # create a fresh one of these and put its id in {id}
    body: Payload | None = None
    #: Run as admin on the fresh item first (a pilot to end or promote).
    setup: Callable[[World, int], Awaitable[None]] | None = None
    #: The body is multipart form fields and files (``{"data": …, "files": …}``), not JSON.
    multipart: bool = False

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


async def _start_campaign(world: World, campaign_id: int) -> None:
    name = _campaign_names[campaign_id]
    response = await world.clients["admin"].post(f"/api/v1/campaigns/{name}/start")
    assert response.status_code == 200, response.text


CONTACT_LIST = b"name,mobile\nLi Lei,13800138000\n"


def _list_upload(mapping: bool) -> Payload:
    async def payload(world: World, n: int) -> dict[str, Any]:
        form: dict[str, Any] = {"files": {"file": ("list.csv", CONTACT_LIST, "text/csv")}}
        if mapping:
            form["data"] = {"mapping": '{"phone": ["mobile"], "name": "name"}'}
        return form

    return payload


def _campaign_cases() -> list[Case]:
    """campaigns:read for admins, supervisors (their departments) and auditors;
    campaigns:write for admins and supervisors; a global do-not-call entry is taken off
    the list by admins only."""
    base = "/api/v1/campaigns"
    one = base + "/{name}"
    cases = [
        Case("GET", base, CAMPAIGNS_READ),
        Case(
            "POST",
            base,
            DEPT_WRITE,
            201,
            body=simple(
                lambda w, n: {
                    "name": f"new-campaign-{n}",
                    "department_id": w.ids["dept_A"],
                    "queue_id": w.ids["queue_A"],
                }
            ),
        ),
        Case("GET", one, CAMPAIGNS_READ, resource="campaigns"),
        Case(
            "PATCH",
            one,
            DEPT_WRITE,
            resource="campaigns",
            body=simple(lambda w, n: {"priority": 3}),
        ),
        Case("DELETE", one, DEPT_WRITE, 204, resource="campaigns"),
        Case("POST", one + "/start", DEPT_WRITE, resource="campaigns"),
        Case("POST", one + "/pause", DEPT_WRITE, resource="campaigns", setup=_start_campaign),
        Case("POST", one + "/stop", DEPT_WRITE, resource="campaigns"),
        Case(
            "POST",
            one + "/contacts",
            DEPT_WRITE,
            resource="campaigns",
            body=_list_upload(mapping=True),
            multipart=True,
        ),
        Case(
            "POST",
            one + "/contacts/header",
            DEPT_WRITE,
            resource="campaigns",
            body=_list_upload(mapping=False),
            multipart=True,
        ),
        Case("GET", one + "/contacts", CAMPAIGNS_READ, resource="campaigns"),
        Case("GET", one + "/attempts", CAMPAIGNS_READ, resource="campaigns"),
        Case("GET", one + "/stats", CAMPAIGNS_READ, resource="campaigns"),
        Case("GET", one + "/do-not-call", CAMPAIGNS_READ, resource="campaigns"),
        Case(
            "POST",
            one + "/do-not-call",
            DEPT_WRITE,
            resource="campaigns",
            body=simple(lambda w, n: {"number": f"+86139{n:08d}"}),
        ),
        Case("GET", "/api/v1/do-not-call", CAMPAIGNS_READ),
        Case(
            "POST",
            "/api/v1/do-not-call",
            DEPT_WRITE,
            body=simple(lambda w, n: {"number": f"+86137{n:08d}"}),
        ),
        Case("DELETE", "/api/v1/do-not-call/{id}", ADMIN, 204, resource="dnc-global"),
        Case("DELETE", "/api/v1/do-not-call/{id}", DEPT_WRITE, 204, resource="dnc-campaign"),
        # The live figures need the node's dialler: none here, so permitted callers get 503.
        Case("GET", one + "/live", CAMPAIGNS_READ, 503, resource="campaigns"),
        Case("GET", one + "/lendings", CAMPAIGNS_READ, resource="campaigns"),
        Case(
            "POST",
            one + "/lendings",
            DEPT_WRITE,
            201,
            resource="campaigns",
            body=simple(lambda w, n: {"department_id": w.ids["dept_A"], **_period()}),
        ),
        Case("DELETE", one + "/lendings/{id}", DEPT_WRITE, 204, resource="lendings"),
        # The desktop's preview is an agent's own (others have no desk: 403), and needs
        # the dialler (503 here).
        Case("GET", "/api/v1/desk/preview", frozenset({"agent"}), 503),
        Case("POST", "/api/v1/desk/preview/next", frozenset({"agent"}), 503),
        Case("POST", "/api/v1/desk/preview/1/dial", frozenset({"agent"}), 503),
        Case("POST", "/api/v1/desk/preview/1/skip", frozenset({"agent"}), 503),
    ]
    return cases


async def _pilot(world: World, flow_id: int) -> None:
    """Department A pilots version 1 of a fresh (unpublished) flow."""
    response = await world.clients["admin"].put(
        f"/api/v1/ivr-flows/{flow_id}/pilots/{world.ids['dept_A']}", json={"version": 1}
    )
    assert response.status_code == 200, response.text


def _cases() -> list[Case]:
    cases = [
        Case("GET", "/api/v1/auth/me", ALL),
        Case("GET", "/api/v1/cdrs", ALL),
        Case("GET", "/api/v1/cdrs/export.csv", CONFIG_READ),
        Case("GET", "/api/v1/audit-log", frozenset({"admin", "auditor"})),
        Case("GET", "/api/v1/tokens", TOKENS),
        Case("GET", "/api/v1/recordings", RECORDINGS),
        Case("GET", "/api/v1/config/export", ADMIN),
        Case("GET", "/api/v1/webhooks/{id}/deliveries", CONFIG_READ, resource="webhooks"),
        Case("GET", "/api/v1/recordings/{id}", RECORDINGS, resource="recording"),
        Case("GET", "/api/v1/recordings/{id}/audio", RECORDINGS, resource="recording"),
        Case(
            "POST",
            "/api/v1/tokens",
            TOKENS,
            201,
            body=simple(lambda w, n: {"name": f"t{n}", "scopes": ["tokens"]}),
        ),
        Case("GET", "/api/v1/ivr-flows/{id}/versions", CONFIG_READ, resource="ivr-flows"),
        Case(
            "POST",
            "/api/v1/ivr-flows/validate",
            CONFIG_READ,
            body=simple(lambda w, n: {"yaml": "start: a\nnodes: {a: {type: hangup}}\n"}),
        ),
        Case(
            "POST",
            "/api/v1/ivr-flows/{id}/versions",
            DEPT_WRITE,
            201,
            resource="ivr-flows",
            body=simple(lambda w, n: {"definition": flow_definition()}),
        ),
        Case(
            "POST",
            "/api/v1/ivr-flows/{id}/publish",
            DEPT_WRITE,
            resource="ivr-flows",
            body=simple(lambda w, n: {"version": 1}),
        ),
        Case("GET", "/api/v1/ivr-flows/{id}/pilots", CONFIG_READ, resource="ivr-flows"),
        Case(
            "PUT",
            "/api/v1/ivr-flows/{id}/pilots/{dept}",
            DEPT_WRITE,
            resource="ivr-flows",
            body=simple(lambda w, n: {"version": 1}),
        ),
        Case(
            "DELETE",
            "/api/v1/ivr-flows/{id}/pilots/{dept}",
            DEPT_WRITE,
            204,
            resource="ivr-flows",
            setup=_pilot,
        ),
        Case(
            "POST",
            "/api/v1/ivr-flows/{id}/pilots/{dept}/promote",
            DEPT_WRITE,
            resource="ivr-flows",
            setup=_pilot,
        ),
    ]
    # This API has no telephony behind it: permitted callers get 503, the others 403
    # (test_live.py covers the answers of a node with a live contact centre).
    cases += [Case("GET", f"/api/v1/live/{view}", LIVE_READ, 503) for view in LIVE_VIEWS]
    cases += [
        Case("POST", f"/api/v1/live/agents/1001/{action}", LIVE_ACT, 503)
        for action in ("login", "ready", "logout")
    ]
    cases.append(
        Case(
            "POST",
            "/api/v1/live/agents/1001/break",
            LIVE_ACT,
            503,
            body=simple(lambda w, n: {"reason": "lunch"}),
        )
    )
    cases += [
        Case("POST", f"/api/v1/live/calls/c-1/{action}", LIVE_ACT, 503)
        for action in ("hold", "resume", "hangup")
    ]
    cases.append(
        Case(
            "POST",
            "/api/v1/live/calls/c-1/transfer",
            LIVE_ACT,
            503,
            body=simple(lambda w, n: {"queue": "sales"}),
        )
    )
    # The agent desktop's screen pop needs the live centre too; a wrap-up is stored on the
    # CDR (agent 100 of department A; an unknown code is the permitted callers' 409).
    cases.append(Case("GET", "/api/v1/live/calls/c-1/screen-pop", LIVE_READ & CUSTOMERS, 503))
    cases.append(
        Case(
            "POST",
            "/api/v1/live/agents/100/wrapup",
            LIVE_ACT,
            409,
            body=simple(lambda w, n: {"call_id": "call-A-0", "code": "no-such-code"}),
        )
    )
    cases.append(Case("GET", "/api/v1/stats/intervals?day=2026-05-04", ALL))
    cases.append(Case("GET", "/api/v1/live/trunks", CONFIG_READ, 503))
    cases.append(Case("GET", "/api/v1/modules", CONFIG_READ))
    cases.append(
        Case("PUT", "/api/v1/modules/dialer", ADMIN, body=simple(lambda w, n: {"enabled": True}))
    )
    cases.append(
        Case(
            "POST",
            "/api/v1/live/calls",
            LIVE_ACT,
            503,
            body=simple(lambda w, n: {"agent": "100", "number": "+86 21 6888 8888"}),
        )
    )
    cases += [
        Case("POST", f"/api/v1/live/calls/c-1/{action}", LIVE_ACT, 503)
        for action in (
            "consult/complete",
            "consult/cancel",
            "conference/drop",
            "recording/start",
            "recording/stop",
            "recording/pause",
            "recording/resume",
        )
    ]
    cases += [
        Case(
            "POST",
            f"/api/v1/live/calls/c-1/{action}",
            LIVE_ACT,
            503,
            body=simple(lambda w, n: {"target": "1002"}),
        )
        for action in ("consult", "conference")
    ]
    cases += [
        Case(
            "POST",
            "/api/v1/live/calls/c-1/supervise",
            SUPERVISE,
            503,
            body=simple(lambda w, n: {"mode": "listen", "phone": "1009"}),
        ),
        Case("POST", "/api/v1/live/calls/c-1/supervise/stop", SUPERVISE, 503),
    ]
    cases += _campaign_cases()
    cases += qa_cases(Case, simple)
    cases += qa_search_cases(Case, simple)
    for resource, (read, write) in PERMISSIONS.items():
        base = f"/api/v1/{resource}"
        cases += [
            Case("GET", base, read),
            Case("POST", base, write, 201, body=CREATE[resource]),
            Case("GET", base + "/{id}", read, resource=resource),
            Case("DELETE", base + "/{id}", write, 204, resource=resource),
        ]
        if resource in PATCH:
            patch = PATCH[resource]
            cases.append(
                Case(
                    "PATCH",
                    base + "/{id}",
                    write,
                    resource=resource,
                    body=simple(lambda w, n, patch=patch: patch(n)),  # type: ignore[misc]
                )
            )
    return cases


LIVE_VIEWS = ("queues", "agents", "calls")
CASES = _cases()


async def test_every_endpoint_allows_exactly_its_roles(world: World, clients) -> None:
    # One world for the whole table (logging in five roles per case would cost minutes of
    # argon2); every mismatch is collected so that one run shows them all.
    mismatches = []
    for case in CASES:
        for role in ROLES:
            path = case.path.replace("{dept}", str(world.ids["dept_A"]))
            if case.resource is not None:
                item_id = await fresh(world, case.resource)
                path = path.replace("{id}", str(item_id))
                path = path.replace("{name}", _campaign_names.get(item_id, ""))
                if case.setup is not None:
                    await case.setup(world, item_id)
            body = await case.body(world, next(_counter)) if case.body else None
            if case.multipart:
                assert body is not None
                response = await clients[role].request(case.method, path, **body)
            else:
                response = await clients[role].request(case.method, path, json=body)
            expected = case.status if role in case.allowed else 403
            if response.status_code != expected:
                mismatches.append(f"{case} as {role}: {response.status_code} {response.text}")
    assert mismatches == []


def test_matrix_covers_every_api_route(world: World) -> None:
    covered = {(case.method, case.path.replace("{id}", "{item_id}")) for case in CASES}
    covered |= {(m, p.replace("{item_id}", "{flow_id}")) for m, p in covered}
    covered |= {(m, p.replace("{dept}", "{department_id}")) for m, p in covered}
    covered |= {(m, p.replace("{item_id}", "{recording_id}")) for m, p in covered}
    covered |= {(m, p.replace("{item_id}", "{webhook_id}")) for m, p in covered}
    covered |= {(m, p.replace("{item_id}", "{entry_id}")) for m, p in covered}
    covered |= {(m, p.replace("{item_id}", "{lending_id}")) for m, p in covered}
    covered |= {(m, p.replace("{item_id}", "{scorecard_id}")) for m, p in covered}
    covered |= {(m, p.replace("{item_id}", "{score_id}")) for m, p in covered}
    covered |= {(m, p.replace(f"/{RECORDING}", "/{recording_id}")) for m, p in covered}
    covered |= {(m, p.replace("/1/", "/{contact_id}/")) for m, p in covered}
    covered |= {(m, p.replace("/modules/dialer", "/modules/{name}")) for m, p in covered}
    covered |= {(m, p.replace("/1001/", "/{agent_id}/")) for m, p in covered}
    covered |= {(m, p.replace("/c-1/", "/{call_id}/")) for m, p in covered}
    covered |= {(m, p.replace("/100/", "/{agent_id}/")) for m, p in covered}
    covered |= {(m, p.split("?", 1)[0]) for m, p in covered}
    missing = []
    # The OpenAPI document lists every route served (FastAPI keeps included routers
    # nested, so ``app.routes`` holds only their wrappers).
    paths: dict[str, dict[str, object]] = world.app.openapi()["paths"]  # type: ignore[attr-defined]
    assert len(paths) > 50
    for path, operations in paths.items():
        if not path.startswith("/api/v1") or path.startswith("/api/v1/auth/"):
            continue  # login/logout are open to everyone by design
        for method in operations:
            # Revoking a token is owner-only (test_auth.py); import takes YAML
            # (test_config_backup.py checks it for every role).
            exempt = ("/api/v1/tokens/{token_id}", "/api/v1/config/import")
            if (method.upper(), path) not in covered and path not in exempt:
                missing.append(f"{method.upper()} {path}")
    assert missing == []


async def test_anonymous_gets_401_everywhere(world: World, clients) -> None:
    anonymous = clients["anonymous"]
    for case in CASES:
        if case.path == "/api/v1/auth/me" or case.resource is None:
            path = case.path
        else:
            path = case.path.replace("{id}", "1")
        path = path.replace("{dept}", "1").replace("{name}", "campaign-1")
        response = await anonymous.request(case.method, path, json={})
        assert response.status_code == 401, (case, response.text)
