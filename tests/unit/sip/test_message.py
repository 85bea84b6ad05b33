"""Messages, URIs and framing: behaviour the torture set does not pin down, plus
property-based checks (random bytes never crash; parse(serialise(m)) == m)."""

from __future__ import annotations

import contextlib
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.sip.errors import ProtocolError, RemoteProtocolError
from hotline.sip.headers import NameAddress, Via, split_list
from hotline.sip.message import (
    FramingError,
    KeepAlive,
    Request,
    Response,
    StreamFramer,
    make_response,
    parse_message,
)
from hotline.sip.uri import Uri

OPTIONS = (
    b"OPTIONS sip:bob@example.com SIP/2.0\r\n"
    b"v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport\r\n"
    b"f: <sip:alice@example.com>;tag=a\r\n"
    b"t: sip:bob@example.com\r\n"
    b"i: call-1@192.0.2.1\r\n"
    b"CSeq: 1 OPTIONS\r\n"
    b"Max-Forwards: 70\r\n"
    b"l: 0\r\n\r\n"
)


def test_compact_forms_expand_and_serialise_long() -> None:
    message = parse_message(OPTIONS)
    assert message.get("Call-ID") == "call-1@192.0.2.1"
    assert message.get("i") == "call-1@192.0.2.1"
    assert b"Call-ID: call-1@192.0.2.1\r\n" in bytes(message)
    assert b"Content-Length: 0\r\n\r\n" in bytes(message)


def test_sip_uri_components() -> None:
    uri = Uri.parse("sips:alice:secret@[2001:db8::1]:5061;transport=tls;lr?Subject=hi&X=1")
    assert uri.scheme == "sips"
    assert (uri.user, uri.password, uri.host, uri.port) == (
        "alice",
        "secret",
        "[2001:db8::1]",
        5061,
    )
    assert uri.params == (("transport", "tls"), ("lr", None))
    assert uri.headers == (("Subject", "hi"), ("X", "1"))
    assert str(uri) == "sips:alice:secret@[2001:db8::1]:5061;transport=tls;lr?Subject=hi&X=1"


def test_tel_uri() -> None:
    uri = Uri.parse("tel:+1-201-555-0123;phone-context=example.com")
    assert uri.scheme == "tel"
    assert uri.user == "+1-201-555-0123"
    assert uri.param("phone-context") == "example.com"


def test_uri_equivalence_rules() -> None:
    assert Uri.parse("sip:%61lice@EXAMPLE.com").equivalent(Uri.parse("sip:alice@example.com"))
    assert not Uri.parse("sip:alice@example.com;transport=tcp").equivalent(
        Uri.parse("sip:alice@example.com")
    )
    assert Uri.parse("sip:alice@example.com;foo=1").equivalent(Uri.parse("sip:alice@example.com"))


def test_name_addr_forms() -> None:
    quoted = NameAddress.parse('"Alice \\"A\\"" <sip:alice@example.com>;tag=x;q=0.5')
    assert quoted.display_name == '"Alice \\"A\\""'
    assert quoted.tag == "x"
    assert quoted.param("q") == "0.5"
    plain = NameAddress.parse("sip:alice@example.com;tag=y")
    assert plain.uri == Uri.parse("sip:alice@example.com")
    assert plain.tag == "y"
    assert NameAddress.parse("*").wildcard


def test_via_received_and_rport() -> None:
    via = Via.parse("SIP/2.0/UDP client.example.com:5060;branch=z9hG4bK77;rport")
    kept = via.with_received("192.0.2.9", 40000)
    assert kept.received == "192.0.2.9"
    assert kept.rport == 40000
    assert str(kept).endswith(";branch=z9hG4bK77;rport=40000;received=192.0.2.9")
    no_rport = Via.parse("SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK78")
    assert no_rport.with_received("192.0.2.9", 5060).received is None


def test_list_split_respects_quotes_and_angles() -> None:
    assert split_list('"a, b" <sip:x@y;p=1,2>, <sip:z@w>') == [
        '"a, b" <sip:x@y;p=1,2>',
        "<sip:z@w>",
    ]


def test_response_copies_headers_and_adds_to_tag() -> None:
    request = parse_message(OPTIONS)
    assert isinstance(request, Request)
    response = make_response(request, 200, to_tag="srv1")
    assert response.to.tag == "srv1"
    assert response.get("Via") == request.get("Via")
    assert response.cseq == request.cseq
    assert parse_message(bytes(response)) == response


def test_datagram_body_is_cut_at_content_length() -> None:
    data = OPTIONS.replace(b"l: 0", b"l: 3") + b"abcdef"
    assert parse_message(data).body == b"abc"


def test_oversized_message_gets_513() -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        parse_message(OPTIONS + b"x" * 70000)
    assert caught.value.status == 513


def test_stream_framer_cuts_by_content_length_across_reads() -> None:
    framer = StreamFramer()
    body_message = OPTIONS.replace(b"l: 0", b"Content-Length: 4") + b"body"
    stream = b"\r\n\r\n" + body_message + OPTIONS + b"\r\n" + OPTIONS
    out: list[object] = []
    for index in range(len(stream)):  # one byte at a time: the worst fragmentation
        out.extend(framer.feed(stream[index : index + 1]))
    assert out[0] == KeepAlive(ping=True)
    assert out[1] == body_message
    assert out[2] == OPTIONS
    assert out[3] == KeepAlive(ping=False)
    assert out[4] == OPTIONS
    assert parse_message(body_message).body == b"body"


def test_stream_framer_gives_up_on_garbage() -> None:
    framer = StreamFramer(max_size=100)
    out = list(framer.feed(b"x" * 200))
    assert out == [FramingError("header block too large")]
    assert list(framer.feed(OPTIONS)) == []


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_crash(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        parse_message(data)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_mutated_valid_message_never_crashes(noise: bytes) -> None:
    for cut in (10, 60, 120):
        with contextlib.suppress(ProtocolError):
            parse_message(OPTIONS[:cut] + noise + OPTIONS[cut:])
    framer = StreamFramer()
    for item in framer.feed(noise + OPTIONS):
        if isinstance(item, bytes):
            with contextlib.suppress(ProtocolError):
                parse_message(item)


tokens = st.text(
    alphabet=string.ascii_letters + string.digits + "-.!%*_+`'~", min_size=1, max_size=12
)
uri_tokens = st.from_regex(r"[A-Za-z0-9\-_.!~*'()]{1,10}", fullmatch=True)
hosts = st.from_regex(r"[a-z][a-z0-9]{0,8}(\.[a-z][a-z0-9]{0,8}){0,2}", fullmatch=True)
users = st.from_regex(r"[A-Za-z0-9\-_.!~*'()&=+$,;?/]{1,12}", fullmatch=True)
header_values = st.from_regex(r"[ -~]{0,30}", fullmatch=True).map(str.strip)


@st.composite
def uris(draw: st.DrawFn) -> Uri:
    params = draw(st.lists(st.tuples(uri_tokens, st.one_of(st.none(), uri_tokens)), max_size=3))
    return Uri(
        scheme=draw(st.sampled_from(["sip", "sips"])),
        host=draw(hosts),
        user=draw(st.one_of(st.none(), users)),
        port=draw(st.one_of(st.none(), st.integers(1, 65535))),
        params=tuple(params),
    )


@st.composite
def messages(draw: st.DrawFn) -> Request | Response:
    method = draw(st.sampled_from(["INVITE", "OPTIONS", "BYE", "REGISTER"]) | tokens)
    cseq_method = method
    headers = [
        (
            "Via",
            f"SIP/2.0/UDP {draw(hosts)}:{draw(st.integers(1, 65535))};branch=z9hG4bK{draw(tokens)}",
        ),
        ("From", f"<{draw(uris())}>;tag={draw(tokens)}"),
        ("To", f"<{draw(uris())}>"),
        ("Call-ID", draw(tokens)),
        ("CSeq", f"{draw(st.integers(0, 2**31 - 1))} {cseq_method}"),
        ("Max-Forwards", str(draw(st.integers(0, 255)))),
    ]
    extra_names = st.sampled_from(["X-Custom", "Subject", "User-Agent", "Supported"])
    headers += draw(st.lists(st.tuples(extra_names, header_values), max_size=4))
    body = draw(st.binary(max_size=64))
    if draw(st.booleans()):
        return Request(headers=headers, body=body, method=method, uri=draw(uris()))
    reason = draw(st.from_regex(r"[A-Za-z ]{0,20}", fullmatch=True))
    return Response(headers=headers, body=body, status=draw(st.integers(100, 699)), reason=reason)


@settings(max_examples=150, deadline=None)
@given(messages())
def test_parse_serialise_round_trip(message: Request | Response) -> None:
    assert parse_message(bytes(message)) == message


def test_header_line_without_colon_is_refused_even_for_known_names() -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        parse_message(OPTIONS.replace(b"Max-Forwards: 70\r\n", b"Via\r\n"))
    assert "Bad header line" in caught.value.reason
