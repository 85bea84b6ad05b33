"""Logging in to the web consoles from Chromium, as a person does (the login form)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from playwright.sync_api import Browser, Page, WebSocket


def log_in(
    browser: Browser,
    base: str,
    passwords: Mapping[str, str],
    username: str,
    locale: str = "en",
    on_websocket: Callable[[WebSocket], None] | None = None,
) -> Page:
    """A new browser context (its own cookies) in ``locale``, logged in as ``username`` on
    the node at ``base``; ``on_websocket`` sees the page's WebSockets from the start."""
    context = browser.new_context(locale=locale, extra_http_headers={"Accept-Language": locale})
    page = context.new_page()
    if on_websocket is not None:
        page.on("websocket", on_websocket)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", passwords[username])
    page.click("button[type=submit].primary")
    page.wait_for_load_state()
    return page
