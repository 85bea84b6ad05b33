"""``IvrPort``: the IVR sessions of live calls, and what their flows ask of the call.

``StartIvr`` runs the flow version the catalog picks for the call's department in an
``IvrSession`` whose ``CallPort`` is this module's; the flow's commands come back here
synchronously: prompts are rendered (TTS cache) and played one by one, ``PromptFinished``
is fed when the last ends, and a key press during a barge-in prompt stops it so that only
the key reaches the flow; queueing, transfers and hang-ups go to the contact centre;
speech answers and voicemails are ``CallerListening``'s. Position announcements for
waiting callers are spoken here too, in the caller's language, before the music resumes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from hotline.calls import commands as control
from hotline.calls.events import SurveyAnswered
from hotline.events.bus import EventBus
from hotline.ivr import io as ivr_io
from hotline.ivr.catalog import CatalogError, FlowCatalog
from hotline.ivr.flow import Flow, Prompt, SpeechNode
from hotline.ivr.run import FlowRun
from hotline.ivr.session import IvrSession
from hotline.ivr.tts import PromptError, PromptRenderer
from hotline.media import engine as media
from hotline.services.acd_link import AnnouncePosition
from hotline.services.contact_center import ContactCenter
from hotline.services.telephony.caller_listening import CallerListening
from hotline.services.telephony.config import TelephonyConfig
from hotline.services.telephony.endpoints import LegEndpoints
from hotline.services.telephony.state import CallRuntime, CallState, CallTable

log = logging.getLogger(__name__)


class IvrPort:
    def __init__(
        self,
        runtime: CallRuntime,
        center: ContactCenter,
        table: CallTable,
        endpoints: LegEndpoints,
        listening: CallerListening,
        catalog: FlowCatalog,
        prompts: PromptRenderer,
        http: httpx.AsyncClient,
        bus: EventBus,
        clock: Callable[[], float],
        config: TelephonyConfig,
    ) -> None:
        self.runtime = runtime
        self.center = center
        self.table = table
        self.endpoints = endpoints
        self.listening = listening
        self.catalog = catalog
        self.prompts = prompts
        self.http = http
        self.bus = bus
        self.clock = clock
        self.config = config

    async def prerender(self, flow: Flow) -> int:
        """Render every fixed prompt of ``flow`` into the TTS cache, so that the first
        callers hear prompts at once instead of waiting for synthesis. Returns how many
        prompts are ready; one that fails is logged and rendered again when played."""
        ready = 0
        for node in flow.nodes.values():
            for value in dict(node).values():
                if not isinstance(value, Prompt):
                    continue
                for language, text in value.text.items():
                    if "$" in text:
                        continue  # filled with call variables at play time
                    try:
                        await self.prompts.render(ivr_io.PromptItem(language, text=text))
                        ready += 1
                    except PromptError as error:
                        log.warning("prompt not prerendered: %s", error)
        return ready

    # ---- sessions ------------------------------------------------------------------------

    async def start(self, command: control.StartIvr) -> None:
        call = self.table.calls[command.call_id]
        now = self.clock()
        try:
            flow = self.catalog.for_call(command.flow, command.department)
            run = FlowRun(
                flow,
                call_id=call.call_id,
                calendars=self.config.calendars,
                variables=dict(command.variables),
            )
        except (CatalogError, ValueError) as error:
            log.error("IVR flow cannot start: %s", error, extra={"call_id": call.call_id})
            self.runtime.decide(lambda: self.center.ivr_hung_up(now, call.call_id))
            return
        call.language = flow.language
        if any(isinstance(node, SpeechNode) for node in flow.nodes.values()):
            self.listening.warm_up()  # the model loads while the first prompts play
        session = IvrSession(run, _CallPort(self, call), self.http, self.bus.publish, self.clock)
        call.ivr = session
        self.runtime.decide(
            lambda: self.center.ivr_started(now, call.call_id, flow.name, flow.version)
        )
        call.ivr_task = asyncio.create_task(self._run(call, session), name="ivr")

    async def _run(self, call: CallState, session: IvrSession) -> None:
        try:
            await session.run()
        except Exception:
            log.exception("IVR session failed", extra={"call_id": call.call_id})
            if call.ivr is session:
                now = self.clock()
                self.runtime.decide(lambda: self.center.ivr_hung_up(now, call.call_id))
        finally:
            if call.ivr is session:
                call.ivr = None

    def stop(self, call: CallState) -> None:
        if call.ivr is not None:
            call.ivr.feed(ivr_io.CallerHungUp())
            call.ivr = None
        if call.prompt_task is not None:
            call.prompt_task.cancel()
            call.prompt_task = None

    def digit(self, event: media.DtmfReceived) -> None:
        """A key the caller pressed (the flow's, if one runs on the call)."""
        leg = self.endpoints.by_id.get(event.endpoint_id)
        if leg is None or leg.role != "customer":
            return
        call = self.table.calls.get(leg.call_id)
        if call is not None and call.ivr is not None:
            log.debug("key %s", event.digit, extra={"call_id": call.call_id})
            call.ivr.feed(ivr_io.DigitReceived(event.digit))

    def command(self, call: CallState, command: ivr_io.Command) -> None:
        """What the caller's flow asks for (called by its session, synchronously)."""
        now = self.clock()
        session = call.ivr
        log.debug("ivr command %r", command, extra={"call_id": call.call_id})
        match command:
            case ivr_io.Play():
                self._play(call, command.prompts, command.barge_in, then_feed=True)
            case ivr_io.StopPlayback():
                leg = self.table.legs[call.customer_leg]
                self.runtime.submit(call, lambda: self.endpoints.stop_media(leg))
            case ivr_io.Enqueue():
                call.language = command.attributes.get("language", call.language)
                self.runtime.decide(
                    lambda: self.center.ivr_enqueue(
                        now,
                        call.call_id,
                        command.queue,
                        command.priority,
                        command.skills,
                        command.attributes,
                    )
                )
            case ivr_io.Transfer():
                self.runtime.decide(
                    lambda: self.center.ivr_transfer(now, call.call_id, command.target)
                )
            case ivr_io.Hangup():
                self.runtime.decide(lambda: self.center.ivr_hung_up(now, call.call_id))
            case ivr_io.SaveSurveyAnswer():
                self.bus.publish(
                    SurveyAnswered(
                        at=now, call_id=call.call_id, question=command.question, score=command.score
                    )
                )
            case ivr_io.StartSpeechRecognition():
                if session is not None:
                    self.listening.hear_answer(call, session, command)
            case ivr_io.RecordVoicemail():
                if session is not None:
                    self.listening.record_voicemail(call, session, command)
            case ivr_io.HttpRequest():
                pass  # the session performs look-ups itself

    # ---- prompts and announcements -----------------------------------------------------------

    def announce(self, command: AnnouncePosition) -> None:
        call = self.table.calls[command.call_id]
        minutes = max(1, round(command.estimated_wait / 60))
        if call.language.startswith("zh"):
            text = f"您前面还有{command.position - 1}位客户，预计等待{minutes}分钟，请稍候。"
        else:
            text = (
                f"You are number {command.position} in line. "
                f"The expected wait is about {minutes} minute{'s' if minutes > 1 else ''}."
            )
        item = ivr_io.PromptItem(language=call.language, text=text)
        self._play(call, [item], barge_in=False, then_feed=False, then_music=True)

    def _play(
        self,
        call: CallState,
        prompts: Sequence[ivr_io.PromptItem],
        barge_in: bool,
        *,
        then_feed: bool,
        then_music: bool = False,
    ) -> None:
        if call.prompt_task is not None:
            call.prompt_task.cancel()
        call.prompt_task = asyncio.create_task(
            self._play_prompts(call, tuple(prompts), barge_in, then_feed, then_music),
            name="prompts",
        )

    async def _play_prompts(
        self,
        call: CallState,
        prompts: tuple[ivr_io.PromptItem, ...],
        barge_in: bool,
        then_feed: bool,
        then_music: bool,
    ) -> None:
        leg = self.table.legs.get(call.customer_leg)
        if leg is None or leg.endpoint is None:
            return
        endpoint_id = leg.endpoint.endpoint_id
        for item in prompts:
            try:
                path = await self.prompts.render(item)
            except PromptError as error:
                log.error("prompt skipped: %s", error, extra={"call_id": call.call_id})
                continue
            finished = self.endpoints.playback_end(endpoint_id)
            await self.endpoints.run(media.PlayFile(endpoint_id, str(path), stop_on_dtmf=barge_in))
            if await finished:
                return  # barge-in: the key press went to the flow, which decides
        if then_music:
            await self.endpoints.play_music_on_hold(endpoint_id)
        if then_feed and call.ivr is not None:
            call.ivr.feed(ivr_io.PromptFinished())


@dataclass
class _CallPort:
    """The :class:`hotline.ivr.session.CallPort` of one call."""

    ivr: IvrPort
    call: CallState

    def execute(self, command: ivr_io.Command) -> None:
        self.ivr.command(self.call, command)
