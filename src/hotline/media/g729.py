"""G.729 (Annex A compatible) through Debian's libbcg729, loaded with ctypes at run time.

libbcg729 is GPL-3.0-or-later while Hotline is AGPL-3.0-or-later; the library is not bundled
and not linked at build time. It is an optional module: when ``libbcg729.so.0`` is missing,
``G729Codec()`` raises ``G729UnavailableError`` and the registry simply offers no G.729.

Each stream needs its own encoder and decoder context (the codec is predictive), so
``encoder()``/``decoder()`` return new objects that free their C context on ``close()``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

import numpy as np

from hotline.media.codecs import Codec, Pcm

FRAME_SAMPLES = 80  # 10 ms at 8 kHz
FRAME_BYTES = 10
SID_BYTES = 2  # Annex B comfort-noise frame


class G729UnavailableError(RuntimeError):
    """libbcg729 could not be loaded; install Debian's libbcg729-0 for G.729."""


def load_bcg729(path: str | None = None) -> ctypes.CDLL:
    name = path or ctypes.util.find_library("bcg729") or "libbcg729.so.0"
    try:
        lib = ctypes.CDLL(name)
    except OSError as exc:
        raise G729UnavailableError(f"cannot load {name}: {exc}") from exc
    lib.initBcg729EncoderChannel.restype = ctypes.c_void_p
    lib.initBcg729EncoderChannel.argtypes = [ctypes.c_uint8]
    lib.closeBcg729EncoderChannel.argtypes = [ctypes.c_void_p]
    lib.bcg729Encoder.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_int16),
        ctypes.POINTER(ctypes.c_uint8),
        ctypes.POINTER(ctypes.c_uint8),
    ]
    lib.initBcg729DecoderChannel.restype = ctypes.c_void_p
    lib.closeBcg729DecoderChannel.argtypes = [ctypes.c_void_p]
    lib.bcg729Decoder.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_uint8),
        ctypes.c_uint8,
        ctypes.c_uint8,
        ctypes.c_uint8,
        ctypes.c_uint8,
        ctypes.POINTER(ctypes.c_int16),
    ]
    return lib


class G729Encoder:
    def __init__(self, lib: Any) -> None:
        self._lib = lib
        self._ctx: int | None = lib.initBcg729EncoderChannel(0)
        self._pending = np.zeros(0, dtype=np.int16)
        self._out = (ctypes.c_uint8 * FRAME_BYTES)()
        self._out_len = ctypes.c_uint8()

    def encode(self, pcm: Pcm) -> bytes:
        """Encode whole 10 ms frames; a partial frame waits for the next call."""
        if self._ctx is None:
            raise ValueError("encoder is closed")
        samples = np.concatenate([self._pending, np.asarray(pcm, dtype=np.int16)])
        whole = len(samples) - len(samples) % FRAME_SAMPLES
        self._pending = samples[whole:].copy()
        out = bytearray()
        frames = np.ascontiguousarray(samples[:whole])
        for start in range(0, whole, FRAME_SAMPLES):
            frame = frames[start : start + FRAME_SAMPLES]
            self._lib.bcg729Encoder(
                self._ctx,
                frame.ctypes.data_as(ctypes.POINTER(ctypes.c_int16)),
                self._out,
                ctypes.byref(self._out_len),
            )
            out += bytes(self._out)[: self._out_len.value]
        return bytes(out)

    def close(self) -> None:
        if self._ctx is not None:
            self._lib.closeBcg729EncoderChannel(self._ctx)
            self._ctx = None


class G729Decoder:
    def __init__(self, lib: Any) -> None:
        self._lib = lib
        self._ctx: int | None = lib.initBcg729DecoderChannel()

    def decode(self, payload: bytes) -> Pcm:
        """10-byte speech frames, optionally ended by one 2-byte SID frame (RFC 3551 §4.5.6)."""
        if self._ctx is None:
            raise ValueError("decoder is closed")
        frames: list[bytes] = []
        pos = 0
        while len(payload) - pos >= FRAME_BYTES:
            frames.append(payload[pos : pos + FRAME_BYTES])
            pos += FRAME_BYTES
        if len(payload) - pos == SID_BYTES:
            frames.append(payload[pos:])
        out = np.zeros(FRAME_SAMPLES * len(frames), dtype=np.int16)
        for index, frame in enumerate(frames):
            buffer = (ctypes.c_uint8 * len(frame)).from_buffer_copy(frame)
            sid = 1 if len(frame) == SID_BYTES else 0
            target = out[index * FRAME_SAMPLES : (index + 1) * FRAME_SAMPLES]
            self._lib.bcg729Decoder(
                self._ctx,
                buffer,
                len(frame),
                0,
                sid,
                0,
                target.ctypes.data_as(ctypes.POINTER(ctypes.c_int16)),
            )
        return out

    def conceal(self) -> Pcm:
        """One 10 ms frame of G.729's own concealment for a lost frame."""
        if self._ctx is None:
            raise ValueError("decoder is closed")
        out = np.zeros(FRAME_SAMPLES, dtype=np.int16)
        empty = (ctypes.c_uint8 * FRAME_BYTES)()
        self._lib.bcg729Decoder(
            self._ctx,
            empty,
            FRAME_BYTES,
            1,
            0,
            0,
            out.ctypes.data_as(ctypes.POINTER(ctypes.c_int16)),
        )
        return out

    def close(self) -> None:
        if self._ctx is not None:
            self._lib.closeBcg729DecoderChannel(self._ctx)
            self._ctx = None


class G729Codec(Codec):
    name = "G729"
    clock_rate = 8000
    static_payload_type = 18
    frame_samples = 160  # 20 ms packets of two frames, as most carriers send

    def __init__(self, library_path: str | None = None) -> None:
        self._lib = load_bcg729(library_path)

    def encoder(self) -> G729Encoder:
        return G729Encoder(self._lib)

    def decoder(self) -> G729Decoder:
        return G729Decoder(self._lib)
