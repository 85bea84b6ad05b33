"""The server-side UA API: typed call events up, commands down, in memory with a clock."""

from __future__ import annotations

import pytest

from hotline.sip.call_events import (
    CallConfirmed,
    CallEnded,
    CallEvent,
    IncomingCall,
    OfferReceived,
)
from hotline.sip.endpoint import SipEndpoint
from hotline.sip.errors import LocalProtocolError
from hotline.sip.message import Request, Response, make_response, parse_message
from hotline.sip.useragent import UserAgent

PEER = ("192.0.2.5", 5060)
SDP = (
    b"v=0\r\no=a 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n"
    b"m=audio 4000 RTP/AVP 0\r\n"
)


def request(
    method: str, cseq: int = 1, to_tag: str = "", body: bytes = b"", branch: str = ""
) -> bytes:
    head = (
        f"{method} sip:queue@192.0.2.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bK{branch or method}{cseq}\r\n"
        "From: <sip:caller@example.com>;tag=c\r\n"
        f"To: <sip:queue@192.0.2.1>{to_tag}\r\n"
        "Call-ID: ua-1\r\n"
        f"CSeq: {cseq} {method}\r\n"
        "Contact: <sip:caller@192.0.2.5:5060>\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class Harness:
    def __init__(self) -> None:
        self.endpoint = SipEndpoint(sent_by={"UDP": ("192.0.2.1", 5060)})
        self.ua = UserAgent(self.endpoint, "<sip:hotline@192.0.2.1:5060>", make_tag=lambda: "h")
        self.now = 0.0

    def feed(self, data: bytes) -> list[CallEvent]:
        self.endpoint.receive(data, PEER, "UDP", self.now)
        return self.drain()

    def drain(self) -> list[CallEvent]:
        out: list[CallEvent] = []
        while (event := self.endpoint.next_event()) is not None:
            out.extend(self.ua.handle_event(event, self.now))
        return out

    def sent(self) -> list[Request | Response]:
        return [parse_message(o.data) for o in self.endpoint.take_outgoing()]


def test_incoming_call_ring_answer_ack_bye() -> None:
    h = Harness()
    [incoming] = h.feed(request("INVITE", body=SDP))
    assert isinstance(incoming, IncomingCall)
    assert incoming.offer == SDP
    h.ua.ring("ua-1", 0.0)
    h.ua.answer("ua-1", b"v=0\r\n", 0.1)
    statuses = [m.status for m in h.sent() if isinstance(m, Response)]
    assert statuses == [100, 180, 200]
    assert h.feed(request("ACK", to_tag=";tag=h")) == [CallConfirmed("ua-1")]
    assert h.feed(request("BYE", cseq=2, to_tag=";tag=h")) == [CallEnded("ua-1", "bye")]
    [ok] = h.sent()
    assert isinstance(ok, Response)
    assert ok.status == 200


def test_reinvite_offer_is_answered_by_the_b2bua() -> None:
    h = Harness()
    h.feed(request("INVITE", body=SDP))
    h.ua.answer("ua-1", b"v=0\r\n", 0.0)
    h.feed(request("ACK", to_tag=";tag=h"))
    h.sent()
    [offer] = h.feed(request("INVITE", cseq=2, to_tag=";tag=h", body=SDP))
    assert isinstance(offer, OfferReceived)
    h.ua.answer("ua-1", b"v=0\r\na=sendonly\r\n", 0.1)
    responses = [m for m in h.sent() if isinstance(m, Response)]
    assert [r.status for r in responses] == [100, 200]
    assert responses[-1].body.endswith(b"a=sendonly\r\n")


def test_cancel_before_answer_gives_487_and_ends_the_call() -> None:
    h = Harness()
    h.feed(request("INVITE", body=SDP))
    events = h.feed(request("CANCEL", branch="INVITE"))
    assert events == [CallEnded("ua-1", "cancelled")]
    statuses = sorted(m.status for m in h.sent() if isinstance(m, Response))
    assert statuses == [100, 200, 487]


def test_reject_and_wrong_commands() -> None:
    h = Harness()
    h.feed(request("INVITE", body=SDP))
    with pytest.raises(LocalProtocolError):
        h.ua.reject("ua-1", 200, 0.0)
    h.ua.reject("ua-1", 486, 0.0, "Busy Here")
    assert [m.status for m in h.sent() if isinstance(m, Response)] == [100, 486]
    with pytest.raises(LocalProtocolError):
        h.ua.answer("ua-1", b"", 0.0)


def test_we_hang_up_with_bye_and_get_call_ended() -> None:
    h = Harness()
    h.feed(request("INVITE", body=SDP))
    h.ua.answer("ua-1", b"v=0\r\n", 0.0)
    h.feed(request("ACK", to_tag=";tag=h"))
    h.sent()
    h.ua.hangup("ua-1", 1.0)
    [bye] = h.sent()
    assert isinstance(bye, Request)
    assert bye.method == "BYE"
    assert str(bye.uri) == "sip:caller@192.0.2.5:5060"
    assert bye.to.tag == "c"
    assert bye.from_.tag == "h"
    ok = make_response(bye, 200)
    h.endpoint.receive(bytes(ok), PEER, "UDP", 1.1)
    assert h.drain() == [CallEnded("ua-1", "hangup")]


def test_in_dialog_request_for_unknown_call_gets_481() -> None:
    h = Harness()
    assert h.feed(request("BYE", to_tag=";tag=nope")) == []
    [response] = h.sent()
    assert isinstance(response, Response)
    assert response.status == 481


def test_missing_ack_ends_the_call_after_64_t1() -> None:
    h = Harness()
    h.feed(request("INVITE", body=SDP))
    h.ua.answer("ua-1", b"v=0\r\n", 0.0)
    ended: list[CallEvent] = []
    while (deadline := h.endpoint.get_timer()) is not None and deadline <= 40.0:
        h.endpoint.handle_timer(deadline)
        h.now = deadline
        ended.extend(h.drain())
    assert ended == [CallEnded("ua-1", "timeout")]
    retransmitted = [m for m in h.sent() if isinstance(m, Response) and m.status == 200]
    assert len(retransmitted) == 1 + 10  # the 200 and its retransmissions until 32 s


def test_a_requested_session_timer_is_honoured_refreshed_and_enforced() -> None:
    """RFC 4028: the caller asks for 120 s; we answer with it (it refreshes), a re-INVITE
    resets the clock, and a caller that stops refreshing is hung up."""
    h = Harness()
    invite = request("INVITE", body=SDP).replace(
        b"Content-Length", b"Session-Expires: 120\r\nSupported: timer\r\nContent-Length"
    )
    [_incoming] = h.feed(invite)
    h.ua.answer("ua-1", SDP, 0.0)
    ok = next(m for m in h.sent() if isinstance(m, Response) and m.status == 200)
    assert ok.get("Session-Expires") == "120;refresher=uac"
    assert ok.get("Require") == "timer"
    assert h.ua.next_timer() == 120.0
    h.now = 100.0
    [offer] = h.feed(request("INVITE", cseq=2, to_tag=";tag=h", body=SDP))
    assert isinstance(offer, OfferReceived)
    h.ua.answer("ua-1", SDP, h.now)
    assert h.ua.next_timer() == 220.0  # refreshed
    assert h.ua.handle_timer(219.0) == []
    h.sent()
    assert h.ua.handle_timer(220.0) == [CallEnded("ua-1", "expired")]
    [bye] = h.sent()
    assert isinstance(bye, Request)
    assert bye.method == "BYE"
    assert h.ua.next_timer() is None


def test_no_session_timer_without_the_peers_request() -> None:
    h = Harness()
    h.feed(request("INVITE", body=SDP))
    h.ua.answer("ua-1", SDP, 0.0)
    ok = next(m for m in h.sent() if isinstance(m, Response) and m.status == 200)
    assert ok.get("Session-Expires") is None
    assert h.ua.next_timer() is None
