"""Recording files on disk that no ``recordings`` row points at, found when a node starts.

A WAV without a row is a call or a caller's message that nobody can find through the API:
a node that crashed (or was killed) between closing the file and the call history writing
its row leaves one. The node reports them (a warning per file, so an operator can act on
it) instead of ignoring them. It does not adopt them: the facts a row needs (department,
mailbox, who was on the call) are not in the file, and with a recordings directory shared
by several nodes a file without a row may be one that another node is still recording.

Only recent files are compared (those modified in the last ``window``, in that window's
day folders), so a start stays fast however many years of recordings the directory holds;
files older than that were reported at the starts that followed their loss.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from hotline.store.database import Database
from hotline.store.models import Recording

log = logging.getLogger(__name__)

WINDOW = timedelta(days=7)
#: Files named one by one in the log; beyond that only the count.
NAMED = 20


def _recent_wavs(root: Path, since: float, until: float) -> list[str]:
    """WAVs modified since ``since``, looked for only in the day folders (``YYYY/MM/DD``,
    UTC, as the node writes them) from the day before ``since`` to ``until``: a start
    reads a week of folders, not years of them (an NFS store may hold millions)."""
    found: list[str] = []
    day = datetime.fromtimestamp(since, UTC).date() - timedelta(days=1)
    last = datetime.fromtimestamp(until, UTC).date() + timedelta(days=1)
    while day <= last:
        folder = root / f"{day:%Y/%m/%d}"
        day += timedelta(days=1)
        try:
            entries = list(folder.iterdir())
        except (FileNotFoundError, NotADirectoryError):
            continue
        for path in entries:
            try:
                if path.suffix == ".wav" and path.is_file() and path.stat().st_mtime >= since:
                    found.append(path.relative_to(root).as_posix())
            except OSError:
                continue  # removed while we looked
    return sorted(found)


async def files_without_rows(
    database: Database, root: Path, *, window: timedelta = WINDOW, now: float | None = None
) -> list[str]:
    """Paths (relative to ``root``, as rows store them) of recent WAVs without a row."""
    until = time.time() if now is None else now
    since = until - window.total_seconds()
    files = await asyncio.to_thread(_recent_wavs, root, since, until)
    if not files:
        return []
    # A row's started_at is before its file's last write; a day's margin covers long calls.
    cutoff = datetime.fromtimestamp(since, UTC) - timedelta(days=1)
    async with database.session() as session:
        stored = set(
            (
                await session.scalars(select(Recording.path).where(Recording.started_at >= cutoff))
            ).all()
        )
    return [path for path in files if path not in stored]


async def report_files_without_rows(database: Database, root: Path) -> list[str]:
    """Log a warning for each recent recording file the database does not know. A
    directory that cannot be read is reported too, and never stops the node."""
    try:
        missing = await files_without_rows(database, root)
    except OSError as error:
        log.warning("recordings directory not checked for files without a row: %s", error)
        return []
    for path in missing[:NAMED]:
        log.warning(
            "recording file without a recordings row (not served by the API): %s",
            path,
            extra={"path": str(root / path)},
        )
    if len(missing) > NAMED:
        log.warning("%d more recording files without a row under %s", len(missing) - NAMED, root)
    return missing
