"""``CallRecorder``: a call's two-channel recording, from ``StartRecording`` to the
``RecordingSaved`` that the history writer stores.

``StartRecording`` has the engine tap the customer's and the talking party's endpoints into
``recordings/YYYY/MM/DD/<recording id>.wav`` (customer left); ``PauseRecording`` and
``ResumeRecording`` leave the paused time out of the file; ``StopRecording`` closes and
hashes it, and the ``RecordingSaved`` published then names the file relative to the
recordings directory. A call has at most one recording running, kept on its
``CallState``; voicemails are the IVR port's (``caller_listening.py``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

from hotline.calls import commands as control
from hotline.calls.events import RecordingSaved
from hotline.events.bus import EventBus
from hotline.media import engine as media
from hotline.media.recorder import RecordingMetadata
from hotline.services.contact_center import ContactCenter
from hotline.services.telephony.endpoints import LegEndpoints
from hotline.services.telephony.state import CallTable


class CallRecorder:
    def __init__(
        self,
        table: CallTable,
        endpoints: LegEndpoints,
        center: ContactCenter,
        bus: EventBus,
        clock: Callable[[], float],
        recordings_dir: Path,
    ) -> None:
        self.table = table
        self.endpoints = endpoints
        self.center = center
        self.bus = bus
        self.clock = clock
        self.recordings_dir = recordings_dir

    async def start(self, command: control.StartRecording) -> None:
        legs = self.table.legs
        customer, agent = legs[command.customer_leg], legs[command.agent_leg]
        call = self.table.calls[customer.call_id]
        if customer.endpoint is None or agent.endpoint is None:
            raise media.MediaEngineError("a recorded leg has no media endpoint")
        day = datetime.datetime.fromtimestamp(self.clock(), datetime.UTC)
        relative = f"{day:%Y/%m/%d}/{command.recording_id}.wav"
        path = self.recordings_dir / relative
        await self.endpoints.run(
            media.StartRecording(
                call.call_id, customer.endpoint.endpoint_id, agent.endpoint.endpoint_id, str(path)
            )
        )
        call.recording = (command.recording_id, relative, self.clock())
        live = self.center.calls.get(call.call_id)
        call.department = live.department if live is not None else None
        call.queue = live.queue if live is not None else None

    async def stop(self, recording_id: str) -> None:
        call = self.table.recording_call(recording_id)
        if call is None or call.recording is None:
            return
        _, relative, started = call.recording
        call.recording = None
        reply = await self.endpoints.run(media.StopRecording(call.call_id))
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
                queue=call.queue,
            )
        )

    async def pause(self, command: control.PauseRecording | control.ResumeRecording) -> None:
        """Pause or resume, as the command says."""
        call = self.table.recording_call(command.recording_id)
        if call is None:
            return
        if isinstance(command, control.PauseRecording):
            await self.endpoints.run(media.PauseRecording(call.call_id))
        else:
            await self.endpoints.run(media.ResumeRecording(call.call_id))
