"""``CallerListening``: what an IVR flow hears from the caller, speech answers and
voicemails, through media captures (``CallerAudio``).

An answer to a speech node ends by energy-based end of speech in the media worker and is
recognised in a process of its own; a voicemail (after a beep) is a mono WAV stored as a
recording of kind "voicemail", linked to the call. Each listens in a task of its own,
beside the call's job queue, so a caller talking for a minute never holds up that call's
other commands; its outcome reaches the flow through the call's ``IvrSession``, as long as
that session is still the call's.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Awaitable, Callable

from hotline.calls.events import RecordingSaved
from hotline.events.bus import EventBus
from hotline.ivr import io as ivr_io
from hotline.ivr.asr import SpeechError
from hotline.ivr.session import IvrSession
from hotline.media import engine as media
from hotline.media.vad import EndpointingRules
from hotline.services.caller_audio import CallerAudio, SpeechUnavailableError
from hotline.services.contact_center import ContactCenter
from hotline.services.telephony.config import TelephonyConfig
from hotline.services.telephony.endpoints import LegEndpoints
from hotline.services.telephony.state import CallState, CallTable

log = logging.getLogger(__name__)


class CallerListening:
    def __init__(
        self,
        table: CallTable,
        endpoints: LegEndpoints,
        caller_audio: CallerAudio,
        center: ContactCenter,
        bus: EventBus,
        clock: Callable[[], float],
        config: TelephonyConfig,
    ) -> None:
        self.table = table
        self.endpoints = endpoints
        self.caller_audio = caller_audio
        self.center = center
        self.bus = bus
        self.clock = clock
        self.config = config

    def warm_up(self) -> None:
        """Load the recogniser now (a flow with speech nodes starts): it loads while the
        first prompts play."""
        self.caller_audio.warm_up()

    def hear_answer(
        self, call: CallState, session: IvrSession, command: ivr_io.StartSpeechRecognition
    ) -> None:
        self._listen(call, self._hear_answer(call, session, command))

    def record_voicemail(
        self, call: CallState, session: IvrSession, command: ivr_io.RecordVoicemail
    ) -> None:
        self._listen(call, self._record_voicemail(call, session, command))

    async def finish_voicemails(self) -> None:
        """Close every voicemail being recorded and store it as if the caller had pressed
        '#': the message is the customer's, and a node that stops must not leave its WAV
        without a recordings row. Runs before the calls are hung up, so the capture is
        stopped deliberately (not lost with its endpoint) and its ``RecordingSaved``
        reaches the call history, which is stopped after telephony."""
        recording = [
            call
            for call in self.table.calls.values()
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

    def _listen(self, call: CallState, work: Awaitable[None]) -> None:
        async def guarded() -> None:
            try:
                await work
            except Exception:  # never into the loop; the flow's own timer takes over
                log.exception("listening to the caller failed", extra={"call_id": call.call_id})

        call.audio_task = asyncio.create_task(guarded(), name=f"caller-audio-{call.call_id}")

    async def _hear_answer(
        self, call: CallState, session: IvrSession, command: ivr_io.StartSpeechRecognition
    ) -> None:
        """Capture one answer, recognise it off the loop, and tell the flow what was said."""
        endpoint_id = self.table.live_endpoint(call.customer_leg)
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
        self, call: CallState, pcm: bytes, command: ivr_io.StartSpeechRecognition
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
        self, call: CallState, session: IvrSession, command: ivr_io.RecordVoicemail
    ) -> None:
        """Beep, record the caller until '#', silence or the length limit, and store the
        message as a recording of kind "voicemail" linked to the call. A message without
        any speech (the caller hung up at the beep, an open line) is not kept."""
        endpoint_id = self.table.live_endpoint(call.customer_leg)
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
        finished = self.endpoints.playback_end(endpoint_id)
        try:
            await self.endpoints.run(media.PlayTone(endpoint_id, (1000.0,), 0.4))
            await asyncio.wait_for(finished, 2.0)
        except (media.MediaEngineError, TimeoutError):
            pass  # no beep (a worker restarted): record all the same
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the node is stopping
            # the endpoint was released under the beep (the caller hung up)
        finally:
            self.endpoints.forget_playback_end(endpoint_id, finished)
