"""Debian's Chromium, driven by Playwright, reaches a running demo node.

This proves the browser-test tool chain (no downloaded browser) before the web consoles
exist; the console tests build on the same fixture.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from hotline import __version__
from tests.conftest import HotlineProcess

pytestmark = pytest.mark.interop


def test_chromium_reads_healthz_from_demo(browser: Browser, run_hotline, tmp_path: Path) -> None:
    demo: HotlineProcess = run_hotline(
        ["demo", "--http-port", "0", "--sip-port", "0", "--data-dir", str(tmp_path)]
    )
    match = re.search(r"http://127\.0\.0\.1:\d+", demo.wait_for("http listening"))
    assert match
    page = browser.new_page()
    response = page.goto(f"{match.group(0)}/healthz")
    assert response is not None
    assert response.status == 200
    assert json.loads(page.inner_text("body"))["version"] == __version__
    page.close()
    assert demo.terminate() == 0
