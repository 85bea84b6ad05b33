"""A predictive campaign end to end on the real SIP path: SIPp customers, SIPp agents.

The demo node dials a list of 60 customers through its trunk group ``campaign``, whose
carrier is a SIPp *population* (``tests/support/sipp_population.py``): what each customer
does is written in its number (``+86 21 6888 1xxx`` answers after 1-6 s of ringing and talks
an A-law tone for 6-20 s unless the node hangs up first, ``2xxx`` is busy, ``3xxx`` rings
until the node gives up, ``4xxx`` does not exist), in a seeded mix of 50 % answering, 20 %
busy, 20 % no answer and 10 % invalid. The six demo agents are made members of the sales
queue and registered from one SIPp *agent farm*, which answers every call at once, echoes
its audio and hangs up after 8-15 s. Everything the test does goes through the API, as an
operator would: the campaign (predictive, on the sales queue, short retry delays), the
CSV import, start and stop, and the read-back of attempts, contacts, statistics and CDRs.

What is checked against what the population did: every contact was dialled, each attempt
has the outcome its number's behaviour implies, and the carrier saw exactly the INVITEs the
dialler recorded; busy and unanswered contacts were retried after their delays and then
exhausted; invalid numbers were dialled once and never again; every answered attempt has an
agent (within the 2-s rule) and a CDR with its call id naming the same agent; the abandon
rate stays within the cap (rounded down, plus one call: a sample of ~30 answers cannot
resolve 3 %); and no call failed on the node's side (no 5xx in SIPp's logs, no error in the
node's log). It prints the run's figures (dialled, answered, abandoned, busy, no answer,
invalid, the peak of calls at once).

Answering machines and the 2-second rule on the wire are ``test_campaign_amd_sipp.py``'s.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import HotlineProcess
from tests.interop.conftest import require_peer
from tests.interop.test_call_path import tone_wav
from tests.support.baresip import free_port_pair
from tests.support.demo_node import DemoNode, wait_until
from tests.support.sipp_population import (
    Behaviour,
    Customer,
    SippPeer,
    agent_farm_scenario,
    agents_ready,
    behaviour_of,
    by_name,
    invites_by_number,
    messages,
    population,
    population_scenario,
    register_agents,
)

pytestmark = pytest.mark.interop

SEED = 15
CONTACTS = 60
MIX: dict[Behaviour, float] = {"answer": 0.5, "busy": 0.2, "no_answer": 0.2, "invalid": 0.1}
AGENTS = ("1001", "1002", "1003", "1004", "1005", "1006")
CAMPAIGN = "spring-sale"
ABANDON_CAP = 0.03
BUSY_DELAY = 20.0
RETRY_RULES = {
    "busy": {"delay_seconds": BUSY_DELAY, "max_attempts": 2},
    # The node rings an unanswered number for 60 s (``CUSTOMER_RING_TIMEOUT``) and the
    # hopper dials every fresh contact before any retry: a second ring would not fit in
    # the test's few minutes, so an unanswered contact has one attempt.
    "no_answer": {"max_attempts": 1},
    # An abandoned customer is not called again in this test (the default waits a day).
    "abandoned": {"max_attempts": 1},
}
#: Seconds from the start to every contact final (about 140 s to dial every fresh contact
#: with six agents, then the last unanswered ones ring out their 60 s).
FINISH_WITHIN = 230.0
POLL_SECONDS = 2.0
RING_SECONDS = (1.0, 6.0)  # how long an answering customer's phone rings
FINAL = frozenset({"done", "exhausted"})
#: What each behaviour's attempts must end as (abandoned: answered, but no agent in 2 s).
OUTCOMES: dict[Behaviour, frozenset[str]] = {
    "answer": frozenset({"answered", "abandoned"}),
    "busy": frozenset({"busy"}),
    "no_answer": frozenset({"no_answer"}),
    "invalid": frozenset({"invalid_number"}),
}
STATUSES: dict[Behaviour, frozenset[int | None]] = {
    "answer": frozenset({None, 200}),
    "busy": frozenset({486}),
    "no_answer": frozenset({480, 487}),
    "invalid": frozenset({404}),
}


def population_trunk(peer: SippPeer) -> dict[str, Any]:
    return {
        "name": "population",
        "host": "127.0.0.1",
        "port": peer.port,
        "priority": 0,
        "probe_interval_s": 1.0,
        "probe_timeout_s": 0.8,
        "down_after": 3,
        "up_after": 1,
        "setup_timeout_s": 4.0,
    }


@pytest.fixture
def customers() -> list[Customer]:
    return population(CONTACTS, MIX, SEED)


@pytest.fixture
def carrier(tmp_path: Path) -> Iterator[SippPeer]:
    talk = tone_wav(tmp_path / "customer.wav", 700.0, 30.0, "a-law")
    port, media = free_port_pair(), free_port_pair()
    peer = SippPeer(
        require_peer("sipp"),
        tmp_path,
        "population",
        population_scenario(
            talk, ring_ms=(int(RING_SECONDS[0] * 1000), int(RING_SECONDS[1] * 1000))
        ),
        port,
        media,
    )
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture
def node(
    run_hotline: type[HotlineProcess], tmp_path: Path, carrier: SippPeer
) -> Iterator[DemoNode]:
    env = {
        "HOTLINE_TRUNKS": json.dumps([population_trunk(carrier)]),
        "HOTLINE_TRUNK_GROUPS": json.dumps([{"name": "campaign", "trunks": ["population"]}]),
    }
    demo = DemoNode(run_hotline, tmp_path, env)
    try:
        yield demo
    finally:
        assert demo.stop() == 0


@pytest.fixture
def farm(node: DemoNode, tmp_path: Path) -> Iterator[SippPeer]:
    """The six agents, members of the sales queue, registered at the farm, ready."""
    api = node.api
    sales = by_name(api.get("/api/v1/queues").json()["items"], "sales")["id"]
    for agent in api.get("/api/v1/agents").json()["items"]:
        queues = [{"queue_id": q["queue_id"], "priority": q["priority"]} for q in agent["queues"]]
        if agent["extension"] in AGENTS and all(q["queue_id"] != sales for q in queues):
            patched = api.patch(
                f"/api/v1/agents/{agent['id']}",
                json={"queues": [*queues, {"queue_id": sales, "priority": 0}]},
            )
            assert patched.status_code == 200, patched.text
    sipp = require_peer("sipp")
    port, media = free_port_pair(), free_port_pair()
    register_agents(sipp, tmp_path, node.sip_port, port, {a: node.password(a) for a in AGENTS})
    peer = SippPeer(sipp, tmp_path, "farm", agent_farm_scenario(), port, media, echo=True)
    try:
        agents_ready(api, AGENTS, "sales")
        yield peer
    finally:
        peer.stop()


def contact_list(customers: list[Customer]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "name", "phone"])
    for index, customer in enumerate(customers, 1):
        writer.writerow([f"c{index:03d}", f"Customer {index}", customer.national])
    return out.getvalue().encode()


def paged(api: httpx.Client, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after: int | None = None
    while True:
        params = {"limit": 1000, **({"after": after} if after is not None else {})}
        page = api.get(path, params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        after = body["next"]
        if after is None:
            return items


def all_cdrs(api: httpx.Client) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = api.get("/api/v1/cdrs", params={"limit": 1000, "offset": len(rows)}).json()
        rows += page
        if len(page) < 1000:
            return rows


def at(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def test_predictive_campaign_dials_a_sipp_population_into_a_sipp_agent_farm(
    node: DemoNode, carrier: SippPeer, farm: SippPeer, customers: list[Customer], tmp_path: Path
) -> None:
    api = node.api
    department = by_name(api.get("/api/v1/departments").json()["items"], "sales")["id"]
    sales = by_name(api.get("/api/v1/queues").json()["items"], "sales")["id"]
    created = api.post(
        "/api/v1/campaigns",
        json={
            "name": CAMPAIGN,
            "department_id": department,
            "mode": "predictive",
            "queue_id": sales,
            "trunk_group": "campaign",
            "abandon_target": ABANDON_CAP,
            "calling_hours": {"mon-sun": "00:00-24:00"},
            "retry_rules": RETRY_RULES,
        },
    )
    assert created.status_code == 201, created.text
    base = f"/api/v1/campaigns/{CAMPAIGN}"
    imported = api.post(
        f"{base}/contacts",
        files={"file": ("list.csv", contact_list(customers), "text/csv")},
        data={"mapping": json.dumps({"phone": ["phone"], "name": "name", "external_id": "id"})},
    )
    assert imported.status_code == 200, imported.text
    assert (imported.json()["imported"], imported.json()["problems"]) == (CONTACTS, [])
    started_at = time.monotonic()
    started = api.post(f"{base}/start")
    assert started.status_code == 200, started.text

    try:
        while True:
            statuses = Counter(c["status"] for c in paged(api, f"{base}/contacts"))
            took = time.monotonic() - started_at
            if set(statuses) <= FINAL:
                break
            if took > FINISH_WITHIN:
                (tmp_path / "node.log").write_text(node.process.drain())
                stats = api.get(f"{base}/stats").json()
                raise AssertionError(f"not final after {took:.0f} s: {statuses}, {stats}")
            time.sleep(POLL_SECONDS)
        # No contact left: the runner completes the campaign by itself (it re-reads its
        # campaigns every 5 s).
        wait_until(
            lambda: api.get(base).json()["status"] == "completed", 15, "the campaign completed"
        )
    except BaseException:
        api.post(f"{base}/stop")
        raise
    wait_until(lambda: api.get(f"{base}/stats").json()["in_progress"] == 0, 30, "calls to end")
    wait_until(lambda: not api.get("/api/v1/live/calls").json(), 60, "the last calls to end")

    contacts = {c["id"]: c for c in paged(api, f"{base}/contacts")}
    attempts = paged(api, f"{base}/attempts")
    stats = api.get(f"{base}/stats").json()
    by_contact: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for attempt in sorted(attempts, key=lambda a: a["id"]):
        by_contact[attempt["contact_id"]].append(attempt)
    behaviour = {cid: behaviour_of(c["primary_phone"]) for cid, c in contacts.items()}
    assert Counter(behaviour.values()) == Counter(c.behaviour for c in customers)

    # Every contact was dialled; every attempt ended as its number's behaviour implies.
    assert set(by_contact) == set(contacts)
    for contact_id, tries in by_contact.items():
        kind = behaviour[contact_id]
        for attempt in tries:
            assert attempt["ended_at"] is not None, attempt
            assert attempt["outcome"] in OUTCOMES[kind], (kind, attempt)
            assert attempt["sip_status"] in STATUSES[kind], (kind, attempt)
    # The carrier saw exactly the dials the dialler recorded, per number.
    invites = invites_by_number(carrier.messages)
    for contact_id, contact in contacts.items():
        dialled = invites.get(contact["primary_phone"][-4:], [])
        assert len(dialled) == len(by_contact[contact_id]), (contact, dialled)

    for contact_id, tries in by_contact.items():
        contact, kind = contacts[contact_id], behaviour[contact_id]
        assert contact["attempts"] == len(tries), (contact, tries)
        if kind == "busy":
            # Retried once, not before its delay, then out of attempts.
            assert len(tries) == 2, (contact, tries)
            assert contact["status"] == "exhausted", contact
            assert at(tries[1]["started_at"]) - at(tries[0]["ended_at"]) >= BUSY_DELAY - 1, tries
        elif kind == "no_answer":
            assert len(tries) == 1, (contact, tries)
            assert contact["status"] == "exhausted", contact
        elif kind == "invalid":
            assert len(tries) == 1, (contact, tries)
            assert contact["status"] == "done", contact
        else:
            assert len(tries) == 1, (contact, tries)
            outcome = tries[0]["outcome"]
            assert contact["status"] == ("done" if outcome == "answered" else "exhausted")

    # Answered attempts: an agent took each one, and each has its CDR (same call id) that
    # names the same agent.
    extensions = {a["id"]: a["extension"] for a in api.get("/api/v1/agents").json()["items"]}
    cdrs = {row["call_id"]: row for row in all_cdrs(api)}
    answered = [a for a in attempts if a["outcome"] == "answered"]
    abandoned = [a for a in attempts if a["outcome"] == "abandoned"]
    for attempt in answered:
        assert attempt["agent"] in AGENTS, attempt
        assert attempt["connected_at"] is not None, attempt
        # The customer's phone rang 1-6 s; an agent took the call within the 2-s rule.
        rang = at(attempt["answered_at"]) - at(attempt["started_at"])
        assert RING_SECONDS[0] - 0.1 <= rang <= RING_SECONDS[1] + 1.5, attempt
        assert at(attempt["connected_at"]) - at(attempt["answered_at"]) < 2.0, attempt
        cdr = cdrs.get(attempt["call_id"])
        assert cdr is not None, attempt
        assert cdr["direction"] == "outbound", cdr
        assert extensions.get(cdr["agent_id"]) == attempt["agent"], (attempt, cdr)
    for attempt in abandoned:
        assert attempt["agent"] is None, attempt
        assert attempt["call_id"] in cdrs, attempt

    # The abandon rate. With ~30 answered calls one abandon is ~3.3 %, more than the 3 %
    # cap on its own: the sample cannot resolve the cap, and the pacing's own guard is a
    # probability (the calls in flight may cross the cap with 5 % chance, docs/dialer.md).
    # So the test allows what the cap allows, rounded down, plus one call.
    people = len(answered) + len(abandoned)
    assert people == sum(1 for kind in behaviour.values() if kind == "answer")
    assert len(abandoned) <= math.floor(ABANDON_CAP * people) + 1, (len(abandoned), people)
    rate = len(abandoned) / people if people else 0.0
    assert stats["abandon_rate"] == pytest.approx(rate), stats

    # Nothing failed on the node's side.
    for peer in (carrier, farm):
        node_errors = [
            m
            for m in messages(peer.messages)
            if m.direction == "received" and m.status is not None and m.status >= 500
        ]
        assert node_errors == [], (peer.name, node_errors[:5])
        assert peer.alive(), f"SIPp {peer.name} exited"
    log = node.process.drain()
    (tmp_path / "node.log").write_text(log)
    bad = [line for line in log.splitlines() if re.search(r"\[(error|critical)|Traceback", line)]
    assert bad == [], bad[:10]

    outcomes = Counter(a["outcome"] for a in attempts)
    # The most calls the dialler had in progress at once (progressive: one per ready agent).
    changes = sorted(
        [(at(a["started_at"]), 1) for a in attempts] + [(at(a["ended_at"]), -1) for a in attempts]
    )
    lines = peak = 0
    for _, change in changes:
        lines += change
        peak = max(peak, lines)
    # The run's figures, for the reader (shown with pytest -s).
    summary = (
        f"\ncampaign {CAMPAIGN}: {len(contacts)} contacts, {len(attempts)} dialled in "
        f"{took:.0f} s; answered {outcomes['answered']}, abandoned {outcomes['abandoned']} "
        f"(rate {rate:.1%}, cap {ABANDON_CAP:.0%}), busy {outcomes['busy']}, "
        f"no answer {outcomes['no_answer']}, invalid {outcomes['invalid_number']}; "
        f"peak {peak} calls at once for {len(AGENTS)} agents; "
        f"calls per agent {dict(sorted(Counter(a['agent'] for a in answered).items()))}"
    )
    sys.stdout.write(summary + "\n")
