"""G.711 A-law (PCMA) and µ-law (PCMU) on numpy lookup tables.

The tables are built when a codec is made (once per registry) from the bit-level algorithm
of ITU-T G.711 as written out in G.191's reference code: encoding is one table index per
sample (65536 entries, indexed by the 16-bit sample's unsigned pattern), decoding one index
per byte (256 entries). The coders are stateless, so one object serves every stream.
``wav.py`` reuses the decode tables to read A-law and µ-law WAV files.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from hotline.media.codecs import Codec, Pcm

_BIT_LENGTH = np.array([int(v).bit_length() for v in range(1 << 13)], dtype=np.int32)


def _magnitude(samples: npt.NDArray[np.int32], shift: int) -> npt.NDArray[np.int32]:
    # G.711 uses the one's complement of negative samples, so -1 and 0 share a magnitude.
    return np.where(samples < 0, ~samples, samples) >> shift


def alaw_encode_table() -> npt.NDArray[np.uint8]:
    """A-law code of every 16-bit sample, indexed by the sample's unsigned 16-bit pattern."""
    samples = np.arange(1 << 16, dtype=np.uint16).view(np.int16).astype(np.int32)
    ix = _magnitude(samples, 4)  # 11-bit magnitude
    exponent = np.maximum(_BIT_LENGTH[ix] - 4, 0)
    mantissa = np.where(exponent > 0, (ix >> np.maximum(exponent - 1, 0)) & 0x0F, ix)
    code = (exponent << 4) | mantissa
    code = np.where(samples >= 0, code | 0x80, code)
    return (code ^ 0x55).astype(np.uint8)


def alaw_decode_table() -> Pcm:
    codes = np.arange(256, dtype=np.int32)
    ix = (codes ^ 0x55) & 0x7F
    exponent = ix >> 4
    mantissa = ix & 0x0F
    mantissa = np.where(exponent > 0, mantissa + 16, mantissa)
    mantissa = (mantissa << 4) + 8
    mantissa = np.where(exponent > 1, mantissa << np.maximum(exponent - 1, 0), mantissa)
    return np.where(codes > 127, mantissa, -mantissa).astype(np.int16)


def ulaw_encode_table() -> npt.NDArray[np.uint8]:
    samples = np.arange(1 << 16, dtype=np.uint16).view(np.int16).astype(np.int32)
    biased = np.minimum(_magnitude(samples, 2) + 33, 0x1FFF)  # 14-bit magnitude plus bias
    segment = _BIT_LENGTH[biased] - 5
    high = 8 - segment
    low = 0x0F - ((biased >> segment) & 0x0F)
    code = (high << 4) | low
    return np.where(samples >= 0, code | 0x80, code).astype(np.uint8)


def ulaw_decode_table() -> Pcm:
    codes = np.arange(256, dtype=np.int32)
    sign = np.where(codes < 0x80, -1, 1)
    inverted = ~codes
    exponent = (inverted >> 4) & 0x07
    mantissa = inverted & 0x0F
    step = 4 << (exponent + 1)
    magnitude = (0x80 << exponent) + step * mantissa + step // 2 - 4 * 33
    table: Pcm = np.asarray(sign * magnitude, dtype=np.int16)
    return table


class _TableCoder:
    """Stateless G.711 coder: one table lookup per sample, shared by every stream."""

    def __init__(self, encode_table: npt.NDArray[np.uint8], decode_table: Pcm) -> None:
        self.encode_table = encode_table
        self.decode_table = decode_table

    def encode(self, pcm: Pcm) -> bytes:
        return self.encode_table[np.asarray(pcm, dtype=np.int16).view(np.uint16)].tobytes()

    def decode(self, payload: bytes) -> Pcm:
        decoded: Pcm = self.decode_table[np.frombuffer(payload, dtype=np.uint8)]
        return decoded


class G711Codec(Codec):
    clock_rate = 8000
    frame_samples = 160

    def __init__(self, name: str, payload_type: int, coder: _TableCoder) -> None:
        self.name = name
        self.static_payload_type = payload_type
        self.coder = coder

    def encoder(self) -> _TableCoder:
        return self.coder

    def decoder(self) -> _TableCoder:
        return self.coder


def pcmu() -> G711Codec:
    return G711Codec("PCMU", 0, _TableCoder(ulaw_encode_table(), ulaw_decode_table()))


def pcma() -> G711Codec:
    return G711Codec("PCMA", 8, _TableCoder(alaw_encode_table(), alaw_decode_table()))
