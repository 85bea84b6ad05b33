"""The QA console in Debian's Chromium against a demo node with speech analytics on, in
Chinese: a QA inspector searches the transcripts for a keyword, follows the result's
"jump to" link into the call page (the player starts at that moment), sees the rule hit
marked in the transcript and listed, the sentiment chart and the waveform drawn, clicks a
word and the player seeks to it, and overrides an item of the call's score.

No Whisper at test time: the analysis is stored as the pipeline stores it
(``QaRepository.finish``, which also indexes it for search) over a real stereo WAV in the
node's recordings directory, with its recording row and CDR (agent 1001, queue
complaints). Screenshots of each step are saved in the test's tmp dir.
"""

from __future__ import annotations

import asyncio
import re
import wave
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from hotline.store.database import Database
from hotline.store.models import Agent, Cdr, QaScore, QaScorecard, Queue, Recording
from hotline.store.qa import QaRepository, QueuedRecording, ResultRow
from tests.conftest import HotlineProcess
from tests.support.web import log_in

pytestmark = pytest.mark.interop

RECORDING_ID = "qa-console-call-1"
RATE = 8000
DURATION = 18.0
#: (speaker, start, text): what the call says, one character every 0.2 s.
LINES = (
    ("agent", 0.5, "您好，欢迎致电客服热线，请问有什么可以帮您？"),
    ("customer", 4.0, "你好，我要投诉。你们的服务太差了，我要退款。"),
    ("agent", 10.0, "非常抱歉，我马上为您处理退款。"),
    ("customer", 14.0, "好的，谢谢。"),
)
PUNCTUATION = "，。？"
STEP = 0.2


@dataclass
class QaDemo:
    url: str
    passwords: dict[str, str]
    data: Path


def segments() -> list[dict[str, Any]]:
    """Word timestamps as Whisper gives them for Mandarin: a character per word,
    punctuation attached to the character before it."""
    shaped = []
    for speaker, start, text in LINES:
        words: list[dict[str, Any]] = []
        at = start
        for char in text:
            if char in PUNCTUATION and words:
                words[-1]["text"] += char
                continue
            words.append({"start": round(at, 2), "end": round(at + STEP, 2), "text": char,
                          "probability": 0.9})  # fmt: skip
            at += STEP
        shaped.append({"speaker": speaker, "start": start, "end": round(at, 2), "text": text,
                       "words": words})  # fmt: skip
    return shaped


def word_start(segment: int, char: str) -> float:
    return float(next(w["start"] for w in segments()[segment]["words"] if w["text"][0] == char))


def analytics() -> dict[str, Any]:
    complaint = word_start(1, "投")
    refund = word_start(1, "退")
    return {
        "sentiment": {
            "customer": {"start": -0.6, "end": 0.3, "overall": -0.2,
                         "label_start": "negative", "label_end": "positive"},
            "agent": {"start": 0.5, "end": 0.4, "overall": 0.45,
                      "label_start": "positive", "label_end": "positive"},
            "curve": [
                {"speaker": "agent", "start": 0.5, "end": 3.3, "score": 0.5},
                {"speaker": "customer", "start": 4.0, "end": 8.0, "score": -0.6},
                {"speaker": "agent", "start": 10.0, "end": 12.8, "score": 0.4},
                {"speaker": "customer", "start": 14.0, "end": 14.8, "score": 0.3},
            ],
        },
        "categories": [
            {"category": "greeting", "label": "问候语 / greeting", "speaker": "agent",
             "hits": [{"start": 0.5, "end": 0.9, "text": "您好", "segment": 0, "keyword": "您好"}]},
            {"category": "complaint", "label": "投诉 / complaint", "speaker": "customer",
             "hits": [{"start": complaint, "end": complaint + 2 * STEP, "text": "投诉",
                       "segment": 1, "keyword": "投诉"}]},
            {"category": "refund", "label": "退款 / refund", "speaker": "customer",
             "hits": [{"start": refund, "end": refund + 2 * STEP, "text": "退款",
                       "segment": 1, "keyword": "退款"}]},
        ],
        "pii": [],
        "agitation": {"customer": {"score": 0.7, "label": "raised", "energy_db": -14.0,
                                   "pitch_hz": 230.0}},
        "redacted": True,
    }  # fmt: skip


def metrics() -> dict[str, Any]:
    return {
        "duration_seconds": DURATION,
        "speakers": [
            {"speaker": "customer", "talk_seconds": 5.6, "talk_ratio": 0.52, "speech_units": 24,
             "speech_rate": 257.0, "rate_unit": "chars/min"},
            {"speaker": "agent", "talk_seconds": 5.2, "talk_ratio": 0.48, "speech_units": 34,
             "speech_rate": 392.0, "rate_unit": "chars/min"},
        ],
        "longest_silence_seconds": 1.2,
        "longest_silence_start": 8.6,
        "silence_seconds": 4.0,
        "overtalk_seconds": 0.0,
        "overtalk_count": 0,
    }  # fmt: skip


def write_call(path: Path) -> None:
    """A stereo 8 kHz PCM call (customer left, agent right) with a voiced tone while each
    side talks, as the node records calls."""
    t = np.arange(int(DURATION * RATE)) / RATE
    channels = {"customer": np.zeros_like(t), "agent": np.zeros_like(t)}
    for segment in segments():
        talking = (t >= segment["start"]) & (t < segment["end"])
        pitch = 220.0 if segment["speaker"] == "customer" else 140.0
        syllables = 0.6 + 0.4 * np.abs(np.sin(np.pi * t / STEP))
        voice = 0.4 * syllables * np.sin(2 * np.pi * pitch * t)
        channels[segment["speaker"]] += np.where(talking, voice, 0.0)
    pcm = (np.stack([channels["customer"], channels["agent"]], axis=1) * 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())


async def seed(data: Path) -> None:
    """The call, its CDR and recording rows, its stored analysis and a score, in the
    node's own database (the node is running: its schema is migrated)."""
    relative = f"qa-console/{RECORDING_ID}.wav"
    write_call(data / "recordings" / relative)
    started = datetime.now(UTC) - timedelta(minutes=5)
    database = Database(f"sqlite+aiosqlite:///{data / 'hotline.db'}")
    try:
        async with database.session() as session:
            agent = (
                await session.execute(select(Agent).where(Agent.extension == "1001"))
            ).scalar_one()
            queue = (
                await session.execute(select(Queue).where(Queue.name == "complaints"))
            ).scalar_one()
            session.add(
                Cdr(call_id=RECORDING_ID, direction="in", caller="+8613800138000",
                    callee="4000", department_id=queue.department_id, queue_id=queue.id,
                    agent_id=agent.id, started_at=started,
                    answered_at=started + timedelta(seconds=20),
                    ended_at=started + timedelta(seconds=20 + DURATION), wait_seconds=20,
                    talk_seconds=int(DURATION), disposition="handled")
            )  # fmt: skip
            session.add(
                Recording(call_id=RECORDING_ID, department_id=queue.department_id,
                          path=relative, started_at=started, duration_seconds=DURATION,
                          size_bytes=(data / "recordings" / relative).stat().st_size)
            )  # fmt: skip
            repository = QaRepository(session)
            # Queued and finished in one transaction: the node's workers never see it queued.
            await repository.enqueue(QueuedRecording(RECORDING_ID, relative, started, RECORDING_ID))
            job = await repository.job(RECORDING_ID)
            assert job is not None
            result = ResultRow("zh", segments(), metrics(), "faster-whisper", "whisper-base",
                               DURATION, 3.1, analytics())  # fmt: skip
            await repository.finish(job.id, result, datetime.now(UTC))
            card = (await session.execute(select(QaScorecard).limit(1))).scalar_one_or_none()
            if card is None:
                card = QaScorecard(name="默认评分表", items=[])
                session.add(card)
                await session.flush()
            session.add(
                QaScore(recording_id=RECORDING_ID, call_id=RECORDING_ID, scorecard_id=card.id,
                        scorecard_name=card.name, auto_score=50.0, final_score=50.0,
                        items=[
                            {"key": "greeting", "label": "开场问候", "kind": "category_present",
                             "outcome": "passed", "why": "坐席在 00:00 说了“您好”",
                             "weight": 1.0, "critical": False, "moment": 0.5},
                            {"key": "no_complaint", "label": "无投诉", "kind": "category_absent",
                             "outcome": "failed", "why": "客户在 00:05 说了“投诉”",
                             "weight": 1.0, "critical": False, "moment": word_start(1, "投")},
                        ],
                        status="auto", agent_id=agent.id, agent_username="1001",
                        queue_id=queue.id, queue=queue.name, department_id=queue.department_id,
                        started_at=started)
            )  # fmt: skip
            await session.commit()
    finally:
        await database.close()


@pytest.fixture(scope="module")
def qa_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QaDemo]:
    """A demo node with the qa module on (the test suite's nodes run without it)."""
    data = tmp_path_factory.mktemp("qa-demo")
    cache = tmp_path_factory.mktemp("qa-prompts")
    process = HotlineProcess(
        ["demo", "--http-port", "0", "--sip-port", "0", "--data-dir", str(data)],
        {"HOTLINE_PROMPT_CACHE_DIR": str(cache), "HOTLINE_MODULES__QA": "true"},
    )
    try:
        match = re.search(r"http://127\.0\.0\.1:\d+", process.wait_for("http listening", 90))
        assert match
        process.wait_for("demo hotline number", 60)
        log = "".join(process.lines)
        passwords = dict(re.findall(r"demo user created: (\w+) / (\S+)", log))
        passwords |= dict(re.findall(r"demo agent (\d+): SIP user '\d+', password '([^']+)'", log))
        assert {"qa", "1001"} <= set(passwords), log
        # In a thread: Playwright's sync API may hold this thread's event loop.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, seed(data)).result()
        yield QaDemo(match.group(0), passwords, data)
    finally:
        if process.proc.poll() is None:
            assert process.terminate(timeout=60) == 0


def current_time(page: Any) -> float:
    return float(page.evaluate("document.getElementById('qa-audio').currentTime"))


def test_a_keyword_is_found_and_the_call_page_plays_from_its_words_in_chinese(
    browser: Browser, qa_demo: QaDemo, tmp_path: Path
) -> None:
    page = log_in(browser, qa_demo.url, qa_demo.passwords, "qa", "zh-CN")
    page.set_viewport_size({"width": 1440, "height": 1000})
    # The QA role lands on the console; the jobs strip counts the stored analysis.
    expect(page.locator("h1")).to_have_text("录音质检")
    expect(page.locator("nav a[aria-current=page]")).to_have_text("质检")
    expect(page.locator("[data-testid=job-counts] [data-status=done]")).to_have_attribute(
        "data-count", re.compile(r"^[1-9]")
    )
    page.fill("[data-testid=query]", "退款")
    page.click("[data-testid=search]")
    result = page.locator(f"[data-testid=result][data-recording={RECORDING_ID}]")
    expect(result).to_be_visible()
    expect(result).to_contain_text("Agent 1001")
    expect(result).to_contain_text("complaints")
    expect(result.locator("mark").first).to_have_text("退款")
    expect(result.locator(".qa-category[data-category=complaint]")).to_have_text("投诉")
    page.screenshot(path=str(tmp_path / "1-search.png"), full_page=True)

    # "Jump to" opens the call at the customer's words.
    jump = result.locator("[data-testid=jump]").first
    expect(jump).to_have_text("跳到 00:04")
    jump.click()
    page.wait_for_url(re.compile(rf"/qa/calls/{RECORDING_ID}#t=4$"))
    expect(page.locator("h1")).to_have_text("通话质检")
    page.wait_for_function("document.getElementById('qa-audio').readyState >= 1")
    assert 3.9 <= current_time(page) <= 4.5
    # The waveform (from the server's peaks) and the sentiment chart are drawn.
    expect(page.locator("[data-testid=waveform]")).to_have_attribute("data-drawn", "true")
    chart = page.locator("[data-testid=sentiment-chart]")
    expect(chart).to_have_attribute("data-series", "2")
    expect(chart.locator("canvas")).to_have_count(1)
    # The complaint is marked in the transcript and listed with its Chinese name.
    marked = page.locator(".qa-words .w.hit[data-category=complaint]")
    expect(marked).to_have_count(2)
    expect(marked.first).to_have_text("投")
    hit = page.locator(".qa-hits li[data-category=complaint]")
    expect(hit).to_contain_text("投诉")
    expect(page.locator("[data-testid=sentiment-end-customer]")).to_have_text("正面")
    expect(page.locator("[data-testid=metrics]")).to_contain_text("情绪升高")
    page.screenshot(path=str(tmp_path / "2-call.png"), full_page=True)

    # Clicking a word seeks the player to it and highlights it.
    thanks = page.locator(".qa-turn[data-segment='3'] .w", has_text="谢").first
    start = float(thanks.get_attribute("data-start") or "nan")
    thanks.click()
    page.wait_for_function(
        f"Math.abs(document.getElementById('qa-audio').currentTime - {start}) < 0.6"
    )
    page.evaluate("document.getElementById('qa-audio').pause()")
    assert start - 0.05 <= current_time(page) <= start + 1.0
    expect(page.locator(".qa-words .w.current")).to_have_count(1)
    # And so does a rule hit in the list.
    hit.locator("[data-testid=hit]").click()
    page.evaluate("document.getElementById('qa-audio').pause()")
    complaint = word_start(1, "投")
    assert complaint - 0.05 <= current_time(page) <= complaint + 1.0
    page.screenshot(path=str(tmp_path / "3-seek.png"), full_page=True)

    # The inspector overrides the failed item, with the required comment.
    panel = page.locator("[data-testid=scorecard]")
    expect(panel.locator("[data-testid=final-score]")).to_have_text("50")
    expect(panel.locator("tr[data-item=no_complaint]")).to_have_attribute("data-outcome", "failed")
    panel.locator("[data-testid=override-open]").click()
    panel.locator("[data-testid=review-item]").select_option("no_complaint")
    panel.locator("[data-testid=review-outcome]").select_option("passed")
    panel.locator("[data-testid=override-submit]").click()
    # No comment: the browser form posts it empty and the page says what is missing.
    expect(page.locator("[data-testid=score-problem]")).to_contain_text("请填写说明")
    panel.locator("[data-testid=review-item]").select_option("no_complaint")
    panel.locator("[data-testid=review-outcome]").select_option("passed")
    panel.locator("[data-testid=review-comment]").fill("客户抱怨服务，但未正式投诉。")
    panel.locator("[data-testid=override-submit]").click()
    expect(page.locator("[data-testid=notice]")).to_have_text("已改判评分。")
    expect(panel.locator("[data-testid=final-score]")).to_have_text("100")
    expect(panel.locator("[data-testid=score-status]")).to_have_text("已复核")
    expect(panel.locator("[data-testid=reviews]")).to_contain_text("客户抱怨服务，但未正式投诉。")
    page.screenshot(path=str(tmp_path / "4-override.png"), full_page=True)
    page.context.close()

    # Agent 1001 sees the call's score on their own view.
    desk = log_in(browser, qa_demo.url, qa_demo.passwords, "1001", "zh-CN")
    desk.set_viewport_size({"width": 1440, "height": 900})
    desk.goto(f"{qa_demo.url}/qa/mine")
    expect(desk.locator("h1")).to_have_text("我的通话质检")
    row = desk.locator(f"[data-testid=my-scores] tr[data-recording={RECORDING_ID}]")
    expect(row.locator("[data-testid=score]")).to_have_text("100")
    expect(desk.locator("[data-testid=trend-chart]")).to_have_attribute("data-days", "1")
    desk.screenshot(path=str(tmp_path / "5-mine.png"), full_page=True)
    # Their call page: the transcript and the score, with a dispute form instead of override.
    row.locator("a").click()
    expect(desk.locator("[data-testid=dispute-open]")).to_have_text("申诉")
    expect(desk.locator("[data-testid=override-open]")).to_have_count(0)
    desk.screenshot(path=str(tmp_path / "6-agent-call.png"), full_page=True)
    desk.context.close()

    # The same call page in English.
    english = log_in(browser, qa_demo.url, qa_demo.passwords, "qa", "en")
    english.set_viewport_size({"width": 1440, "height": 1000})
    english.goto(f"{qa_demo.url}/qa/calls/{RECORDING_ID}")
    expect(english.locator("h1")).to_have_text("Call review")
    expect(english.locator(".qa-hits li[data-category=complaint]")).to_contain_text("Complaint")
    english.screenshot(path=str(tmp_path / "7-call-en.png"), full_page=True)
    english.context.close()
