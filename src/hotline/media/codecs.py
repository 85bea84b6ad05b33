"""The codec interface and registry: the ``Codec`` ABC, its coders, and ``CodecRegistry``.

Codecs are a registry (an ABC and ``CodecRegistry.register()``), never an if/elif chain over
names. This module knows no implementation: each lives in its own module and depends on this
one only (``g711.py``, ``l16.py``, ``g729.py``), and ``default_codecs.py`` is the one place
that imports them all to build the registry an engine offers by default. So the import
graph is a tree: interface <- implementations <- default set.

Internally audio is signed 16-bit linear PCM (L16) in numpy ``int16`` arrays at the codec's
clock rate (8 kHz for telephony, 16 kHz ready for wideband). numpy only pays on large
arrays, so callers should hand whole batches (a second of a recording, all streams of a
20 ms tick) rather than single packets.
"""

from __future__ import annotations

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
