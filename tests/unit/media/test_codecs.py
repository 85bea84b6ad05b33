"""G.711 tables against the scalar ITU algorithm over every input; the registry; L16; G.729."""

from __future__ import annotations

import numpy as np
import pytest

from hotline.media.codecs import CodecRegistry, Pcm, UnknownCodecError
from hotline.media.default_codecs import default_registry
from hotline.media.g711 import pcma, pcmu
from hotline.media.g729 import G729Codec, G729UnavailableError
from hotline.media.l16 import L16Codec


# The scalar G.711 algorithm step by step as ITU-T G.191 describes it (segment search loops),
# written independently of the vectorised tables under test.
def ref_alaw_compress(sample: int) -> int:
    ix = (~sample if sample < 0 else sample) >> 4
    if ix > 15:
        exponent = 1
        while ix > 16 + 15:
            ix >>= 1
            exponent += 1
        ix -= 16
        ix += exponent << 4
    if sample >= 0:
        ix |= 0x80
    return ix ^ 0x55


def ref_alaw_expand(code: int) -> int:
    ix = (code ^ 0x55) & 0x7F
    exponent = ix >> 4
    mantissa = ix & 0x0F
    if exponent > 0:
        mantissa += 16
    mantissa = (mantissa << 4) + 8
    if exponent > 1:
        mantissa <<= exponent - 1
    return mantissa if code > 127 else -mantissa


def ref_ulaw_compress(sample: int) -> int:
    absno = ((~sample if sample < 0 else sample) >> 2) + 33
    absno = min(absno, 0x1FFF)
    i = absno >> 6
    segment = 1
    while i:
        segment += 1
        i >>= 1
    high = 8 - segment
    low = 0x0F - ((absno >> segment) & 0x0F)
    code = (high << 4) | low
    return code | 0x80 if sample >= 0 else code


def ref_ulaw_expand(code: int) -> int:
    sign = -1 if code < 0x80 else 1
    inverted = ~code
    exponent = (inverted >> 4) & 0x07
    mantissa = inverted & 0x0F
    step = 4 << (exponent + 1)
    return sign * ((0x80 << exponent) + step * mantissa + step // 2 - 4 * 33)


ALL_SAMPLES = np.arange(-32768, 32768, dtype=np.int32).astype(np.int16)
ALL_CODES = bytes(range(256))


@pytest.mark.parametrize(
    ("codec", "compress", "expand"),
    [(pcma(), ref_alaw_compress, ref_alaw_expand), (pcmu(), ref_ulaw_compress, ref_ulaw_expand)],
    ids=["PCMA", "PCMU"],
)
def test_g711_is_bit_exact_with_the_reference_over_every_value(codec, compress, expand):
    encoded = codec.encoder().encode(ALL_SAMPLES)
    assert list(encoded) == [compress(int(s)) for s in ALL_SAMPLES]
    decoded = codec.decoder().decode(ALL_CODES)
    assert decoded.dtype == np.int16
    assert decoded.tolist() == [expand(c) for c in ALL_CODES]


def test_g711_known_values():
    # Silence codes every telephony engineer recognises, and the extremes.
    assert pcmu().encoder().encode(np.array([0, -1], dtype=np.int16)) == b"\xff\x7f"
    assert pcma().encoder().encode(np.array([0, -1], dtype=np.int16)) == b"\xd5\x55"
    assert pcmu().decoder().decode(b"\x80\x00").tolist() == [32124, -32124]
    assert pcma().decoder().decode(b"\xaa\x2a").tolist() == [32256, -32256]


@pytest.mark.parametrize("make", [pcma, pcmu], ids=["PCMA", "PCMU"])
def test_g711_decode_then_encode_is_the_identity_on_codes(make):
    codec = make()
    expected = bytearray(ALL_CODES)
    if codec.name == "PCMU":
        expected[0x7F] = 0xFF  # µ-law's "negative zero" decodes to 0, which encodes as +0
    assert codec.encoder().encode(codec.decoder().decode(ALL_CODES)) == bytes(expected)


def test_registry_by_name_and_static_payload_type():
    registry = default_registry(with_g729=False)
    assert registry.get("pcmu").static_payload_type == 0
    assert registry.by_static_payload_type(8).name == "PCMA"
    assert registry.get("L16", 16000).frame_samples == 320
    assert "PCMA/8000" in registry
    with pytest.raises(UnknownCodecError):
        registry.get("opus", 48000)
    with pytest.raises(UnknownCodecError):
        registry.by_static_payload_type(99)
    with pytest.raises(ValueError, match="already registered"):
        registry.register(pcmu())


def test_an_empty_registry_is_independent_of_others():
    first, second = CodecRegistry(), CodecRegistry()
    first.register(pcmu())
    assert "PCMU/8000" not in second


def test_l16_is_big_endian_and_round_trips():
    coder = L16Codec().encoder()
    assert coder.encode(np.array([1, -2], dtype=np.int16)) == b"\x00\x01\xff\xfe"
    assert L16Codec().decoder().decode(b"\x00\x01\xff\xfe\x07").tolist() == [1, -2]


def dominant_frequency(samples: Pcm, rate: int = 8000) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.argmax(spectrum)) * rate / len(samples)


def test_g729_encode_decode_keeps_a_tone_frequency():
    try:
        codec = G729Codec()
    except G729UnavailableError as exc:
        pytest.fail(f"{exc}: run scripts/install-system-deps (libbcg729-0)")
    assert "G729/8000" in default_registry()
    t = np.arange(8000) / 8000
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    encoder, decoder = codec.encoder(), codec.decoder()
    # Fed in odd-sized pieces: partial frames wait for the next call.
    payload = encoder.encode(tone[:1234]) + encoder.encode(tone[1234:])
    assert len(payload) == 1000  # 100 frames of 10 bytes: 8 kbit/s
    decoded = decoder.decode(payload)
    assert len(decoded) == 8000
    assert dominant_frequency(decoded[800:]) == pytest.approx(440, abs=8)
    assert np.sqrt(np.mean(decoded[800:].astype(np.float64) ** 2)) > 2000
    assert len(decoder.conceal()) == 80
    encoder.close()
    decoder.close()
    with pytest.raises(ValueError, match="closed"):
        decoder.decode(payload)


def test_g729_missing_library_is_a_clear_error():
    with pytest.raises(G729UnavailableError, match="cannot load"):
        G729Codec("/nonexistent/libbcg729.so.0")
