"""The redacted copy of a recording: the same WAV with a beep over each personal datum.

Roles without ``recordings:unredacted`` hear this copy (docs/qa-search.md). The recording
itself is evidence and is only ever read; the copy is written under a temporary name and
renamed, so a reader never sees half a file and two requests racing write the same bytes.

The node records 16-bit PCM (``media/recorder.py``), which the standard library's ``wave``
reads and writes; this module keeps to it so that the API, which may not reach the media
layer (``.importlinter``), can make the copy. Any other encoding (a µ-law WAV imported from
elsewhere) is refused with :class:`RedactionError` naming the format.
"""

from __future__ import annotations

import os
import secrets
import wave
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hotline.qa.redaction import beep_spans

#: Channel order of a stereo call recording (``hotline.qa.audio.STEREO_SPEAKERS``).
STEREO_SPEAKERS = ("customer", "agent")
MONO_SPEAKER = "speaker"


class RedactionError(ValueError):
    """No redacted copy can be made of the file; the message says why."""


def write_redacted_copy(source: Path, target: Path, spans: Iterable[Mapping[str, Any]]) -> Path:
    """Write ``source`` to ``target`` with every span (``{"speaker", "start", "end"}``)
    beeped on its speaker's channel (customer left, agent right; every channel of a mono
    file)."""
    try:
        with wave.open(str(source), "rb") as reader:
            channels, width, rate = (
                reader.getnchannels(),
                reader.getsampwidth(),
                reader.getframerate(),
            )
            if width != 2:
                raise RedactionError(f"{source.name}: {8 * width}-bit audio, not 16-bit PCM")
            raw = reader.readframes(reader.getnframes())
    except (OSError, EOFError, wave.Error) as error:
        raise RedactionError(f"{source.name}: {error}") from None
    usable = len(raw) - len(raw) % (2 * channels)
    samples = np.frombuffer(raw[:usable], dtype="<i2").reshape(-1, channels)
    speakers = STEREO_SPEAKERS if channels == 2 else (MONO_SPEAKER,) * channels
    beeped = np.ascontiguousarray(beep_spans(samples, rate, list(spans), speakers), "<i2")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
    try:
        with wave.open(str(partial), "wb") as writer:
            writer.setnchannels(channels)
            writer.setsampwidth(2)
            writer.setframerate(rate)
            writer.writeframes(beeped.tobytes())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target
