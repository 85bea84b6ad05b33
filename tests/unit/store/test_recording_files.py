"""Recording files without a row are reported at start, recent ones only."""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hotline.services.recording_files import files_without_rows, report_files_without_rows
from hotline.store.database import Database
from hotline.store.models import Recording


async def test_wavs_without_a_row_are_named_and_stored_ones_are_not(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "recordings"
    today = f"{datetime.now(UTC):%Y/%m/%d}"  # the node's own day folders
    day = root / today
    day.mkdir(parents=True)
    years_ago = root / "2019" / "03" / "04"  # never even listed: outside the window
    years_ago.mkdir(parents=True)
    (years_ago / "ancient.wav").write_bytes(b"RIFF")
    for name in ("stored.wav", "c-1-vm1.wav", "notes.txt"):
        (day / name).write_bytes(b"RIFF")
    old = day / "lost-long-ago.wav"
    old.write_bytes(b"RIFF")
    weeks_ago = time.time() - 30 * 86400
    os.utime(old, (weeks_ago, weeks_ago))
    async with database.session() as session:
        session.add(
            Recording(
                call_id="c-0",
                path=f"{today}/stored.wav",
                started_at=datetime.now(UTC),
                kind="call",
            )
        )
        await session.commit()
    assert await files_without_rows(database, root) == [f"{today}/c-1-vm1.wav"]
    with caplog.at_level(logging.WARNING):
        assert await report_files_without_rows(database, root) == [f"{today}/c-1-vm1.wav"]
    assert "recording file without a recordings row" in caplog.text
    assert "c-1-vm1.wav" in caplog.text
    assert await files_without_rows(database, tmp_path / "none") == []
