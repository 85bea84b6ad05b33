"""The codecs an engine offers unless the composition root builds its own registry.

The one module that knows every implementation: it imports them and registers them into a
fresh ``CodecRegistry`` (never a global one). G.729 goes through a GPL library loaded at
run time (``g729.py``), so it is offered only when that library can be loaded.
"""

from __future__ import annotations

import contextlib

from hotline.media.codecs import CodecRegistry
from hotline.media.g711 import pcma, pcmu
from hotline.media.g729 import G729Codec, G729UnavailableError
from hotline.media.l16 import L16Codec


def default_registry(*, with_g729: bool = True) -> CodecRegistry:
    """PCMU, PCMA, L16 at 8 and 16 kHz, and G.729 when libbcg729 can be loaded."""
    registry = CodecRegistry()
    registry.register(pcmu())
    registry.register(pcma())
    registry.register(L16Codec(8000))
    registry.register(L16Codec(16000))
    if with_g729:
        with contextlib.suppress(G729UnavailableError):  # optional: GPL library, see g729.py
            registry.register(G729Codec())
    return registry
