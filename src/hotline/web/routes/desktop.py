"""The agent desktop: state buttons, the call banner with its screen pop, call controls
(hold, transfer, recording pause), click-to-call, the wrap-up form, and for outbound
campaigns the preview card (the next contact of a preview campaign: call or skip) and
the campaign contact's data on the banner of a campaign call.

Every action goes through the REST API's own route functions (``api.routes.live`` and
``live_calls``), so the desktop has exactly the API's rules: an agent acts on itself and
the call it talks on, changes are audited as there, and a refused action shows the API's
reason. Each action answers with the fragment it changed; the events WebSocket
(``static/js/desktop.js``) refreshes the fragments when the ACD or the call changes on its
own (a call rings, the caller hangs up, wrap-up time ends).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException
from fastapi.responses import HTMLResponse

from hotline.acd.config import DEFAULT_BREAK_REASONS
from hotline.api.routes import campaign_live, live, live_calls
from hotline.api.schemas.campaigns import PreviewCardRead
from hotline.api.schemas.live import (
    BreakBody,
    LiveAgent,
    LiveCall,
    OriginateBody,
    ScreenPop,
    TransferBody,
    WrapUpBody,
)
from hotline.api.services.desk import DeskService
from hotline.api.services.errors import ServiceError
from hotline.services.contact_center import OUTBOUND_BREAK
from hotline.store.models import Agent, Cdr, WrapUpCode
from hotline.web.pages import DesktopPage, Page

router = APIRouter(prefix="/desktop", include_in_schema=False)

#: What an agent may pick; "outbound call" is set and cleared by the contact centre itself.
BREAK_REASONS = sorted(DEFAULT_BREAK_REASONS - {OUTBOUND_BREAK})
Text = Annotated[str, Form(max_length=200)]
#: Events that change what the desktop shows (the module listens for these).
DESKTOP_EVENTS = (
    "acd.agent_state_changed",
    "acd.contact_offered",
    "acd.offer_withdrawn",
    "calls.started",
    "calls.agent_ringing",
    "calls.agent_failed",
    "calls.connected",
    "calls.held",
    "calls.resumed",
    "calls.transferred",
    "calls.ended",
    "calls.recording_started",
    "calls.recording_stopped",
    "calls.recording_paused",
    "calls.recording_resumed",
)


@dataclass(frozen=True)
class Pending:
    """A call waiting for its wrap-up: its stored record, or (just after the call, before
    the record is written) what the live state knows of it."""

    call_id: str
    caller: str | None
    ended_at: datetime | None

    @classmethod
    def of(cls, cdr: Cdr) -> Pending:
        return cls(cdr.call_id, cdr.caller, cdr.ended_at)


@dataclass
class Desk:
    """What the desktop shows of one agent at one moment."""

    agent: Agent | None
    state: LiveAgent | None
    call: LiveCall | None
    pop: ScreenPop | None
    queues: list[str]
    codes: list[WrapUpCode]
    pending: Pending | None
    unavailable: str | None  # why live data is missing (no telephony on this node)


async def _desk(page: Page, *, with_call: bool = True, with_wrapup: bool = True) -> Desk:
    service = DeskService(page.session, page.user)
    agent = await _own_agent(page)
    desk = Desk(agent, None, None, None, [], [], None, None)
    if agent is None:
        return desk
    args = (page.session, page.user, page.context)
    try:
        states = await live.live_agents(*args)
        desk.state = next((a for a in states if a.agent_id == agent.extension), None)
        if with_call:
            calls = await live.live_calls(*args)
            desk.call = next(
                (c for c in calls if c.agent == agent.extension),
                next((c for c in calls if agent.extension in c.ringing), None),
            )
            if desk.call is not None:
                desk.pop = await live.screen_pop(desk.call.call_id, *args)
            desk.queues = [q.name for q in await live.live_queues(*args)]
    except HTTPException as error:
        desk.unavailable = str(error.detail)
    if with_wrapup:
        desk.codes = list(await service.wrapup_codes(agent))
        stored = await service.pending_wrapup(agent)
        desk.pending = Pending.of(stored) if stored else None
        if desk.state is None and desk.unavailable is None:
            try:
                states = await live.live_agents(*args)
            except HTTPException:
                states = []
            desk.state = next((a for a in states if a.agent_id == agent.extension), None)
        live_call = desk.state.call_id if desk.state and desk.state.state == "wrap_up" else None
        if live_call and (desk.pending is None or desk.pending.call_id != live_call):
            desk.pending = Pending(live_call, None, None)
    return desk


async def _own_agent(page: Page) -> Agent | None:
    return await DeskService(page.session, page.user).agent_of_user(page.user.user_id)


@dataclass(frozen=True)
class Problem:
    """A refused action: a sentence in the page's language and the API's own reason.
    ``action`` says which control it answers, so the page shows it next to that control
    (the transfer form, the dial box) rather than at the top of the card."""

    message: str
    detail: str
    action: str = ""


#: The sentence shown for a refused action, by the API's status code.
PROBLEM_KEYS = {
    404: "desk.error.not_found",
    409: "desk.error.conflict",
    422: "desk.error.invalid",
    503: "desk.error.unavailable",
}
PROBLEM_OTHER = "desk.error.failed"


def _problem(page: Page, status_code: int, detail: str, action: str = "") -> Problem:
    return Problem(page.t(PROBLEM_KEYS.get(status_code, PROBLEM_OTHER)), detail, action)


def _values(desk: Desk, **extra: Any) -> dict[str, Any]:
    return {"desk": desk, "break_reasons": BREAK_REASONS, **extra}


@router.get("")
async def desktop(page: DesktopPage) -> HTMLResponse:
    desk = await _desk(page)
    serves, held = await _preview_state(page)
    return page.render(
        "desktop.html",
        **_values(desk, events=",".join(DESKTOP_EVENTS), preview=serves, preview_card=held),
    )


@router.get("/state")
async def state_fragment(page: DesktopPage) -> HTMLResponse:
    return page.fragment(
        "fragments/desk_state.html",
        **_values(await _desk(page, with_call=False, with_wrapup=False)),
    )


@router.get("/call")
async def call_fragment(page: DesktopPage) -> HTMLResponse:
    return page.fragment(
        "fragments/desk_call.html", **_values(await _desk(page, with_wrapup=False))
    )


@router.get("/wrapup")
async def wrapup_fragment(page: DesktopPage) -> HTMLResponse:
    return page.fragment(
        "fragments/desk_wrapup.html", **_values(await _desk(page, with_call=False))
    )


# ---- actions -----------------------------------------------------------------------------


async def _state_action(page: Page, action: str, reason: str | None = None) -> HTMLResponse:
    agent = await _own_agent(page)
    error: Problem | None = None
    if agent is not None:
        args = (page.session, page.user, page.context)
        extension = agent.extension
        try:
            if action == "available":
                states = await live.live_agents(*args)
                current = next((a for a in states if a.agent_id == extension), None)
                if current is not None and current.state == "logged_out":
                    await live.agent_login(extension, *args)
                else:
                    await live.agent_ready(extension, *args)
            elif action == "break":
                await live.agent_break(extension, BreakBody(reason=reason or ""), *args)
            elif action == "logout":
                await live.agent_logout(extension, *args)
        except HTTPException as problem:
            error = _problem(page, problem.status_code, str(problem.detail))
    desk = await _desk(page, with_call=False, with_wrapup=False)
    return page.fragment("fragments/desk_state.html", **_values(desk, error=error))


@router.post("/state/available")
async def go_available(page: DesktopPage) -> HTMLResponse:
    return await _state_action(page, "available")


@router.post("/state/break")
async def go_on_break(page: DesktopPage, reason: Text) -> HTMLResponse:
    if reason not in BREAK_REASONS:
        desk = await _desk(page, with_call=False, with_wrapup=False)
        error = Problem(page.t("desk.bad_reason"), reason)
        return page.fragment("fragments/desk_state.html", 422, **_values(desk, error=error))
    return await _state_action(page, "break", reason)


@router.post("/state/logout")
async def log_out_of_queues(page: DesktopPage) -> HTMLResponse:
    return await _state_action(page, "logout")


async def _call_action(page: Page, call_id: str, action: str, **fields: str) -> HTMLResponse:
    args = (page.session, page.user, page.context)
    error: Problem | None = None
    try:
        if action == "hold":
            await live_calls.hold_call(call_id, *args)
        elif action == "resume":
            await live_calls.resume_call(call_id, *args)
        elif action == "hangup":
            await live_calls.hang_up_call(call_id, *args)
        elif action == "transfer":
            await live_calls.transfer_call(call_id, TransferBody(**fields), *args)
        elif action == "pause_recording":
            await live_calls.recording_control(call_id, "pause", *args)
        elif action == "resume_recording":
            await live_calls.recording_control(call_id, "resume", *args)
    except HTTPException as problem:
        error = _problem(page, problem.status_code, str(problem.detail), action)
    except ValueError as problem:  # pydantic: a target that is no name or number
        error = _problem(page, 422, str(problem).splitlines()[0], action)
    desk = await _desk(page, with_wrapup=False)
    return page.fragment("fragments/desk_call.html", **_values(desk, error=error))


CallIdForm = Annotated[str, Form(min_length=1, max_length=128, pattern=r"^[0-9A-Za-z_.@+-]+$")]


@router.post("/call/hold")
async def hold(page: DesktopPage, call_id: CallIdForm) -> HTMLResponse:
    return await _call_action(page, call_id, "hold")


@router.post("/call/resume")
async def resume(page: DesktopPage, call_id: CallIdForm) -> HTMLResponse:
    return await _call_action(page, call_id, "resume")


@router.post("/call/hangup")
async def hang_up(page: DesktopPage, call_id: CallIdForm) -> HTMLResponse:
    return await _call_action(page, call_id, "hangup")


@router.post("/call/recording/pause")
async def pause_recording(page: DesktopPage, call_id: CallIdForm) -> HTMLResponse:
    """Leave what follows out of the recording (the caller reads out a card number)."""
    return await _call_action(page, call_id, "pause_recording")


@router.post("/call/recording/resume")
async def resume_recording(page: DesktopPage, call_id: CallIdForm) -> HTMLResponse:
    return await _call_action(page, call_id, "resume_recording")


@router.post("/call/transfer")
async def transfer(
    page: DesktopPage,
    call_id: CallIdForm,
    kind: Annotated[str, Form(pattern=r"^(queue|agent|number)$")],
    queue: Annotated[str, Form(max_length=100)] = "",
    target: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse:
    fields = {"queue": queue.strip()} if kind == "queue" else {"target": target.strip()}
    if not next(iter(fields.values())):
        desk = await _desk(page, with_wrapup=False)
        error = Problem(page.t("desk.no_target"), kind, "transfer")
        return page.fragment("fragments/desk_call.html", 422, **_values(desk, error=error))
    return await _call_action(page, call_id, "transfer", **fields)


#: The sentence shown for a refused click-to-call, by the API's status code (409 is told
#: apart by what the desktop knows of the phone: unregistered, or already on a call).
DIAL_PROBLEM_KEYS = {
    404: "desk.dial.error.not_found",
    409: "desk.dial.error.busy",
    422: "desk.dial.error.invalid",
    503: "desk.dial.error.no_trunk",
}


@router.post("/call/dial")
async def dial(page: DesktopPage, number: Annotated[str, Form(max_length=64)] = "") -> HTMLResponse:
    """Click-to-call: the API rings the agent's own phone, then dials ``number`` through
    the node's trunk group. A refusal is shown next to the dial box with the API's reason,
    and the number typed stays there to be corrected."""
    agent = await _own_agent(page)
    number = number.strip()
    error: Problem | None = None
    status_code = 200
    if agent is not None and not number:
        error, status_code = Problem(page.t("desk.dial.no_number"), "", "dial"), 422
    elif agent is not None:
        args = (page.session, page.user, page.context)
        try:
            body = OriginateBody(agent=agent.extension, number=number)
            await live_calls.originate_call(body, *args)
        except HTTPException as problem:
            key = DIAL_PROBLEM_KEYS.get(problem.status_code, PROBLEM_OTHER)
            if problem.status_code == 409:
                states = await _desk(page, with_call=False, with_wrapup=False)
                if states.state is not None and states.state.phone_registered is False:
                    key = "desk.dial.error.unregistered"
            error = Problem(page.t(key), str(problem.detail), "dial")
            status_code = problem.status_code
        except ValueError:  # pydantic: not a phone number
            error = Problem(page.t("desk.dial.error.invalid"), number, "dial")
            status_code = 422
    desk = await _desk(page, with_wrapup=False)
    return page.fragment(
        "fragments/desk_call.html", status_code, **_values(desk, error=error, dialled=number)
    )


# ---- the preview card of a preview campaign -----------------------------------------------

#: The sentence shown for a refused preview action, by the API's status code.
PREVIEW_PROBLEM_KEYS = {
    403: "preview.error.not_agent",
    404: "preview.error.gone",
    409: "preview.error.busy",
    503: "preview.error.no_dialler",
}


def _preview_values(
    page: Page,
    *,
    card: PreviewCardRead | None = None,
    error: Problem | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    return {"card": card, "error": error, "note": note, "preview": _previews_here(page)}


def _previews_here(page: Page) -> bool:
    """Whether the node's dialler runs, so that a preview campaign may have a contact for
    the agent (the API answers which one, or that none is due)."""
    return page.context.dialer and page.context.campaigns is not None


async def _preview_state(page: Page) -> tuple[bool, PreviewCardRead | None]:
    """Whether the agent serves a running preview campaign (the card is shown only then)
    and the contact already theirs; nothing is reserved by looking."""
    if not _previews_here(page):
        return False, None
    try:
        status = await campaign_live.preview_status(page.session, page.user, page.context)
    except HTTPException:  # not an agent, or the dialler stopped meanwhile
        return False, None
    return status.serves or status.card is not None, status.card


def _preview_problem(page: Page, error: HTTPException) -> Problem:
    key = PREVIEW_PROBLEM_KEYS.get(error.status_code, PROBLEM_OTHER)
    return Problem(page.t(key), str(error.detail), "preview")


@router.get("/preview")
async def preview_fragment(page: DesktopPage) -> HTMLResponse:
    return page.fragment("fragments/desk_preview.html", **_preview_values(page))


@router.post("/preview/next")
async def preview_next(page: DesktopPage) -> HTMLResponse:
    """The next contact of a preview campaign the agent serves, reserved for them until
    they call or skip it (the same one again if one is already theirs)."""
    try:
        answer = await campaign_live.preview_next(page.session, page.user, page.context)
    except HTTPException as error:
        values = _preview_values(page, error=_preview_problem(page, error))
        return page.fragment("fragments/desk_preview.html", error.status_code, **values)
    if not isinstance(answer, PreviewCardRead):  # 204: nothing to preview now
        note = page.t("preview.none")
        return page.fragment("fragments/desk_preview.html", **_preview_values(page, note=note))
    return page.fragment("fragments/desk_preview.html", **_preview_values(page, card=answer))


ContactIdForm = Annotated[int, Form(ge=1, le=2**63 - 1)]


@router.post("/preview/dial")
async def preview_dial(
    page: DesktopPage, contact_id: ContactIdForm, name: Annotated[str, Form(max_length=200)] = ""
) -> HTMLResponse:
    """Call the contact on the card: the agent's phone rings first (a click-to-call), then
    the contact; the call banner takes over with the contact's data."""
    try:
        await campaign_live.preview_dial(contact_id, page.session, page.user, page.context)
    except HTTPException as error:
        values = _preview_values(page, error=_preview_problem(page, error))
        return page.fragment("fragments/desk_preview.html", error.status_code, **values)
    note = page.t("preview.dialled", name=name or str(contact_id))
    return page.fragment("fragments/desk_preview.html", **_preview_values(page, note=note))


@router.post("/preview/skip")
async def preview_skip(page: DesktopPage, contact_id: ContactIdForm) -> HTMLResponse:
    try:
        await campaign_live.preview_skip(contact_id, page.session, page.user, page.context)
    except HTTPException as error:
        values = _preview_values(page, error=_preview_problem(page, error))
        return page.fragment("fragments/desk_preview.html", error.status_code, **values)
    note = page.t("preview.skipped")
    return page.fragment("fragments/desk_preview.html", **_preview_values(page, note=note))


@router.post("/wrapup")
async def wrap_up(
    page: DesktopPage,
    call_id: CallIdForm,
    code: Annotated[str, Form(min_length=1, max_length=32)],
    notes: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    """Store the wrap-up, then end the agent's wrap-up time if it is still running: the
    form is what the agent had to do before the next call."""
    agent = await _own_agent(page)
    error: Problem | None = None
    saved: str | None = None
    if agent is not None:
        args = (page.session, page.user, page.context)
        try:
            body = WrapUpBody(call_id=call_id, code=code, notes=notes.replace("\r\n", "\n"))
            await live.agent_wrapup(agent.extension, body, *args)
            saved = call_id
            states = await live.live_agents(*args)
            current = next((a for a in states if a.agent_id == agent.extension), None)
            if current is not None and current.state == "wrap_up":
                await live.agent_ready(agent.extension, *args)
        except HTTPException as problem:
            error = _problem(page, problem.status_code, str(problem.detail))
        except ServiceError as problem:
            error = _problem(page, problem.status_code, str(problem))
        except ValueError as problem:  # pydantic: notes with control characters
            error = _problem(page, 422, str(problem).splitlines()[0])
    desk = await _desk(page, with_call=False)
    return page.fragment("fragments/desk_wrapup.html", **_values(desk, error=error, saved=saved))
