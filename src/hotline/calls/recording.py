"""A call's recording switch: which recording runs now, and whether it is paused.

Every kind of call records through one ``RecordingSwitch``, so that pausing, resuming and
refusing ("not being recorded") are the same whatever created the call. When to record is the
call's policy (``RecordingMode`` per queue, or the node's default), not this.
"""

from __future__ import annotations

from typing import Literal

from hotline.calls.commands import (
    CallControlError,
    PauseRecording,
    ResumeRecording,
    StartRecording,
    StopRecording,
)
from hotline.calls.events import (
    RecordingPaused,
    RecordingResumed,
    RecordingStarted,
    RecordingStopped,
)

RecordingMode = Literal["always", "on_demand", "never"]

RecorderOutput = (
    StartRecording
    | StopRecording
    | PauseRecording
    | ResumeRecording
    | RecordingStarted
    | RecordingStopped
    | RecordingPaused
    | RecordingResumed
)


class RecordingSwitch:
    """Which recording runs now (numbered per call: ``<call>-r1``, ``-r2``...) and whether
    it is paused."""

    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        self.recording_id: str | None = None  # the recording running now
        self.recordings = 0  # how many were started on this call
        self._paused = False

    @property
    def paused(self) -> bool:
        return self.recording_id is not None and self._paused

    def start(self, customer_leg: str, agent_leg: str, now: float) -> list[RecorderOutput]:
        if self.recording_id is not None:
            return []
        self.recordings += 1
        self.recording_id = f"{self.call_id}-r{self.recordings}"
        self._paused = False
        return [
            StartRecording(self.recording_id, customer_leg, agent_leg),
            RecordingStarted(at=now, call_id=self.call_id, recording_id=self.recording_id),
        ]

    def pause(self, now: float) -> list[RecorderOutput]:
        """Leave what follows out of the recording (a card number, a password read out)."""
        if self.recording_id is None:
            raise CallControlError(f"call {self.call_id} is not being recorded")
        if self._paused:
            return []
        self._paused = True
        return [
            PauseRecording(self.recording_id),
            RecordingPaused(at=now, call_id=self.call_id, recording_id=self.recording_id),
        ]

    def resume(self, now: float) -> list[RecorderOutput]:
        if self.recording_id is None:
            raise CallControlError(f"call {self.call_id} is not being recorded")
        if not self._paused:
            return []
        self._paused = False
        return [
            ResumeRecording(self.recording_id),
            RecordingResumed(at=now, call_id=self.call_id, recording_id=self.recording_id),
        ]

    def stop(self, now: float) -> list[RecorderOutput]:
        if self.recording_id is None:
            return []
        self._paused = False
        recording_id, self.recording_id = self.recording_id, None
        return [
            StopRecording(recording_id),
            RecordingStopped(at=now, call_id=self.call_id, recording_id=recording_id),
        ]
