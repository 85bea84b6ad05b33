"""Caller-audio capture: what one endpoint's caller says, decoded, mono 8 kHz, bounded.

Speech input needs the caller's answer in memory for the recogniser; voicemail needs the
message in a file. Both listen to the caller's side only (the prompt we play is not in
it), both end by the same rules (``media.vad``: speech start timeout, trailing silence,
maximum length) or on a key ('#' ends a voicemail), and both are bounded: a buffer holds at
most ``MAX_BUFFER_SECONDS`` (960 KB), a file at most ``MAX_FILE_SECONDS``, whatever the
command asked for.

The per-packet path only decodes and appends (the endpoint already decodes for in-band DTMF
and conferences). Files are written in batches on ``tick`` (once a second) with a header
that is valid after every write, as call recordings are, so a crash leaves a playable file.
A write that fails (disk full, directory removed) ends the capture with reason ``error``
and the error text; it never raises into the media loop.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from hotline.media.codecs import Pcm
from hotline.media.vad import EndOfSpeech, EndpointingRules
from hotline.media.wav import WavWriter

SAMPLE_RATE = 8000
MAX_BUFFER_SECONDS = 60.0
MAX_FILE_SECONDS = 3600.0
#: Audio kept from before speech began, so the recogniser hears the first syllable whole.
PRE_SPEECH_SECONDS = 0.3
WRITE_EVERY = 1.0

CaptureReason = Literal[
    "end_of_speech", "no_input", "max_duration", "dtmf", "stopped", "released", "error"
]


@dataclass(frozen=True, slots=True)
class CaptureResult:
    """How a capture ended and what it holds: ``pcm`` (16-bit little-endian) for a buffer,
    ``path`` with ``size``/``sha256`` for a file. ``speech`` says whether the caller spoke
    at all (a voicemail of silence is not worth keeping)."""

    call_id: str
    endpoint_id: str
    reason: CaptureReason
    duration: float
    speech: bool
    pcm: bytes = b""
    path: str | None = None
    size: int = 0
    sha256: str = ""
    digit: str | None = None
    error: str | None = None


class CallerCapture:
    """One capture on one endpoint (the worker keeps at most one per endpoint)."""

    def __init__(
        self,
        call_id: str,
        endpoint_id: str,
        now: float,
        *,
        rules: EndpointingRules,
        path: str | None = None,
        stop_digits: str = "",
    ) -> None:
        self.call_id = call_id
        self.endpoint_id = endpoint_id
        self.path = path
        self.stop_digits = stop_digits
        limit = MAX_FILE_SECONDS if path is not None else MAX_BUFFER_SECONDS
        self.max_samples = int(min(rules.max_duration, limit) * SAMPLE_RATE)
        self.detector = EndOfSpeech(rules, now, SAMPLE_RATE)
        self.result: CaptureResult | None = None
        self._kept: list[Pcm] = []  # buffer mode: the answer; file mode: not yet written
        self._pre: deque[Pcm] = deque()  # buffer mode, before speech: the last 0.3 s
        self._pre_samples = 0
        self._samples = 0
        self._next_write = now + WRITE_EVERY
        self._writer: WavWriter | None = None
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._writer = WavWriter(path, SAMPLE_RATE, channels=1)  # OSError: caller's Failed

    @property
    def finished(self) -> bool:
        return self.result is not None

    # ---- inputs ----------------------------------------------------------------------------

    def add(self, frame: Pcm, now: float) -> CaptureResult | None:
        """A decoded frame from the caller; the result when this frame ends the capture."""
        if self.result is not None:
            return None
        room = self.max_samples - self._samples
        if frame.size > room:
            frame = frame[:room]
        self._samples += frame.size
        verdict = self.detector.feed(frame, now)
        self._keep(frame)
        if verdict is not None:
            return self.finish(verdict, now)
        if self._samples >= self.max_samples:
            return self.finish("max_duration", now)
        return self._write_due(now)

    def digit(self, digit: str, now: float) -> CaptureResult | None:
        if self.result is None and digit in self.stop_digits:
            return self.finish("dtmf", now, digit=digit)
        return None

    def tick(self, now: float) -> CaptureResult | None:
        """Time passes (every 20 ms): timeouts without packets, and batched file writes."""
        if self.result is not None:
            return None
        verdict = self.detector.poll(now)
        if verdict is not None:
            return self.finish(verdict, now)
        return self._write_due(now)

    # ---- the end -----------------------------------------------------------------------------

    def finish(
        self, reason: CaptureReason, now: float, *, digit: str | None = None
    ) -> CaptureResult:
        """End the capture (idempotent): close the file, hand over the audio."""
        if self.result is not None:
            return self.result
        error = None
        speech = self.detector.speech_started
        duration = self._samples / SAMPLE_RATE
        if self.path is not None:
            size, sha256 = 0, ""
            try:
                if self._writer is not None:
                    self._write()
                    self._writer.close()
                    self._writer = None
                size, sha256 = _file_facts(self.path)
            except (OSError, ValueError) as exc:
                reason, error = "error", f"{self.path}: {exc}"
                self._abandon_writer()
            self.result = CaptureResult(
                self.call_id,
                self.endpoint_id,
                reason,
                duration,
                speech,
                path=self.path,
                size=size,
                sha256=sha256,
                digit=digit,
                error=error,
            )
        else:
            pcm = np.concatenate([*self._pre, *self._kept]) if self._kept or self._pre else None
            data = b"" if pcm is None else pcm.astype("<i2").tobytes()
            self.result = CaptureResult(
                self.call_id, self.endpoint_id, reason, duration, speech, pcm=data, digit=digit
            )
        self._kept, self._pre = [], deque()
        return self.result

    # ---- helpers ---------------------------------------------------------------------------

    def _keep(self, frame: Pcm) -> None:
        if self._writer is not None or self.detector.speech_started:
            self._kept.append(frame)
            return
        # Buffer mode before speech: only the last moments matter to the recogniser (and
        # the voiced frames that are not yet "speech" because they are under min_speech).
        self._pre.append(frame)
        self._pre_samples += frame.size
        keep = (PRE_SPEECH_SECONDS + self.detector.rules.min_speech) * SAMPLE_RATE
        while self._pre and self._pre_samples - self._pre[0].size >= keep:
            self._pre_samples -= self._pre.popleft().size

    def _write_due(self, now: float) -> CaptureResult | None:
        if self._writer is None or now < self._next_write:
            return None
        self._next_write = now + WRITE_EVERY
        try:
            self._write()
            self._writer.flush()
        except (OSError, ValueError) as exc:
            self._abandon_writer()
            return self._failed(f"{self.path}: {exc}")
        return None

    def _write(self) -> None:
        if self._writer is None or not self._kept:
            return
        frames, self._kept = self._kept, []
        self._writer.write(np.concatenate(frames))

    def _abandon_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(OSError, ValueError):
                writer.close()

    def _failed(self, error: str) -> CaptureResult:
        self.result = CaptureResult(
            self.call_id,
            self.endpoint_id,
            "error",
            self._samples / SAMPLE_RATE,
            self.detector.speech_started,
            path=self.path,
            error=error,
        )
        self._kept = []
        return self.result


def _file_facts(path: str) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as file:
        while chunk := file.read(1 << 16):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
