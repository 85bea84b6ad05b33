"""``hotline qa analyze`` on a generated stereo call (espeak-ng agent and customer at
8 kHz, as the node records them), without a node: the transcript per speaker and the
metrics, as text and as JSON; a file that is no WAV is refused in one line."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from hotline.cli import main
from hotline.store.database import Database
from hotline.store.qa import QaRepository, QueuedRecording

from .signals import write_wav
from .speech import espeak, tiny_en


@pytest.mark.slow
def test_qa_analyze_prints_each_speaker_and_the_metrics(tmp_path: Path) -> None:
    model = tiny_en()
    agent = espeak("Thank you for calling. How can I help you?", tmp_path)
    customer = espeak("I want to cancel my order.", tmp_path)
    rate = 8000
    gap = rate  # one second of dead air between the turns
    length = rate // 2 + len(agent) + gap + len(customer) + rate // 2
    left, right = np.zeros(length, np.float32), np.zeros(length, np.float32)
    right[rate // 2 : rate // 2 + len(agent)] = agent
    start = rate // 2 + len(agent) + gap
    left[start : start + len(customer)] = customer
    call = write_wav(tmp_path / "call.wav", [left, right], rate)

    runner = CliRunner()
    shown = runner.invoke(main, ["qa", "analyze", str(call), "--model", str(model)])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert "language en" in lines[0]
    agent_line = next(line for line in lines if "] agent:" in line)
    customer_line = next(line for line in lines if "] customer:" in line)
    assert "help" in agent_line.lower()
    assert "cancel" in customer_line.lower()
    assert lines.index(agent_line) < lines.index(customer_line)  # in time order
    assert any(line.startswith("longest silence") for line in lines)

    as_json = runner.invoke(
        main, ["qa", "analyze", str(call), "--json", "--language", "en", "--model", str(model)]
    )
    assert as_json.exit_code == 0, as_json.output
    found = json.loads(as_json.output)
    metrics = found["metrics"]
    speakers = {speaker["speaker"]: speaker for speaker in metrics["speakers"]}
    assert set(speakers) == {"customer", "agent"}
    assert speakers["agent"]["talk_seconds"] > 1.5
    assert speakers["customer"]["speech_units"] >= 5
    assert 1.0 <= metrics["longest_silence_seconds"] <= 2.0  # espeak pads its clips
    assert metrics["overtalk_seconds"] == 0
    assert all(segment["words"] for segment in found["segments"])


def test_qa_analyze_refuses_a_file_that_is_not_a_wav(tmp_path: Path) -> None:
    notes = tmp_path / "notes.wav"
    notes.write_text("not audio")
    result = CliRunner().invoke(main, ["qa", "analyze", str(notes), "--model", str(tmp_path)])
    assert result.exit_code == 1
    assert "not a RIFF/WAVE file" in result.output


def test_qa_reanalyze_queues_recordings_since_a_date(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hotline.db'}"
    config = tmp_path / "hotline.yaml"
    config.write_text(f"data_dir: {tmp_path}\ndatabase_url: {url}\n")
    new = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    old = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

    async def seed() -> None:
        database = Database(url)
        try:
            await database.upgrade()
            async with database.session() as session:
                repository = QaRepository(session)
                for name, at in (("new", new), ("old", old)):
                    await repository.enqueue(QueuedRecording(name, f"{name}.wav", at), at)
                for job in await repository.claim_due(new, 5):
                    await repository.fail(job.id, "boom", new, retry_at=None, final="dead")
                await session.commit()
        finally:
            await database.close()

    async def statuses() -> dict[str, str]:
        database = Database(url)
        try:
            async with database.session() as session:
                return {job.recording_id: job.status for job in await QaRepository(session).jobs()}
        finally:
            await database.close()

    asyncio.run(seed())
    result = CliRunner().invoke(
        main, ["qa", "reanalyze", "--since", "2026-12-01", "--config", str(config)]
    )
    assert result.exit_code == 0, result.output
    assert "1 recordings since 2026-12-01 00:00 UTC queued for analysis" in result.output
    assert asyncio.run(statuses()) == {"new": "queued", "old": "dead"}


def test_qa_reanalyze_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    config = tmp_path / "hotline.yaml"
    config.write_text(f"data_dir: {tmp_path}\n")
    result = CliRunner().invoke(
        main, ["qa", "reanalyze", "--since", "2026-12-01", "--config", str(config)]
    )
    assert result.exit_code == 1
    assert "hotline db upgrade" in result.output
