"""What every page shares: the templates, the request's language and user, navigation by
role, and the guards that keep pages to their roles.

A page handler asks for a :class:`Page` through one of the dependencies below and returns
``page.render("template.html", ...)``. The guard runs before the handler: a visitor who is
not logged in is sent to the login page (and back afterwards); a logged-in user whose role
may not open the page gets the 403 page, which names neither the page's contents nor
whether it exists. Pages only read the session cookie (no bearer tokens: a browser page
is a person, an integration uses the API).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.api.context import ApiContext
from hotline.api.deps import SessionDep, context_of, resolve_principal
from hotline.api.rbac import Principal
from hotline.store.models import Role
from hotline.web.i18n import (
    LANGUAGE_COOKIE,
    LANGUAGE_NAMES,
    LANGUAGES,
    Translator,
    negotiate,
    normalize,
)

WEB_DIR = Path(__file__).parent
templates = Jinja2Templates(directory=WEB_DIR / "templates")
templates.env.autoescape = True

#: The admin console's prefix (issue 7's admin console fills it). Everything under it is
#: guarded for ``ADMIN_ROLES`` even where no page exists yet (see ``app.mount_web``).
ADMIN_PREFIX = "/admin"
ADMIN_ROLES = frozenset({Role.ADMIN})
WALLBOARD_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.AUDITOR})
DESKTOP_ROLES = frozenset({Role.AGENT})
#: The QA console's search (``routes.qa_console``; agents have their own view, ``/qa/mine``).
QA_STAFF_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.QA, Role.AUDITOR})


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str  # message key
    roles: frozenset[Role]


#: The navigation bar, in order; each user sees the entries of their role. A new console
#: adds its entry here (and its guard uses the same roles).
NAV: list[NavItem] = [
    NavItem("/desktop", "nav.desktop", DESKTOP_ROLES),
    NavItem("/wallboard", "nav.wallboard", WALLBOARD_ROLES),
    # Supervisors manage their departments' queues, agents, codes and flows there.
    NavItem(ADMIN_PREFIX, "nav.admin", ADMIN_ROLES | {Role.SUPERVISOR}),
    # Shown only on nodes with the qa module (``Page.nav``).
    NavItem("/qa", "nav.qa", QA_STAFF_ROLES),
    NavItem("/qa/mine", "nav.qa_mine", DESKTOP_ROLES),
    # The qa role's one admin section (administrators reach it from the admin menu).
    NavItem(f"{ADMIN_PREFIX}/qa-scorecards", "nav.qa_scorecards", frozenset({Role.QA})),
]
#: Consoles of optional modules: their entries show only when ``context.modules`` has them.
NAV_MODULES: dict[str, str] = {"/qa": "qa", "/qa/mine": "qa", f"{ADMIN_PREFIX}/qa-scorecards": "qa"}


class LoginRequiredError(Exception):
    """Not logged in: the handler in ``app`` redirects to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class PageForbiddenError(Exception):
    """Logged in, but the role may not open this page: rendered as the 403 page."""

    def __init__(self, page: Page) -> None:
        super().__init__(page.request.url.path)
        self.page = page


def request_language(request: Request) -> str:
    chosen = normalize(request.cookies.get(LANGUAGE_COOKIE))
    if chosen is not None:
        return chosen
    return negotiate(request.headers.get("accept-language"))


def local_path(target: str | None, default: str = "/") -> str:
    """``target`` if it is a path on this site, else ``default`` (no open redirects)."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 0x20 for c in target)
    ):
        return default
    return target


@dataclass
class Page:
    """One page request: who, in which language, and how to answer it."""

    request: Request
    session: AsyncSession
    context: ApiContext
    language: str
    principal: Principal | None
    t: Translator = field(init=False)

    def __post_init__(self) -> None:
        self.t = Translator(self.language)

    @property
    def user(self) -> Principal:
        """The logged-in user (a guarded page always has one)."""
        assert self.principal is not None, "use a guarded page dependency"
        return self.principal

    def nav(self) -> list[NavItem]:
        if self.principal is None:
            return []
        modules = self.context.modules
        return [
            item
            for item in NAV
            if self.principal.role in item.roles
            and (item.path not in NAV_MODULES or modules.get(NAV_MODULES[item.path], False))
        ]

    def home(self) -> str:
        """Where this user lands after logging in: the first console of their role."""
        items = self.nav()
        return items[0].path if items else "/"

    def render(self, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        path = self.request.url.path
        query = self.request.url.query
        values = {
            "page": self,
            "t": self.t,
            "language": self.language,
            "languages": [(tag, LANGUAGE_NAMES[tag]) for tag in LANGUAGES],
            "nav": self.nav(),
            "current_path": path + ("?" + query if query else ""),
            "user": self.principal,
            "now": time.time(),  # Unix time, as the live views' timestamps
            **values,
        }
        response = templates.TemplateResponse(self.request, template, values, status_code)
        response.headers["Content-Language"] = self.language
        response.headers["Vary"] = "Accept-Language, Cookie"
        return response

    def fragment(self, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        """A piece of a page for htmx to swap in (same context as a page)."""
        return self.render(template, status_code, **values)


async def _page(request: Request, session: SessionDep) -> Page:
    context = context_of(request)
    principal = await resolve_principal(request, session, None)
    return Page(request, session, context, request_language(request), principal)


AnyPage = Annotated[Page, Depends(_page)]


def guarded(roles: Iterable[Role]) -> Callable[[Page], Awaitable[Page]]:
    """A dependency giving the :class:`Page` of a user whose role is one of ``roles``."""
    allowed = frozenset(roles)

    async def guard(page: AnyPage) -> Page:
        if page.principal is None:
            url = page.request.url
            raise LoginRequiredError(url.path + ("?" + url.query if url.query else ""))
        if page.principal.role not in allowed:
            raise PageForbiddenError(page)
        return page

    return guard


LoggedInPage = Annotated[Page, Depends(guarded(Role))]
AdminPage = Annotated[Page, Depends(guarded(ADMIN_ROLES))]
WallboardPage = Annotated[Page, Depends(guarded(WALLBOARD_ROLES))]
DesktopPage = Annotated[Page, Depends(guarded(DESKTOP_ROLES))]


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(local_path(next_path), safe="/")
