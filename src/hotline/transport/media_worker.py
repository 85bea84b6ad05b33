"""The built-in media engine: one worker process per core, calls sharded over them.

Measured on this machine class, one Python process relays at most ~70k packets/s with uvloop;
a thousand bridged calls are ~100k packets/s each way, so the work must be spread over every
core. Each worker is a separate process running its own uvloop loop with its endpoints,
recorders and one 20 ms timer; the node talks to it over a pipe with pickled command
dataclasses (``hotline.media.engine``). All endpoints of a call live in the same worker
(sharded by call id), so bridging and recording never cross processes.

``WorkerCore`` executes commands inside a loop and is also what the in-process engine
(``LocalMediaEngine``, for the demo and tests) uses; ``MediaWorkerPool`` runs one core per
process.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from hotline.media.capture import CallerCapture
from hotline.media.codecs import CodecRegistry, Pcm, default_registry
from hotline.media.engine import (
    Allocate,
    Bridge,
    Command,
    Done,
    EndpointDescription,
    EndpointStats,
    Failed,
    GetStats,
    JoinConference,
    LeaveConference,
    MediaEngineError,
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


class LocalMediaEngine:
    """The engine in the caller's own loop: the demo, tests, and small sites."""

    def __init__(self, config: WorkerConfig | None = None) -> None:
        self._events: asyncio.Queue[MediaEvent] = asyncio.Queue()
        self.core = WorkerCore(config or WorkerConfig(), emit=self._events.put_nowait)
        self._started = False

    async def next_event(self) -> MediaEvent:
        return await self._events.get()

    async def _ensure_started(self) -> None:
        if not self._started:
            self.core.start()
            self._started = True

    async def allocate(self, command: Allocate) -> EndpointDescription:
        reply = await self.execute(command)
        if not isinstance(reply, EndpointDescription):
            raise MediaEngineError(str(reply))
        return reply

    async def execute(self, command: Command) -> Reply:
        await self._ensure_started()
        return await self.core.execute(command)

    async def stats(self, endpoint_id: str) -> EndpointStats:
        reply = await self.execute(GetStats(endpoint_id))
        if not isinstance(reply, EndpointStats):
            raise MediaEngineError(str(reply))
        return reply

    async def close(self) -> None:
        await self.core.close()


# --- one process per core --------------------------------------------------------------------


def _worker_main(
    connection: multiprocessing.connection.Connection, config: WorkerConfig, prefix: str
) -> None:
    """Entry point of a worker process: uvloop, the core, and the command pipe."""
    try:
        import uvloop

        runner: Callable[..., object] = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency; plain asyncio still works
        runner = asyncio.run
    runner(_serve(connection, config, prefix))


async def _serve(
    connection: multiprocessing.connection.Connection, config: WorkerConfig, prefix: str
) -> None:
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    pending: set[asyncio.Task[None]] = set()

    def finish() -> None:
        if not done.done():
            done.set_result(None)  # the node went away or said stop: finish recordings

    async def run(request_id: int, command: Command) -> None:
        reply = await core.execute(command)
        with contextlib.suppress(OSError):
            channel.send((request_id, reply))

    def received(message: tuple[int, Command | None]) -> None:
        request_id, command = message
        if command is None:
            finish()
            return
        task = loop.create_task(run(request_id, command))
        pending.add(task)
        task.add_done_callback(pending.discard)

    channel = _Channel(connection, received, finish)
    # Events travel unsolicited with request id 0; replies carry the request's own id.
    core = WorkerCore(config, prefix=prefix, emit=lambda event: channel.send((0, event)))
    core.start()
    await done
    await core.close()
    with contextlib.suppress(OSError):
        channel.send((-1, Done()))
        channel.flush_blocking()
    channel.close()


class _Channel:
    """Pickled messages over one end of the node-worker socket pair, without ever blocking
    either event loop.

    ``Connection.send``/``recv`` write and read a length header and a pickle with plain
    system calls. The loop's reader watch makes the descriptor non-blocking (libuv does), and
    then a full pipe raises EAGAIN half-way through a message: under load a reply was lost and
    its caller waited forever. Made blocking instead, node and worker can each wait to write
    to the other while neither reads: a deadlock. So both sides buffer: writes go out as far
    as the pipe takes them and the rest when it is writable again; reads collect bytes until
    a whole message is there. The framing is ``Connection``'s (a 4-byte big-endian length).
    """

    def __init__(
        self,
        connection: multiprocessing.connection.Connection,
        on_message: Callable[[Any], None],
        on_closed: Callable[[], None],
    ) -> None:
        self.connection = connection  # keeps the descriptor open
        self._fd = connection.fileno()
        self._on_message = on_message
        self._on_closed = on_closed
        self._loop = asyncio.get_running_loop()
        self._in = bytearray()
        self._out = bytearray()
        self._writing = False
        self.closed = False
        os.set_blocking(self._fd, False)
        self._loop.add_reader(self._fd, self._readable)

    def send(self, message: object) -> None:
        if self.closed:
            raise OSError("the other side is gone")
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self._out += _LENGTH.pack(len(data)) + data
        self._write()

    def _write(self) -> None:
        try:
            sent = os.write(self._fd, self._out) if self._out else 0
        except BlockingIOError:
            sent = 0
        except OSError:
            self._close()
            return
        del self._out[:sent]
        if self._out and not self._writing:
            self._loop.add_writer(self._fd, self._write)
            self._writing = True
        elif not self._out and self._writing:
            self._loop.remove_writer(self._fd)
            self._writing = False

    def _readable(self) -> None:
        try:
            chunk = os.read(self._fd, 1 << 18)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._close()
            return
        self._in += chunk
        while len(self._in) >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(self._in)
            if len(self._in) < _LENGTH.size + size:
                break
            message = pickle.loads(self._in[_LENGTH.size : _LENGTH.size + size])
            del self._in[: _LENGTH.size + size]
            self._on_message(message)

    def flush_blocking(self, timeout: float = 5.0) -> None:
        """Push out what is buffered before the process ends (shutdown only)."""
        deadline = time.monotonic() + timeout
        while self._out and not self.closed and time.monotonic() < deadline:
            self._write()
            if self._out:
                time.sleep(0.01)

    def _close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._loop.remove_reader(self._fd)
        if self._writing:
            self._loop.remove_writer(self._fd)
        self._on_closed()

    def close(self) -> None:
        self._close()
        self.connection.close()


_LENGTH = struct.Struct("!i")


@dataclass(slots=True)
class _WorkerHandle:
    process: BaseProcess
    channel: _Channel | None = None
    index: int = 0
    generation: int = 0
    futures: dict[int, asyncio.Future[Reply]] = field(default_factory=dict)


class MediaWorkerPool:
    """The engine for production on one machine: ``workers`` processes, calls sharded by id."""

    def __init__(self, workers: int | None = None, config: WorkerConfig | None = None) -> None:
        self.size = workers or os.cpu_count() or 1
        self.config = config or WorkerConfig()
        self._workers: list[_WorkerHandle] = []
        self._ids = itertools.count(1)
        self._endpoint_worker: dict[str, int] = {}
        self._call_worker: dict[str, int] = {}
        self._events: asyncio.Queue[MediaEvent] = asyncio.Queue()
        self._closing = False

    async def start(self) -> None:
        for index in range(self.size):
            self._workers.append(self._spawn(index, 0))

    def _spawn(self, index: int, generation: int) -> _WorkerHandle:
        # forkserver: workers must not inherit the node's loop, sockets or threads.
        context = multiprocessing.get_context("forkserver")
        parent, child = context.Pipe()
        process = context.Process(
            target=_worker_main,
            # The generation keeps a restarted worker's endpoint ids distinct from the dead's.
            args=(child, self.config, f"w{index}g{generation}"),
            name=f"hotline-media-{index}",
            daemon=True,
        )
        process.start()
        child.close()
        handle = _WorkerHandle(process, index=index, generation=generation)
        handle.channel = _Channel(
            parent,
            lambda message: self._on_reply(handle, message),
            lambda: self._on_exit(handle),
        )
        return handle

    def _on_exit(self, handle: _WorkerHandle) -> None:
        for waiting in handle.futures.values():
            if not waiting.done():
                waiting.set_exception(MediaEngineError("media worker exited"))
        handle.futures.clear()
        if not self._closing and self._workers[handle.index] is handle:
            self._replace(handle)

    def _on_reply(self, handle: _WorkerHandle, message: tuple[int, Any]) -> None:
        request_id, reply = message
        if request_id == 0:
            self._events.put_nowait(reply)
            return
        future = handle.futures.pop(request_id, None)
        if future is not None and not future.done():
            future.set_result(reply)

    async def next_event(self) -> MediaEvent:
        """The next DTMF or playback event from any worker."""
        return await self._events.get()

    def _replace(self, dead: _WorkerHandle) -> None:
        """A worker died: its calls are lost (as on any PBX crash; their recordings are on
        disk up to the last flush), but its shard must keep taking new calls."""
        log.error(
            "media worker died; starting a new one",
            extra={"worker": dead.index, "exitcode": dead.process.exitcode},
        )
        dead.process.join(0)
        if dead.channel is not None:
            dead.channel.close()
        for table in (self._endpoint_worker, self._call_worker):
            for key in [k for k, v in table.items() if v == dead.index]:
                del table[key]
        self._workers[dead.index] = self._spawn(dead.index, dead.generation + 1)

    def worker_for_call(self, call_id: str) -> int:
        """Stable sharding (crc32, not ``hash()`` which differs per process)."""
        return zlib.crc32(call_id.encode()) % self.size

    def _worker_of(self, command: Command) -> int:
        call_id = getattr(command, "call_id", None)
        if isinstance(command, Allocate | StartRecording):
            return self.worker_for_call(command.call_id)
        if isinstance(call_id, str) and call_id in self._call_worker:
            return self._call_worker[call_id]
        for name in ("endpoint_id", "a"):
            endpoint_id = getattr(command, name, None)
            if isinstance(endpoint_id, str) and endpoint_id in self._endpoint_worker:
                return self._endpoint_worker[endpoint_id]
        raise MediaEngineError(f"no worker holds the target of {command!r}")

    async def execute(self, command: Command) -> Reply:
        if not self._workers:
            raise MediaEngineError("media worker pool is not started")
        index = self._worker_of(command)
        if isinstance(command, Bridge) and self._endpoint_worker.get(command.b) != index:
            return Failed("bridged endpoints must belong to the same call's worker")
        handle = self._workers[index]
        request_id = next(self._ids)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        handle.futures[request_id] = future
        try:
            assert handle.channel is not None
            handle.channel.send((request_id, command))
        except OSError as exc:  # the worker died (its calls are lost, as on any PBX crash)
            handle.futures.pop(request_id, None)
            raise MediaEngineError(f"media worker {index} is gone: {exc}") from exc
        reply = await future
        if isinstance(command, Allocate) and isinstance(reply, EndpointDescription):
            self._endpoint_worker[reply.endpoint_id] = index
        elif isinstance(command, StartRecording) and isinstance(reply, Done):
            self._call_worker[command.call_id] = index
        elif isinstance(command, Release):
            self._endpoint_worker.pop(command.endpoint_id, None)
        return reply

    async def allocate(self, command: Allocate) -> EndpointDescription:
        reply = await self.execute(command)
        if not isinstance(reply, EndpointDescription):
            raise MediaEngineError(str(reply))
        return reply

    async def stats(self, endpoint_id: str) -> EndpointStats:
        reply = await self.execute(GetStats(endpoint_id))
        if not isinstance(reply, EndpointStats):
            raise MediaEngineError(str(reply))
        return reply

    async def close(self) -> None:
        """Stop every worker; each finishes (closes and hashes) its recordings first."""
        self._closing = True
        loop = asyncio.get_running_loop()
        for handle in self._workers:
            with contextlib.suppress(OSError):
                if handle.channel is not None:
                    handle.channel.send((0, None))
        for handle in self._workers:
            await loop.run_in_executor(None, handle.process.join, 10.0)
            if handle.process.is_alive():
                handle.process.kill()
            if handle.channel is not None:
                handle.channel.close()
        self._workers.clear()
