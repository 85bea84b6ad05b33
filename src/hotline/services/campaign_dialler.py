"""``CampaignDialler``: the live dialler, running the node's running campaigns.

It exists only when the dialer module is switched on (``settings.modules.dialer``). One
task does everything in order, so that no two steps race on a contact: it reads the node's
events (agents' states, campaign calls answered, connected, abandoned, ended) into each
campaign's :class:`~hotline.dialer.live_campaign.LiveCampaign`, writes every finished
attempt and the contact's next step to the store, and once a second asks each campaign how
many contacts to dial, picks them (:mod:`hotline.dialer.hopper`: due, inside the contact's
calling hours, not on a do-not-call list) and places the calls through telephony
(``Telephony.dial_campaign``). Campaigns are re-read from the store every few seconds: a
campaign started, paused or stopped in the API or console is followed within that time.
A paused or stopped campaign places no new call; its calls in progress end normally and
are still recorded.

What survives a restart: contacts and attempts are rows. A node that stops with calls in
progress leaves their contacts ``dialling``; the next start puts them back to pending
(their attempt rows stay, without an outcome), so no contact is lost and none is dialled
twice at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from hotline.acd import Acd
from hotline.acd.events import AgentStateChanged
from hotline.acd.states import AgentState
from hotline.calls.call import CampaignCallOptions
from hotline.calls.events import (
    CallAnswered,
    CallConnected,
    CallEnded,
    CallMachineDetected,
    CallQueueExited,
    TrunkAttemptEnded,
)
from hotline.calls.routing import Destination
from hotline.calls.trunk_dial import OriginateError
from hotline.dialer.calling_hours import (
    DEFAULT_CALLING_HOURS,
    CallingHours,
    callable_at,
    contact_time_zones,
    next_callable,
)
from hotline.dialer.do_not_call import DoNotCall
from hotline.dialer.hopper import ContactState, pick_contacts
from hotline.dialer.live_campaign import FinishedAttempt, LiveCampaign, LiveFigures
from hotline.dialer.pacing import PacingConfig
from hotline.dialer.retry_rules import RetryRules
from hotline.events import Event
from hotline.events.bus import EventBus, Subscription
from hotline.ivr.catalog import FlowCatalog
from hotline.ivr.flow import Flow
from hotline.services.campaign_flows import CampaignFlows
from hotline.store.campaigns import CampaignRepository
from hotline.store.database import Database
from hotline.store.models import Campaign, CampaignAttempt, CampaignContact

log = logging.getLogger(__name__)

#: How long a contact shown to a preview agent stays theirs without a dial or a skip.
PREVIEW_HOLD_SECONDS = 300.0
#: A contact skipped by a preview agent is due again this much later.
PREVIEW_SKIP_SECONDS = 900.0
#: How many due contacts are read per wanted call: some are outside their calling hours
#: or on a do-not-call list.
CANDIDATES_PER_CALL = 4


class CampaignDialPort(Protocol):
    """What the dialler needs from telephony (``Telephony.dial_campaign``)."""

    def dial_campaign(
        self,
        number: str,
        destination: Destination,
        *,
        group: str | None = None,
        caller_id: str | None = None,
        department: str | None = None,
        options: CampaignCallOptions | None = None,
    ) -> str: ...

    def originate(self, agent: str, number: str, group: str | None, caller_id: str | None) -> str:
        """A click-to-call for ``agent`` (the preview mode's dial)."""
        ...


def _when(now: float) -> datetime:
    return datetime.fromtimestamp(now, UTC)


def _epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None  # the store's are aware UTC


@dataclass(frozen=True)
class PreviewCard:
    """A contact shown to a preview agent: what the desktop's card shows."""

    campaign: str
    campaign_id: int
    contact_id: int
    name: str
    number: str  # the number a dial calls
    phones: tuple[str, ...]
    data: dict[str, Any]
    attempts: int
    last_outcome: str | None
    reserved_at: float


@dataclass
class _Running:
    """A campaign the dialler follows: its live state and the settings it dials with."""

    live: LiveCampaign
    name: str
    destination: Destination
    department: str | None
    group: str | None
    caller_id: str | None
    options: CampaignCallOptions  # the 2-second rule, machines, the ring time
    hours: CallingHours
    priority: int
    default_region: str
    default_zone: str
    dialling: bool  # False once paused or stopped: no new call, the calls in progress end


class CampaignDialler:
    """See the module docstring. ``start()``, then ``await stop()``."""

    def __init__(
        self,
        database: Database,
        telephony: CampaignDialPort,
        acd: Acd,
        catalog: FlowCatalog,
        bus: EventBus,
        clock: Callable[[], float],
        *,
        prerender: Callable[[Flow], Awaitable[int]] | None = None,
        tick_seconds: float = 1.0,
        reload_seconds: float = 5.0,
    ) -> None:
        self.database = database
        self.telephony = telephony
        self.acd = acd
        # ``prerender`` (``Telephony.prerender``) puts the campaign's messages in the TTS
        # cache before its first call; without one (unit tests) they render when played.
        self.flows = CampaignFlows(catalog, prerender)
        self.bus = bus
        self.clock = clock
        self.tick_seconds = tick_seconds
        self.reload_seconds = reload_seconds
        self.campaigns: dict[int, _Running] = {}
        self._calls: dict[str, int] = {}  # call id -> campaign id
        self._seen: set[int] = set()  # campaigns whose stale "dialling" contacts were reset
        self._previews: dict[str, PreviewCard] = {}  # agent -> the contact shown to them
        self._subscription: Subscription[Event] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is not None:
            return
        self._subscription = self.bus.subscribe(
            AgentStateChanged,
            CallAnswered,
            CallConnected,
            CallQueueExited,
            CallMachineDetected,
            TrunkAttemptEnded,
            CallEnded,
            maxsize=100_000,
            name="campaign-dialler",
        )
        self._task = asyncio.create_task(self._run(), name="campaign-dialler")

    async def stop(self) -> None:
        """Stop dialling (the module switched off, the node stopping). Calls in progress
        go on; their attempts stay open in the store and their contacts ``dialling``, reset
        to pending when the dialler next starts."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
        self.campaigns.clear()
        self._calls.clear()
        self._seen.clear()
        for card in self._previews.values():
            await self._release(card.contact_id, self.clock())
        self._previews.clear()
        await self.flows.close()

    # ---- the loop --------------------------------------------------------------------------

    async def _run(self) -> None:
        subscription = self._subscription
        assert subscription is not None
        next_tick = next_reload = self.clock()
        while True:
            now = self.clock()
            try:
                if now >= next_reload:
                    await self.reload(now)
                    next_reload = now + self.reload_seconds
                if now >= next_tick:
                    await self.pace(now)
                    next_tick = now + self.tick_seconds
                timeout = max(0.0, min(next_tick, next_reload) - self.clock())
                try:
                    event = await asyncio.wait_for(subscription.get(), timeout)
                except TimeoutError:
                    continue
                await self.handle(event)
                while (more := subscription.get_nowait()) is not None:
                    await self.handle(more)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A store that is briefly unreachable must not stop the dialler for good;
                # the events of the moment may be lost, the contacts are not (they stay
                # "dialling" and are reset at the next start).
                log.exception("campaign dialler step failed; going on")
                await asyncio.sleep(self.tick_seconds)

    async def handle(self, event: Event) -> None:
        """One event of the node, told with its own time."""
        if isinstance(event, AgentStateChanged):
            for running in self.campaigns.values():
                running.live.agent_changed(event.agent_id, event.state, event.at)
            return
        campaign_id = self._calls.get(getattr(event, "call_id", ""))
        found = self.campaigns.get(campaign_id) if campaign_id is not None else None
        if found is None:
            return
        live = found.live
        if isinstance(event, CallAnswered):
            live.answered(event.call_id, event.at)
        elif isinstance(event, CallConnected):
            live.connected(event.call_id, event.agent, event.at)
        elif isinstance(event, CallMachineDetected):
            live.machine_detected(event.call_id, event.verdict, event.at)
        elif isinstance(event, CallQueueExited) and event.kind == "no_agent_in_time":
            live.abandoned(event.call_id, event.at)
        elif isinstance(event, TrunkAttemptEnded) and event.role == "customer":
            live.trunk_refused(event.call_id, event.status, event.at)
        elif isinstance(event, CallEnded):
            del self._calls[event.call_id]
            finished = live.ended(event.call_id, event.sip_status, event.at)
            if finished is not None:
                await self._record(finished)

    async def _record(self, finished: FinishedAttempt) -> None:
        attempt, step = finished.attempt, finished.next_step
        status = "pending" if step.status == "retry" else step.status  # done, exhausted
        async with self.database.session() as session:
            repo = CampaignRepository(session)
            await repo.finish_attempt(
                attempt.call_id,
                ended_at=_when(finished.ended_at),
                outcome=finished.outcome,
                sip_status=finished.sip_status,
                answered_at=_when(attempt.answered_at) if attempt.answered_at else None,
                connected_at=_when(attempt.connected_at) if attempt.connected_at else None,
                agent=attempt.agent,
                amd_verdict=attempt.amd_verdict,
                disposition=None if finished.outcome == "answered" else finished.outcome,
            )
            await repo.mark(
                attempt.contact_id,
                status=status,
                attempts=finished.attempts,
                next_attempt_at=_when(step.at) if step.at is not None else None,
                last_outcome=finished.outcome,
            )
            await session.commit()

    # ---- campaigns from the store ------------------------------------------------------------

    async def reload(self, now: float) -> None:
        async with self.database.session() as session:
            repo = CampaignRepository(session)
            rows = await repo.running()
            names = await repo.queue_and_department_names(rows)
            for row in rows:
                if row.id not in self._seen:
                    self._seen.add(row.id)
                    reset = await repo.reset_dialling(row.id)
                    if reset:
                        log.info(
                            "campaign contacts back to pending after a restart",
                            extra={"campaign": row.name, "contacts": reset},
                        )
            done = [row for row in rows if await self._completed(repo, row)]
            for row in done:
                await repo.set_status(row.id, "completed")
                log.info("campaign completed: no contact left", extra={"campaign": row.name})
            await session.commit()
        rows = [row for row in rows if row not in done]
        wanted = {row.id for row in rows}
        for row in rows:
            queue, department = names.get(row.id, (None, None))
            self._follow(row, queue, department, now)
        for campaign_id, running in list(self.campaigns.items()):
            if campaign_id not in wanted:
                running.dialling = False
                if not running.live.attempts:
                    del self.campaigns[campaign_id]

    async def _completed(self, repo: CampaignRepository, row: Campaign) -> bool:
        """No contact left to call (none pending, none dialling) and no call running. A
        campaign without any contact yet keeps running: its list is being imported."""
        running = self.campaigns.get(row.id)
        if running is not None and running.live.attempts:
            return False
        counts = await repo.counts(row.id)
        return sum(counts.values()) > 0 and counts["pending"] == 0 and counts["dialling"] == 0

    def _follow(self, row: Campaign, queue: str | None, department: str | None, now: float) -> None:
        """Start following ``row``, or apply its edited settings (the live state stays)."""
        robot = row.mode == "robot"
        try:
            hours = CallingHours.parse(row.calling_hours) if row.calling_hours else None
            rules = RetryRules.parse(row.retry_rules or {})
        except ValueError as error:
            log.error("campaign not dialled: %s", error, extra={"campaign": row.name})
            return
        if (robot and not row.flow) or (not robot and queue is None):
            log.error("campaign not dialled: no queue or flow", extra={"campaign": row.name})
            return
        language = "zh-CN" if row.default_region == "CN" else "en-US"
        abandon_flow = None if robot else self.flows.abandon(row.id, row.abandon_message, language)
        # A machine hears the campaign's message after its beep, or else the abandon
        # message at once: a person taken for a machine still hears who called.
        leave_message = bool(row.machine_action == "message" and row.machine_message)
        machine_flow: str | None
        if leave_message and row.machine_message:
            machine_flow = self.flows.machine_message(row.id, row.machine_message, language)
        else:
            machine_flow = abandon_flow
        if robot:
            destination = Destination(type="flow", target=row.flow or "")
        elif row.recording_notice:
            notice = self.flows.notice(row.id, row.recording_notice, queue or "", language)
            destination = Destination(type="flow", target=notice)
        else:
            destination = Destination(type="queue", target=queue or "")
        members = frozenset(
            agent
            for agent in self.acd.agent_ids()
            if queue is not None and queue in self.acd.agent_profile(agent).queues
        )
        running = self.campaigns.get(row.id)
        if running is None or running.live.mode != row.mode:
            pacing = PacingConfig(
                abandon_target=row.abandon_target, max_lines_per_agent=row.max_ratio
            )
            live = LiveCampaign(
                row.id,
                mode=row.mode,
                pacing=pacing,
                retry_rules=rules,
                robot_lines=row.robot_lines if robot else 0,
                detects_machines=row.amd_enabled,
            )
            if running is not None:  # mode changed: the calls in progress stay followed
                live.attempts = running.live.attempts
        else:
            live = running.live
            live.retry_rules = rules
            live.robot_lines = row.robot_lines if robot else 0
            live.detects_machines = row.amd_enabled
        for agent in live.members - members:  # a lending ended, a membership removed
            live.agent_changed(agent, AgentState.LOGGED_OUT, now)
        new_members = members - live.members
        live.members = members
        for agent in new_members:
            live.agent_changed(agent, self.acd.agent_state(agent), now)
        self.campaigns[row.id] = _Running(
            live=live,
            name=row.name,
            destination=destination,
            department=department,
            group=row.trunk_group,
            caller_id=row.caller_id,
            options=CampaignCallOptions(
                connect_within=None if robot else live.state.config.connect_deadline,
                abandon_flow=abandon_flow,
                detect_machine=row.amd_enabled,
                machine_flow=machine_flow,
                leave_message=leave_message,
                # The pacing's answer model gives up at this ring time too.
                ring_timeout=live.state.config.no_answer_timeout,
            ),
            hours=hours or DEFAULT_CALLING_HOURS,
            priority=row.priority,
            default_region=row.default_region,
            default_zone=row.default_time_zone,
            dialling=True,
        )

    # ---- dialling ----------------------------------------------------------------------------

    async def pace(self, now: float) -> None:
        await self._expire_previews(now)
        for running in sorted(self.campaigns.values(), key=lambda r: -r.priority):
            if not running.dialling or not self.flows.ready(running.live.campaign_id):
                continue
            wanted = running.live.calls_to_place(now)
            if wanted > 0:
                await self._dial(running, wanted, now)

    async def _pick(
        self, repo: CampaignRepository, running: _Running, wanted: int, now: float
    ) -> list[tuple[CampaignContact, str]]:
        """Up to ``wanted`` due contacts callable now, with the number to dial each on;
        those on a do-not-call list are marked so, those outside their calling hours are
        put off until their hours open (so the due set stays the contacts to call)."""
        live = running.live
        rows = await repo.candidates(live.campaign_id, _when(now), wanted * CANDIDATES_PER_CALL)
        by_id = {row.id: row for row in rows}
        states = [self._state(running, row) for row in rows]
        numbers = {phone for state in states for phone in state.phones}
        global_dnc, campaign_dnc = await repo.do_not_call_numbers(live.campaign_id, numbers)
        picks, skips = pick_contacts(
            states, wanted, now, running.hours, DoNotCall(global_dnc, campaign_dnc)
        )
        for skip in skips:
            await repo.mark(skip.contact_id, status="do_not_call", last_outcome="do_not_call")
        picked = {pick.contact_id for pick in picks} | {skip.contact_id for skip in skips}
        for state in states:
            if state.contact_id not in picked and not callable_at(running.hours, state.zones, now):
                opens = next_callable(running.hours, state.zones, now)
                later = opens if opens is not None else now + 86400.0
                await repo.mark(state.contact_id, status="pending", next_attempt_at=_when(later))
        return [(by_id[pick.contact_id], pick.number) for pick in picks]

    async def _dial(self, running: _Running, wanted: int, now: float) -> None:
        live = running.live
        async with self.database.session() as session:
            repo = CampaignRepository(session)
            for contact, number in await self._pick(repo, running, wanted, now):
                try:
                    call_id = self.telephony.dial_campaign(
                        number,
                        running.destination,
                        group=running.group,
                        caller_id=running.caller_id,
                        department=running.department,
                        options=running.options,
                    )
                except (OriginateError, ValueError) as error:
                    live.not_placed(now)
                    log.warning(
                        "campaign call not placed: %s",
                        error,
                        extra={"campaign": running.name, "contact": contact.id},
                    )
                    break  # the trunks are the problem: the next tick tries again, slower
                await self._placed(repo, running, contact, number, call_id, now)
            await session.commit()

    async def _placed(
        self,
        repo: CampaignRepository,
        running: _Running,
        contact: CampaignContact,
        number: str,
        call_id: str,
        now: float,
    ) -> None:
        live = running.live
        live.dialled(call_id, contact.id, number, contact.attempts, now)
        self._calls[call_id] = live.campaign_id
        await repo.mark(contact.id, status="dialling")
        await repo.add_attempt(
            CampaignAttempt(
                campaign_id=live.campaign_id,
                contact_id=contact.id,
                call_id=call_id,
                number=number,
                started_at=_when(now),
            )
        )

    # ---- preview: the agent sees the contact, then dials or skips ----------------------------

    def preview_status(self, agent: str) -> tuple[bool, PreviewCard | None]:
        """Whether ``agent`` serves a running preview campaign, and the contact already
        shown to them; nothing is reserved (the desktop asks this to show its card)."""
        serves = any(
            running.live.mode == "preview" and running.dialling and agent in running.live.members
            for running in self.campaigns.values()
        )
        return serves, self._previews.get(agent)

    async def preview_next(self, agent: str, now: float) -> PreviewCard | None:
        """The next contact of a running preview campaign ``agent`` serves, reserved for
        them (no one else is shown it) until they dial or skip it, or for
        ``PREVIEW_HOLD_SECONDS``. The contact already reserved for them, if any."""
        held = self._previews.get(agent)
        if held is not None:
            return held
        if self.acd.agent_state(agent) is AgentState.LOGGED_OUT:
            return None  # an agent not logged in is shown nothing to call
        for running in sorted(self.campaigns.values(), key=lambda r: -r.priority):
            live = running.live
            if live.mode != "preview" or not running.dialling or agent not in live.members:
                continue
            async with self.database.session() as session:
                repo = CampaignRepository(session)
                picked = await self._pick(repo, running, 1, now)
                if picked:
                    contact, number = picked[0]
                    await repo.mark(contact.id, status="dialling")
                await session.commit()
            if picked:
                card = PreviewCard(
                    campaign=running.name,
                    contact_id=contact.id,
                    name=contact.name,
                    number=number,
                    phones=tuple(contact.phones),
                    data=dict(contact.data),
                    attempts=contact.attempts,
                    last_outcome=contact.last_outcome,
                    reserved_at=now,
                    campaign_id=live.campaign_id,
                )
                self._previews[agent] = card
                return card
        return None

    async def preview_dial(self, agent: str, contact_id: int, now: float) -> str:
        """Dial the contact shown to ``agent`` (a click-to-call: the agent's phone rings
        first); returns the call id. Raises ``LookupError`` for a contact not shown to
        them and ``OriginateError`` when it cannot be placed (the contact stays theirs)."""
        card = self._held(agent, contact_id)
        running = self.campaigns.get(card.campaign_id)
        if running is None:
            raise LookupError(f"campaign {card.campaign} is not running")
        call_id = self.telephony.originate(agent, card.number, running.group, running.caller_id)
        del self._previews[agent]
        async with self.database.session() as session:
            repo = CampaignRepository(session)
            contact = await session.get(CampaignContact, contact_id)
            assert contact is not None
            await self._placed(repo, running, contact, card.number, call_id, now)
            await session.commit()
        return call_id

    async def preview_skip(self, agent: str, contact_id: int, now: float) -> None:
        """The agent will not call this contact now: it goes back to the list, due again
        after ``PREVIEW_SKIP_SECONDS`` (so the next agent is not shown it at once)."""
        self._held(agent, contact_id)
        del self._previews[agent]
        await self._release(contact_id, now + PREVIEW_SKIP_SECONDS)

    def _held(self, agent: str, contact_id: int) -> PreviewCard:
        card = self._previews.get(agent)
        if card is None or card.contact_id != contact_id:
            raise LookupError(f"contact {contact_id} is not shown to agent {agent}")
        return card

    async def _release(self, contact_id: int, due: float) -> None:
        async with self.database.session() as session:
            await CampaignRepository(session).mark(
                contact_id, status="pending", next_attempt_at=_when(due)
            )
            await session.commit()

    async def _expire_previews(self, now: float) -> None:
        for agent, card in list(self._previews.items()):
            if now - card.reserved_at >= PREVIEW_HOLD_SECONDS:
                del self._previews[agent]
                await self._release(card.contact_id, now)

    # ---- what supervisors watch ---------------------------------------------------------------

    def figures(self, campaign_id: int, now: float) -> LiveFigures | None:
        """The live figures of a campaign this node dials (None: not running here)."""
        running = self.campaigns.get(campaign_id)
        return running.live.figures(now) if running is not None else None

    def _state(self, running: _Running, row: CampaignContact) -> ContactState:
        phones = tuple(row.phones) or (row.primary_phone,)
        return ContactState(
            contact_id=row.id,
            phones=phones,
            zones=contact_time_zones(phones[0], row.time_zone, running.default_zone),
            priority=row.priority,
            attempts=row.attempts,
            next_attempt_at=_epoch(row.next_attempt_at),
            status="pending",
        )
