"""WAV files: a streaming writer whose header is valid after every flush, and a tolerant reader.

The writer exists for recordings: if the process dies mid-call, the file on disk must still
play up to the last flush, so the RIFF and data sizes are rewritten each time data is flushed
(rather than once at close, as the stdlib ``wave`` module does). The reader accepts what
operators upload as prompts (PCM 8/16/24/32-bit, A-law, µ-law, float, any rate and channel
count) and raises ``WavError`` naming the problem for anything else.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt

from hotline.media.codecs import Pcm
from hotline.media.g711 import alaw_decode_table, ulaw_decode_table

WAVE_FORMAT_PCM = 1
WAVE_FORMAT_IEEE_FLOAT = 3
WAVE_FORMAT_ALAW = 6
WAVE_FORMAT_MULAW = 7
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
HEADER_SIZE = 44


class WavError(ValueError):
    """The file is not a WAV file we can read; the message says why."""


@dataclass(frozen=True, slots=True)
class WavAudio:
    """Decoded audio: int16 samples shaped (frames, channels)."""

    sample_rate: int
    samples: npt.NDArray[np.int16]

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    @property
    def duration(self) -> float:
        return float(self.samples.shape[0]) / self.sample_rate

    def channel(self, index: int) -> Pcm:
        return np.ascontiguousarray(self.samples[:, index])


def _header(sample_rate: int, channels: int, data_bytes: int) -> bytes:
    block_align = 2 * channels
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,
        WAVE_FORMAT_PCM,
        channels,
        sample_rate,
        sample_rate * block_align,
        block_align,
        16,
        b"data",
        data_bytes,
    )


class WavWriter:
    """16-bit PCM WAV streamed to disk; ``flush()`` leaves a complete, playable file."""

    def __init__(
        self, path: str | Path, sample_rate: int = 8000, channels: int = 2, *, fsync: bool = False
    ) -> None:
        self.path = Path(path)
        self.sample_rate = sample_rate
        self.channels = channels
        self.fsync = fsync
        self.data_bytes = 0
        self._file: BinaryIO | None = open(self.path, "wb")  # noqa: SIM115 - lives across calls
        self._file.write(_header(sample_rate, channels, 0))
        self._file.flush()

    @property
    def frames(self) -> int:
        return self.data_bytes // (2 * self.channels)

    def write(self, samples: npt.NDArray[np.int16]) -> None:
        """Append frames: shape (n, channels) or, for mono, (n,)."""
        if self._file is None:
            raise ValueError(f"{self.path} is closed")
        data = np.ascontiguousarray(samples, dtype="<i2")
        if data.ndim == 2 and data.shape[1] != self.channels:
            raise ValueError(f"{data.shape[1]} channels given, file has {self.channels}")
        raw = data.tobytes()
        self._file.write(raw)
        self.data_bytes += len(raw)

    def flush(self) -> None:
        if self._file is None:
            return
        self._file.flush()
        end = self._file.tell()
        self._file.seek(0)
        self._file.write(_header(self.sample_rate, self.channels, self.data_bytes))
        self._file.seek(end)
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is None:
            return
        self.flush()
        self._file.close()
        self._file = None


def read_wav(path: str | Path) -> WavAudio:
    """Read a whole WAV file into int16 frames. Truncated data (a crash) is read up to its end."""
    data = Path(path).read_bytes()
    return parse_wav(data, str(path))


def parse_wav(data: bytes, name: str = "<bytes>") -> WavAudio:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError(f"{name}: not a RIFF/WAVE file")
    pos = 12
    fmt: tuple[int, int, int, int] | None = None
    while pos + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, pos)
        body = data[pos + 8 : pos + 8 + size]
        if chunk_id == b"fmt ":
            if len(body) < 16:
                raise WavError(f"{name}: fmt chunk too short")
            tag, channels, rate, _byte_rate, _align, bits = struct.unpack_from("<HHIIHH", body)
            if tag == WAVE_FORMAT_EXTENSIBLE and len(body) >= 26:
                (tag,) = struct.unpack_from("<H", body, 24)
            fmt = (tag, channels, rate, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise WavError(f"{name}: data chunk before fmt chunk")
            return _decode(body, *fmt, name=name)
        pos += 8 + size + (size & 1)
    raise WavError(f"{name}: no data chunk")


def _decode(body: bytes, tag: int, channels: int, rate: int, bits: int, *, name: str) -> WavAudio:
    if channels < 1 or rate < 1:
        raise WavError(f"{name}: {channels} channels at {rate} Hz")
    width = max(1, bits // 8)
    usable = len(body) - len(body) % (width * channels)
    body = body[:usable]
    samples: npt.NDArray[np.int16]
    if tag == WAVE_FORMAT_PCM and bits == 16:
        samples = np.frombuffer(body, dtype="<i2").astype(np.int16)
    elif tag == WAVE_FORMAT_PCM and bits == 8:
        samples = ((np.frombuffer(body, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(
            np.int16
        )
    elif tag == WAVE_FORMAT_PCM and bits == 24:
        raw = np.frombuffer(body, dtype=np.uint8).reshape(-1, 3)
        samples = (raw[:, 2].astype(np.int8).astype(np.int16) << 8 | raw[:, 1]).astype(np.int16)
    elif tag == WAVE_FORMAT_PCM and bits == 32:
        samples = (np.frombuffer(body, dtype="<i4") >> 16).astype(np.int16)
    elif tag == WAVE_FORMAT_IEEE_FLOAT and bits in (32, 64):
        floats = np.frombuffer(body, dtype="<f4" if bits == 32 else "<f8")
        samples = np.clip(np.round(floats * 32767.0), -32768, 32767).astype(np.int16)
    elif tag == WAVE_FORMAT_ALAW and bits == 8:
        samples = alaw_decode_table()[np.frombuffer(body, dtype=np.uint8)]
    elif tag == WAVE_FORMAT_MULAW and bits == 8:
        samples = ulaw_decode_table()[np.frombuffer(body, dtype=np.uint8)]
    else:
        raise WavError(f"{name}: unsupported WAV format {tag} with {bits}-bit samples")
    return WavAudio(rate, samples.reshape(-1, channels))
