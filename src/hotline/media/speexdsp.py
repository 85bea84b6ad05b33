"""Noise suppression, automatic gain and acoustic echo cancellation from libspeexdsp.

Why a ctypes binding of our own: the PyPI bindings (``speexdsp`` 0.1.1 of 2018,
``speexdsp-ns`` 0.1.2) are SWIG builds from source that need Debian's ``libspeexdsp-dev``
and ``swig`` at install time, cover half the API each (``speexdsp-ns`` has no echo
canceller) and are unmaintained. The six functions we need have a stable C ABI, so Hotline
loads Debian's ``libspeexdsp.so.1`` (BSD-3-Clause, package ``libspeexdsp1``) at run time, as
``g729.py`` does with libbcg729: nothing to compile, and a node without the library simply
cannot switch the option on (``SpeexUnavailableError`` says what to install).

Three layers, lowest first:

- ``SpeexPreprocessor`` and ``EchoCanceller``: one C state each, one fixed frame size and
  rate; a frame of another size raises ``ValueError`` (the C code would read past the end).
- ``VoiceProcessor``: what a media leg runs per packet (``transport/rtp_endpoint.py``): the
  echo canceller fed with the far end's frames as reference, then the preprocessor. It
  takes packets of any size (a peer may switch ptime) by rebuilding its states for the new
  size, so nothing raised here can reach the event loop.
- ``denoise(samples, rate)``: a whole recording's channel at once (the ASR input option of
  speech analytics): 20 ms frames, same length and dtype out.

No state is created unless an option is on: a leg without voice processing has no
``VoiceProcessor`` and its packets never reach this module.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hotline.media.codecs import Pcm

# speex/speex_preprocess.h
_PREPROCESS_SET_DENOISE = 0
_PREPROCESS_SET_AGC = 2
_PREPROCESS_SET_NOISE_SUPPRESS = 18
_PREPROCESS_SET_ECHO_STATE = 24
_PREPROCESS_SET_AGC_LEVEL = 6
_PREPROCESS_SET_AGC_MAX_GAIN = 30
# speex/speex_echo.h
_ECHO_SET_SAMPLING_RATE = 24

#: Rates libspeexdsp's preprocessor and echo canceller are tuned for.
SUPPORTED_RATES = (8000, 16000, 32000, 48000)
FRAME_SECONDS = 0.02
#: Reference frames kept for the echo canceller when the near end's packets come late.
MAX_REFERENCE_FRAMES = 10


class SpeexUnavailableError(RuntimeError):
    """libspeexdsp could not be loaded; install Debian's libspeexdsp1."""


_lib: ctypes.CDLL | None = None


def load_speexdsp(path: str | None = None) -> ctypes.CDLL:
    """The library, loaded once per process (its functions typed for ctypes)."""
    global _lib
    if _lib is not None and path is None:
        return _lib
    name = path or ctypes.util.find_library("speexdsp") or "libspeexdsp.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError as exc:
        raise SpeexUnavailableError(
            f"cannot load {name}: {exc} (install Debian's libspeexdsp1)"
        ) from exc
    pcm = ctypes.POINTER(ctypes.c_int16)
    lib.speex_preprocess_state_init.restype = ctypes.c_void_p
    lib.speex_preprocess_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.speex_preprocess_state_destroy.argtypes = [ctypes.c_void_p]
    lib.speex_preprocess_run.restype = ctypes.c_int
    lib.speex_preprocess_run.argtypes = [ctypes.c_void_p, pcm]
    lib.speex_preprocess_ctl.restype = ctypes.c_int
    lib.speex_preprocess_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    lib.speex_echo_state_init.restype = ctypes.c_void_p
    lib.speex_echo_state_init.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.speex_echo_state_destroy.argtypes = [ctypes.c_void_p]
    lib.speex_echo_cancellation.argtypes = [ctypes.c_void_p, pcm, pcm, pcm]
    lib.speex_echo_ctl.restype = ctypes.c_int
    lib.speex_echo_ctl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
    if path is None:
        _lib = lib
    return lib


def speexdsp_available() -> bool:
    try:
        load_speexdsp()
    except SpeexUnavailableError:
        return False
    return True


def _check_rate(rate: int) -> None:
    if rate not in SUPPORTED_RATES:
        raise ValueError(
            f"sample rate {rate} Hz is not supported by speexdsp here "
            f"(one of {', '.join(map(str, SUPPORTED_RATES))})"
        )


def _as_frame(frame: Pcm, frame_size: int, what: str) -> Pcm:
    if frame.ndim != 1 or len(frame) != frame_size:
        raise ValueError(
            f"{what}: a frame of {frame_size} samples was expected, got shape {frame.shape}"
        )
    if frame.dtype != np.int16:
        raise ValueError(f"{what}: int16 samples expected, got {frame.dtype}")
    return np.ascontiguousarray(frame)


def _pointer(array: Pcm) -> Any:
    return array.ctypes.data_as(ctypes.POINTER(ctypes.c_int16))


class SpeexPreprocessor:
    """Speex's preprocessor on frames of ``frame_size`` samples at ``rate``: spectral noise
    suppression down to ``noise_suppress_db`` (negative), optional AGC toward
    ``agc_level`` (a 16-bit RMS level), optional residual-echo suppression when given the
    ``EchoCanceller`` that runs before it."""

    def __init__(
        self,
        frame_size: int,
        rate: int,
        *,
        denoise: bool = True,
        noise_suppress_db: int = -25,
        agc: bool = False,
        agc_level: float = 8000.0,
        agc_max_gain_db: int = 20,
        echo: EchoCanceller | None = None,
    ) -> None:
        self._state: int | None = None  # set last: __del__ may run on a half-built object
        _check_rate(rate)
        if frame_size <= 0:
            raise ValueError(f"frame size must be positive, got {frame_size}")
        if noise_suppress_db > 0:
            raise ValueError(f"noise_suppress_db is an attenuation (<= 0), got {noise_suppress_db}")
        self._lib = load_speexdsp()
        self.frame_size = frame_size
        self.rate = rate
        state = self._lib.speex_preprocess_state_init(frame_size, rate)
        if not state:
            raise MemoryError("speex_preprocess_state_init failed")
        self._state = state
        self._ctl_int(_PREPROCESS_SET_DENOISE, int(denoise))
        self._ctl_int(_PREPROCESS_SET_NOISE_SUPPRESS, noise_suppress_db)
        self._ctl_int(_PREPROCESS_SET_AGC, int(agc))
        if agc:
            level = ctypes.c_float(agc_level)
            self._lib.speex_preprocess_ctl(state, _PREPROCESS_SET_AGC_LEVEL, ctypes.byref(level))
            self._ctl_int(_PREPROCESS_SET_AGC_MAX_GAIN, agc_max_gain_db)
        if echo is not None:
            self._lib.speex_preprocess_ctl(
                state, _PREPROCESS_SET_ECHO_STATE, ctypes.c_void_p(echo.state)
            )
        self._echo = echo  # kept alive as long as the preprocessor points at it

    def _ctl_int(self, request: int, value: int) -> None:
        number = ctypes.c_int(value)
        self._lib.speex_preprocess_ctl(self._state, request, ctypes.byref(number))

    def process(self, frame: Pcm) -> Pcm:
        """One frame in, the cleaned frame out (a new array)."""
        if self._state is None:
            raise ValueError("preprocessor is closed")
        out = _as_frame(frame, self.frame_size, "speex preprocess").copy()
        self._lib.speex_preprocess_run(self._state, _pointer(out))
        return out

    def close(self) -> None:
        if self._state is not None:
            self._lib.speex_preprocess_state_destroy(self._state)
            self._state = None

    def __del__(self) -> None:
        self.close()


class EchoCanceller:
    """Speex's MDF echo canceller: removes from the near-end frame what the far end's
    frame (``reference``, what the near end's loudspeaker or line played) came back as,
    over an echo path of up to ``tail_ms``. CPU grows with the tail."""

    def __init__(self, frame_size: int, rate: int, *, tail_ms: int = 200) -> None:
        self._state: int | None = None  # set last: __del__ may run on a half-built object
        _check_rate(rate)
        if frame_size <= 0:
            raise ValueError(f"frame size must be positive, got {frame_size}")
        if not 10 <= tail_ms <= 1000:
            raise ValueError(f"echo tail must be 10..1000 ms, got {tail_ms}")
        self._lib = load_speexdsp()
        self.frame_size = frame_size
        self.rate = rate
        self.tail_samples = rate * tail_ms // 1000
        state = self._lib.speex_echo_state_init(frame_size, self.tail_samples)
        if not state:
            raise MemoryError("speex_echo_state_init failed")
        self._state = state
        sampling = ctypes.c_int(rate)
        self._lib.speex_echo_ctl(state, _ECHO_SET_SAMPLING_RATE, ctypes.byref(sampling))

    @property
    def state(self) -> int:
        if self._state is None:
            raise ValueError("echo canceller is closed")
        return self._state

    def process(self, near: Pcm, reference: Pcm) -> Pcm:
        """The near-end frame with the echo of ``reference`` removed (a new array)."""
        state = self.state
        near = _as_frame(near, self.frame_size, "echo canceller near end")
        reference = _as_frame(reference, self.frame_size, "echo canceller reference")
        out = np.empty(self.frame_size, dtype=np.int16)
        self._lib.speex_echo_cancellation(state, _pointer(near), _pointer(reference), _pointer(out))
        return out

    def close(self) -> None:
        if self._state is not None:
            self._lib.speex_echo_state_destroy(self._state)
            self._state = None

    def __del__(self) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class VoiceProcessing:
    """What to do to the audio of one direction of a bridge (picklable: it crosses the
    node-worker pipe inside ``media.engine.Bridge``). All off is the same as None."""

    denoise: bool = False
    noise_suppress_db: int = -25
    agc: bool = False
    echo_cancel: bool = False
    echo_tail_ms: int = 200

    @property
    def active(self) -> bool:
        return self.denoise or self.agc or self.echo_cancel


class VoiceProcessor:
    """One direction of a media leg: ``process`` each frame that goes to the listener;
    ``reference`` each frame the listener's side sent toward the speaker (the echo
    canceller's far end). Any packet size: states are rebuilt when the size changes."""

    def __init__(self, options: VoiceProcessing, rate: int = 8000) -> None:
        _check_rate(rate)
        load_speexdsp()  # fail at set-up, not on the first packet
        self.options = options
        self.rate = rate
        self.frame_size = 0
        self._echo: EchoCanceller | None = None
        self._pre: SpeexPreprocessor | None = None
        self._references: deque[Pcm] = deque(maxlen=MAX_REFERENCE_FRAMES)
        self.frames = 0
        self.resets = 0  # states rebuilt for a new packet size

    def _build(self, frame_size: int) -> None:
        if self.frame_size:
            self.resets += 1
        self.close()
        self.frame_size = frame_size
        options = self.options
        if options.echo_cancel:
            self._echo = EchoCanceller(frame_size, self.rate, tail_ms=options.echo_tail_ms)
        if options.denoise or options.agc or options.echo_cancel:
            self._pre = SpeexPreprocessor(
                frame_size,
                self.rate,
                denoise=options.denoise,
                noise_suppress_db=options.noise_suppress_db,
                agc=options.agc,
                echo=self._echo,
            )

    def reference(self, frame: Pcm) -> None:
        """A frame the far end (the agent) sent toward the near end (the customer)."""
        if self.options.echo_cancel:
            self._references.append(np.asarray(frame, dtype=np.int16))

    def process(self, frame: Pcm) -> Pcm:
        size = len(frame)
        if size == 0:
            return frame
        if size != self.frame_size:
            self._build(size)
        self.frames += 1
        out = np.asarray(frame, dtype=np.int16)
        if self._echo is not None:
            reference = self._references.popleft() if self._references else None
            if reference is None or len(reference) != size:
                reference = np.zeros(size, dtype=np.int16)
            out = self._echo.process(out, reference)
        if self._pre is not None:
            out = self._pre.process(out)
        return out

    def close(self) -> None:
        if self._pre is not None:
            self._pre.close()
            self._pre = None
        if self._echo is not None:
            self._echo.close()
            self._echo = None


def denoise(
    samples: npt.NDArray[Any],
    rate: int,
    *,
    noise_suppress_db: int = -25,
    agc: bool = False,
) -> npt.NDArray[Any]:
    """A whole mono signal through speex noise suppression in 20 ms frames.

    ``samples``: int16, or float in -1..1 (as ``qa/audio.py`` gives ASR); the result has the
    same length and dtype. ``rate`` must be one of ``SUPPORTED_RATES``. The suppressor
    learns the noise from the signal itself during the first few hundred ms.
    """
    array = np.asarray(samples)
    if array.ndim != 1:
        raise ValueError(f"denoise takes one channel (a 1-D array), got shape {array.shape}")
    _check_rate(rate)
    if array.dtype == np.int16:
        pcm = array
    elif np.issubdtype(array.dtype, np.floating):
        pcm = np.clip(np.round(array * 32768.0), -32768, 32767).astype(np.int16)
    else:
        raise ValueError(f"denoise takes int16 or float samples, got {array.dtype}")
    if len(pcm) == 0:
        return array.copy()
    frame_size = int(rate * FRAME_SECONDS)
    # The preprocessor's output lags its input by one frame (overlap-add, measured in
    # tests): one more frame of silence flushes the end, and the first frame is dropped.
    frames = -(-len(pcm) // frame_size) + 1
    padded = np.zeros(frames * frame_size, dtype=np.int16)
    padded[: len(pcm)] = pcm
    out = np.empty_like(padded)
    pre = SpeexPreprocessor(frame_size, rate, noise_suppress_db=noise_suppress_db, agc=agc)
    try:
        for start in range(0, len(padded), frame_size):
            out[start : start + frame_size] = pre.process(padded[start : start + frame_size])
    finally:
        pre.close()
    cleaned = out[frame_size : frame_size + len(pcm)]
    if array.dtype == np.int16:
        return cleaned
    return (cleaned.astype(np.float64) / 32768.0).astype(array.dtype)
