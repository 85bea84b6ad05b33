"""Live risk alerts, the pure part: how a live call's customer audio is cut into chunks,
which chunks are worth transcribing, and which rule hits become alerts.

A supervisor must hear of "我要投诉" or "I want to cancel my account" within seconds, so the
customer's side of a monitored call is listened to in short chunks: the media worker's
energy endpointer (``media.vad``) ends a chunk at a pause (``trailing_silence``) or after
``max_duration`` at the latest, whichever comes first (:data:`CHUNK_RULES`). A phrase cut in
two by the length limit is still caught: the next chunk starts with the last second of the
cut one (a word cut in two is heard whole, :meth:`LiveCallWatch.chunk`), and each chunk's
text is matched together with the text of the chunk before it
(:meth:`LiveCallWatch.context`).

One alert per category per call: a customer who says "complaint" five times raises one
alert, not five (:meth:`LiveCallWatch.new_alerts`). And a backlog bound: when transcription
falls behind, new chunks are dropped (and counted) rather than queued without end, since an
alert a minute late is no alert (:class:`ChunkBacklog`).

Rules come from ``hotline.qa.rules`` (``RuleSet.match_text(text, speaker, language)``, with
pinyin matching, negation and proximity): the same categories the recordings' analysis uses.

No I/O, no clock: times are given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from hotline.media.vad import EndpointingRules

#: A chunk ends 0.4 s into a pause, or after 3 s of audio: the 2-3 s windows the alert
#: delay budget (5 s from the end of the words) allows with transcription at ~0.3x real
#: time. The start timeout only bounds a capture of silence (the next one starts at once).
CHUNK_RULES = EndpointingRules(
    start_timeout=10.0, trailing_silence=0.4, max_duration=3.0, min_speech=0.1
)
#: Chunks with less speech than this are not transcribed (a cough, a click, "嗯").
MIN_CHUNK_SECONDS = 0.4
#: Chunks waiting for (or in) transcription across all calls before new ones are dropped.
DEFAULT_BACKLOG = 4
#: Audio of a chunk cut by the length limit (in the middle of speech) that the next chunk
#: starts with: a word cut in two ("law|yer") is heard whole there.
OVERLAP_SECONDS = 1.0
#: Characters of the previous chunk's text matched together with the current one.
CONTEXT_CHARS = 80

DEFAULT_CATEGORIES = ("complaint", "legal_threat", "cancellation")


class TextRules(Protocol):
    """What live alerts need of a rule set (``hotline.qa.rules.RuleSet``)."""

    def match_text(self, text: str, speaker: str, language: str | None) -> Sequence[Any]:
        """The rules ``text`` said by ``speaker`` hits: each with a ``category`` (an
        attribute, as ``qa.rules.TextHit`` has, or a key of a dict)."""
        ...


def category_of(hit: Any) -> str:
    """A hit's category, from a ``TextHit``-like object or a dict."""
    if isinstance(hit, Mapping):
        return str(hit.get("category", ""))
    return str(getattr(hit, "category", ""))


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk of a call's customer audio, ready for transcription."""

    call_id: str
    pcm: bytes  # 16-bit little-endian mono
    sample_rate: int
    #: When the chunk's audio ended, and the trailing silence in it: the words ended at
    #: ``ended_at - trailing``.
    ended_at: float
    trailing: float

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate

    @property
    def spoken_at(self) -> float:
        return self.ended_at - self.trailing


def chunk_of(
    call_id: str,
    pcm: bytes,
    *,
    speech: bool,
    reason: str,
    now: float,
    sample_rate: int = 8000,
    rules: EndpointingRules = CHUNK_RULES,
) -> Chunk | None:
    """The chunk a finished capture gives, or None when it holds nothing worth hearing
    (no speech, too short)."""
    if not speech or len(pcm) / 2 / sample_rate < MIN_CHUNK_SECONDS:
        return None
    trailing = rules.trailing_silence if reason == "end_of_speech" else 0.0
    return Chunk(call_id, pcm, sample_rate, now, trailing)


@dataclass(frozen=True, slots=True)
class Alert:
    category: str
    text: str


@dataclass
class LiveCallWatch:
    """What is known of one monitored call: who, the language heard, what was said last,
    which categories have already raised their alert."""

    call_id: str
    queue: str
    agent: str | None
    language: str | None = None
    previous_text: str = ""
    alerted: set[str] = field(default_factory=set)
    carry: bytes = b""  # the end of the last chunk, when it was cut in mid-speech

    def chunk(
        self,
        pcm: bytes,
        *,
        speech: bool,
        reason: str,
        now: float,
        sample_rate: int = 8000,
        rules: EndpointingRules = CHUNK_RULES,
    ) -> Chunk | None:
        """The chunk a finished capture of this call gives (``chunk_of``), starting with
        the last ``OVERLAP_SECONDS`` of the previous capture when that one was cut by the
        length limit, in the middle of speech."""
        carried = self.carry
        keep = int(OVERLAP_SECONDS * sample_rate) * 2
        self.carry = pcm[-keep:] if speech and reason == "max_duration" else b""
        chunk = chunk_of(
            self.call_id,
            pcm,
            speech=speech,
            reason=reason,
            now=now,
            sample_rate=sample_rate,
            rules=rules,
        )
        if chunk is None or not carried:
            return chunk
        return replace(chunk, pcm=carried + chunk.pcm)

    def context(self, text: str) -> str:
        """``text`` with the end of the previous chunk's before it (a phrase cut in two by
        the chunk length is still whole here)."""
        before = self.previous_text[-CONTEXT_CHARS:]
        if not before:
            return text
        joiner = "" if _is_cjk(before[-1:]) or _is_cjk(text[:1]) else " "
        return f"{before}{joiner}{text}".strip()

    def heard(self, text: str, language: str | None) -> None:
        """A chunk's transcript is in: remember it for the next chunk's context, and the
        language (the first one detected is kept for the rest of the call)."""
        self.previous_text = text
        if self.language is None and language:
            self.language = language

    def new_alerts(self, hits: Iterable[Any], text: str, categories: Sequence[str]) -> list[Alert]:
        """The alerts these hits raise: categories in ``categories`` not alerted yet on
        this call (each once, in the order hit)."""
        alerts = []
        for hit in hits:
            category = category_of(hit)
            if category in categories and category not in self.alerted:
                self.alerted.add(category)
                alerts.append(Alert(category, text))
        return alerts


class ChunkBacklog:
    """How many chunks wait for (or are in) transcription; beyond ``limit``, new ones are
    dropped and counted, never queued: live calls do not wait for analysis."""

    def __init__(self, limit: int = DEFAULT_BACKLOG) -> None:
        if limit < 1:
            raise ValueError(f"backlog limit must be at least 1, not {limit}")
        self.limit = limit
        self.pending = 0
        self.dropped = 0
        self.transcribed = 0

    def admit(self) -> bool:
        if self.pending >= self.limit:
            self.dropped += 1
            return False
        self.pending += 1
        return True

    def done(self, *, transcribed: bool = True) -> None:
        """A chunk left the backlog: transcribed, or not (the worker failed, the
        service stopped)."""
        self.pending = max(0, self.pending - 1)
        if transcribed:
            self.transcribed += 1


def _is_cjk(text: str) -> bool:
    return bool(text) and "\u3400" <= text[0] <= "\u9fff"
