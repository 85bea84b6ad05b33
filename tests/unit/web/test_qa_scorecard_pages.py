"""The admin console's Scorecards section (质检评分表): the qa role lists, creates and edits
scorecards in both languages; a bad item is shown at its row and nothing is stored; a
rescore reports what it did; a supervisor has no such page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.qa.scorecards import DEFAULT_ITEMS
from hotline.store.models import AuditEntry
from hotline.store.qa_scorecards import QaScorecardRepository
from hotline.web.routes.admin_qa import item_of, row_of
from tests.unit.api.conftest import World
from tests.unit.api.qa_scorecard_cases import analysed_score
from tests.unit.web.conftest import browser_login


def form(name: str, *rows: dict[str, str], queues: list[int] | None = None) -> dict[str, object]:
    data: dict[str, object] = {"name": name, "active": "on"}
    if queues is None:
        data["all_queues"] = "on"
    else:
        data["queue_ids"] = [str(q) for q in queues]
    for n, row in enumerate(rows):
        data.update({f"items-{n}-{field}": value for field, value in row.items()})
    return data


GREETING = {
    "key": "greeting",
    "label": "问候",
    "kind": "category_present",
    "weight": "20",
    "category": "greeting",
    "speaker": "agent",
    "within": "first",
    "seconds": "10",
}
SILENCE = {
    "key": "silence",
    "kind": "metric",
    "weight": "10",
    "metric": "longest_silence_seconds",
    "max": "20",
}


def test_every_default_item_survives_the_form() -> None:
    for item in DEFAULT_ITEMS:
        assert item_of(row_of(dict(item))) == {
            **item,
            "weight": float(item["weight"]),
            "critical": item.get("critical", False),
        }


@pytest.mark.parametrize("language", ["en", "zh-CN"])
async def test_qa_creates_and_edits_a_scorecard(web: World, language: str) -> None:
    qa = await browser_login(web, "qa", language)
    index = await qa.get("/admin")
    assert index.status_code == 200
    assert "/admin/qa-scorecards" in index.text
    page = await qa.get("/admin/qa-scorecards/new")
    assert page.status_code == 200
    assert ("Category said" if language == "en" else "说到类别") in page.text
    created = await qa.post(
        "/admin/qa-scorecards/new",
        data=form("售后标准", GREETING, SILENCE, queues=[web.ids["queue_A"]]),
    )
    assert created.status_code == 303, created.text
    listed = await qa.get(created.headers["location"])
    assert "售后标准" in listed.text
    assert "queue A" in listed.text
    async with web.context.database.session() as session:
        (card,) = await QaScorecardRepository(session).scorecards()
        audit = (
            (
                await session.execute(
                    select(AuditEntry.action).where(AuditEntry.resource == "qa-scorecards")
                )
            )
            .scalars()
            .all()
        )
    assert card.queue_ids == [web.ids["queue_A"]]
    assert card.items[0]["params"] == {
        "category": "greeting",
        "speaker": "agent",
        "within": {"first": 10.0},
    }
    assert card.items[1]["params"] == {"metric": "longest_silence_seconds", "max": 20.0}
    assert audit == ["create"]
    edit = await qa.get(f"/admin/qa-scorecards/{card.id}")
    assert 'value="greeting"' in edit.text
    removed = {**SILENCE, "key": ""}  # an emptied key drops the item
    saved = await qa.post(
        f"/admin/qa-scorecards/{card.id}", data=form("售后标准", GREETING, removed)
    )
    assert saved.status_code == 303
    async with web.context.database.session() as session:
        edited = await QaScorecardRepository(session).scorecard(card.id)
    assert edited is not None
    assert [item["key"] for item in edited.items] == ["greeting"]
    assert edited.queue_ids is None


async def test_a_bad_item_is_shown_at_its_row_and_nothing_is_stored(web: World) -> None:
    qa = await browser_login(web, "qa", "en")
    bad = {**SILENCE, "max": "", "min": ""}
    refused = await qa.post("/admin/qa-scorecards/new", data=form("broken", GREETING, bad))
    assert refused.status_code == 422
    assert "needs min, max or both" in refused.text
    assert 'data-item="1" class="invalid"' in refused.text
    assert 'value="broken"' in refused.text  # what was typed is kept
    async with web.context.database.session() as session:
        assert await QaScorecardRepository(session).scorecards() == []


async def test_rescore_from_the_list(web: World) -> None:
    score_id = await analysed_score(web)
    async with web.context.database.session() as session:
        score = await QaScorecardRepository(session).score(score_id)
    assert score is not None
    qa = await browser_login(web, "qa", "zh-CN")
    done = await qa.post(
        f"/admin/qa-scorecards/{score.scorecard_id}/rescore", data={"since": "2026-05-01"}
    )
    assert done.status_code == 303
    page = await qa.get(done.headers["location"])
    assert "已重新评分 1 通通话" in page.text


async def test_a_supervisor_has_no_scorecards_page(web: World) -> None:
    supervisor = await browser_login(web, "supervisor", "en")
    assert (await supervisor.get("/admin/qa-scorecards")).status_code == 403
    assert "/admin/qa-scorecards" not in (await supervisor.get("/admin")).text
