"""Logging in and out, the language switch, and the landing page.

Login uses the API's own :class:`AuthService` (same throttling, audit and session cookie as
``POST /api/v1/auth/login``); the form posts here so that it works without JavaScript and
its errors are shown in the page's language.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hotline.api.deps import client_address
from hotline.api.services.auth import AuthService, LoginRefusedError, LoginThrottledError
from hotline.web.i18n import LANGUAGE_COOKIE, normalize
from hotline.web.pages import AnyPage, LoggedInPage, local_path

router = APIRouter(include_in_schema=False)

LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600
Field = Annotated[str, Form(max_length=200)]


@router.get("/", response_model=None)
async def home(page: AnyPage) -> Response:
    """Logged in: the user's console; a role without one gets a page saying so."""
    if page.principal is None:
        return RedirectResponse("/login", status_code=303)
    target = page.home()
    if target != "/":
        return RedirectResponse(target, status_code=303)
    return page.render("home.html")


@router.get("/login")
async def login_form(page: AnyPage, next: str = "/") -> HTMLResponse:
    return page.render("login.html", next=local_path(next), error=None, username="")


@router.post("/login", response_model=None)
async def login(
    page: AnyPage,
    username: Field,
    password: Field,
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    request, context = page.request, page.context
    try:
        principal = await AuthService(page.session).login(
            username, password, client_address(request), context.limiter, context.passwords
        )
    except LoginThrottledError as error:
        seconds = int(error.retry_after + 0.999)
        response = page.render(
            "login.html",
            429,
            next=local_path(next),
            error=page.t("login.throttled", seconds=seconds),
            username=username,
        )
        response.headers["Retry-After"] = str(seconds)
        return response
    except LoginRefusedError:
        return page.render(
            "login.html",
            401,
            next=local_path(next),
            error=page.t("login.refused"),
            username=username,
        )
    request.session.clear()
    request.session["user_id"] = principal.user_id
    page.principal = principal
    target = local_path(next, default="/")
    return RedirectResponse(page.home() if target == "/" else target, status_code=303)


@router.post("/logout")
async def logout(page: LoggedInPage) -> RedirectResponse:
    page.request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.post("/language")
async def choose_language(
    page: AnyPage,
    language: Annotated[str, Form(max_length=16)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> RedirectResponse:
    """Keep the choice in a cookie (a year); an unknown tag keeps the current language."""
    response = RedirectResponse(local_path(next), status_code=303)
    chosen = normalize(language)
    if chosen is not None:
        response.set_cookie(
            LANGUAGE_COOKIE,
            chosen,
            max_age=LANGUAGE_COOKIE_MAX_AGE,
            httponly=True,
            samesite="strict",
            secure=page.context.secure_cookies,
        )
    return response
