"""Calls we place (the agent legs of the B2BUA): INVITE, provisional answers, the ACK of a
2xx, CANCEL by §9.1, forks, digest retry and timeouts, with an explicit clock and the bytes
on the wire checked."""

from __future__ import annotations

import pytest

from hotline.sip.auth import DigestAuthenticator, MemoryCredentialStore, NonceKeeper
from hotline.sip.call_events import (
    CallEnded,
    CallEvent,
    OfferReceived,
    OptionsAnswered,
    OutgoingAnswered,
    OutgoingFailed,
    OutgoingProgress,
)
from hotline.sip.endpoint import SipEndpoint
from hotline.sip.errors import LocalProtocolError
from hotline.sip.message import Request, Response, make_response, parse_message
from hotline.sip.useragent import UserAgent

PHONE = ("192.0.2.7", 5062)
OFFER = b"v=0\r\no=hotline 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
ANSWER = b"v=0\r\no=phone 1 1 IN IP4 192.0.2.7\r\ns=-\r\nc=IN IP4 192.0.2.7\r\nt=0 0\r\n"


class Harness:
    def __init__(self) -> None:
        self.endpoint = SipEndpoint(sent_by={"UDP": ("192.0.2.1", 5060)})
        self.ua = UserAgent(self.endpoint, "<sip:hotline@192.0.2.1:5060>", make_tag=lambda: "h")
        self.now = 0.0

    def call(self, credentials: tuple[str, str] | None = None) -> Request:
        call_id = self.ua.invite(
            request_uri="sip:1002@192.0.2.7:5062",
            destination=PHONE,
            transport="udp",
            from_uri="sip:hotline@192.0.2.1",
            to_uri="sip:1002@192.0.2.1",
            offer=OFFER,
            now=self.now,
            call_id="leg-1",
            extra_headers=[("X-Hotline-Call", "c1")],
            credentials=credentials,
        )
        assert call_id == "leg-1"
        (invite,) = self.sent()
        assert isinstance(invite, Request)
        return invite

    def answer(self, invite: Request, status: int, tag: str = "p", body: bytes = b"") -> bytes:
        headers = [("Contact", "<sip:1002@192.0.2.7:5062>")]
        response = make_response(invite, status, to_tag=tag, headers=headers, body=body)
        return bytes(response)

    def feed(self, data: bytes) -> list[CallEvent]:
        self.endpoint.receive(data, PHONE, "UDP", self.now)
        return self.drain()

    def drain(self) -> list[CallEvent]:
        out: list[CallEvent] = []
        while (event := self.endpoint.next_event()) is not None:
            out.extend(self.ua.handle_event(event, self.now))
        return out

    def tick(self, seconds: float) -> list[CallEvent]:
        self.now += seconds
        self.endpoint.handle_timer(self.now)
        return self.drain()

    def sent(self) -> list[Request | Response]:
        return [parse_message(o.data) for o in self.endpoint.take_outgoing()]


def test_invite_ringing_answer_ack_then_the_phone_hangs_up() -> None:
    h = Harness()
    invite = h.call()
    assert invite.get("X-Hotline-Call") == "c1"
    assert invite.body == OFFER
    assert h.feed(h.answer(invite, 180)) == [OutgoingProgress("leg-1", 180, b"")]
    assert h.feed(h.answer(invite, 200, body=ANSWER)) == [OutgoingAnswered("leg-1", ANSWER)]
    (ack,) = h.sent()
    assert isinstance(ack, Request)
    assert (ack.method, ack.cseq.number, ack.to.tag) == ("ACK", 1, "p")
    assert ack.top_via.branch != invite.top_via.branch  # the ACK of a 2xx is a new transaction
    # A retransmitted 2xx (our ACK was lost) is ACKed again, and reported only once.
    assert h.feed(h.answer(invite, 200, body=ANSWER)) == []
    assert [m.method for m in h.sent() if isinstance(m, Request)] == ["ACK"]
    bye = (
        b"BYE sip:hotline@192.0.2.1:5060 SIP/2.0\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bKbye1\r\n"
        b"From: <sip:1002@192.0.2.1>;tag=p\r\nTo: <sip:hotline@192.0.2.1>;tag=h\r\n"
        b"Call-ID: leg-1\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n"
    )
    assert h.feed(bye) == [CallEnded("leg-1", "bye")]
    assert [m.status for m in h.sent() if isinstance(m, Response)] == [200]


def test_our_hangup_sends_bye_to_the_phone() -> None:
    h = Harness()
    invite = h.call()
    h.feed(h.answer(invite, 200, body=ANSWER))
    h.sent()
    h.ua.hangup("leg-1", h.now)
    (bye,) = h.sent()
    assert isinstance(bye, Request)
    assert (bye.method, bye.cseq.number, bye.to.tag, bye.from_.tag) == ("BYE", 2, "p", "h")
    assert h.feed(bytes(make_response(bye, 200))) == [CallEnded("leg-1", "hangup")]


def test_cancel_waits_for_a_provisional_answer_then_matches_the_invite() -> None:
    h = Harness()
    invite = h.call()
    h.ua.cancel("leg-1", h.now)
    assert h.sent() == []  # §9.1: no CANCEL before a provisional response
    assert h.feed(h.answer(invite, 100, tag="")) == []
    (cancel,) = h.sent()
    assert isinstance(cancel, Request)
    assert cancel.method == "CANCEL"
    assert cancel.top_via.branch == invite.top_via.branch
    assert (cancel.uri, cancel.call_id, cancel.cseq.number) == (invite.uri, "leg-1", 1)
    assert cancel.from_ == invite.from_
    assert cancel.to == invite.to
    h.feed(bytes(make_response(cancel, 200)))
    assert h.feed(h.answer(invite, 487)) == [OutgoingFailed("leg-1", 487, "cancelled")]
    (ack,) = h.sent()  # the transaction layer ACKs the 487
    assert isinstance(ack, Request)
    assert ack.method == "ACK"
    with pytest.raises(LocalProtocolError):
        h.ua.cancel("leg-1", h.now)  # the call is gone


def test_an_answer_that_crosses_our_cancel_is_acked_and_hung_up() -> None:
    h = Harness()
    invite = h.call()
    h.feed(h.answer(invite, 180))
    h.ua.cancel("leg-1", h.now)
    h.sent()
    events = h.feed(h.answer(invite, 200, body=ANSWER))
    assert events == [OutgoingFailed("leg-1", 487, "cancelled")]
    assert [m.method for m in h.sent() if isinstance(m, Request)] == ["ACK", "BYE"]


def test_a_second_fork_that_answers_is_hung_up() -> None:
    h = Harness()
    invite = h.call()
    assert h.feed(h.answer(invite, 200, tag="desk", body=ANSWER)) == [
        OutgoingAnswered("leg-1", ANSWER)
    ]
    h.sent()
    assert h.feed(h.answer(invite, 200, tag="mobile", body=ANSWER)) == []
    ack, bye = h.sent()
    assert isinstance(ack, Request)
    assert isinstance(bye, Request)
    assert (ack.method, ack.to.tag, bye.method, bye.to.tag) == ("ACK", "mobile", "BYE", "mobile")
    h.ua.hangup("leg-1", h.now)  # the first dialog stays ours
    (bye_desk,) = h.sent()
    assert isinstance(bye_desk, Request)
    assert bye_desk.to.tag == "desk"


def test_busy_and_answered_calls_refuse_the_wrong_commands() -> None:
    h = Harness()
    invite = h.call()
    assert h.feed(h.answer(invite, 486)) == [OutgoingFailed("leg-1", 486, "Busy Here")]
    h2 = Harness()
    invite = h2.call()
    h2.feed(h2.answer(invite, 200, body=ANSWER))
    with pytest.raises(LocalProtocolError):
        h2.ua.cancel("leg-1", h2.now)
    with pytest.raises(LocalProtocolError):
        h2.ua.reject("leg-1", 486, h2.now)


def test_no_answer_at_all_is_a_408_after_timer_b() -> None:
    h = Harness()
    h.call()
    assert h.tick(31.0) == []
    assert h.tick(2.0) == [OutgoingFailed("leg-1", 408, "no final answer")]  # 64*T1 = 32 s


def test_a_digest_challenge_is_answered_once_with_the_credentials() -> None:
    credentials = MemoryCredentialStore()
    credentials.add_user("hotline", "carrier", "s3cret")
    checker = DigestAuthenticator("carrier", credentials, NonceKeeper(b"k"), ("MD5",))
    h = Harness()
    invite = h.call(credentials=("hotline", "s3cret"))
    challenge = make_response(
        invite,
        407,
        to_tag="x",
        headers=[("Proxy-Authenticate", v) for v in checker.challenges(h.now)],
    )
    assert h.feed(bytes(challenge)) == []
    ack, retry = h.sent()
    assert isinstance(retry, Request)
    assert (ack.method, retry.method, retry.cseq.number) == ("ACK", "INVITE", 2)  # type: ignore[union-attr]
    assert retry.from_.tag == invite.from_.tag
    assert checker.check(retry, h.now, header="Proxy-Authorization").username == "hotline"
    # The same credentials refused again: the call fails instead of looping.
    again = make_response(
        retry,
        407,
        to_tag="x",
        headers=[("Proxy-Authenticate", v) for v in checker.challenges(h.now)],
    )
    assert h.feed(bytes(again)) == [OutgoingFailed("leg-1", 407, again.reason)]


def test_a_reinvite_from_the_phone_reaches_the_b2bua() -> None:
    h = Harness()
    invite = h.call()
    h.feed(h.answer(invite, 200, body=ANSWER))
    h.sent()
    reinvite = (
        "INVITE sip:hotline@192.0.2.1:5060 SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 192.0.2.7:5062;branch=z9hG4bKre1\r\n"
        "From: <sip:1002@192.0.2.1>;tag=p\r\nTo: <sip:hotline@192.0.2.1>;tag=h\r\n"
        "Call-ID: leg-1\r\nCSeq: 2 INVITE\r\nContact: <sip:1002@192.0.2.7:5062>\r\n"
        f"Content-Length: {len(ANSWER)}\r\n\r\n"
    ).encode() + ANSWER
    (offer,) = h.feed(reinvite)
    assert isinstance(offer, OfferReceived)
    h.ua.answer("leg-1", OFFER, h.now)
    assert [m.status for m in h.sent() if isinstance(m, Response)] == [100, 200]


def test_an_options_probe_reports_its_final_answer_once() -> None:
    h = Harness()
    probe = h.ua.send_options(
        request_uri="sip:192.0.2.7:5062",
        destination=PHONE,
        transport="udp",
        from_uri="sip:hotline@192.0.2.1",
        now=h.now,
    )
    (options,) = h.sent()
    assert isinstance(options, Request)
    assert (options.method, str(options.uri)) == ("OPTIONS", "sip:192.0.2.7:5062")
    assert h.feed(bytes(make_response(options, 100))) == []  # provisional: not the outcome
    assert h.feed(bytes(make_response(options, 405, to_tag="t"))) == [OptionsAnswered(probe, 405)]
    assert h.feed(bytes(make_response(options, 405, to_tag="t"))) == []  # retransmission


def test_an_unanswered_options_probe_reports_none_after_timer_f() -> None:
    h = Harness()
    probe = h.ua.send_options(
        request_uri="sip:192.0.2.7:5062",
        destination=PHONE,
        transport="udp",
        from_uri="sip:hotline@192.0.2.1",
        now=h.now,
    )
    h.sent()
    events: list[CallEvent] = []
    for _ in range(40):
        events += h.tick(1.0)
    assert events == [OptionsAnswered(probe, None)]
    assert h.ua.legs == {}
