"""The live telephony of one node: SIP legs, media endpoints and IVR sessions, driven by the
sans-IO :class:`ContactCenter`.

``ContactCenter`` decides and this runtime acts. Every input (a SIP call event, a key press,
the end of a prompt, an IVR decision, an ACD timer, an API request) is handed to the contact
centre synchronously, at the moment it happens, with ``now``; what comes back is split into
bus events (published at once) and commands for the wire. Commands run as jobs on a per-call
queue, one after another, because most of them wait for the media engine (allocate an
endpoint, then answer with its SDP; set the remote, then bridge): a call's commands must
never overtake each other, while one slow call must never hold up another.

A command that cannot be carried out any more (the leg hung up while its answer was being
prepared) is logged and dropped: the SIP event that made it moot has already reached the
contact centre, which decides what follows. Nothing here raises into the SIP stack or the
event loop.

Speech input and voicemail hear the caller through media captures (``CallerAudio``):
the answer ends by energy-based end of speech in the media worker, recognition runs in a
process of its own, and a voicemail is a mono WAV stored as a recording of kind
"voicemail". Each runs as a task of its own, beside the call's job queue, so a caller
talking for a minute never holds up that call's other commands.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import itertools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from hotline.calls import commands as control
from hotline.calls.commands import DialTrunk
from hotline.calls.events import LegMediaStats, RecordingSaved, SurveyAnswered
from hotline.calls.hours import Calendar
from hotline.calls.numbers import NumberingPlan
from hotline.calls.sdp_media import (
    RemoteMedia,
    answer_offer,
    check_offer,
    make_offer,
    read_answer,
)
from hotline.calls.transfer_rules import ExternalTransferRules
from hotline.calls.trunk_dial import OriginateError
from hotline.calls.trunks import TrunkConfig, TrunkGroupConfig
from hotline.events import Event
from hotline.events.bus import EventBus
from hotline.ivr import io as ivr_io
from hotline.ivr.asr import SpeechError
from hotline.ivr.catalog import CatalogError, FlowCatalog
from hotline.ivr.flow import Flow, Prompt, SpeechNode
from hotline.ivr.run import FlowRun
from hotline.ivr.session import IvrSession
from hotline.ivr.tts import PromptError, PromptRenderer
from hotline.media import engine as media
from hotline.media.recorder import RecordingMetadata
from hotline.media.vad import EndpointingRules
from hotline.services.caller_audio import CallerAudio, SpeechUnavailableError
from hotline.services.contact_center import AnnouncePosition, ContactCenter, Output
from hotline.services.mixing import CallMix
from hotline.services.trunk_service import TrunkService
from hotline.sip.call_events import (
    CallConfirmed,
    CallEnded,
    CallEvent,
    IncomingCall,
    OfferReceived,
    OptionsAnswered,
    OutgoingAnswered,
    OutgoingFailed,
    OutgoingProgress,
    ReferReceived,
)
from hotline.sip.errors import ProtocolError
from hotline.sip.uri import Uri
from hotline.transport.sip_service import SipService, SipServiceConfig

log = logging.getLogger(__name__)

#: ``external``: the outside party of a transfer, dialled through a carrier trunk.
Role = Literal["customer", "agent", "consult", "third_party", "supervisor", "external"]
Job = Callable[[], Awaitable[None]]

#: The final answer to a REFER whose outside number cannot be dialled, by OriginateError kind.
_REFER_REFUSALS: dict[str, tuple[int, str]] = {
    "forbidden": (403, "Transfer to this number is not allowed"),
    "unavailable": (503, "No trunk can carry the transfer"),
    "invalid": (404, "No such queue, user or number"),
}

#: How an agent phone's final answer counts for the ACD (anything else: unreachable).
_AGENT_FAILURES: dict[int, Literal["no_answer", "rejected"]] = {
    408: "no_answer",
    480: "no_answer",
    486: "rejected",
    600: "rejected",
    603: "rejected",
}


@dataclass
class TelephonyConfig:
    """What the runtime needs besides its collaborators."""

    recordings_dir: Path
    #: Trunks by which inbound calls are identified (source host), for inbound routing.
    trunks: Sequence[TrunkConfig] = ()
    #: Groups of those trunks that outbound calls go through (their trunks are probed).
    trunk_groups: Sequence[TrunkGroupConfig] = ()
    #: How numbers without a country (or area) code are read, for outbound calls.
    numbering_plan: NumberingPlan = field(default_factory=NumberingPlan)
    #: Which outside numbers transfers may reach, and the trunk group they go through.
    transfer_rules: ExternalTransferRules = field(default_factory=ExternalTransferRules)
    #: The domain of agents' addresses-of-record: agent "1002" is ``sip:1002@<domain>``.
    agent_domain: str = "127.0.0.1"
    calendars: Mapping[str, Calendar] = field(default_factory=dict)
    #: A WAV looped to waiting callers; None plays the engine's built-in music.
    music_on_hold: Path | None = None
    #: How long ``stop()`` waits for calls to be ended politely (BYEs, recordings closed).
    shutdown_grace: float = 3.0
    #: The recogniser for speech nodes (``ivr.asr.SPEECH_ENGINES``); None: speech nodes
    #: always take their no-match path.
    speech_engine: str | None = "pocketsphinx"
    #: Silence after speech that ends an answer to a speech node.
    speech_end_silence_s: float = 0.8
    #: A voicemail ends after this much silence once the caller has spoken, or if they say
    #: nothing at all for ``voicemail_start_timeout_s`` (then nothing is stored).
    voicemail_end_silence_s: float = 5.0
    voicemail_start_timeout_s: float = 10.0


@dataclass
class _Leg:
    leg_id: str  # the SIP Call-ID of this leg
    call_id: str  # the customer call it belongs to
    role: Role
    offer: bytes = b""  # the customer's SDP offer
    endpoint: media.EndpointDescription | None = None
    ended: bool = False
    phone_held: bool = False  # the phone's last re-INVITE said sendonly/inactive


@dataclass
class _Call:
    call_id: str
    customer_leg: str
    language: str = "zh-CN"
    jobs: asyncio.Queue[Job] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None
    ivr: IvrSession | None = None
    ivr_task: asyncio.Task[None] | None = None
    prompt_task: asyncio.Task[None] | None = None
    recording: tuple[str, str, float] | None = None  # recording id, relative path, started
    department: str | None = None  # the call's, for the recordings it leaves
    audio_task: asyncio.Task[None] | None = None  # listening to the caller (speech, voicemail)
    voicemails: int = 0
    voicemail_endpoint: str | None = None  # set while a voicemail is being recorded
    mix: CallMix | None = None  # its legs' mix in the engine (conference, supervisor)


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
        self.catalog = catalog
        self.prompts = prompts
        self.bus = bus
        self.http = http
        self.config = config
        self.clock = clock
        self.legs: dict[str, _Leg] = {}
        self.calls: dict[str, _Call] = {}
        self._endpoints: dict[str, _Leg] = {}  # media endpoint id -> leg
        self._playing: dict[str, asyncio.Future[bool]] = {}  # endpoint id -> interrupted?
        self._ids = itertools.count(1)
        self._id_prefix = secrets.token_hex(3)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._media_events: asyncio.Task[None] | None = None
        self._trunk_hosts = _trunk_hosts(config.trunks)
        self.trunks = TrunkService(
            self.sip,
            config.trunks,
            config.trunk_groups,
            bus,
            clock,
            local_host=sip_config.host,
        )
        center.configure_trunks(self.trunks.groups, config.numbering_plan, config.transfer_rules)
        self._music = str(config.music_on_hold) if config.music_on_hold else None
        self._tones = _tone_plan(config.numbering_plan.region)
        self.caller_audio = CallerAudio(engine, speech_engine=config.speech_engine)

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
        await self._finish_voicemails()
        now = self.clock()
        for call_id in self.center.live_call_ids():
            self._decide(functools.partial(self.center.hangup, now, call_id, "node stopping"))
        workers = [call.worker for call in self.calls.values() if call.worker is not None]
        if workers:
            await asyncio.wait(workers, timeout=self.config.shutdown_grace)
        for call in self.calls.values():
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
        self._trunk_hosts = _trunk_hosts(trunks)
        self.center.configure_trunks(self.trunks.groups, self.config.numbering_plan)

    async def _finish_voicemails(self) -> None:
        """Close every voicemail being recorded and store it as if the caller had pressed
        '#': the message is the customer's, and a node that stops must not leave its WAV
        without a recordings row. Runs before the calls are hung up, so the capture is
        stopped deliberately (not lost with its endpoint) and its ``RecordingSaved``
        reaches the call history, which is stopped after telephony."""
        recording = [
            call
            for call in self.calls.values()
            if call.voicemail_endpoint is not None
            and call.audio_task is not None
            and not call.audio_task.done()
        ]
        for call in recording:
            assert call.voicemail_endpoint is not None
            await self.caller_audio.stop_capture(call.voicemail_endpoint)
        tasks = [call.audio_task for call in recording if call.audio_task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=self.config.shutdown_grace)
            log.info("voicemails closed at shutdown", extra={"count": len(tasks)})

    def phone_registered(self, agent_id: str) -> bool:
        """Whether the agent has a phone registered now (a desk phone that is unplugged
        cannot take the calls the ACD would offer)."""
        aor = f"sip:{agent_id}@{self.config.agent_domain}"
        return bool(self.sip.registrar.lookup(aor, self.clock()))

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

    def originate(self, agent: str, number: str, group: str | None, caller_id: str | None) -> str:
        """Place a click-to-call (see ``calls/call.py``); returns its call id. Raises
        ``OriginateError`` when it cannot be placed, before anything rings."""
        now = self.clock()
        call_id = f"{self._id_prefix}-{next(self._ids)}"
        outputs = self.center.originate(
            now, call_id=call_id, agent=agent, number=number, group=group, caller_id=caller_id
        )
        self.calls[call_id] = _Call(call_id, "")
        log.info(
            "outbound call",
            extra={"call_id": call_id, "agent": agent, "callee": number, "group": group},
        )
        self._dispatch(outputs)
        self._rearm()
        return call_id

    async def execute(self, outputs: Sequence[Output]) -> None:
        """Carry out outputs the API obtained from the contact centre (agent state, holds,
        transfers); the live-operations service calls this."""
        self._dispatch(outputs)
        self._rearm()

    # ---- decisions in, commands and events out --------------------------------------------

    def _decide(self, decision: Callable[[], list[Output]]) -> bool:
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

    def _dispatch(self, outputs: Iterable[Output]) -> None:
        batches: dict[str, list[Output]] = {}
        for output in outputs:
            if isinstance(output, Event):
                log.debug("%s %r", output.type_name, output)
                self.bus.publish(output)
                continue
            call_id = self._call_of(output)
            if call_id is None or call_id not in self.calls:
                log.warning("command for an unknown call dropped: %r", output)
                continue
            batches.setdefault(call_id, []).append(output)
        for call_id, batch in batches.items():
            call = self.calls[call_id]
            self._submit(call, functools.partial(self._carry_out, batch))

    def _call_of(self, command: Output) -> str | None:
        match command:
            case (
                control.RingAgent()
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
                leg = self.legs.get(command.leg_id)
                return leg.call_id if leg else None
            case control.Bridge() | control.Unbridge() | control.StartRecording():
                leg = self.legs.get(command.customer_leg)
                return leg.call_id if leg else None
            case control.StopRecording() | control.PauseRecording() | control.ResumeRecording():
                return next(
                    (
                        call.call_id
                        for call in self.calls.values()
                        if call.recording and call.recording[0] == command.recording_id
                    ),
                    command.recording_id.rsplit("-r", 1)[0],
                )
        return None

    def _submit(self, call: _Call, job: Job) -> None:
        call.jobs.put_nowait(job)
        if call.worker is None or call.worker.done():
            call.worker = asyncio.create_task(self._work(call), name=f"call-{call.call_id}")

    async def _work(self, call: _Call) -> None:
        while not call.jobs.empty():
            job = call.jobs.get_nowait()
            try:
                await job()
            except Exception:  # one failed command must not stop the call's later ones
                log.exception("call command failed", extra={"call_id": call.call_id})
            finally:
                self.sip.flush()
        self._forget_if_over(call)

    def _forget_if_over(self, call: _Call) -> None:
        if self.center.is_live(call.call_id) or not call.jobs.empty():
            return
        if any(leg.call_id == call.call_id and not leg.ended for leg in self.legs.values()):
            return
        self.calls.pop(call.call_id, None)
        for leg_id in [k for k, leg in self.legs.items() if leg.call_id == call.call_id]:
            del self.legs[leg_id]

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
        self._decide(lambda: self.center.handle_timer(self.clock()))

    # ---- SIP events (called inside the SIP stack's event loop callback) ---------------------

    def _on_sip_event(self, event: CallEvent, now: float) -> None:
        match event:
            case IncomingCall():
                self._incoming(event, now)
            case OutgoingProgress():
                # The ACD's ring timeout governs agents' legs; a trunk leg's ringing shows
                # the carrier is alive. Early media is not relayed.
                leg = self.legs.get(event.call_id)
                if leg is not None and leg.role in ("customer", "external"):
                    self._decide(lambda: self.center.trunk_progress(now, leg.call_id, leg.leg_id))
            case OptionsAnswered():
                self.trunks.options_answered(event, now)
            case OutgoingAnswered():
                self._agent_answered(event, now)
            case OutgoingFailed():
                self._agent_failed(event, now)
            case CallEnded():
                self._leg_ended(event, now)
            case OfferReceived():
                self._reoffer(event, now)
            case ReferReceived():
                self._refer(event, now)
            case CallConfirmed():
                pass

    def _incoming(self, event: IncomingCall, now: float) -> None:
        request = event.request
        try:
            check_offer(event.offer, _CODECS)
        except ProtocolError as error:
            self._reject(event.call_id, error.status, error.reason, now)
            return
        call_id = f"{self._id_prefix}-{next(self._ids)}"
        via = request.top_via
        source_host = via.received or via.host
        trunk = self._trunk_hosts.get(source_host)
        caller = request.from_.uri.user if request.from_.uri and request.from_.uri.user else ""
        callee = request.uri.user or ""
        self.legs[event.call_id] = _Leg(event.call_id, call_id, "customer", offer=event.offer)
        self.calls[call_id] = _Call(call_id, event.call_id)
        log.info(
            "inbound call",
            extra={"call_id": call_id, "caller": caller, "callee": callee, "trunk": trunk},
        )
        self._decide(
            lambda: self.center.inbound_call(
                now,
                call_id=call_id,
                leg_id=event.call_id,
                caller=caller or "anonymous",
                callee=callee,
                trunk=trunk,
            )
        )

    def _reject(self, leg_id: str, status: int, reason: str, now: float) -> None:
        try:
            self.sip.user_agent.reject(leg_id, status, now, reason)
        except ProtocolError:
            log.info("could not reject leg %s (gone)", leg_id)

    def _agent_answered(self, event: OutgoingAnswered, now: float) -> None:
        leg = self.legs.get(event.call_id)
        if leg is None:
            return
        call = self.calls[leg.call_id]
        endpoint = leg.endpoint
        try:
            if endpoint is None:
                raise ProtocolError("agent leg answered without a media endpoint", 500)
            remote = read_answer(event.answer, endpoint)
        except ProtocolError as error:
            log.warning("agent answer unusable: %s", error.reason, extra={"call_id": call.call_id})
            self._submit(call, lambda: self._hang_up_leg(leg, now))
            self._decide(lambda: self.center.leg_failed(now, leg.call_id, leg.leg_id, "rejected"))
            return
        if not self.center.is_live(leg.call_id):  # the customer left while it rang
            self._submit(call, lambda: self._hang_up_leg(leg, now))
            return
        self._submit(call, lambda: self._set_remote(endpoint, remote))
        if not self._decide(lambda: self.center.leg_answered(now, leg.call_id, leg.leg_id)):
            self._submit(call, lambda: self._hang_up_leg(leg, now))

    def _agent_failed(self, event: OutgoingFailed, now: float) -> None:
        leg = self.legs.get(event.call_id)
        if leg is None:
            return
        leg.ended = True
        if leg.role in ("customer", "external"):  # a leg on a carrier trunk
            log.info(
                "trunk leg failed: %s %s",
                event.status,
                event.reason,
                extra={"call_id": leg.call_id},
            )
            self._decide(
                lambda: self.center.trunk_failed(
                    now, leg.call_id, leg.leg_id, event.status, event.reason
                )
            )
            self._release_later(leg)
            return
        reason: Literal["no_answer", "rejected", "unreachable"] = _AGENT_FAILURES.get(
            event.status, "unreachable"
        )
        log.info(
            "agent leg failed: %s %s",
            event.status,
            event.reason,
            extra={"call_id": leg.call_id},
        )
        self._decide(lambda: self.center.leg_failed(now, leg.call_id, leg.leg_id, reason))
        self._release_later(leg)

    def _leg_ended(self, event: CallEnded, now: float) -> None:
        leg = self.legs.get(event.call_id)
        if leg is None or leg.ended:
            return
        leg.ended = True
        if event.reason != "hangup":  # our own BYE's completion is no news to the centre
            self._decide(lambda: self.center.leg_hung_up(now, leg.call_id, leg.leg_id))
        call = self.calls.get(leg.call_id)
        if call is not None and leg.role == "customer" and call.ivr is not None:
            call.ivr.feed(ivr_io.CallerHungUp())
        self._release_later(leg)

    def _reoffer(self, event: OfferReceived, now: float) -> None:
        """A re-INVITE (a phone's own hold, a session refresh): answer it with our same
        endpoint and follow the peer if it moved."""
        leg = self.legs.get(event.call_id)
        if leg is None or leg.endpoint is None:
            return
        endpoint = leg.endpoint
        try:
            answer, remote = answer_offer(event.offer, endpoint, session_id=2)
        except ProtocolError as error:
            log.warning("re-INVITE refused: %s", error.reason, extra={"call_id": leg.call_id})
            return
        self.sip.user_agent.answer(event.call_id, answer, now)
        self._submit(self.calls[leg.call_id], lambda: self._set_remote(endpoint, remote))
        held = remote.direction in ("sendonly", "inactive")
        if leg.role != "customer" and held != leg.phone_held:
            # Only a change counts: a session refresh repeats the direction, and must not
            # resume a hold the desktop (API) asked for.
            leg.phone_held = held
            self._decide(lambda: self.center.phone_hold(now, leg.call_id, leg.leg_id, held))

    def _refer(self, event: ReferReceived, now: float) -> None:
        """A phone's transfer key (REFER): answered here, carried out by the contact centre
        as a blind transfer; NOTIFY tells the phone at once whether the B2BUA took it.
        Attended transfer by REFER with Replaces is refused: the agent's consultation call
        would be a second dialog through this node, which agents' phones do not place; the
        API's consult/complete is the supported attended transfer (docs/calls.md)."""
        ua = self.sip.user_agent
        leg = self.legs.get(event.call_id)
        talking = self.center.talking_leg(leg.call_id) if leg is not None else None
        if leg is None or leg.ended or talking is None or talking != leg.leg_id:
            ua.answer_refer(event.call_id, 403, now, "Only the talking agent may transfer")
            return
        if event.replaces:
            ua.answer_refer(event.call_id, 403, now, "Use the API for attended transfer")
            return
        number = event.target.user or ""
        try:
            destination = self.center.transfer_destination(number, now)
        except OriginateError as error:  # an outside number we may not or cannot dial
            log.info("REFER to %s refused: %s", number, error, extra={"call_id": leg.call_id})
            status, reason = _REFER_REFUSALS.get(error.kind, (404, "No such queue or user"))
            ua.answer_refer(event.call_id, status, now, reason)
            return
        if destination is None:
            log.info("REFER to %s: no such queue or user", number, extra={"call_id": leg.call_id})
            ua.answer_refer(event.call_id, 404, now, "No such queue or user")
            return
        ua.answer_refer(event.call_id, 202, now)
        done = self._decide(lambda: self.center.refer(now, leg.call_id, leg.leg_id, destination))
        if done:
            ua.notify_refer(event.call_id, 200, "OK", now)
        else:
            ua.notify_refer(event.call_id, 503, "Service Unavailable", now)

    def _release_later(self, leg: _Leg) -> None:
        call = self.calls.get(leg.call_id)
        if call is not None:
            self._submit(call, lambda: self._release(leg))

    # ---- media events ------------------------------------------------------------------------

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
            return
        if isinstance(event, media.PlaybackFinished):
            waiting = self._playing.pop(event.endpoint_id, None)
            if waiting is not None and not waiting.done():
                waiting.set_result(event.interrupted)
            return
        leg = self._endpoints.get(event.endpoint_id)
        if leg is None or leg.role != "customer":
            return
        call = self.calls.get(leg.call_id)
        if call is not None and call.ivr is not None:
            log.debug("key %s", event.digit, extra={"call_id": call.call_id})
            call.ivr.feed(ivr_io.DigitReceived(event.digit))

    # ---- commands ------------------------------------------------------------------------

    async def _carry_out(self, commands: list[Output]) -> None:
        for command in commands:
            try:
                await self._command(command)
            except (ProtocolError, media.MediaEngineError, KeyError) as error:
                # KeyError: a leg that is already gone; the event that ended it has reached
                # the contact centre, which decided what follows.
                log.warning("%s not carried out: %s", type(command).__name__, error)
            finally:
                self.sip.flush()

    async def _command(self, command: Output) -> None:
        now = self.clock()
        ua = self.sip.user_agent
        match command:
            case control.AnswerLeg():
                await self._answer_customer(self.legs[command.leg_id])
            case control.RejectLeg():
                self._reject(command.leg_id, command.status, now=now, reason=command.reason)
                leg = self.legs.get(command.leg_id)
                if leg is not None:
                    leg.ended = True
                    await self._release(leg)
            case control.RingAgent():
                await self._ring_agent(command)
            case DialTrunk():
                await self._dial_trunk(command)
            case control.CancelLeg():
                leg = self.legs.get(command.leg_id)
                if leg is not None and not leg.ended:
                    try:
                        ua.cancel(command.leg_id, now)
                    except ProtocolError:  # answered meanwhile: end it instead
                        ua.hangup(command.leg_id, now)
            case control.HangUpLeg():
                leg = self.legs.get(command.leg_id)
                if leg is not None and not leg.ended:
                    ua.hangup(command.leg_id, now)
                    await self._stop_media(leg)
            case control.StartIvr():
                await self._start_ivr(command)
            case control.StopIvr():
                self._stop_ivr(self.calls[command.call_id])
            case control.PlayMusicOnHold():
                leg = self.legs[command.leg_id]
                await self._stop_media(leg)
                if leg.endpoint is not None:
                    await self._media(media.PlayMusicOnHold(leg.endpoint.endpoint_id, self._music))
            case control.PlayRingback():
                leg = self.legs[command.leg_id]
                await self._stop_media(leg)
                if leg.endpoint is not None:
                    await self._media(
                        media.PlayProgressTone(leg.endpoint.endpoint_id, self._tones, "ringback")
                    )
            case control.StopMedia():
                await self._stop_media(self.legs[command.leg_id])
            case control.Bridge():
                customer, agent = self.legs[command.customer_leg], self.legs[command.agent_leg]
                if customer.endpoint and agent.endpoint:
                    await self._media(
                        media.Bridge(customer.endpoint.endpoint_id, agent.endpoint.endpoint_id)
                    )
            case control.Unbridge():
                customer = self.legs[command.customer_leg]
                if customer.endpoint is not None:
                    await self._media(media.Unbridge(customer.endpoint.endpoint_id))
            case control.StartRecording():
                await self._start_recording(command)
            case control.StopRecording():
                await self._stop_recording(command.recording_id)
            case control.PauseRecording() | control.ResumeRecording():
                await self._pause_recording(command)
            case control.SetMix():
                await self._set_mix(command)
            case AnnouncePosition():
                self._announce(command)

    async def _media(self, command: media.Command) -> media.Reply:
        reply = await self.engine.execute(command)
        if isinstance(reply, media.Failed):
            raise media.MediaEngineError(reply.reason)
        return reply

    async def _answer_customer(self, leg: _Leg) -> None:
        if leg.ended:
            return
        endpoint = await self._allocate(leg)
        answer, remote = answer_offer(leg.offer, endpoint)
        await self._set_remote(endpoint, remote)
        if leg.ended:  # the caller gave up while we prepared
            return
        self.sip.user_agent.answer(leg.leg_id, answer, self.clock())

    async def _allocate(self, leg: _Leg) -> media.EndpointDescription:
        endpoint = await self.engine.allocate(media.Allocate(leg.call_id, codecs=_CODECS))
        leg.endpoint = endpoint
        self._endpoints[endpoint.endpoint_id] = leg
        return endpoint

    async def _set_remote(self, endpoint: media.EndpointDescription, remote: RemoteMedia) -> None:
        await self._media(
            media.SetRemote(
                endpoint.endpoint_id,
                remote.host,
                remote.port,
                remote.payload_type,
                remote.telephone_event_pt,
            )
        )

    async def _ring_agent(self, command: control.RingAgent) -> None:
        now = self.clock()
        registrar = self.sip.registrar
        aor = f"sip:{command.agent}@{self.config.agent_domain}"
        bindings = registrar.lookup(aor, now)
        leg = _Leg(command.leg_id, command.call_id, command.role)
        self.legs[command.leg_id] = leg
        if not bindings:
            log.info("agent %s has no registered phone", command.agent)
            leg.ended = True
            self._decide(
                lambda: self.center.leg_failed(now, command.call_id, command.leg_id, "unreachable")
            )
            return
        binding = bindings[0]
        contact = Uri.parse(binding.contact)
        transport, destination = _destination(contact, binding.source)
        endpoint = await self._allocate(leg)
        self.sip.user_agent.invite(
            request_uri=binding.contact,
            destination=destination,
            transport=transport,
            from_uri=f"sip:hotline@{self.config.agent_domain}",
            to_uri=aor,
            offer=make_offer(endpoint),
            now=self.clock(),
            call_id=command.leg_id,
            extra_headers=[("X-Hotline-Call", command.call_id)],
        )

    async def _dial_trunk(self, command: DialTrunk) -> None:
        """An INVITE to the carrier with our offer: the customer leg of an outbound call, or
        the outside party of an inbound call's transfer."""
        role: Role = command.role
        leg = _Leg(command.leg_id, command.call_id, role)
        self.legs[command.leg_id] = leg
        call = self.calls.get(command.call_id)
        if call is not None and role == "customer":
            # A click-to-call's customer is on this leg (the last one tried answers): its
            # prompts, music and survey go there, also after the call is transferred.
            call.customer_leg = command.leg_id
        endpoint = await self._allocate(leg)
        if leg.ended or not self.center.is_live(command.call_id):
            leg.ended = True
            await self._release(leg)
            return
        if command.from_user:
            from_uri, headers = f"sip:{command.from_user}@{command.host}", []
        else:  # RFC 3323: no number to present
            from_uri, headers = "sip:anonymous@anonymous.invalid", [("Privacy", "id")]
        try:
            self.sip.user_agent.invite(
                request_uri=command.request_uri,
                destination=(command.host, command.port),
                transport=command.transport,
                from_uri=from_uri,
                to_uri=command.to_uri,
                offer=make_offer(endpoint),
                now=self.clock(),
                call_id=command.leg_id,
                extra_headers=headers,
                credentials=command.credentials,
            )
        except (ProtocolError, KeyError) as error:  # KeyError: no listener of that transport
            log.warning("trunk %s: INVITE not sent: %r", command.trunk, error)
            leg.ended = True
            now = self.clock()
            self._decide(
                lambda: self.center.trunk_failed(
                    now, command.call_id, command.leg_id, 503, "cannot send to the trunk"
                )
            )
            await self._release(leg)

    async def _hang_up_leg(self, leg: _Leg, now: float) -> None:
        if not leg.ended:
            leg.ended = True
            self.sip.user_agent.hangup(leg.leg_id, now)
        await self._release(leg)

    async def _release(self, leg: _Leg) -> None:
        endpoint, leg.endpoint = leg.endpoint, None
        if endpoint is None:
            return
        self._endpoints.pop(endpoint.endpoint_id, None)
        waiting = self._playing.pop(endpoint.endpoint_id, None)
        if waiting is not None and not waiting.done():
            waiting.cancel()
        stats = await self.engine.execute(media.GetStats(endpoint.endpoint_id))
        if isinstance(stats, media.EndpointStats):
            self.bus.publish(
                LegMediaStats(
                    at=self.clock(),
                    call_id=leg.call_id,
                    leg_id=leg.leg_id,
                    role=leg.role,
                    received=stats.received,
                    lost=stats.lost,
                    jitter_ms=stats.jitter_ms,
                    sent=stats.sent + stats.forwarded,
                )
            )
        reply = await self.engine.execute(media.Release(endpoint.endpoint_id))
        if isinstance(reply, media.Failed):
            log.info("release of %s: %s", endpoint.endpoint_id, reply.reason)

    async def _stop_media(self, leg: _Leg) -> None:
        call = self.calls.get(leg.call_id)
        if call is not None and leg.role == "customer" and call.prompt_task is not None:
            call.prompt_task.cancel()
            call.prompt_task = None
        if leg.endpoint is not None:
            waiting = self._playing.pop(leg.endpoint.endpoint_id, None)
            if waiting is not None and not waiting.done():
                waiting.cancel()
            await self._media(media.StopPlayback(leg.endpoint.endpoint_id))

    # ---- recording -------------------------------------------------------------------------

    async def _start_recording(self, command: control.StartRecording) -> None:
        customer, agent = self.legs[command.customer_leg], self.legs[command.agent_leg]
        call = self.calls[customer.call_id]
        if customer.endpoint is None or agent.endpoint is None:
            raise media.MediaEngineError("a recorded leg has no media endpoint")
        day = datetime.datetime.fromtimestamp(self.clock(), datetime.UTC)
        relative = f"{day:%Y/%m/%d}/{command.recording_id}.wav"
        path = self.config.recordings_dir / relative
        await self._media(
            media.StartRecording(
                call.call_id, customer.endpoint.endpoint_id, agent.endpoint.endpoint_id, str(path)
            )
        )
        call.recording = (command.recording_id, relative, self.clock())
        live = self.center.calls.get(call.call_id)
        call.department = live.department if live is not None else None

    async def _stop_recording(self, recording_id: str) -> None:
        call = next(
            (c for c in self.calls.values() if c.recording and c.recording[0] == recording_id),
            None,
        )
        if call is None or call.recording is None:
            return
        _, relative, started = call.recording
        call.recording = None
        reply = await self._media(media.StopRecording(call.call_id))
        if not isinstance(reply, RecordingMetadata):
            raise media.MediaEngineError(f"recording {recording_id}: no metadata ({reply!r})")
        self.bus.publish(
            RecordingSaved(
                at=self.clock(),
                call_id=call.call_id,
                recording_id=recording_id,
                path=relative,
                started_at=started,
                duration_seconds=reply.duration,
                size_bytes=reply.size,
                sha256=reply.sha256,
                department=call.department,
            )
        )

    async def _pause_recording(
        self, command: control.PauseRecording | control.ResumeRecording
    ) -> None:
        call = next(
            (
                c
                for c in self.calls.values()
                if c.recording and c.recording[0] == command.recording_id
            ),
            None,
        )
        if call is None:
            return
        if isinstance(command, control.PauseRecording):
            await self._media(media.PauseRecording(call.call_id))
        else:
            await self._media(media.ResumeRecording(call.call_id))

    # ---- the mix (conference, consultation, supervisor) --------------------------------------

    async def _set_mix(self, command: control.SetMix) -> None:
        call = self.calls[command.call_id]
        if call.mix is None:
            call.mix = CallMix(call.call_id)
        wanted: dict[str, tuple[str, tuple[str, ...]]] = {}
        for member in command.members:
            endpoint = self._endpoint_of(member.leg_id)
            if endpoint is None:
                continue  # a leg that ended meanwhile; its end reached the centre
            whisper_to = tuple(
                e for e in (self._endpoint_of(leg) for leg in member.whisper_to) if e
            )
            wanted[endpoint] = (member.role, whisper_to)
        await call.mix.apply(wanted, self._endpoints.keys(), self._media)

    def _endpoint_of(self, leg_id: str) -> str | None:
        leg = self.legs.get(leg_id)
        if leg is None or leg.endpoint is None or leg.ended:
            return None
        return leg.endpoint.endpoint_id

    # ---- the IVR -----------------------------------------------------------------------------

    async def _start_ivr(self, command: control.StartIvr) -> None:
        call = self.calls[command.call_id]
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
            self._decide(lambda: self.center.ivr_hung_up(now, call.call_id))
            return
        call.language = flow.language
        if any(isinstance(node, SpeechNode) for node in flow.nodes.values()):
            self.caller_audio.warm_up()  # the model loads while the first prompts play
        session = IvrSession(run, _IvrPort(self, call), self.http, self.bus.publish, self.clock)
        call.ivr = session
        self._decide(lambda: self.center.ivr_started(now, call.call_id, flow.name, flow.version))
        call.ivr_task = asyncio.create_task(self._run_ivr(call, session), name="ivr")

    async def _run_ivr(self, call: _Call, session: IvrSession) -> None:
        try:
            await session.run()
        except Exception:
            log.exception("IVR session failed", extra={"call_id": call.call_id})
            if call.ivr is session:
                now = self.clock()
                self._decide(lambda: self.center.ivr_hung_up(now, call.call_id))
        finally:
            if call.ivr is session:
                call.ivr = None

    def _stop_ivr(self, call: _Call) -> None:
        if call.ivr is not None:
            call.ivr.feed(ivr_io.CallerHungUp())
            call.ivr = None
        if call.prompt_task is not None:
            call.prompt_task.cancel()
            call.prompt_task = None

    def ivr_command(self, call: _Call, command: ivr_io.Command) -> None:
        """What the caller's flow asks for (called by its session, synchronously)."""
        now = self.clock()
        session = call.ivr
        log.debug("ivr command %r", command, extra={"call_id": call.call_id})
        match command:
            case ivr_io.Play():
                self._play(call, command.prompts, command.barge_in, then_feed=True)
            case ivr_io.StopPlayback():
                leg = self.legs[call.customer_leg]
                self._submit(call, lambda: self._stop_media(leg))
            case ivr_io.Enqueue():
                call.language = command.attributes.get("language", call.language)
                self._decide(
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
                self._decide(lambda: self.center.ivr_transfer(now, call.call_id, command.target))
            case ivr_io.Hangup():
                self._decide(lambda: self.center.ivr_hung_up(now, call.call_id))
            case ivr_io.SaveSurveyAnswer():
                self.bus.publish(
                    SurveyAnswered(
                        at=now, call_id=call.call_id, question=command.question, score=command.score
                    )
                )
            case ivr_io.StartSpeechRecognition():
                if session is not None:
                    self._listen_to_caller(call, self._hear_answer(call, session, command))
            case ivr_io.RecordVoicemail():
                if session is not None:
                    self._listen_to_caller(call, self._record_voicemail(call, session, command))
            case ivr_io.HttpRequest():
                pass  # the session performs look-ups itself

    # ---- listening to the caller: speech input and voicemail --------------------------------

    def _listen_to_caller(self, call: _Call, work: Awaitable[None]) -> None:
        async def guarded() -> None:
            try:
                await work
            except Exception:  # never into the loop; the flow's own timer takes over
                log.exception("listening to the caller failed", extra={"call_id": call.call_id})

        call.audio_task = asyncio.create_task(guarded(), name=f"caller-audio-{call.call_id}")

    def _customer_endpoint(self, call: _Call) -> str | None:
        leg = self.legs.get(call.customer_leg)
        if leg is None or leg.ended or leg.endpoint is None:
            return None
        return leg.endpoint.endpoint_id

    async def _hear_answer(
        self, call: _Call, session: IvrSession, command: ivr_io.StartSpeechRecognition
    ) -> None:
        """Capture one answer, recognise it off the loop, and tell the flow what was said."""
        endpoint_id = self._customer_endpoint(call)
        if endpoint_id is None:
            return  # the caller is gone; the flow has been told
        rules = EndpointingRules(
            start_timeout=command.timeout_s,
            trailing_silence=self.config.speech_end_silence_s,
            max_duration=command.timeout_s + command.max_speech_s,
        )
        heard: ivr_io.SpeechRecognized
        try:
            # Any key ends the listening: the key itself reaches the flow as a digit.
            capture = media.StartCapture(endpoint_id, rules, stop_digits="0123456789*#")
            result = await self.caller_audio.capture(capture)
        except media.MediaEngineError as error:
            log.warning("speech capture failed: %s", error, extra={"call_id": call.call_id})
            heard = ivr_io.SpeechRecognized(None)
        else:
            if result.reason in ("released", "stopped"):
                return
            if result.reason == "dtmf":
                heard = ivr_io.SpeechRecognized(None)  # ignored if the key was an option
            elif not result.speech:
                heard = ivr_io.SpeechRecognized(None, no_input=True)
            else:
                heard = await self._recognize(call, result.pcm, command)
        if call.ivr is session:
            session.feed(heard)

    async def _recognize(
        self, call: _Call, pcm: bytes, command: ivr_io.StartSpeechRecognition
    ) -> ivr_io.SpeechRecognized:
        try:
            recognition = await self.caller_audio.recognize(
                pcm, 8000, command.phrases, command.language
            )
        except (SpeechError, SpeechUnavailableError) as error:
            log.error("speech not recognised: %s", error, extra={"call_id": call.call_id})
            return ivr_io.SpeechRecognized(None)
        log.info(
            "speech recognised",
            extra={
                "call_id": call.call_id,
                "text": recognition.text,
                "confidence": round(recognition.confidence, 3),
                "seconds": round(len(pcm) / 16000, 2),
            },
        )
        return ivr_io.SpeechRecognized(recognition.text, recognition.confidence)

    async def _record_voicemail(
        self, call: _Call, session: IvrSession, command: ivr_io.RecordVoicemail
    ) -> None:
        """Beep, record the caller until '#', silence or the length limit, and store the
        message as a recording of kind "voicemail" linked to the call. A message without
        any speech (the caller hung up at the beep, an open line) is not kept."""
        endpoint_id = self._customer_endpoint(call)
        if endpoint_id is None:
            return
        await self._beep(endpoint_id)
        call.voicemails += 1
        recording_id = f"{call.call_id}-vm{call.voicemails}"
        day = datetime.datetime.fromtimestamp(self.clock(), datetime.UTC)
        relative = f"{day:%Y/%m/%d}/{recording_id}.wav"
        path = self.config.recordings_dir / relative
        rules = EndpointingRules(
            start_timeout=min(self.config.voicemail_start_timeout_s, command.max_seconds),
            trailing_silence=self.config.voicemail_end_silence_s,
            max_duration=command.max_seconds,
        )
        live = self.center.calls.get(call.call_id)
        department = live.department if live is not None else call.department
        started = self.clock()
        call.voicemail_endpoint = endpoint_id
        try:
            capture = media.StartCapture(endpoint_id, rules, path=str(path), stop_digits="#")
            result = await self.caller_audio.capture(capture)
        except media.MediaEngineError as error:
            log.error("voicemail not recorded: %s", error, extra={"call_id": call.call_id})
            result = None
        finally:
            call.voicemail_endpoint = None
        if result is not None and result.error:
            log.error("voicemail file: %s", result.error, extra={"call_id": call.call_id})
        if result is not None and result.speech and result.error is None:
            self.bus.publish(
                RecordingSaved(
                    at=self.clock(),
                    call_id=call.call_id,
                    recording_id=recording_id,
                    path=relative,
                    started_at=started,
                    duration_seconds=result.duration,
                    size_bytes=result.size,
                    sha256=result.sha256,
                    department=department,
                    kind="voicemail",
                    mailbox=command.mailbox,
                )
            )
            log.info(
                "voicemail stored",
                extra={"call_id": call.call_id, "mailbox": command.mailbox, "end": result.reason},
            )
        elif result is not None:
            log.info("no message left; nothing stored", extra={"call_id": call.call_id})
            path.unlink(missing_ok=True)
        if call.ivr is session:
            session.feed(ivr_io.RecordingFinished())

    async def _beep(self, endpoint_id: str) -> None:
        """The tone after which the caller speaks; recording starts when it has ended."""
        finished = asyncio.get_running_loop().create_future()
        self._playing[endpoint_id] = finished
        try:
            await self._media(media.PlayTone(endpoint_id, (1000.0,), 0.4))
            await asyncio.wait_for(finished, 2.0)
        except (media.MediaEngineError, TimeoutError):
            pass  # no beep (a worker restarted): record all the same
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the node is stopping
            # the endpoint was released under the beep (the caller hung up)
        finally:
            if self._playing.get(endpoint_id) is finished:
                del self._playing[endpoint_id]

    def _play(
        self,
        call: _Call,
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
        call: _Call,
        prompts: tuple[ivr_io.PromptItem, ...],
        barge_in: bool,
        then_feed: bool,
        then_music: bool,
    ) -> None:
        leg = self.legs.get(call.customer_leg)
        if leg is None or leg.endpoint is None:
            return
        endpoint_id = leg.endpoint.endpoint_id
        for item in prompts:
            try:
                path = await self.prompts.render(item)
            except PromptError as error:
                log.error("prompt skipped: %s", error, extra={"call_id": call.call_id})
                continue
            finished = asyncio.get_running_loop().create_future()
            self._playing[endpoint_id] = finished
            await self._media(media.PlayFile(endpoint_id, str(path), stop_on_dtmf=barge_in))
            if await finished:
                return  # barge-in: the key press went to the flow, which decides
        if then_music:
            await self._media(media.PlayMusicOnHold(endpoint_id, self._music))
        if then_feed and call.ivr is not None:
            call.ivr.feed(ivr_io.PromptFinished())

    def _announce(self, command: AnnouncePosition) -> None:
        call = self.calls[command.call_id]
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


@dataclass
class _IvrPort:
    """The :class:`hotline.ivr.session.CallPort` of one call."""

    telephony: Telephony
    call: _Call

    def execute(self, command: ivr_io.Command) -> None:
        self.telephony.ivr_command(self.call, command)


_CODECS = (
    media.CodecOffer("PCMU", 0),
    media.CodecOffer("PCMA", 8),
    media.CodecOffer("telephone-event", media.DEFAULT_TELEPHONE_EVENT_PT, fmtp="0-16"),
)


def _destination(contact: Uri, source: str | None) -> tuple[str, tuple[str, int]]:
    """Where to send an INVITE for a binding: the address it registered from (NAT-safe,
    RFC 5626 spirit) when known, else the Contact URI's host and port."""
    if source:
        transport, host, port = source.split(":", 2)
        if port.isdigit():
            return transport.upper(), (host, int(port))
    return contact.transport.upper(), (contact.host, contact.port or 5060)


def _trunk_hosts(trunks: Sequence[TrunkConfig]) -> dict[str, str]:
    """Source host -> trunk name for inbound calls; the first trunk of a host names them."""
    hosts: dict[str, str] = {}
    for trunk in trunks:
        hosts.setdefault(trunk.host, trunk.name)
    return hosts


#: Regions whose call-progress tones are not the ITU's common 425 Hz plan
#: (``media/players.py``: ``TONE_PLANS``): ringback sounds as the agents' network does.
_TONE_PLANS = {"CN": "cn", "US": "us", "CA": "us"}


def _tone_plan(region: str) -> str:
    return _TONE_PLANS.get(region.upper(), "itu")
