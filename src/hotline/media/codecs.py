"""Audio codecs as a registry: an ABC per codec, ``CodecRegistry.register()``, no if/elif chains.

G.711 runs on numpy lookup tables built once per process from the bit-level algorithm of ITU-T
G.711 (as written out in G.191's reference code): encoding is one table index per sample
(65536 entries, indexed by the 16-bit sample), decoding one index per byte (256 entries).
numpy only pays on large arrays, so callers should hand whole batches (a second of a
recording, all streams of a 20 ms tick) rather than single packets.

Internally audio is signed 16-bit linear PCM (L16) in numpy ``int16`` arrays at the codec's
clock rate (8 kHz for telephony, 16 kHz ready for wideband).
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from typing import Protocol

import numpy as np
import numpy.typing as npt

Pcm = npt.NDArray[np.int16]


class Encoder(Protocol):
    def encode(self, pcm: Pcm) -> bytes: ...


class Decoder(Protocol):
    def decode(self, payload: bytes) -> Pcm: ...


class Codec(ABC):
    """An RTP audio payload format. Stateful codecs (G.729) give a new coder per stream."""

    name: str  # the SDP encoding name, as in ``a=rtpmap``
    clock_rate: int
    static_payload_type: int | None = None  # RFC 3551 table 4, or None for dynamic
    frame_samples: int  # samples in the codec's natural frame (ptime 20 ms for G.711)

    @property
    def key(self) -> str:
        return f"{self.name}/{self.clock_rate}"

    @abstractmethod
    def encoder(self) -> Encoder: ...

    @abstractmethod
    def decoder(self) -> Decoder: ...


class UnknownCodecError(KeyError):
    """The registry has no codec of that name or payload type."""


class CodecRegistry:
    """The codecs one engine offers; built by the composition root, never a global."""

    def __init__(self) -> None:
        self._by_key: dict[str, Codec] = {}

    def register(self, codec: Codec) -> None:
        if codec.key in self._by_key:
            raise ValueError(f"codec {codec.key} is already registered")
        self._by_key[codec.key] = codec

    def get(self, name: str, clock_rate: int = 8000) -> Codec:
        key = f"{name}/{clock_rate}"
        for registered_key, codec in self._by_key.items():
            if registered_key.lower() == key.lower():
                return codec
        raise UnknownCodecError(key)

    def by_static_payload_type(self, payload_type: int) -> Codec:
        for codec in self._by_key.values():
            if codec.static_payload_type == payload_type:
                return codec
        raise UnknownCodecError(f"payload type {payload_type}")

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and any(k.lower() == key.lower() for k in self._by_key)

    def keys(self) -> list[str]:
        return list(self._by_key)


# --- G.711 -------------------------------------------------------------------------------

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


# --- L16 ---------------------------------------------------------------------------------


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


def default_registry(*, with_g729: bool = True) -> CodecRegistry:
    """PCMU, PCMA, L16 at 8 and 16 kHz, and G.729 when libbcg729 can be loaded."""
    registry = CodecRegistry()
    registry.register(pcmu())
    registry.register(pcma())
    registry.register(L16Codec(8000))
    registry.register(L16Codec(16000))
    if with_g729:
        from hotline.media.g729 import G729Codec, G729UnavailableError

        with contextlib.suppress(G729UnavailableError):  # optional: GPL library, see g729.py
            registry.register(G729Codec())
    return registry
