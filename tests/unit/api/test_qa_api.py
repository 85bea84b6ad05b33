"""The QA REST API (search, a call's analysis, its audio, jobs, re-analysis) on SQLite and
PostgreSQL: who sees which calls, personal data only for recordings:unredacted (clear text
stripped, a beeped copy of the audio cached outside the recordings), clear 422s."""

from __future__ import annotations

import dataclasses
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from prometheus_client import CollectorRegistry
from sqlalchemy import delete, select

from hotline.api.app import create_api
from hotline.store.models import AuditEntry, QaJob, QaResult
from hotline.store.qa import QaRepository, QueuedRecording, ResultRow
from tests.unit.api.conftest import World

START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
RATE = 8000
SEGMENTS = [
    {"speaker": "agent", "start": 0.2, "end": 1.5, "text": "您好，请问有什么可以帮您？"},
    {"speaker": "customer", "start": 2.0, "end": 4.0, "text": "我要申请退款，手机号是[mobile]。"},
    {"speaker": "agent", "start": 4.5, "end": 5.5, "text": "OK, I will process the refund."},
]
PII = [{"kind": "mobile", "speaker": "customer", "segment": 1, "start": 3.0, "end": 3.8}]


def analytics(pii: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "redacted": True,
        "pii": PII if pii is None else pii,
        "categories": [{"category": "refund", "label": "退款", "speaker": "customer", "hits": []}],
        "sentiment": {"customer": {"label_start": "neutral", "label_end": "negative"}},
        "clear_segments": [{**SEGMENTS[1], "text": "我要申请退款，手机号是13812345678。"}],
    }


async def seed_analysis(
    world: World,
    name: str = "A",
    *,
    pii: list[dict[str, Any]] | None = None,
    wav: bool = True,
) -> str:
    """Department ``name``'s recorded call (``call-{name}-0``, agent of that department)
    analysed, and, with ``wav``, its file a real 6 s stereo WAV. Returns the recording id.
    Idempotent."""
    recording_id = f"call-{name}-0"
    path = f"{name}/{recording_id}.wav"
    if wav:
        assert world.context.recordings_dir is not None
        write_wav(world.context.recordings_dir / path)
    async with world.context.database.session() as session:
        repo = QaRepository(session)
        if await repo.job(recording_id) is not None:
            return recording_id
        await repo.enqueue(QueuedRecording(recording_id, path, START, recording_id), START)
        (job,) = await repo.claim_due(START, 1)
        row = ResultRow(
            language="zh",
            segments=[{**segment, "words": []} for segment in SEGMENTS],
            metrics={"overtalk_seconds": 0.0},
            engine="faster-whisper",
            model="whisper-base",
            audio_seconds=6.0,
            processing_seconds=1.0,
            analytics=analytics(pii),
        )
        await repo.finish(job.id, row, START + timedelta(minutes=5))
        await session.commit()
    return recording_id


def write_wav(path: Path) -> None:
    """Customer left (440 Hz), agent right (a quieter 300 Hz), 6 s at 8 kHz."""
    t = np.arange(6 * RATE) / RATE
    left = 8000 * np.sin(2 * np.pi * 440 * t)
    right = 4000 * np.sin(2 * np.pi * 300 * t)
    frames = np.stack([left, right], axis=1).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(frames.tobytes())


def read_frames(data: bytes, tmp: Path) -> np.ndarray[Any, Any]:
    file = tmp / "served.wav"
    file.write_bytes(data)
    with wave.open(str(file)) as wav:
        assert (wav.getnchannels(), wav.getframerate()) == (2, RATE)
        raw = wav.readframes(wav.getnframes())
    return np.frombuffer(raw, dtype="<i2").reshape(-1, 2)


async def test_search_finds_words_in_scope_with_the_moment(
    world: World, clients: dict[str, httpx.AsyncClient]
) -> None:
    await seed_analysis(world, "A")
    await seed_analysis(world, "B")
    response = await clients["admin"].get("/api/v1/qa/search", params={"q": "退款"})
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["count"] == 2
    assert page["next"] is None
    item = next(i for i in page["items"] if i["recording_id"] == "call-A-0")
    assert (item["call_id"], item["agent"], item["queue"], item["language"]) == (
        "call-A-0",
        "100",
        "queue A",
        "zh",
    )
    assert [(m["speaker"], m["start"]) for m in item["matches"]] == [("customer", 2.0)]
    assert "<mark>退款</mark>" in item["matches"][0]["snippet"]
    both = await clients["admin"].get("/api/v1/qa/search", params={"q": "refund", "limit": 1})
    assert both.json()["count"] == 2
    assert both.json()["next"] is not None
    after = await clients["admin"].get(
        "/api/v1/qa/search", params={"q": "refund", "cursor": both.json()["next"]}
    )
    assert len(after.json()["items"]) == 1
    for role, expected in (
        ("supervisor", ["call-A-0"]),
        ("agent", ["call-A-0"]),
        ("supervisor_b", ["call-B-0"]),
        ("agent_b", ["call-B-0"]),
        ("qa", ["call-B-0", "call-A-0"]),
    ):
        got = (await clients[role].get("/api/v1/qa/search", params={"q": "退款"})).json()
        assert sorted(i["recording_id"] for i in got["items"]) == sorted(expected), role
    filtered = await clients["admin"].get(
        "/api/v1/qa/search",
        params={
            "department": world.ids["dept_B"],
            "category": "refund",
            "sentiment": "negative",
            "from": "2026-05-04",
            "to": "2026-05-04",
        },
    )
    assert [i["recording_id"] for i in filtered.json()["items"]] == ["call-B-0"]
    later = await clients["admin"].get("/api/v1/qa/search", params={"from": "2026-05-05"})
    assert later.json()["count"] == 0


async def test_search_refuses_bad_parameters_clearly(
    world: World, clients: dict[str, httpx.AsyncClient]
) -> None:
    admin = clients["admin"]
    cases: dict[str, dict[str, str | int]] = {
        "q": {"q": "[mobile] 。"},
        "cursor": {"cursor": "bogus"},
        "to": {"from": "2026-05-05", "to": "2026-05-04T00:00:00"},
        "max_score": {"min_score": 80, "max_score": 20},
        "sentiment": {"sentiment": "angry"},
        "limit": {"limit": 0},
        "from": {"from": "yesterday"},
    }
    for field, params in cases.items():
        response = await admin.get("/api/v1/qa/search", params=params)
        assert response.status_code == 422, (field, response.text)
        locations = [problem["loc"][-1] for problem in response.json()["detail"]]
        assert field in locations, (field, response.text)
    long = await admin.get("/api/v1/qa/search", params={"q": "退" * 201})
    assert long.status_code == 422


async def test_analysis_strips_clear_text_without_unredacted(
    world: World, clients: dict[str, httpx.AsyncClient]
) -> None:
    recording_id = await seed_analysis(world, "A")
    url = f"/api/v1/qa/recordings/{recording_id}"
    qa = (await clients["qa"].get(url)).json()
    assert qa["analytics"]["clear_segments"][0]["text"].endswith("13812345678。")
    assert qa["call"]["agent"] == "100"
    assert qa["segments"][1]["text"].endswith("[mobile]。")
    for role in ("supervisor", "agent", "auditor"):
        seen = await clients[role].get(url)
        assert seen.status_code == 200, (role, seen.text)
        assert "clear_segments" not in seen.json()["analytics"], role
        assert seen.json()["analytics"]["pii"] == PII
    for role in ("supervisor_b", "agent_b"):
        assert (await clients[role].get(url)).status_code == 404, role
    assert (await clients["admin"].get("/api/v1/qa/recordings/none-such")).status_code == 404
    assert (await clients["admin"].get("/api/v1/qa/recordings/a%20b")).status_code == 422
    async with world.context.database.session() as session:
        reads = (
            await session.execute(
                select(AuditEntry.actor).where(AuditEntry.resource == "qa_results")
            )
        ).scalars()
        assert sorted(reads) == ["qa"]


async def test_audio_is_beeped_for_roles_without_unredacted(
    world: World, clients: dict[str, httpx.AsyncClient], tmp_path: Path
) -> None:
    recording_id = await seed_analysis(world, "A")
    assert world.context.recordings_dir is not None
    original_bytes = (world.context.recordings_dir / "A" / f"{recording_id}.wav").read_bytes()
    url = f"/api/v1/qa/recordings/{recording_id}/audio"
    clear = await clients["qa"].get(url)
    assert clear.status_code == 200
    assert clear.content == original_bytes
    redacted = await clients["supervisor"].get(url)
    assert redacted.status_code == 200, redacted.text
    original = read_frames(original_bytes, tmp_path)
    beeped = read_frames(redacted.content, tmp_path)
    assert beeped.shape == original.shape
    inside = slice(int(3.1 * RATE), int(3.7 * RATE))
    assert not np.array_equal(beeped[inside, 0], original[inside, 0])  # customer beeped
    assert np.array_equal(beeped[inside, 1], original[inside, 1])  # agent untouched
    assert np.array_equal(beeped[: 2 * RATE], original[: 2 * RATE])  # before: untouched
    cache = world.context.recordings_dir.parent / "cache" / "qa-audio"
    assert [p.name.split("@")[0] for p in cache.iterdir()] == [recording_id]
    ranged = await clients["agent"].get(url, headers={"range": "bytes=0-99"})
    assert ranged.status_code == 206
    assert ranged.content == redacted.content[:100]
    assert (await clients["agent_b"].get(url)).status_code == 404
    async with world.context.database.session() as session:
        plays = (
            await session.execute(
                select(AuditEntry.actor, AuditEntry.detail).where(AuditEntry.action == "play")
            )
        ).all()
    assert [(actor, detail["redacted"]) for actor, detail in plays] == [
        ("qa", False),
        ("supervisor", True),
        ("agent", True),
    ]


async def test_the_recordings_route_serves_the_same_redacted_copy(
    world: World, clients: dict[str, httpx.AsyncClient]
) -> None:
    # /api/v1/recordings/{id}/audio must be no way around the QA player's redaction.
    url = f"/api/v1/recordings/{world.ids['recording_A']}/audio"
    recording_id = "call-A-0"
    assert world.context.recordings_dir is not None
    async with world.context.database.session() as session:
        repo = QaRepository(session)
        await repo.enqueue(
            QueuedRecording(recording_id, f"A/{recording_id}.wav", START, recording_id), START
        )
        await session.commit()
    write_wav(world.context.recordings_dir / "A" / f"{recording_id}.wav")
    original = (world.context.recordings_dir / "A" / f"{recording_id}.wav").read_bytes()
    # Queued, not analysed yet: whether it holds personal data is not known.
    pending = await clients["supervisor"].get(url)
    assert pending.status_code == 409, pending.text
    assert "being analysed" in pending.text
    assert (await clients["qa"].get(url)).content == original
    async with world.context.database.session() as session:
        await session.execute(delete(QaJob))
        await session.commit()
    await seed_analysis(world, "A")
    qa_copy = await clients["supervisor"].get(f"/api/v1/qa/recordings/{recording_id}/audio")
    served = await clients["supervisor"].get(url)
    assert served.status_code == 200, served.text
    assert served.content == qa_copy.content != original
    assert (await clients["qa"].get(url)).content == original
    # Without an analysis (the module off, say) the recording plays as it always did.
    async with world.context.database.session() as session:
        await session.execute(delete(QaResult))
        await session.execute(delete(QaJob))
        await session.commit()
    assert (await clients["supervisor"].get(url)).content == original


async def test_audio_of_an_analysis_without_redaction_is_refused_to_others(
    world: World, clients: dict[str, httpx.AsyncClient]
) -> None:
    recording_id = await seed_analysis(world, "A")
    async with world.context.database.session() as session:
        result = await QaRepository(session).result(recording_id)
        assert result is not None
        result.analytics = {}  # analysed before redaction existed
        await session.commit()
    url = f"/api/v1/qa/recordings/{recording_id}/audio"
    refused = await clients["supervisor"].get(url)
    assert refused.status_code == 409
    assert "analyse it again" in refused.text
    assert (await clients["qa"].get(url)).status_code == 200


async def test_jobs_counts_and_reanalysis(
    world: World, clients: dict[str, httpx.AsyncClient]
) -> None:
    await seed_analysis(world, "A")
    await seed_analysis(world, "B")
    admin = clients["admin"]
    jobs = (await admin.get("/api/v1/qa/jobs")).json()
    assert jobs["count"] == 2
    assert jobs["counts"]["done"] == 2
    assert jobs["counts"]["queued"] == 0
    assert {job["status"] for job in jobs["items"]} == {"done"}
    first = (await admin.get("/api/v1/qa/jobs", params={"limit": 1})).json()
    second = (await admin.get("/api/v1/qa/jobs", params={"cursor": first["next"]})).json()
    assert [j["recording_id"] for j in first["items"] + second["items"]] == [
        "call-B-0",
        "call-A-0",
    ]
    own = (await clients["supervisor_b"].get("/api/v1/qa/jobs")).json()
    assert [j["recording_id"] for j in own["items"]] == ["call-B-0"]
    assert own["counts"]["done"] == 1
    assert (await clients["supervisor_b"].get("/api/v1/qa/jobs/call-A-0")).status_code == 404
    assert (await admin.get("/api/v1/qa/jobs", params={"status": "lost"})).status_code == 422
    assert (await admin.get("/api/v1/qa/jobs", params={"cursor": "x"})).status_code == 422

    refused = await clients["supervisor"].post("/api/v1/qa/reanalyze", json={"since": "2026-05-01"})
    assert refused.status_code == 403
    one = await clients["qa"].post("/api/v1/qa/reanalyze", json={"recording_id": "call-A-0"})
    assert one.json() == {"queued": 1}
    job = (await admin.get("/api/v1/qa/jobs/call-A-0")).json()
    assert (job["status"], job["attempts"]) == ("queued", 0)
    done = (await admin.get("/api/v1/qa/jobs", params={"status": "done"})).json()
    assert [j["recording_id"] for j in done["items"]] == ["call-B-0"]
    since = await admin.post("/api/v1/qa/reanalyze", json={"since": "2026-05-04"})
    assert since.json() == {"queued": 2}
    async with world.context.database.session() as session:
        # A worker takes both (requeued jobs are due now, by the wall clock).
        await QaRepository(session).claim_due(datetime.now(UTC) + timedelta(hours=1), 2)
        await session.commit()
    busy = await admin.post("/api/v1/qa/reanalyze", json={"recording_id": "call-A-0"})
    assert busy.status_code == 409, busy.text
    missing = await admin.post("/api/v1/qa/reanalyze", json={"recording_id": "nope"})
    assert missing.status_code == 404
    for body in ({}, {"since": "2026-05-04", "recording_id": "call-A-0"}, {"since": "soon"}):
        assert (await admin.post("/api/v1/qa/reanalyze", json=body)).status_code == 422, body


async def test_routes_are_not_served_with_the_module_off(world: World) -> None:
    off = dataclasses.replace(
        world.context, modules={"dialer": True, "qa": False}, registry=CollectorRegistry()
    )
    app = create_api(off)
    paths = app.openapi()["paths"]
    assert not [path for path in paths if path.startswith("/api/v1/qa/")]
