"""Fixtures for tests against software we did not write (Chromium, SIPp, baresip).

The peers are Debian packages installed by ``scripts/install-system-deps``; a missing peer
fails the test with the install command instead of skipping it, so a green run always means
the peer really took part.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")

# Flags for a closed network: without the background-networking ones Chromium keeps trying
# to reach Google's hosts. --no-sandbox because tests run as root in CI.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_peer(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.fail(f"{binary} is not installed: run scripts/install-system-deps as root")
    return path


# Module scope, not session: Playwright's sync API keeps an event loop running on the main
# thread while it is open, and pytest-asyncio tests that run after it would fail with
# "Runner.run() cannot be called from a running event loop".
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_peer(str(CHROMIUM))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
