"""``Telephony``: the facade of the node's live telephony, composing its parts with the
per-call job queues.

It owns the node's ``SipService``, the media engine's event stream, the ACD's timer and one
job queue per call. Every input (a SIP call event, a key press, the end of a prompt, an IVR
decision, an ACD timer, an API request) is handed to the contact centre synchronously,
with ``now`` (``decide``); what comes back is split into bus events, published at once, and
commands, batched per call and queued (``submit``) for the ``CommandExecutor``. A call's
jobs run one after another, so its commands never overtake each other, while one slow call
never holds up another. A call is forgotten when the centre has let it go, its queue is
empty and all its legs have ended.

The parts take this object only as a ``CallRuntime`` (``decide`` and ``submit``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import assert_never

import httpx

from hotline.calls import commands as control
from hotline.calls.call import CampaignCallOptions
from hotline.calls.commands import DialTrunk
from hotline.calls.routing import Destination
from hotline.calls.trunks import TrunkConfig, TrunkGroupConfig
from hotline.events import Event
from hotline.events.bus import EventBus
from hotline.ivr.catalog import FlowCatalog
from hotline.ivr.flow import Flow
from hotline.ivr.tts import PromptRenderer
from hotline.media import engine as media
from hotline.services.acd_link import AnnouncePosition
from hotline.services.caller_audio import CallerAudio
from hotline.services.contact_center import AdapterCommand, ContactCenter, Output
from hotline.services.telephony.caller_listening import CallerListening
from hotline.services.telephony.config import TelephonyConfig
from hotline.services.telephony.endpoints import LegEndpoints
from hotline.services.telephony.executor import CommandExecutor
from hotline.services.telephony.ivr_port import IvrPort
from hotline.services.telephony.machine_detection import MachineDetection
from hotline.services.telephony.recording import CallRecorder
from hotline.services.telephony.signalling import CallSignalling
from hotline.services.telephony.state import CallState, CallTable, Job
from hotline.services.trunk_service import TrunkService
from hotline.sip.call_events import CallEvent
from hotline.transport.sip_service import SipService, SipServiceConfig

log = logging.getLogger(__name__)


class Telephony:
    """See the module docstring. Build it, ``await start()``, ``await stop()``."""

    def __init__(
        self,
        center: ContactCenter,
        sip_config: SipServiceConfig,
        engine: media.MediaEngine,
        catalog: FlowCatalog,
        prompts: PromptRenderer,
        bus: EventBus,
        http: httpx.AsyncClient,
        config: TelephonyConfig,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.center = center
        self.sip = SipService(sip_config, on_call_event=self._on_sip_event)
        self.engine = engine
        self.bus = bus
        self.config = config
        self.clock = clock
        self.table = CallTable()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._media_events: asyncio.Task[None] | None = None
        self.trunks = TrunkService(
            self.sip,
            config.trunks,
            config.trunk_groups,
            bus,
            clock,
            local_host=sip_config.host,
        )
        center.configure_trunks(self.trunks.groups, config.numbering_plan, config.transfer_rules)
        self.caller_audio = CallerAudio(engine, speech_engine=config.speech_engine)
        music = str(config.music_on_hold) if config.music_on_hold else None
        self.endpoints = LegEndpoints(engine, self.table, bus, clock, music_on_hold=music)
        self.listening = CallerListening(
            self.table, self.endpoints, self.caller_audio, center, bus, clock, config
        )
        self.ivr = IvrPort(
            self,
            center,
            self.table,
            self.endpoints,
            self.listening,
            catalog,
            prompts,
            http,
            bus,
            clock,
            config,
        )
        recorder = CallRecorder(
            self.table, self.endpoints, center, bus, clock, config.recordings_dir
        )
        machines = MachineDetection(self, center, self.table, self.caller_audio, clock)
        self.executor = CommandExecutor(
            self,
            center,
            self.sip,
            self.table,
            self.endpoints,
            recorder,
            self.ivr,
            machines,
            clock,
            config,
        )
        self.signalling = CallSignalling(
            self, center, self.sip, self.trunks, self.table, self.endpoints, config.trunks
        )

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> dict[str, tuple[str, int]]:
        """Start SIP listeners and the media event reader; returns SIP addresses."""
        addresses = await self.sip.start()
        self._media_events = asyncio.create_task(self._read_media_events(), name="media-events")
        self._rearm()
        self.trunks.start()
        return addresses

    async def stop(self) -> None:
        """End every call (BYE, recordings closed and reported), then stop SIP."""
        self.trunks.stop()
        await self.listening.finish_voicemails()
        now = self.clock()
        for call_id in self.center.live_call_ids():
            self.decide(functools.partial(self.center.hangup, now, call_id, "node stopping"))
        calls = self.table.calls.values()
        workers = [call.worker for call in calls if call.worker is not None]
        if workers:
            await asyncio.wait(workers, timeout=self.config.shutdown_grace)
        for call in self.table.calls.values():
            for task in (call.ivr_task, call.prompt_task, call.worker, call.audio_task):
                if task is not None:
                    task.cancel()
        await self.caller_audio.close()
        if self._timer is not None:
            self._timer.cancel()
        if self._media_events is not None:
            self._media_events.cancel()
        self.sip.flush()
        self.sip.stop()

    def reconfigure(
        self,
        accounts: Mapping[str, Mapping[str, str]],
        trunks: Sequence[TrunkConfig],
        groups: Sequence[TrunkGroupConfig],
    ) -> None:
        """Phone accounts and carrier trunks as the live directory has them now: the
        registrar checks the next REGISTER against ``accounts`` (when the SIP service
        follows them), new calls use these trunks, inbound calls are named by them."""
        if self.sip.credentials is not None:
            self.sip.credentials.replace(accounts)
        try:
            self.trunks.reconfigure(trunks, groups)
        except ValueError as error:
            log.error("configuration: trunks not applied, the previous ones stay: %s", error)
            return
        self.signalling.name_trunks(trunks)
        self.center.configure_trunks(self.trunks.groups, self.config.numbering_plan)

    def phone_registered(self, agent_id: str) -> bool:
        """Whether the agent has a phone registered now (a desk phone that is unplugged
        cannot take the calls the ACD would offer)."""
        aor = f"sip:{agent_id}@{self.config.agent_domain}"
        return bool(self.sip.registrar.lookup(aor, self.clock()))

    async def prerender(self, flow: Flow) -> int:
        """Render every fixed prompt of ``flow`` into the TTS cache (``IvrPort.prerender``);
        returns how many prompts are ready."""
        return await self.ivr.prerender(flow)

    def customer_endpoint(self, call_id: str) -> str | None:
        """The media endpoint of a live call's customer leg, or None (no such call, no
        media yet, leg ended): what live risk alerts capture (``services.qa_live_alerts``),
        through ``caller_audio`` like the IVR's speech answers."""
        call = self.table.calls.get(call_id)
        return None if call is None else self.table.live_endpoint(call.customer_leg)

    def originate(self, agent: str, number: str, group: str | None, caller_id: str | None) -> str:
        """Place a click-to-call (see ``calls/call.py``); returns its call id. Raises
        ``OriginateError`` when it cannot be placed, before anything rings."""
        now = self.clock()
        call_id = self.table.new_call_id()
        outputs = self.center.originate(
            now, call_id=call_id, agent=agent, number=number, group=group, caller_id=caller_id
        )
        self.table.calls[call_id] = CallState(call_id, "")
        log.info(
            "outbound call",
            extra={"call_id": call_id, "agent": agent, "callee": number, "group": group},
        )
        self._dispatch(outputs)
        self._rearm()
        return call_id

    def dial_campaign(
        self,
        number: str,
        destination: Destination,
        *,
        group: str | None = None,
        caller_id: str | None = None,
        department: str | None = None,
        options: CampaignCallOptions | None = None,
    ) -> str:
        """Place a campaign call (``ContactCenter.dial_campaign``); returns its call id.
        Raises ``OriginateError`` when it cannot be placed (no usable trunk, a number the
        group may not dial), before anything is dialled."""
        now = self.clock()
        call_id = self.table.new_call_id()
        outputs = self.center.dial_campaign(
            now,
            call_id=call_id,
            number=number,
            destination=destination,
            group=group,
            caller_id=caller_id,
            department=department,
            options=options,
        )
        self.table.calls[call_id] = CallState(call_id, "")
        log.info(
            "campaign call",
            extra={"call_id": call_id, "callee": number, "group": group, "to": destination.target},
        )
        self._dispatch(outputs)
        self._rearm()
        return call_id

    async def execute(self, outputs: Sequence[Output]) -> None:
        """Carry out outputs the API obtained from the contact centre (agent state, holds,
        transfers); the live-operations service calls this."""
        self._dispatch(outputs)
        self._rearm()

    # ---- decisions in, commands and events out (the parts' CallRuntime) ---------------------

    def decide(self, decision: Callable[[], list[Output]]) -> bool:
        """Ask the contact centre (synchronously, now) and dispatch what it returns; False
        when it refused the input (logged), so the caller can undo what the input assumed."""
        try:
            outputs = decision()
        except Exception:
            log.exception("contact centre refused an input")
            return False
        self._dispatch(outputs)
        self._rearm()
        return True

    def submit(self, call: CallState, job: Job) -> None:
        """Queue ``job`` after the call's earlier ones; start its worker if it is idle."""
        call.jobs.put_nowait(job)
        if call.worker is None or call.worker.done():
            call.worker = asyncio.create_task(self._work(call), name=f"call-{call.call_id}")

    def _dispatch(self, outputs: Iterable[Output]) -> None:
        batches: dict[str, list[AdapterCommand]] = {}
        for output in outputs:
            if isinstance(output, Event):
                log.debug("%s %r", output.type_name, output)
                self.bus.publish(output)
                continue
            call_id = self._call_of(output)
            if call_id is None or call_id not in self.table.calls:
                log.warning("command for an unknown call dropped: %r", output)
                continue
            batches.setdefault(call_id, []).append(output)
        for call_id, batch in batches.items():
            call = self.table.calls[call_id]
            self.submit(call, functools.partial(self.executor.carry_out, batch))

    def _call_of(self, command: AdapterCommand) -> str | None:
        """The call a command is for. Exhaustive over the commands (mypy checks it): a
        command type added without a case here would be dropped on the wire."""
        legs = self.table.legs
        match command:
            case (
                control.RingAgent()
                | control.DetectMachine()
                | control.StartIvr()
                | control.StopIvr()
                | control.SetMix()
                | AnnouncePosition()
                | DialTrunk()
            ):
                return command.call_id
            case (
                control.AnswerLeg()
                | control.RejectLeg()
                | control.CancelLeg()
                | control.HangUpLeg()
                | control.PlayMusicOnHold()
                | control.PlayRingback()
                | control.StopMedia()
            ):
                leg = legs.get(command.leg_id)
                return leg.call_id if leg else None
            case control.Bridge() | control.Unbridge() | control.StartRecording():
                leg = legs.get(command.customer_leg)
                return leg.call_id if leg else None
            case control.StopRecording() | control.PauseRecording() | control.ResumeRecording():
                call = self.table.recording_call(command.recording_id)
                if call is not None:
                    return call.call_id
                return command.recording_id.rsplit("-r", 1)[0]
            case _:
                assert_never(command)

    async def _work(self, call: CallState) -> None:
        while not call.jobs.empty():
            job = call.jobs.get_nowait()
            try:
                await job()
            except Exception:  # one failed command must not stop the call's later ones
                log.exception("call command failed", extra={"call_id": call.call_id})
            finally:
                self.sip.flush()
        self._forget_if_over(call)

    def _forget_if_over(self, call: CallState) -> None:
        if self.center.is_live(call.call_id) or not call.jobs.empty():
            return
        if any(leg.call_id == call.call_id and not leg.ended for leg in self.table.legs.values()):
            return
        self.table.forget(call.call_id)

    # ---- ACD timers ------------------------------------------------------------------------

    def _rearm(self) -> None:
        deadline = self.center.next_timer()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = deadline
        if deadline is not None:
            delay = max(0.0, deadline - self.clock())
            self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer, self._timer_at = None, None
        self.decide(lambda: self.center.handle_timer(self.clock()))

    # ---- SIP and media events ----------------------------------------------------------------

    def _on_sip_event(self, event: CallEvent, now: float) -> None:
        self.signalling.on_event(event, now)

    async def _read_media_events(self) -> None:
        while True:
            event = await self.engine.next_event()
            try:
                self._on_media_event(event)
            except Exception:
                log.exception("media event handling failed")

    def _on_media_event(self, event: media.MediaEvent) -> None:
        if isinstance(event, media.CaptureFinished):
            self.caller_audio.on_event(event)
        elif isinstance(event, media.PlaybackFinished):
            self.endpoints.playback_finished(event)
        else:
            self.ivr.digit(event)
