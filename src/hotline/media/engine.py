"""The media engine interface that ``calls/`` programs against, and its command messages.

``calls/`` never touches sockets or packets: it asks an engine to allocate endpoints, connect
them, play, record and report, and receives SDP-ready descriptions and events back. The
built-in engine (``hotline.transport.media_worker``) runs these commands in one worker process
per core; an rtpengine backend (for clusters) can implement the same ``MediaEngine`` protocol
over the ng control protocol. Commands and replies are plain frozen dataclasses so that they
cross a process boundary (pickled over a pipe) unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from hotline.media.capture import CaptureResult
from hotline.media.recorder import RecordingMetadata
from hotline.media.speexdsp import VoiceProcessing
from hotline.media.vad import EndpointingRules

DEFAULT_TELEPHONE_EVENT_PT = 101


@dataclass(frozen=True, slots=True)
class CodecOffer:
    """One payload format of an endpoint, as it appears in SDP."""

    name: str  # "PCMU", "PCMA", "G729", "L16", "telephone-event"
    payload_type: int
    clock_rate: int = 8000
    fmtp: str = ""


@dataclass(frozen=True, slots=True)
class EndpointDescription:
    """Where a peer must send media, with the formats we accept; enough to write an SDP body."""

    endpoint_id: str
    host: str
    port: int
    codecs: tuple[CodecOffer, ...]

    def sdp_media(self) -> str:
        """The ``c=``/``m=`` section (RFC 4566) for this endpoint; RTCP shares the port."""
        formats = " ".join(str(c.payload_type) for c in self.codecs)
        lines = [f"c=IN IP4 {self.host}", f"m=audio {self.port} RTP/AVP {formats}"]
        for codec in self.codecs:
            lines.append(f"a=rtpmap:{codec.payload_type} {codec.name}/{codec.clock_rate}")
            if codec.fmtp:
                lines.append(f"a=fmtp:{codec.payload_type} {codec.fmtp}")
        lines += [f"a=rtcp:{self.port}", "a=ptime:20", "a=sendrecv"]
        return "\r\n".join(lines) + "\r\n"


@dataclass(frozen=True, slots=True)
class EndpointStats:
    """Counters of one endpoint; the reason for every dropped packet has its own counter."""

    endpoint_id: str
    remote: tuple[str, int] | None
    latched: bool
    received: int
    sent: int
    forwarded: int
    lost: int
    fraction_lost: int
    jitter_ms: float
    rtt_ms: float | None
    ssrc_changes: int
    dropped_malformed: int
    dropped_unexpected_source: int
    dropped_unknown_payload_type: int
    dropped_no_destination: int
    dropped_bad_sequence: int
    rtcp_received: int
    dtmf: tuple[str, ...] = field(default=())


# --- commands (calls/ → engine) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Allocate:
    call_id: str
    codecs: tuple[CodecOffer, ...] = (
        CodecOffer("PCMU", 0),
        CodecOffer("PCMA", 8),
        CodecOffer("telephone-event", DEFAULT_TELEPHONE_EVENT_PT, fmtp="0-16"),
    )
    inband_dtmf: bool = False


@dataclass(frozen=True, slots=True)
class SetRemote:
    """The peer's SDP answer/offer: where to send and which format it chose."""

    endpoint_id: str
    host: str
    port: int
    payload_type: int
    telephone_event_pt: int | None = DEFAULT_TELEPHONE_EVENT_PT


@dataclass(frozen=True, slots=True)
class Bridge:
    """Relay media between two endpoints; pass-through when they share a codec.

    ``toward_b``: noise suppression / AGC / echo cancellation on what ``b`` hears from
    ``a`` (the customer's audio toward the agent); its echo canceller takes what ``b``
    sends toward ``a`` as reference. None (the default) relays untouched and creates no
    processing state at all."""

    a: str
    b: str
    toward_b: VoiceProcessing | None = None


@dataclass(frozen=True, slots=True)
class Unbridge:
    endpoint_id: str


@dataclass(frozen=True, slots=True)
class StartRecording:
    call_id: str
    customer: str  # endpoint id recorded on the left channel
    agent: str  # endpoint id recorded on the right channel
    path: str


@dataclass(frozen=True, slots=True)
class PauseRecording:
    call_id: str


@dataclass(frozen=True, slots=True)
class ResumeRecording:
    call_id: str


@dataclass(frozen=True, slots=True)
class StopRecording:
    call_id: str


@dataclass(frozen=True, slots=True)
class PlayTone:
    """Play a tone (or the sum of tones) to an endpoint's peer for ``duration`` seconds."""

    endpoint_id: str
    frequencies: tuple[float, ...]
    duration: float
    level: float = 0.25  # of full scale


@dataclass(frozen=True, slots=True)
class PlayFile:
    """Play a WAV file (any rate, resampled) to an endpoint's peer; ``loop`` repeats it until
    replaced or stopped (music on hold), and then no ``PlaybackFinished`` is sent."""

    endpoint_id: str
    path: str
    stop_on_dtmf: bool = False
    loop: bool = False


@dataclass(frozen=True, slots=True)
class PlayMusicOnHold:
    """Loop hold music to an endpoint's peer: ``path`` (a WAV), or the built-in music."""

    endpoint_id: str
    path: str | None = None


@dataclass(frozen=True, slots=True)
class StopPlayback:
    """Stop whatever plays to an endpoint's peer (prompt, tone, music); no event follows."""

    endpoint_id: str


@dataclass(frozen=True, slots=True)
class SendDtmf:
    endpoint_id: str
    digits: str
    duration: float = 0.1


@dataclass(frozen=True, slots=True)
class GetStats:
    endpoint_id: str


@dataclass(frozen=True, slots=True)
class Release:
    endpoint_id: str


@dataclass(frozen=True, slots=True)
class JoinConference:
    """Put an endpoint into an N-party mix (created on first join). Every endpoint of one
    conference must belong to one call id, so that they live in the same worker."""

    conference_id: str
    endpoint_id: str
    role: str = "participant"  # "participant" (barge), "listen" or "whisper"
    whisper_to: tuple[str, ...] = ()  # endpoint ids that hear a whisperer


@dataclass(frozen=True, slots=True)
class SetConferenceRole:
    conference_id: str
    endpoint_id: str
    role: str
    whisper_to: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LeaveConference:
    conference_id: str
    endpoint_id: str


@dataclass(frozen=True, slots=True)
class PlayProgressTone:
    """A call-progress tone of a country plan (``players.TONE_PLANS``), looping until replaced."""

    endpoint_id: str
    plan: str
    name: str


@dataclass(frozen=True, slots=True)
class StartCapture:
    """Capture what the endpoint's caller says (decoded, mono 8 kHz) until ``rules`` end it
    or one of ``stop_digits`` is pressed: to ``path`` (a WAV file) or, without a path, to a
    bounded buffer. The end comes as a ``CaptureFinished`` event; one capture per endpoint."""

    endpoint_id: str
    rules: EndpointingRules
    path: str | None = None
    stop_digits: str = ""


@dataclass(frozen=True, slots=True)
class StopCapture:
    """End the endpoint's capture now; the reply is its ``CaptureResult`` (no event)."""

    endpoint_id: str


Command = (
    Allocate
    | SetRemote
    | Bridge
    | Unbridge
    | StartRecording
    | PauseRecording
    | ResumeRecording
    | StopRecording
    | PlayTone
    | PlayFile
    | PlayMusicOnHold
    | StopPlayback
    | SendDtmf
    | GetStats
    | Release
    | JoinConference
    | SetConferenceRole
    | LeaveConference
    | PlayProgressTone
    | StartCapture
    | StopCapture
)


@dataclass(frozen=True, slots=True)
class Done:
    """A command succeeded with nothing to return."""


@dataclass(frozen=True, slots=True)
class Failed:
    """A command was refused; ``reason`` is meant for the log and the operator."""

    reason: str


Reply = EndpointDescription | EndpointStats | RecordingMetadata | CaptureResult | Done | Failed


# --- events (engine → calls/), pushed as they happen ------------------------------------------


@dataclass(frozen=True, slots=True)
class DtmfReceived:
    """A key press on an endpoint, once per press (RFC 4733 or in-band, see ``source``)."""

    call_id: str
    endpoint_id: str
    digit: str
    source: str


@dataclass(frozen=True, slots=True)
class PlaybackFinished:
    """A prompt or tone ended, by itself or interrupted by a key press (barge-in)."""

    call_id: str
    endpoint_id: str
    interrupted: bool


@dataclass(frozen=True, slots=True)
class CaptureFinished:
    """A capture ended by itself (its rules, a stop key, the endpoint released)."""

    call_id: str
    endpoint_id: str
    result: CaptureResult


MediaEvent = DtmfReceived | PlaybackFinished | CaptureFinished


class MediaEngineError(RuntimeError):
    """The engine refused a command (unknown endpoint, file not found, worker gone)."""


class MediaEngine(Protocol):
    """What ``calls/`` needs from media. Every method is a command to a backend."""

    async def allocate(self, command: Allocate) -> EndpointDescription: ...

    async def execute(self, command: Command) -> Reply: ...

    async def stats(self, endpoint_id: str) -> EndpointStats: ...

    async def next_event(self) -> MediaEvent: ...

    async def close(self) -> None: ...
