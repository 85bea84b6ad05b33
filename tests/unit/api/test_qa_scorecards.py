"""The QA scorecard API over a real store: bad items refused naming the field, what each
role sees of the scores, the review cycle with its history, rescoring and reports (JSON and
CSV). Roles allowed per route are in test_rbac_matrix.py."""

from __future__ import annotations

import csv
import io

import httpx

from hotline.qa.scorecards import DEFAULT_ITEMS
from tests.unit.api.conftest import World
from tests.unit.api.qa_scorecard_cases import analysed_score

CARDS = "/api/v1/qa/scorecards"


async def test_bad_items_are_a_422_naming_the_field(world: World, clients) -> None:
    qa: httpx.AsyncClient = clients["qa"]
    bad = {"name": "bad", "items": [{"key": "s", "kind": "metric", "params": {"metric": "x"}}]}
    response = await qa.post(CARDS, json=bad)
    assert response.status_code == 422
    (problem,) = response.json()["detail"]
    assert problem["loc"] == ["body", "items", "0", "params", "metric"]
    assert (await qa.get(CARDS)).json() == []  # nothing stored
    good = {"name": "good", "items": list(DEFAULT_ITEMS)}
    assert (await qa.post(CARDS, json=good)).status_code == 201
    again = await qa.post(CARDS, json=good)
    assert again.status_code == 409
    assert again.json()["field"] == "name"


async def test_agents_see_their_own_scores_supervisors_their_department(
    world: World, clients
) -> None:
    own = await analysed_score(world, "call-A-0")
    other = await analysed_score(world, "call-B-0")
    listed = {
        role: {
            item["id"] for item in (await clients[role].get("/api/v1/qa/scores")).json()["items"]
        }
        for role in ("qa", "supervisor", "agent", "agent_b", "supervisor_b")
    }
    assert listed == {
        "qa": {own, other},
        "supervisor": {own},
        "agent": {own},
        "agent_b": {other},
        "supervisor_b": {other},
    }
    assert (await clients["agent"].get(f"/api/v1/qa/scores/{other}")).status_code == 404
    assert (
        await clients["supervisor"].post(
            f"/api/v1/qa/scores/{other}/override", json={"comment": "x", "total": 1}
        )
    ).status_code == 404
    page = (await clients["qa"].get("/api/v1/qa/scores?agent=agent&limit=1")).json()
    assert (page["count"], page["next"]) == (1, None)
    assert page["items"][0]["agent_username"] == "agent"
    assert page["items"][0]["queue"] == "queue A"


async def test_review_cycle_and_history(world: World, clients) -> None:
    score_id = await analysed_score(world)
    base = f"/api/v1/qa/scores/{score_id}"
    score = (await clients["qa"].get(base)).json()
    assert score["status"] == "auto"
    silence = next(item for item in score["items"] if item["key"] == "silence")
    assert silence["outcome"] == "failed"
    no_comment = await clients["qa"].post(base + "/override", json={"total": 90})
    assert no_comment.status_code == 422
    changed = await clients["qa"].post(
        base + "/override",
        json={"item": "silence", "outcome": "passed", "comment": "on hold, music playing"},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "reviewed"
    assert changed.json()["final_score"] > score["final_score"]
    disputed = await clients["agent"].post(base + "/dispute", json={"comment": "I verified"})
    assert disputed.json()["status"] == "disputed"
    resolved = await clients["supervisor"].post(
        base + "/resolve", json={"comment": "identity asked at 00:40", "total": 100}
    )
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["final_score"] == 100.0
    history = [(r["action"], r["actor"]) for r in resolved.json()["reviews"]]
    assert history == [("override", "qa"), ("dispute", "agent"), ("resolve", "supervisor")]
    audit = (await clients["admin"].get("/api/v1/audit-log?resource=qa-scores")).json()
    assert sorted(entry["action"] for entry in audit) == ["dispute", "override", "resolve"]


async def test_rescore_and_reports(world: World, clients) -> None:
    score_id = await analysed_score(world)
    scorecard_id = (await clients["qa"].get(f"/api/v1/qa/scores/{score_id}")).json()["scorecard_id"]
    card = (await clients["qa"].get(f"{CARDS}/{scorecard_id}")).json()
    items = card["items"]
    items[2]["params"] = {"metric": "longest_silence_seconds", "max": 30}
    patched = await clients["qa"].patch(f"{CARDS}/{scorecard_id}", json={"items": items})
    assert patched.status_code == 200, patched.text
    unchanged = (await clients["qa"].get(f"/api/v1/qa/scores/{score_id}")).json()
    rescored = await clients["qa"].post(
        f"{CARDS}/{scorecard_id}/rescore", json={"since": "2026-05-01"}
    )
    assert rescored.json() == {"scored": 1, "kept": 0, "skipped": 0}
    after = (await clients["qa"].get(f"/api/v1/qa/scores/{score_id}")).json()
    assert after["final_score"] > unchanged["final_score"]
    query = "/api/v1/qa/reports?group=agent&from=2026-05-01&to=2026-05-07"
    report = (await clients["qa"].get(query)).json()
    (line,) = report["lines"]
    assert (line["group"], line["count"], line["average"]) == ("agent", 1, after["final_score"])
    assert line["pass_rates"]["silence"] == 1.0
    exported = await clients["qa"].get(query + "&format=csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0][:4] == ["agent", "count", "scored", "average"]
    assert rows[1][0] == "agent"
    assert (await clients["qa"].delete(f"{CARDS}/{scorecard_id}")).status_code == 409
