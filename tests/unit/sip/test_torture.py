"""RFC 4475 torture messages: the valid ones parse and round-trip, the invalid ones are
refused with the status the RFC's discussion asks for, and none of them crashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.sip.errors import RemoteProtocolError
from hotline.sip.message import Request, Response, parse_message

FIXTURES = Path(__file__).parents[2] / "fixtures" / "sip" / "rfc4475"

# §3.1.1 valid messages, §3.2/§3.3/§3.4 messages that are syntactically valid (their
# problems are for the transaction or application layer to notice).
VALID = [
    "wsinv",
    "intmeth",
    "esc01",
    "escnull",
    "esc02",
    "lwsdisp",
    "longreq",
    "dblreq",
    "semiuri",
    "transports",
    "mpart01",
    "unreason",
    "noreason",
    "badbranch",
    "unkscm",
    "novelsc",
    "unksm2",
    "bext01",
    "invut",
    "regaut01",
    "bcast",
    "zeromf",
    "cparam01",
    "cparam02",
    "regescrt",
    "sdp01",
    "inv2543",
]

# §3.1.2 invalid messages and §3.3 ones a parser must refuse: file -> (status, reason part)
INVALID = {
    "badinv01": (400, "Via"),
    "clerr": (400, "Content-Length larger"),
    "ncl": (400, "Content-Length"),
    "scalar02": (400, "CSeq"),
    "scalarlg": (400, "CSeq"),
    "quotbal": (400, "Unterminated quoted string"),
    "ltgtruri": (400, "URI"),
    "lwsruri": (400, "Request-Line"),
    "lwsstart": (400, "Request-Line"),
    "trws": (400, "Request-Line"),
    "escruri": (400, "Request-URI must not contain headers"),
    "baddate": (400, "Date"),
    "regbadct": (400, "Contact"),
    "badaspec": (400, "spaces inside <>"),
    "baddn": (400, "display name"),
    "badvers": (505, "Version Not Supported"),
    "mismatch01": (400, "CSeq method"),
    "mismatch02": (400, "CSeq method"),
    "bigcode": (400, "status code"),
    "insuf": (400, "Missing"),
    "multi01": (400, "Duplicate"),
    "mcl01": (400, "Duplicate Content-Length"),
}


def load(name: str) -> bytes:
    return (FIXTURES / f"{name}.dat").read_bytes()


def test_every_fixture_is_classified() -> None:
    names = {path.stem for path in FIXTURES.glob("*.dat")}
    assert len(names) == 49
    assert names == set(VALID) | set(INVALID)


@pytest.mark.parametrize("name", VALID)
def test_valid_message_parses_and_round_trips(name: str) -> None:
    message = parse_message(load(name))
    again = parse_message(bytes(message))
    assert again == message


@pytest.mark.parametrize(("name", "expected"), INVALID.items())
def test_invalid_message_is_refused_with_status(name: str, expected: tuple[int, str]) -> None:
    status, reason = expected
    with pytest.raises(RemoteProtocolError) as caught:
        parse_message(load(name))
    assert caught.value.status == status
    assert reason in caught.value.reason


def test_short_tortuous_invite_fields() -> None:
    message = parse_message(load("wsinv"))
    assert isinstance(message, Request)
    assert message.method == "INVITE"
    assert message.uri.host == "chair-dnrc.example.com"
    assert message.uri.params == (("unknownparam", None),)
    assert message.to.tag == "1918181833n"
    assert message.from_.display_name == '"J Rosenberg \\\\\\""'
    assert message.from_.tag == "98asjd8"
    assert message.get("Max-Forwards") == "0068"
    assert message.cseq.number == 9
    assert message.cseq.method == "INVITE"
    vias = message.vias
    assert [v.host for v in vias] == ["192.0.2.2", "spindle.example.com", "192.168.255.111"]
    assert vias[0].branch == "390skdjuw"
    assert message.get("Subject") == ""
    assert message.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert message.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    assert len(message.body) == 150


def test_unusual_characters_survive() -> None:
    message = parse_message(load("intmeth"))
    assert isinstance(message, Request)
    assert message.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert message.uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert message.uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert message.top_via.branch == "z9hG4bK-.!%66*_+`'~"


def test_escaped_uris_compare_unescaped() -> None:
    message = parse_message(load("esc01"))
    assert isinstance(message, Request)
    assert message.uri.user == "sips%3Auser%40example.com"
    assert message.uri.host == "example.net"


def test_response_without_reason_phrase() -> None:
    message = parse_message(load("noreason"))
    assert isinstance(message, Response)
    assert message.status == 100
    assert message.reason == ""


def test_multiple_contacts_with_compact_and_escaped_names() -> None:
    message = parse_message(load("esc02"))
    hosts = [c.uri.host for c in message.contacts if c.uri is not None]
    # "C%6Fntact" is not a Contact header: escapes do not apply to header names.
    assert hosts == ["host1.example.com", "host3.example.com"]
