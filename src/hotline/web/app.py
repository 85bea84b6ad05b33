"""Mounts the web consoles into a node's FastAPI application.

The composition root calls :func:`mount_web` after ``create_api``: the pages share the
API's session middleware (one login for both), its database and its live operations
through ``app.state.context``. Pages are left out of the OpenAPI document.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hotline.web.pages import (
    ADMIN_PREFIX,
    WEB_DIR,
    AdminPage,
    LoginRequiredError,
    PageForbiddenError,
    login_url,
)
from hotline.web.routes import (
    admin,
    admin_acd,
    admin_campaigns,
    admin_ivr,
    admin_modules,
    admin_qa,
    admin_telephony,
    admin_users,
    desktop,
    qa_console,
    session,
    wallboard,
    wallboard_campaigns,
)

log = logging.getLogger(__name__)

STATIC_DIR = WEB_DIR / "static"
VENDOR_BUILT = STATIC_DIR / "vendor" / ".built"

#: What a page may load: only this origin (the node serves its own libraries), and the
#: events WebSocket. ECharts sets inline styles, hence 'unsafe-inline' for styles only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def mount_web(api: FastAPI) -> None:
    """Add the pages, their static files and their error pages to ``api``."""
    if not VENDOR_BUILT.exists():
        log.warning(
            "web libraries missing (htmx, ECharts): run `make setup`; pages load without them"
        )
    api.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    api.include_router(session.router)
    # The consoles' routers go here, before the admin guard below.
    api.include_router(desktop.router)
    if api.state.context.dialer:  # before the wallboard's own routes
        api.include_router(wallboard_campaigns.router)
    api.include_router(wallboard.router)
    if api.state.context.modules.get("qa"):  # the QA console only with the qa module
        api.include_router(qa_console.router)
    api.include_router(admin_ivr.router)
    api.include_router(admin.router)
    api.include_router(admin_modules.router)
    if api.state.context.modules.get("qa", True):  # scorecards go with the qa module
        api.include_router(admin_qa.router)
    api.include_router(admin_acd.router)
    api.include_router(admin_users.router)
    api.include_router(admin_telephony.router)
    if api.state.context.dialer:  # as the API: campaign pages only with the dialer module
        api.include_router(admin_campaigns.router)
    _guard_admin_prefix(api)
    api.add_exception_handler(LoginRequiredError, _login_required)  # type: ignore[arg-type]
    api.add_exception_handler(PageForbiddenError, _forbidden)  # type: ignore[arg-type]
    api.add_middleware(_PageHeaders)


def _guard_admin_prefix(api: FastAPI) -> None:
    """Every path under the admin prefix that no admin page answers: a non-admin gets the
    403 page (so URLs cannot be probed), an admin a 404. Registered after the admin
    console's routes, so its pages win."""

    async def no_admin_page(page: AdminPage) -> HTMLResponse:
        return page.render("error.html", 404, code=404, message=page.t("error.not_found"))

    for path in (ADMIN_PREFIX, ADMIN_PREFIX + "/{rest:path}"):
        api.add_api_route(
            path,
            no_admin_page,
            methods=["GET", "POST"],
            include_in_schema=False,
            response_class=HTMLResponse,
        )


async def _login_required(request: Request, error: LoginRequiredError) -> Response:
    if request.headers.get("hx-request"):
        # htmx follows redirects inside the swapped element; ask it to reload the page.
        return Response(status_code=401, headers={"HX-Redirect": login_url(error.next_path)})
    return RedirectResponse(login_url(error.next_path), status_code=303)


async def _forbidden(_request: Request, error: PageForbiddenError) -> Response:
    page = error.page
    return page.render("error.html", 403, code=403, message=page.t("error.forbidden"))


class _PageHeaders:
    """Security headers on every HTML answer, and same-origin checks on form posts.

    The session cookie is SameSite=strict (the API's CSRF defence); a page's form post must
    in addition come from this origin when the browser says where it comes from.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        path: str = scope["path"]
        is_api = path.startswith("/api/")
        if not is_api and scope["method"] in UNSAFE_METHODS and not _same_origin(headers):
            response = Response("cross-origin form post refused", status_code=403)
            await response(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                content_type = next((v for k, v in raw if k.lower() == b"content-type"), b"")
                if content_type.startswith(b"text/html"):
                    raw.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                    raw.append((b"x-frame-options", b"DENY"))
                    raw.append((b"referrer-policy", b"same-origin"))
                raw.append((b"x-content-type-options", b"nosniff"))
                message["headers"] = raw
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _same_origin(headers: dict[str, str]) -> bool:
    origin = headers.get("origin")
    if origin is None or origin == "null":
        return origin is None  # no Origin: not a cross-site browser post
    host = headers.get("host", "")
    return origin.split("://", 1)[-1] == host
