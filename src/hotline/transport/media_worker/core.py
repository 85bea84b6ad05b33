"""One shard of the built-in media engine: the endpoints, bridges, recordings, conferences
and captures of the calls sharded to one worker, and their one 20 ms timer.

``WorkerCore`` executes the engine's commands (``hotline.media.engine``) inside a running
loop and knows nothing of where they come from: a worker process runs one behind its pipe
(``process.py``), and ``LocalMediaEngine`` runs one in the node's own loop (``local.py``).
It owns what runs per tick (players, DTMF sending, captures' end-of-speech rules,
conference mixes, recording flushes, RTCP reports); what runs per packet is
``RtpEndpoint.datagram_received`` (``hotline.transport.rtp_endpoint``), which the core
wires up (peer, recorder, conference input) and never sits in front of.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hotline.media.capture import CallerCapture
from hotline.media.codecs import CodecRegistry, Pcm
from hotline.media.default_codecs import default_registry
from hotline.media.engine import (
    Allocate,
    Bridge,
    Command,
    Done,
    EndpointDescription,
    Failed,
    GetStats,
    JoinConference,
    LeaveConference,
    MediaEvent,
    PauseRecording,
    PlayFile,
    PlayMusicOnHold,
    PlayProgressTone,
    PlayTone,
    Release,
    Reply,
    ResumeRecording,
    SendDtmf,
    SetConferenceRole,
    SetRemote,
    StartCapture,
    StartRecording,
    StopCapture,
    StopPlayback,
    StopRecording,
    Unbridge,
)
from hotline.media.jitter import JitterBuffer
from hotline.media.mixer import Mixer, Role
from hotline.media.players import Player, from_wav, music_on_hold, progress_tone, tone
from hotline.media.recorder import AGENT, CUSTOMER, CallRecorder
from hotline.media.speexdsp import SpeexUnavailableError, VoiceProcessing, VoiceProcessor
from hotline.media.wav import WavError, read_wav
from hotline.transport.rtp_endpoint import RtpEndpoint

log = logging.getLogger(__name__)

TICK = 0.02
FLUSH_EVERY = 1.0  # seconds of audio a crash may lose from a recording
RTCP_EVERY = 5.0


@dataclass(slots=True)
class WorkerConfig:
    host: str = "127.0.0.1"
    advertised_host: str | None = None  # the address put in SDP, when behind NAT
    port_range: tuple[int, int] | None = None  # None: the OS picks free ports
    recording_fsync: bool = False


@dataclass(slots=True)
class _Recording:
    recorder: CallRecorder
    endpoints: tuple[str, str]  # customer (left), agent (right)
    #: The customer is in a mix (conference, supervisor): the right channel is then what the
    #: customer hears, taken from the mix, so that a third party or a barging supervisor is
    #: in the recording too; a whisper, which the customer does not hear, is not.
    mixed: bool = False


@dataclass(slots=True)
class WorkerCore:
    """Endpoints, bridges and recordings of the calls sharded to one worker."""

    config: WorkerConfig
    registry: CodecRegistry = field(default_factory=default_registry)
    endpoints: dict[str, RtpEndpoint] = field(default_factory=dict)
    recordings: dict[str, _Recording] = field(default_factory=dict)
    conferences: dict[str, Mixer] = field(default_factory=dict)
    #: customer endpoint id -> its recording, for recordings fed from a mix
    _mixed: dict[str, _Recording] = field(default_factory=dict)
    prefix: str = "w0"
    emit: Callable[[MediaEvent], None] = field(default=lambda event: None)
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _timer: asyncio.TimerHandle | None = None
    _tick_count: int = 0
    _due: float = 0.0
    _next_rtcp: float = 0.0
    _next_port: int = 0
    _music: Pcm | None = None  # the built-in hold music, generated on first use

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._next_rtcp = loop.time() + RTCP_EVERY
        self._due = loop.time() + TICK
        self._timer = loop.call_at(self._due, self._tick)

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        try:
            for endpoint in self.endpoints.values():
                if (
                    endpoint.player is not None
                    or endpoint.has_dtmf_queued
                    or endpoint.capture is not None
                ):
                    endpoint.tick(now)
            for conference in self.conferences.values():
                self._mix(conference)
            # Each recording is flushed once per FLUSH_EVERY, but spread over the ticks of
            # that second: flushing hundreds at once stalls the relay for tens of ms.
            self._tick_count += 1
            slots = max(1, round(FLUSH_EVERY / TICK))
            slot = self._tick_count % slots
            for index, recording in enumerate(self.recordings.values()):
                if index % slots == slot:
                    recording.recorder.flush(now)
            if now >= self._next_rtcp:
                self._next_rtcp = now + RTCP_EVERY
                wall = time.time()
                for endpoint in self.endpoints.values():
                    endpoint.send_rtcp_report(wall)
        except Exception:  # the timer must survive any one call's failure
            log.exception("media worker tick failed")
        # A steady 50 Hz (not "20 ms after this tick ran"), or mixes and prompts drift slow.
        self._due = max(self._due + TICK, now - 0.1)
        self._timer = loop.call_at(self._due, self._tick)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        now = asyncio.get_running_loop().time()
        for call_id in list(self.recordings):
            self._stop_recording(call_id, now)
        for endpoint in self.endpoints.values():
            endpoint.end_capture(now)  # a voicemail in progress is closed and reported
            endpoint.close()
        self.endpoints.clear()

    async def execute(self, command: Command) -> Reply:
        """Run one command; any error becomes ``Failed`` so that a caller never hangs."""
        try:
            return await self._execute(command)
        except (KeyError, ValueError, OSError, WavError) as exc:
            return Failed(f"{type(command).__name__}: {exc}")

    async def _execute(self, command: Command) -> Reply:
        now = asyncio.get_running_loop().time()
        match command:
            case Allocate():
                return await self._allocate(command)
            case SetRemote():
                self.endpoints[command.endpoint_id].set_remote(
                    command.host, command.port, command.payload_type, command.telephone_event_pt
                )
            case Bridge():
                a, b = self.endpoints[command.a], self.endpoints[command.b]
                a.connect(b)
                b.connect(a)
                if command.toward_b is not None and command.toward_b.active:
                    self._process_voice(a, command.toward_b)
            case Unbridge():
                endpoint = self.endpoints[command.endpoint_id]
                if endpoint.peer is not None:
                    endpoint.peer.peer = None
                endpoint.peer = None
            case StartRecording():
                return self._start_recording(command, now)
            case PauseRecording():
                self.recordings[command.call_id].recorder.pause(now)
            case ResumeRecording():
                self.recordings[command.call_id].recorder.resume(now)
            case StopRecording():
                return self._stop_recording(command.call_id, now)
            case PlayTone():
                self.endpoints[command.endpoint_id].player = Player(
                    tone(command.frequencies, command.duration, command.level)
                )
            case PlayFile():
                audio = from_wav(read_wav(command.path))
                self.endpoints[command.endpoint_id].player = Player(
                    audio, loop=command.loop, stop_on_dtmf=command.stop_on_dtmf
                )
            case PlayMusicOnHold():
                endpoint = self.endpoints[command.endpoint_id]
                if command.path is None:
                    music = self._music
                    if music is None:
                        music = self._music = music_on_hold()
                else:
                    music = from_wav(read_wav(command.path))
                endpoint.player = Player(music, loop=True)
            case StopPlayback():
                self.endpoints[command.endpoint_id].player = None
            case SendDtmf():
                self.endpoints[command.endpoint_id].send_dtmf(command.digits, command.duration, now)
            case JoinConference():
                endpoint = self.endpoints[command.endpoint_id]
                mixer = self.conferences.setdefault(command.conference_id, Mixer())
                mixer.add(command.endpoint_id)
                endpoint.conference_input = JitterBuffer()
                self._set_role(mixer, command.endpoint_id, command.role, command.whisper_to)
                self._record_mix(command.endpoint_id, mixed=True)
            case SetConferenceRole():
                mixer = self.conferences[command.conference_id]
                self._set_role(mixer, command.endpoint_id, command.role, command.whisper_to)
            case LeaveConference():
                self._leave(command.conference_id, command.endpoint_id)
            case PlayProgressTone():
                cadence = progress_tone(command.plan, command.name)
                self.endpoints[command.endpoint_id].player = cadence.player()
            case StartCapture():
                return self._start_capture(command, now)
            case StopCapture():
                endpoint = self.endpoints[command.endpoint_id]
                capture, endpoint.capture = endpoint.capture, None
                if capture is None:
                    return Failed(f"endpoint {command.endpoint_id} is not capturing")
                return capture.finish("stopped", now)
            case GetStats():
                return self.endpoints[command.endpoint_id].snapshot()
            case Release():
                for conference_id, mixer in list(self.conferences.items()):
                    if command.endpoint_id in mixer.participants:
                        self._leave(conference_id, command.endpoint_id)
                endpoint = self.endpoints.pop(command.endpoint_id)
                endpoint.end_capture(now)
                for call_id, recording in list(self.recordings.items()):
                    if command.endpoint_id in recording.endpoints:
                        self._stop_recording(call_id, now)
                if endpoint.peer is not None:
                    endpoint.peer.peer = None
                endpoint.close()
        return Done()

    def _process_voice(self, source: RtpEndpoint, options: VoiceProcessing) -> None:
        """Noise suppression / echo cancellation on what ``source``'s peer hears. Without
        libspeexdsp (or a codec chosen yet) the bridge stands unprocessed, with a warning:
        the call matters more than its polish."""
        try:
            source.process_toward_peer(VoiceProcessor(options))
        except (SpeexUnavailableError, ValueError) as exc:  # no library; a leg without codec
            log.warning(
                "voice processing unavailable, bridged without it",
                extra={"call_id": source.call_id, "error": str(exc)},
            )

    def _start_capture(self, command: StartCapture, now: float) -> Reply:
        endpoint = self.endpoints[command.endpoint_id]
        if endpoint.capture is not None:
            return Failed(f"endpoint {command.endpoint_id} is already capturing")
        # A path that cannot be written (missing permission, a file in the way) raises
        # OSError here, which becomes Failed for the caller.
        endpoint.capture = CallerCapture(
            endpoint.call_id,
            command.endpoint_id,
            now,
            rules=command.rules,
            path=command.path,
            stop_digits=command.stop_digits,
        )
        endpoint.capture_clock = asyncio.get_running_loop().time
        return Done()

    @staticmethod
    def _set_role(mixer: Mixer, endpoint_id: str, role: str, whisper_to: tuple[str, ...]) -> None:
        match Role(role):
            case Role.LISTEN:
                mixer.listen(endpoint_id)
            case Role.WHISPER:
                mixer.whisper(endpoint_id, set(whisper_to))
            case Role.PARTICIPANT:
                mixer.barge(endpoint_id)

    def _leave(self, conference_id: str, endpoint_id: str) -> None:
        mixer = self.conferences[conference_id]
        mixer.remove(endpoint_id)
        endpoint = self.endpoints.get(endpoint_id)
        if endpoint is not None:
            endpoint.conference_input = None
        self._record_mix(endpoint_id, mixed=False)
        if not mixer.participants:
            del self.conferences[conference_id]

    def _record_mix(self, customer_id: str, *, mixed: bool) -> None:
        """Switch a recording's right channel between the agent's RTP and the customer's mix
        when its customer joins or leaves one (nothing for any other endpoint)."""
        recording = next(
            (r for r in self.recordings.values() if r.endpoints[0] == customer_id), None
        )
        if recording is None or recording.mixed == mixed:
            return
        recording.mixed = mixed
        agent = self.endpoints.get(recording.endpoints[1])
        if mixed:
            self._mixed[customer_id] = recording
            if agent is not None and agent.recorder is recording.recorder:
                agent.recorder = None
        else:
            del self._mixed[customer_id]
            recording.recorder.new_stream(AGENT)  # the agent's packets, numbered afresh
            if agent is not None:
                agent.recorder, agent.record_channel = recording.recorder, AGENT

    def _mix(self, mixer: Mixer) -> None:
        """One tick of a conference: each member's next buffered frame in, its mix out."""
        frames = {}
        for endpoint_id in mixer.participants:
            endpoint = self.endpoints[endpoint_id]
            if endpoint.conference_input is not None:
                frame = endpoint.conference_input.get()
                if frame is not None:
                    frames[endpoint_id] = frame
        for endpoint_id, mixed in mixer.mix(frames).items():
            self.endpoints[endpoint_id].send_frame(mixed)
            recording = self._mixed.get(endpoint_id)
            if recording is not None:
                recording.recorder.add_pcm(AGENT, mixed)

    async def _allocate(self, command: Allocate) -> EndpointDescription:
        loop = asyncio.get_running_loop()
        endpoint_id = f"{self.prefix}-{next(self._ids)}"
        endpoint = RtpEndpoint(
            endpoint_id,
            command.call_id,
            command.codecs,
            self.registry,
            inband_dtmf=command.inband_dtmf,
            emit=self.emit,
        )
        attempts = 1 if self.config.port_range is None else 64
        for attempt in range(attempts):
            try:
                transport, _ = await loop.create_datagram_endpoint(
                    lambda: endpoint, local_addr=(self.config.host, self._pick_port())
                )
                break
            except OSError:
                if attempt == attempts - 1:
                    raise  # becomes Failed("Allocate: ...") for the caller
        else:  # pragma: no cover - the loop always breaks or raises
            raise OSError("no port")
        endpoint.transport = transport
        port = transport.get_extra_info("sockname")[1]
        self.endpoints[endpoint_id] = endpoint
        accepted = tuple(
            c
            for c in command.codecs
            if c.name.lower() == "telephone-event" or f"{c.name}/{c.clock_rate}" in self.registry
        )
        return EndpointDescription(
            endpoint_id, self.config.advertised_host or self.config.host, port, accepted
        )

    def _pick_port(self) -> int:
        if self.config.port_range is None:
            return 0
        low, high = self.config.port_range
        # Even ports (RFC 3550 §11), round robin so a released port is not reused at once.
        span = (high - low) // 2
        self._next_port = (self._next_port + 1) % max(1, span)
        return low + 2 * self._next_port

    def _start_recording(self, command: StartRecording, now: float) -> Reply:
        if command.call_id in self.recordings:
            return Failed(f"call {command.call_id} is already being recorded")
        customer = self.endpoints[command.customer]
        agent = self.endpoints[command.agent]
        codecs = (customer.codec, agent.codec)
        Path(command.path).parent.mkdir(parents=True, exist_ok=True)
        recorder = CallRecorder(
            command.path,
            call_id=command.call_id,
            now=now,
            legs=(command.customer, command.agent),
            decoders=(
                codecs[0].decoder() if codecs[0] else None,
                codecs[1].decoder() if codecs[1] else None,
            ),
            codecs=(
                codecs[0].name if codecs[0] else "none",
                codecs[1].name if codecs[1] else "none",
            ),
            fsync=self.config.recording_fsync,
        )
        for endpoint, channel in ((customer, CUSTOMER), (agent, AGENT)):
            endpoint.recorder, endpoint.record_channel = recorder, channel
            endpoint._recorded_codec = endpoint.codec
        self.recordings[command.call_id] = _Recording(recorder, (command.customer, command.agent))
        if customer.conference_input is not None:  # recording starts during a conference
            self._record_mix(command.customer, mixed=True)
        return Done()

    def _stop_recording(self, call_id: str, now: float) -> Reply:
        recording = self.recordings.pop(call_id)
        self._mixed.pop(recording.endpoints[0], None)
        for endpoint_id in recording.endpoints:
            endpoint = self.endpoints.get(endpoint_id)
            if endpoint is not None:
                endpoint.recorder = None
        return recording.recorder.close(now)
