"""SDP offer/answer and the answering UA, driven in memory through the endpoint."""

from __future__ import annotations

import pytest

from hotline.sip import sdp
from hotline.sip.endpoint import SipEndpoint
from hotline.sip.errors import RemoteProtocolError
from hotline.sip.message import Response, parse_message
from hotline.sip.registrar import MemoryBindingStore, Registrar
from hotline.sip.uas import AnsweringUserAgent

OFFER = (
    b"v=0\r\no=caller 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n"
    b"m=audio 49170 RTP/AVP 18 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-16\r\na=ptime:20\r\na=sendonly\r\n"
    b"m=video 51372 RTP/AVP 31\r\n"
)


def test_answer_picks_offerers_first_shared_codec_and_mirrors_direction() -> None:
    offer = sdp.SessionDescription.parse(OFFER)
    result = sdp.answer(offer, address="192.0.2.1", port=40000)
    audio, video = result.media
    assert audio.formats == ["8", "101"]  # G.729 not ours; PCMA before PCMU as offered
    assert audio.direction == "recvonly"  # the offer was sendonly (hold)
    assert ("ptime", "20") in audio.attributes
    assert video.port == 0  # other streams rejected, not an error
    again = sdp.SessionDescription.parse(bytes(result))
    assert again.media[0].rtpmap()[101] == ("telephone-event", 8000)


def test_no_common_codec_is_488() -> None:
    offer = sdp.SessionDescription.parse(OFFER.replace(b"18 8 0 101", b"18"))
    with pytest.raises(RemoteProtocolError) as caught:
        sdp.answer(offer, address="192.0.2.1", port=40000)
    assert caught.value.status == 488


PEER = ("192.0.2.5", 5060)


def request(
    method: str, extra: str = "", body: bytes = b"", cseq: int = 1, to_tag: str = ""
) -> bytes:
    head = (
        f"{method} sip:hotline@192.0.2.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bK{method}{cseq}\r\n"
        "From: <sip:caller@192.0.2.5>;tag=c\r\n"
        f"To: <sip:hotline@192.0.2.1>{to_tag}\r\n"
        "Call-ID: uas-call\r\n"
        "Contact: <sip:caller@192.0.2.5:5060>\r\n"
        f"CSeq: {cseq} {method}\r\n"
        f"{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def drive(agent: AnsweringUserAgent, data: bytes, now: float = 0.0) -> list[Response]:
    endpoint = agent.endpoint
    endpoint.receive(data, PEER, "UDP", now)
    while (event := endpoint.next_event()) is not None:
        agent.handle_event(event, now)
    responses = []
    for out in endpoint.take_outgoing():
        message = parse_message(out.data)
        assert isinstance(message, Response)
        responses.append(message)
    return responses


def agent() -> AnsweringUserAgent:
    endpoint = SipEndpoint(sent_by={"UDP": ("192.0.2.1", 5060)})
    return AnsweringUserAgent(
        endpoint, "192.0.2.1", 5060, Registrar(MemoryBindingStore()), make_tag=lambda: "uas"
    )


def test_invite_ack_bye() -> None:
    ua = agent()
    sdp_header = "Content-Type: application/sdp\r\n"
    responses = drive(ua, request("INVITE", sdp_header, OFFER))
    assert [r.status for r in responses] == [100, 200]
    ok = responses[1]
    assert ok.to.tag == "uas"
    assert ok.get("Content-Type") == "application/sdp"
    assert b"m=audio 40000 RTP/AVP 8 101" in ok.body
    assert drive(ua, request("ACK", to_tag=";tag=uas")) == []
    assert ua.calls["uas-call"].confirmed
    [bye_ok] = drive(ua, request("BYE", cseq=2, to_tag=";tag=uas"))
    assert bye_ok.status == 200
    [unknown] = drive(ua, request("BYE", cseq=3, to_tag=";tag=uas"))
    assert unknown.status == 481


def test_a_bye_that_overtakes_a_lost_ack_still_counts_the_call_established() -> None:
    ua = agent()
    sdp_header = "Content-Type: application/sdp\r\n"
    assert [r.status for r in drive(ua, request("INVITE", sdp_header, OFFER))] == [100, 200]
    [bye_ok] = drive(ua, request("BYE", cseq=2, to_tag=";tag=uas"))  # no ACK came
    assert bye_ok.status == 200
    assert (ua.stats.get("calls.confirmed"), ua.stats["calls.confirmed_by_bye"]) == (None, 1)


def test_rejections_by_method_extension_and_content() -> None:
    ua = agent()
    assert drive(ua, request("OPTIONS"))[0].status == 200
    assert drive(ua, request("MESSAGE"))[0].status == 405
    assert drive(ua, request("FOO"))[0].status == 501
    responses = drive(ua, request("INVITE", "Require: 100rel\r\n", cseq=5))
    assert [r.status for r in responses] == [100, 420]
    assert responses[1].get("Unsupported") == "100rel"
    responses = drive(ua, request("INVITE", "Content-Type: text/plain\r\n", b"hi", cseq=6))
    assert responses[-1].status == 415
    no_codec = OFFER.replace(b"18 8 0 101", b"18")
    responses = drive(ua, request("INVITE", "Content-Type: application/sdp\r\n", no_codec, cseq=7))
    assert responses[-1].status == 488


def test_register_goes_to_the_registrar() -> None:
    ua = agent()
    [ok] = drive(ua, request("REGISTER"))
    assert ok.status == 200
    assert ua.registrar is not None
    assert len(ua.registrar.lookup("sip:hotline@192.0.2.1", 1.0)) == 1


def test_reinvite_in_dialog_and_requests_outside_it() -> None:
    ua = agent()
    sdp_header = "Content-Type: application/sdp\r\n"
    drive(ua, request("INVITE", sdp_header, OFFER))
    drive(ua, request("ACK", to_tag=";tag=uas"))
    hold = OFFER.replace(b"a=sendonly", b"a=inactive")
    responses = drive(ua, request("INVITE", sdp_header, hold, cseq=2, to_tag=";tag=uas"))
    assert responses[-1].status == 200
    assert b"a=inactive" in responses[-1].body
    assert ua.stats["calls.reinvited"] == 1
    stale = drive(ua, request("INVITE", sdp_header, OFFER, cseq=2, to_tag=";tag=uas"))
    assert stale == []  # a retransmission of the re-INVITE: absorbed (RFC 6026 Accepted)
    old = drive(ua, request("INFO", cseq=1, to_tag=";tag=uas"))
    assert old[-1].status == 405
    wrong_tag = drive(ua, request("BYE", cseq=3, to_tag=";tag=other"))
    assert wrong_tag[-1].status == 481
    unknown_dialog = drive(ua, request("INVITE", sdp_header, OFFER, cseq=9, to_tag=";tag=zzz"))
    assert unknown_dialog[-1].status == 481
    [bye_ok] = drive(ua, request("BYE", cseq=4, to_tag=";tag=uas"))
    assert bye_ok.status == 200
