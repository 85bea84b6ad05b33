"""L16: uncompressed signed 16-bit linear PCM (RFC 3551 §4.5.11), at 8 or 16 kHz."""

from __future__ import annotations

import numpy as np

from hotline.media.codecs import Codec, Pcm


class _L16Coder:
    """RFC 3551 §4.5.11: signed 16-bit samples in network byte order."""

    def encode(self, pcm: Pcm) -> bytes:
        return np.asarray(pcm, dtype=np.int16).astype(">i2").tobytes()

    def decode(self, payload: bytes) -> Pcm:
        usable = len(payload) - len(payload) % 2
        return np.frombuffer(payload[:usable], dtype=">i2").astype(np.int16)


class L16Codec(Codec):
    name = "L16"

    def __init__(self, clock_rate: int = 8000, payload_type: int | None = None) -> None:
        self.clock_rate = clock_rate
        self.static_payload_type = payload_type
        self.frame_samples = clock_rate // 50

    def encoder(self) -> _L16Coder:
        return _L16Coder()

    def decoder(self) -> _L16Coder:
        return _L16Coder()
