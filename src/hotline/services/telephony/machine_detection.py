"""``MachineDetection``: a person or an answering machine, on an answered campaign call.

The media worker captures what the customer's side says after the answer, by the same
endpointing rules the detector decides by (``media.amd``'s initial silence, the silence
after a greeting, the longest analysis), and the detector runs on that audio here, on the
event loop: numpy over at most five seconds of 8 kHz audio takes well under a millisecond
per 10-ms block. The capture keeps only 0.3 s from before the first word, so the silence it
skipped is given back to the detector as zeros; it decides on the same timeline as a
streaming detector would, and its verdict comes when the capture ends (a person's
"喂, 你好?" and 0.8 s of silence after it).

A machine whose campaign leaves a message is listened to a little longer, until its
greeting and beep are over (silence after them), so the message that follows is recorded
whole by the mailbox. Anything that goes wrong (the engine refuses, the worker restarts)
ends in the verdict "notsure", which the call treats as a person: a person is never hung
up on because detection failed. A caller who hangs up first ends the capture ("released");
nothing is reported then, the call is over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Literal

import numpy as np

from hotline.calls import commands as control
from hotline.media import engine as media
from hotline.media.amd import DEFAULT_SETTINGS, AmdSettings, AnsweringMachineDetector, BeepDetector
from hotline.media.capture import SAMPLE_RATE, CaptureResult
from hotline.media.vad import EndpointingRules
from hotline.services.caller_audio import CallerAudio
from hotline.services.contact_center import ContactCenter
from hotline.services.telephony.state import CallRuntime, CallTable

log = logging.getLogger(__name__)

Verdict = Literal["human", "machine", "notsure"]

#: Listening for the end of a machine's greeting (and its beep), at most.
GREETING_LIMIT_S = 30.0
#: Silence that ends a machine's greeting (beeps come within a second of its last word).
GREETING_END_SILENCE_S = 1.2


def _samples(result: CaptureResult) -> np.ndarray:
    """The capture's audio with the silence it skipped before the first word restored."""
    heard = np.frombuffer(result.pcm, dtype="<i2")
    skipped = max(0, round(result.duration * SAMPLE_RATE) - heard.size)
    return np.concatenate([np.zeros(skipped, dtype=np.int16), heard])


def decide(
    result: CaptureResult, settings: AmdSettings = DEFAULT_SETTINGS
) -> tuple[Verdict, str, bool]:
    """The detector's verdict on one capture: (verdict, reason, beep heard)."""
    detector = AnsweringMachineDetector(settings, SAMPLE_RATE)
    samples = _samples(result)
    frame = SAMPLE_RATE // 50
    verdict = None
    for start in range(0, samples.size, frame):
        verdict = detector.feed(samples[start : start + frame]) or verdict
    if verdict is None:
        # The capture ended before the detector did (its limits are the same, so only
        # by a hair): silence after speech is a person, silence throughout a machine.
        if result.reason == "end_of_speech":
            return "human", "after_greeting_silence", False
        if result.reason == "no_input":
            return "machine", "initial_silence", False
        return "notsure", "timeout", False
    return verdict.verdict, verdict.reason, detector.beep_at_ms is not None


class MachineDetection:
    def __init__(
        self,
        runtime: CallRuntime,
        center: ContactCenter,
        table: CallTable,
        caller_audio: CallerAudio,
        clock: Callable[[], float],
        settings: AmdSettings = DEFAULT_SETTINGS,
    ) -> None:
        self.runtime = runtime
        self.center = center
        self.table = table
        self.caller_audio = caller_audio
        self.clock = clock
        self.settings = settings

    def start(self, command: control.DetectMachine) -> None:
        """Listen in a task of the call's own; the verdict reaches the contact centre."""
        call = self.table.calls.get(command.call_id)
        if call is None:
            return
        call.audio_task = asyncio.create_task(self._guarded(command), name=f"amd-{command.call_id}")

    async def _guarded(self, command: control.DetectMachine) -> None:
        try:
            outcome = await self._detect(command)
        except Exception:
            log.exception("machine detection failed", extra={"call_id": command.call_id})
            outcome = ("notsure", "error")
        if outcome is None:
            return
        verdict, reason = outcome
        now = self.clock()
        log.info(
            "machine detection",
            extra={"call_id": command.call_id, "verdict": verdict, "reason": reason},
        )
        self.runtime.decide(
            lambda: self.center.machine_detected(now, command.call_id, verdict, reason)
        )

    async def _detect(self, command: control.DetectMachine) -> tuple[Verdict, str] | None:
        endpoint_id = self.table.live_endpoint(command.leg_id)
        if endpoint_id is None:
            return None
        settings = self.settings
        rules = EndpointingRules(
            start_timeout=settings.initial_silence_ms / 1000,
            trailing_silence=settings.after_greeting_silence_ms / 1000,
            max_duration=settings.total_analysis_ms / 1000,
            threshold_dbfs=settings.silence_threshold_dbfs,
        )
        try:
            result = await self.caller_audio.capture(media.StartCapture(endpoint_id, rules))
        except media.MediaEngineError as error:
            log.warning("machine detection: no capture: %s", error)
            return "notsure", "no_audio"
        if result.reason in ("released", "stopped"):
            return None
        verdict, reason, beep = decide(result, settings)
        if verdict != "machine" or not command.wait_for_beep or beep:
            return verdict, reason
        return await self._greeting_over(endpoint_id, reason)

    async def _greeting_over(self, endpoint_id: str, reason: str) -> tuple[Verdict, str] | None:
        """Listen until the machine's greeting (and its beep) has ended."""
        rules = EndpointingRules(
            start_timeout=GREETING_END_SILENCE_S,
            trailing_silence=GREETING_END_SILENCE_S,
            max_duration=GREETING_LIMIT_S,
            threshold_dbfs=self.settings.silence_threshold_dbfs,
        )
        try:
            result = await self.caller_audio.capture(media.StartCapture(endpoint_id, rules))
        except media.MediaEngineError:
            return "machine", reason  # leave the message now rather than never
        if result.reason in ("released", "stopped"):
            return None
        beeps = BeepDetector(SAMPLE_RATE)
        heard = beeps.feed(_samples(result)) is not None
        return "machine", "beep" if heard else reason
