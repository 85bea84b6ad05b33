"""The QA console over the API test world: the call page (player, words with their times,
rule hits marked, sentiment, metrics), the search with its jump links and filters, the
agent's own view, the jobs strip, the waveform's peaks, and who sees what (a supervisor
their departments' calls, an agent only their own), in both languages."""

from __future__ import annotations

import re
import wave
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from hotline.api.app import create_api
from hotline.qa.audio import RecordingError
from hotline.qa.waveform import waveform
from hotline.store.models import QaJob, QaScore, QaScorecard
from hotline.store.qa import QaRepository, QueuedRecording, ResultRow
from hotline.web.app import mount_web
from hotline.web.i18n import LANGUAGES, Translator
from hotline.web.routes import qa_transcript
from hotline.web.routes.qa_console import MESSAGE_PREFIXES
from tests.unit.api.conftest import World
from tests.unit.web.conftest import browser_login

RECORDED = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def segments_zh() -> list[dict[str, Any]]:
    """A Mandarin call: the agent greets, the customer complains and asks for a refund."""

    def words(text: str, start: float, step: float = 0.25) -> list[dict[str, Any]]:
        return [
            {"start": round(start + i * step, 2), "end": round(start + (i + 1) * step, 2),
             "text": ch, "probability": 0.9}
            for i, ch in enumerate(text)
        ]  # fmt: skip

    return [
        {"speaker": "agent", "start": 0.5, "end": 3.0, "text": "您好请问有什么可以帮您",
         "words": words("您好请问有什么可以帮您", 0.5)},
        {"speaker": "customer", "start": 4.0, "end": 7.0, "text": "我要投诉你们我要退款",
         "words": words("我要投诉你们我要退款", 4.0)},
    ]  # fmt: skip


ANALYTICS: dict[str, Any] = {
    "sentiment": {
        "customer": {"start": -0.2, "end": -0.7, "overall": -0.5,
                     "label_start": "neutral", "label_end": "negative"},
        "agent": {"start": 0.4, "end": 0.5, "overall": 0.45,
                  "label_start": "positive", "label_end": "positive"},
        "curve": [
            {"speaker": "agent", "start": 0.5, "end": 3.0, "score": 0.45},
            {"speaker": "customer", "start": 4.0, "end": 7.0, "score": -0.7},
        ],
    },
    "categories": [
        {"category": "complaint", "label": "投诉 / complaint", "speaker": "customer",
         "hits": [{"start": 4.5, "end": 5.0, "text": "投诉", "segment": 1, "keyword": "投诉"}]},
    ],
    "pii": [],
    "agitation": {"customer": {"score": 0.8, "label": "agitated", "energy_db": -12.0,
                               "pitch_hz": 240.0}},
    "redacted": True,
}  # fmt: skip
METRICS: dict[str, Any] = {
    "duration_seconds": 8.0,
    "speakers": [
        {"speaker": "customer", "talk_seconds": 3.0, "talk_ratio": 0.55, "speech_units": 10,
         "speech_rate": 200.0, "rate_unit": "chars/min"},
        {"speaker": "agent", "talk_seconds": 2.5, "talk_ratio": 0.45, "speech_units": 11,
         "speech_rate": 264.0, "rate_unit": "chars/min"},
    ],
    "longest_silence_seconds": 1.0,
    "longest_silence_start": 3.0,
    "silence_seconds": 1.0,
    "overtalk_seconds": 0.0,
    "overtalk_count": 0,
}  # fmt: skip


SCORE_ITEMS: list[dict[str, Any]] = [
    {"key": "greeting", "label": "开场问候", "kind": "category", "outcome": "passed",
     "why": "agent said '您好' at 00:00", "weight": 1.0, "critical": False, "moment": 0.5},
    {"key": "no_complaint", "label": "无投诉", "kind": "category", "outcome": "failed",
     "why": "customer said '投诉' at 00:04", "weight": 1.0, "critical": False, "moment": 4.5},
]  # fmt: skip


def stereo_wav(path: Path, seconds: float = 8.0, rate: int = 8000) -> None:
    """Customer loud on the left for the first half, agent quiet on the right after."""
    frames = int(seconds * rate)
    t = np.arange(frames) / rate
    left = np.where(t < seconds / 2, 0.5, 0.0) * np.sin(2 * np.pi * 300 * t)
    right = np.where(t >= seconds / 2, 0.1, 0.0) * np.sin(2 * np.pi * 200 * t)
    pcm = (np.stack([left, right], axis=1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


async def seed_analyses(world: World) -> None:
    """An analysis of each department's recording (A: agent's call, B: agent_b's), a
    failed job with its error."""
    async with world.context.database.session() as session:
        for name in ("A", "B"):
            recording_id = f"call-{name}-0"
            # As the pipeline stores an analysis (which also indexes it for search).
            repository = QaRepository(session)
            queued = QueuedRecording(recording_id, f"{name}/{recording_id}.wav", RECORDED,
                                     recording_id)  # fmt: skip
            await repository.enqueue(queued)
            job = await repository.job(recording_id)
            assert job is not None
            analytics = ANALYTICS if name == "A" else {"redacted": True}
            result = ResultRow("zh", segments_zh(), METRICS, "faster-whisper", "whisper-base",
                               8.0, 1.5, analytics)  # fmt: skip
            await repository.finish(job.id, result, datetime.now(UTC))
        session.add(
            QaJob(recording_id="broken", path="A/broken.wav", kind="call", recorded_at=RECORDED,
                  status="failed", attempts=1, error="A/broken.wav: not a RIFF/WAVE file")
        )  # fmt: skip
        await session.commit()
        card = QaScorecard(name="默认评分表", items=[])
        session.add(card)
        await session.flush()
        session.add(
            QaScore(recording_id="call-A-0", call_id="call-A-0", scorecard_id=card.id,
                    scorecard_name=card.name, auto_score=50.0, final_score=50.0,
                    items=SCORE_ITEMS, status="auto", agent_id=world.ids["agent_A"],
                    agent_username="agent", queue="queue A",
                    department_id=world.ids["dept_A"], started_at=RECORDED)
        )  # fmt: skip
        await session.commit()
    assert world.context.recordings_dir is not None
    stereo_wav(world.context.recordings_dir / "A" / "call-A-0.wav")


@pytest.fixture
async def qa_web(world: World) -> World:
    """The test world's node with the qa module on (its routes are mounted at build)."""
    world.context.modules = {"dialer": True, "qa": True}
    world.context.registry = CollectorRegistry(auto_describe=True)  # a second API's metrics
    world.app = create_api(world.context)
    mount_web(world.app)
    await seed_analyses(world)
    return world


async def test_the_call_page_shows_the_words_with_their_times_hits_sentiment_and_metrics(
    qa_web: World,
) -> None:
    qa = await browser_login(qa_web, "qa", "zh-CN")
    page = await qa.get("/qa/calls/call-A-0")
    assert page.status_code == 200, page.text
    html = page.text
    assert "通话质检" in html
    # Every word is a span with its times, in time order; the hit's words are marked.
    assert re.search(r'<span class="w" data-start="0\.5" data-end="0\.75">您</span>', html)
    hit_words = re.findall(r'class="w hit"[^>]*data-category="complaint">(.)<', html)
    assert hit_words == ["投", "诉"]
    assert html.index(">您</span>") < html.index(">投</span>")
    # The hit in the list seeks to its moment; the category has its Chinese name.
    assert 'data-seek="4.5" data-testid="hit">00:04</button>' in html
    assert "投诉" in html
    assert "<q>投诉</q>" in html
    assert 'data-testid="sentiment-end-customer">负面<' in html
    assert 'id="qa-sentiment-chart"' in html
    assert '"customer": [[5.5, -0.7]]' in html  # the curve, for the chart
    assert "说话占比" in html
    assert "55 %" in html
    assert "200 chars/min" in html
    assert "激动 (0.80)" in html  # agitation label translated
    assert "最长静音" in html
    assert "1.0 s @ 00:03" in html
    # The qa role reads recordings: the player streams the API's audio route.
    audio = re.search(r'<audio id="qa-audio"[^>]* src="([^"]+)"', html)
    assert audio is not None
    assert audio.group(1) in (
        "/api/v1/qa/recordings/call-A-0/audio",
        f"/api/v1/recordings/{qa_web.ids['recording_A']}/audio",
    )
    assert 'data-url="/qa/calls/call-A-0/waveform"' in html
    english = await browser_login(qa_web, "qa", "en")
    html = (await english.get("/qa/calls/call-A-0")).text
    assert "Call review" in html
    assert "Complaint" in html
    assert ">negative<" in html


async def test_calls_outside_the_scope_are_not_found(qa_web: World) -> None:
    for username, visible, hidden in (
        ("supervisor", "call-A-0", "call-B-0"),
        ("supervisor_b", "call-B-0", "call-A-0"),
        ("agent", "call-A-0", "call-B-0"),  # the agent's own call only
        ("agent_b", "call-B-0", "call-A-0"),
    ):
        client = await browser_login(qa_web, username, "en")
        assert (await client.get(f"/qa/calls/{visible}")).status_code == 200, username
        refused = await client.get(f"/qa/calls/{hidden}")
        assert refused.status_code == 404, username
        assert "call-" not in refused.text.split("<main", 1)[1]
        assert (await client.get(f"/qa/calls/{hidden}/waveform")).status_code == 404
    assert (await (await browser_login(qa_web, "qa")).get("/qa/calls/nope")).status_code == 404
    anonymous = qa_web.client()
    moved = await anonymous.get("/qa/calls/call-A-0")
    assert moved.status_code == 303
    assert moved.headers["location"] == "/login?next=/qa/calls/call-A-0"
    await anonymous.aclose()


async def test_an_agent_hears_no_raw_recording_without_the_permission(qa_web: World) -> None:
    agent = await browser_login(qa_web, "agent", "en")
    html = (await agent.get("/qa/calls/call-A-0")).text
    if "/api/v1/qa/recordings/" not in html:  # until the QA audio route (redacted) is served
        assert 'data-testid="no-audio"' in html
        assert "/api/v1/recordings/" not in html


async def test_search_finds_a_keyword_and_links_to_its_moment(qa_web: World) -> None:
    supervisor = await browser_login(qa_web, "supervisor", "zh-CN")
    page = await supervisor.get("/qa", params={"q": "退款"})
    assert page.status_code == 200
    html = page.text
    results = re.findall(r'data-recording="([^"]+)" data-testid="result"', html)
    assert results == ["call-A-0"]  # B is another department's
    assert "找到 1 通通话" in html
    assert 'href="/qa/calls/call-A-0#t=4"' in html
    assert "跳到 00:04" in html
    assert "我要投诉你们我要<mark>退款</mark>" in html
    # Filters: a category the call has, one it lacks, the customer's mood at the end.
    found = await supervisor.get("/qa", params={"q": "退款", "category": "complaint"})
    assert "call-A-0" in found.text
    missing = await supervisor.get("/qa", params={"q": "退款", "category": "refund"})
    assert 'data-testid="no-results"' in missing.text
    mood = await supervisor.get("/qa", params={"sentiment": "positive"})
    assert 'data-testid="no-results"' in mood.text
    # Everyone's calls for the QA role; the query is escaped where it is shown again.
    qa = await browser_login(qa_web, "qa", "en")
    html = (await qa.get("/qa", params={"q": "<b>退款"})).text
    assert "&lt;b&gt;退款" in html
    assert "<b>退款" not in html
    both = (await qa.get("/qa", params={"q": "退款"})).text
    assert sorted(re.findall(r'data-recording="([^"]+)" data-testid="result"', both)) == [
        "call-A-0",
        "call-B-0",
    ]


async def test_a_bad_date_is_said_and_searches_nothing(qa_web: World) -> None:
    qa = await browser_login(qa_web, "qa", "en")
    page = await qa.get("/qa", params={"q": "退款", "from": "2026-13-40"})
    assert page.status_code == 200
    assert "From: “2026-13-40” is not a date (YYYY-MM-DD)." in page.text
    assert 'value="2026-13-40"' in page.text  # what was typed is kept
    ranged = await qa.get("/qa", params={"q": "退款", "from": "2026-05-04", "to": "2026-05-04"})
    assert "call-A-0" in ranged.text
    later = await qa.get("/qa", params={"q": "退款", "from": "2026-05-05"})
    assert 'data-testid="no-results"' in later.text
    # Queue and agent by name (the API filters by id); one that does not exist finds nothing.
    queued = await qa.get("/qa", params={"q": "退款", "queue": "queue A", "agent": "100"})
    assert re.findall(r'data-recording="([^"]+)" data-testid="result"', queued.text) == ["call-A-0"]
    nowhere = await qa.get("/qa", params={"q": "退款", "queue": "no such queue"})
    assert 'data-testid="no-results"' in nowhere.text
    # Scores: call A scored 50.
    assert "call-A-0" in (await qa.get("/qa", params={"q": "退款", "max_score": "60"})).text
    high = await qa.get("/qa", params={"q": "退款", "min_score": "60"})
    assert "call-A-0" not in high.text
    bad = await qa.get("/qa", params={"q": "退款", "min_score": "lots"})
    assert "Score from: “lots” is not a score from 0 to 100." in bad.text


async def test_the_jobs_strip_counts_states_and_shows_failures(qa_web: World) -> None:
    qa = await browser_login(qa_web, "qa", "en")
    strip = await qa.get("/qa/jobs")
    assert strip.status_code == 200
    assert 'data-status="done" data-count="2"' in strip.text
    assert 'data-status="failed" data-count="1"' in strip.text
    assert "A/broken.wav: not a RIFF/WAVE file" in strip.text
    assert 'hx-get="/qa/jobs"' in (await qa.get("/qa")).text
    other = await browser_login(qa_web, "supervisor_b", "en")
    scoped = (await other.get("/qa/jobs")).text
    assert 'data-status="done" data-count="1"' in scoped
    assert "broken" not in scoped  # department A's failure
    agent = await browser_login(qa_web, "agent", "en")
    assert (await agent.get("/qa/jobs")).status_code == 403


async def test_the_waveform_has_the_peaks_of_each_speaker(qa_web: World) -> None:
    qa = await browser_login(qa_web, "qa", "en")
    answer = await qa.get("/qa/calls/call-A-0/waveform", params={"slices": 8})
    assert answer.status_code == 200
    shape = answer.json()
    assert shape["duration"] == 8.0
    assert shape["speakers"] == ["customer", "agent"]
    assert shape["peaks"]["customer"][:4] == [0.5] * 4
    assert shape["peaks"]["customer"][4:] == [0.0] * 4
    assert shape["peaks"]["agent"][:4] == [0.0] * 4
    assert shape["peaks"]["agent"][5] == pytest.approx(0.1, abs=0.01)
    # B's "recording" is not a WAV: said so, nothing crashes.
    broken = await qa.get("/qa/calls/call-B-0/waveform")
    assert broken.status_code == 422
    assert broken.json() == {"detail": "the recording cannot be read"}
    assert (await qa.get("/qa/calls/call-A-0/waveform", params={"slices": 0})).status_code == 422


async def test_an_agent_sees_their_own_calls_and_staff_the_search(qa_web: World) -> None:
    agent = await browser_login(qa_web, "agent", "zh-CN")
    mine = await agent.get("/qa/mine")
    assert mine.status_code == 200
    assert "我的通话质检" in mine.text
    assert 'href="/qa/calls/call-A-0"' in mine.text
    assert "call-B-0" not in mine.text
    assert 'id="qa-trend-chart"' in mine.text
    assert 'href="/qa/mine"' in (await agent.get("/desktop")).text  # in the navigation
    qa = await browser_login(qa_web, "qa", "zh-CN")
    assert (await qa.get("/qa/mine")).status_code == 403
    home = await qa.get("/", follow_redirects=False)
    assert home.headers["location"] == "/qa"  # the QA role's console
    assert '<a href="/qa" aria-current="page">质检</a>' in (await qa.get("/qa")).text


async def test_without_the_qa_module_there_is_no_console(web: World) -> None:
    assert not web.context.modules.get("qa")
    qa = await browser_login(web, "qa", "en")
    assert (await qa.get("/qa")).status_code == 404
    supervisor = await browser_login(web, "supervisor", "en")
    assert 'href="/qa"' not in (await supervisor.get("/wallboard")).text


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_the_console_builds_at_render_time_is_translated(language: str) -> None:
    t = Translator(language)
    built = [prefix + value for prefix, values in MESSAGE_PREFIXES.items() for value in values]
    built += [f"qa.metric.{name}" for name in qa_transcript.METRIC_NAMES]
    missing = [key for key in built if not t.has(key)]
    assert not missing


def test_peaks_are_the_loudest_sample_per_slice_and_bad_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    stereo_wav(path, seconds=2.0)
    shape = waveform(path.read_bytes(), 4, "call.wav")
    assert shape.peaks == {"customer": [0.5, 0.5, 0.0, 0.0], "agent": [0.0, 0.0, 0.1, 0.1]}
    tiny = waveform(path.read_bytes()[: 44 + 4 * 3], 8)  # 3 frames, 8 slices
    assert len(tiny.peaks["customer"]) == 8
    with pytest.raises(RecordingError, match=r"x\.wav: not a RIFF/WAVE file"):
        waveform(b"not audio at all", 10, "x.wav")
    with pytest.raises(ValueError, match="slices"):
        waveform(path.read_bytes(), 0)


def test_turns_interleave_speakers_and_survive_results_without_words() -> None:
    shaped = qa_transcript.turns(
        [
            {"speaker": "customer", "start": 5.0, "end": 6.0, "text": "hello there"},
            {"speaker": "agent", "start": 1.0, "end": 2.0, "text": "Hi",
             "words": [{"start": 1.0, "end": 1.4, "text": " Hi"}]},
            "not a segment",
        ],
        {"categories": [{"category": "greeting",
                         "hits": [{"start": 1.0, "end": 1.2, "segment": 1}]}]},
    )  # fmt: skip
    assert [(t.speaker, [w.text for w in t.words]) for t in shaped] == [
        ("agent", ["Hi"]),
        ("customer", ["hello there"]),  # one word spanning the segment
    ]
    assert shaped[0].words[0].hit == "greeting"
    assert qa_transcript.clock(83.9) == "01:23"
    assert qa_transcript.clock(3725) == "1:02:05"
    assert qa_transcript.clock(None) == "--:--"
    assert qa_transcript.joiner("zh") == ""
    assert qa_transcript.joiner("en") == " "
    assert qa_transcript.metric_rows({}, {}) == []
    assert qa_transcript.sentiment_curve({"sentiment": {"curve": [{"score": 7}]}}) == {
        "": [[0.0, 1.0]]
    }


async def score_id(world: World) -> int:
    async with world.context.database.session() as session:
        found = await session.execute(select(QaScore.id))
        return int(found.scalar_one())


async def test_the_scorecard_panel_shows_items_and_a_reviewer_overrides_one(qa_web: World) -> None:
    qa = await browser_login(qa_web, "qa", "zh-CN")
    html = (await qa.get("/qa/calls/call-A-0")).text
    assert "默认评分表" in html
    assert 'data-testid="final-score">50<' in html
    assert 'data-item="no_complaint" data-outcome="failed"' in html
    assert "customer said &#39;投诉&#39; at 00:04" in html
    assert 'data-seek="4.5">00:04</button>' in html  # the evidence's moment seeks
    assert 'data-testid="override-form"' in html
    assert 'data-testid="dispute-form"' not in html  # reviewers override, agents dispute
    sid = await score_id(qa_web)
    url = f"/qa/calls/call-A-0/scores/{sid}/override"
    # No comment: refused next to the form, in Chinese, nothing changed.
    refused = await qa.post(url, data={"item": "no_complaint", "outcome": "passed", "comment": ""})
    assert refused.status_code == 422
    assert "请填写说明" in refused.text
    assert 'data-testid="final-score">50<' in refused.text
    done = await qa.post(
        url, data={"item": "no_complaint", "outcome": "passed", "comment": "客户只是抱怨"}
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/qa/calls/call-A-0?done=override#scorecard"
    html = (await qa.get(done.headers["location"])).text
    assert "已改判评分。" in html
    assert 'data-testid="final-score">100<' in html
    assert 'data-testid="score-status">已复核<' in html
    assert "客户只是抱怨" in html  # the review history
    # A score of another call through this call's URL is not found.
    assert (await qa.post(f"/qa/calls/call-B-0/scores/{sid}/override",
                          data={"comment": "x", "total": "10"})).status_code == 404  # fmt: skip


async def test_an_agent_disputes_a_score_of_their_call_and_a_reviewer_settles_it(
    qa_web: World,
) -> None:
    sid = await score_id(qa_web)
    agent = await browser_login(qa_web, "agent", "en")
    html = (await agent.get("/qa/calls/call-A-0")).text
    assert 'data-testid="dispute-form"' in html
    assert 'data-testid="override-form"' not in html
    done = await agent.post(
        f"/qa/calls/call-A-0/scores/{sid}/dispute",
        data={"item": "no_complaint", "comment": "The customer did not complain about me"},
    )
    assert done.status_code == 303
    html = (await agent.get(done.headers["location"])).text
    assert "Dispute sent" in html
    assert 'data-testid="score-status">disputed<' in html
    assert 'data-testid="dispute-form"' not in html  # once
    other = await browser_login(qa_web, "agent_b", "en")
    refused = await other.post(f"/qa/calls/call-A-0/scores/{sid}/dispute", data={"comment": "x"})
    assert refused.status_code == 404
    supervisor = await browser_login(qa_web, "supervisor", "en")
    html = (await supervisor.get("/qa/calls/call-A-0")).text
    assert 'data-testid="resolve-form"' in html
    settled = await supervisor.post(
        f"/qa/calls/call-A-0/scores/{sid}/resolve", data={"total": "80", "comment": "fair"}
    )
    assert settled.status_code == 303
    html = (await supervisor.get(settled.headers["location"])).text
    assert 'data-testid="final-score">80<' in html
    assert 'data-testid="score-status">resolved<' in html
    bad = await supervisor.post(
        f"/qa/calls/call-A-0/scores/{sid}/override", data={"total": "lots", "comment": "x"}
    )
    assert "must be a number from 0 to 100" in bad.text


async def test_the_agents_view_has_their_scores_and_the_trend(qa_web: World) -> None:
    agent = await browser_login(qa_web, "agent", "en")
    html = (await agent.get("/qa/mine")).text
    assert 'data-testid="average">Average score 50.0<' in html
    assert '[{"average": 50.0, "calls": 1, "day": "2026-05-04"}]' in html
    assert 'href="/qa/calls/call-A-0#scorecard"' in html
    other = await browser_login(qa_web, "agent_b", "en")
    html = (await other.get("/qa/mine")).text
    assert "None of your calls has been scored yet." in html
    assert 'data-score="' not in html
