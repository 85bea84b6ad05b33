"""Offer/answer between legs' SDP and our media endpoints."""

from __future__ import annotations

import pytest

from hotline.calls.sdp_media import answer_offer, check_offer, make_offer, read_answer
from hotline.media.engine import CodecOffer, EndpointDescription
from hotline.sip.errors import RemoteProtocolError
from hotline.sip.sdp import SessionDescription

OURS = EndpointDescription(
    "w0-1",
    "127.0.0.1",
    40000,
    (
        CodecOffer("PCMU", 0),
        CodecOffer("PCMA", 8),
        CodecOffer("telephone-event", 101, fmtp="0-16"),
    ),
)

SIPP_OFFER = (
    b"v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n"
    b"c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 101\r\n"
    b"a=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-11,16\r\n"
)


def test_answer_takes_the_offerers_first_shared_codec_and_its_event_type() -> None:
    answer, remote = answer_offer(SIPP_OFFER, OURS)
    parsed = SessionDescription.parse(answer)
    assert parsed.connection == "127.0.0.1"
    assert parsed.media[0].port == 40000
    assert parsed.media[0].formats == ["8", "101"]
    assert (remote.host, remote.port, remote.payload_type) == ("127.0.0.1", 6000, 8)
    assert remote.telephone_event_pt == 101
    assert remote.direction == "sendrecv"


def test_media_level_connection_wins_and_hold_direction_is_reported() -> None:
    offer = (
        b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        b"m=audio 7000 RTP/AVP 0\r\nc=IN IP4 10.0.0.2\r\na=sendonly\r\n"
    )
    answer, remote = answer_offer(offer, OURS)
    assert (remote.host, remote.payload_type, remote.telephone_event_pt) == ("10.0.0.2", 0, None)
    assert remote.direction == "sendonly"
    assert b"a=recvonly" in answer


@pytest.mark.parametrize(
    "offer",
    [
        b"",  # late offer: not supported
        b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n"
        b"m=audio 7000 RTP/AVP 18\r\n",  # G.729 only: not in this endpoint
        b"garbage",
    ],
)
def test_offers_we_cannot_answer_are_488(offer: bytes) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        check_offer(offer, OURS.codecs)
    assert caught.value.status == 488


def test_our_offer_lists_every_codec_and_reads_back_the_peers_choice() -> None:
    offer = SessionDescription.parse(make_offer(OURS))
    assert offer.media[0].formats == ["0", "8", "101"]
    assert ("fmtp", "101 0-16") in offer.media[0].attributes
    answer = (
        b"v=0\r\no=baresip 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        b"m=audio 16300 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"
        b"a=rtpmap:101 telephone-event/8000\r\n"
    )
    remote = read_answer(answer, OURS)
    assert (remote.port, remote.payload_type, remote.telephone_event_pt) == (16300, 8, 101)


def test_an_answer_without_our_codecs_is_refused() -> None:
    answer = (
        b"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        b"m=audio 0 RTP/AVP 0\r\n"
    )
    with pytest.raises(RemoteProtocolError):
        read_answer(answer, OURS)
