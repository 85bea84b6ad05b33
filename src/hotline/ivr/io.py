"""What a running flow receives from the call (inputs) and asks the call to do (commands).

The flow interpreter is sans-IO: the call layer turns media and network happenings into
inputs, feeds them with ``now``, and carries out the commands it gets back. Commands never
hold live objects, so a flow can be tested, replayed and logged without telephony.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# ---- inputs -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PromptFinished:
    """The last Play command's prompts have all been played (not sent after StopPlayback)."""


@dataclass(frozen=True, slots=True)
class DigitReceived:
    """One DTMF key from the caller (RFC 4733 or in-band, already de-duplicated)."""

    digit: str


@dataclass(frozen=True, slots=True)
class SpeechRecognized:
    """The result of StartSpeechRecognition; ``text`` is None when nothing matched.
    ``no_input``: the caller said nothing at all (not the same as something unrecognised:
    the flow's retry counts it as a timeout). ``confidence`` is the engine's score."""

    text: str | None
    confidence: float = 0.0
    no_input: bool = False


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """The answer to HttpRequest ``request_id``."""

    request_id: int
    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class HttpFailed:
    """HttpRequest ``request_id`` got no answer (timeout, refused, TLS error)."""

    request_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class RecordingFinished:
    """The voicemail recording ended (caller pressed a key, went silent or hit the limit)."""


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    """The caller left; the flow ends without further commands."""


Input = (
    PromptFinished
    | DigitReceived
    | SpeechRecognized
    | HttpResponse
    | HttpFailed
    | RecordingFinished
    | CallerHungUp
)

# ---- commands ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PromptItem:
    """One prompt in the caller's language: a recording wins over TTS text when present."""

    language: str
    text: str | None = None
    recording: str | None = None


@dataclass(frozen=True, slots=True)
class Play:
    """Play prompts in order, then report PromptFinished. With ``barge_in`` a DTMF key may
    cut them short; the flow then sends StopPlayback itself."""

    prompts: tuple[PromptItem, ...]
    barge_in: bool = False


@dataclass(frozen=True, slots=True)
class StopPlayback:
    """Stop what is playing now; no PromptFinished follows."""


@dataclass(frozen=True, slots=True)
class StartSpeechRecognition:
    """Listen for one of ``phrases`` and report SpeechRecognized."""

    phrases: tuple[str, ...]
    language: str
    timeout_s: float  # until the caller must have begun to speak
    max_speech_s: float = 10.0  # the longest answer listened to


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """Call a customer's system; report HttpResponse or HttpFailed with the same id."""

    request_id: int
    method: str
    url: str
    json_body: Mapping[str, str] | None
    timeout_s: float


@dataclass(frozen=True, slots=True)
class Enqueue:
    """Hand the caller to an ACD queue with what the IVR learnt; the flow has ended."""

    queue: str
    priority: int
    skills: Mapping[str, int] = field(default_factory=dict)
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Transfer:
    """Send the call to ``target``; the flow has ended."""

    target: str


@dataclass(frozen=True, slots=True)
class RecordVoicemail:
    """Record the caller for ``mailbox`` (up to ``max_seconds``), then RecordingFinished."""

    mailbox: str
    max_seconds: float


@dataclass(frozen=True, slots=True)
class SaveSurveyAnswer:
    """Store a satisfaction score on the call's record."""

    question: str
    score: int


@dataclass(frozen=True, slots=True)
class Hangup:
    """End the call; the flow has ended."""

    reason: str


Command = (
    Play
    | StopPlayback
    | StartSpeechRecognition
    | HttpRequest
    | Enqueue
    | Transfer
    | RecordVoicemail
    | SaveSurveyAnswer
    | Hangup
)
