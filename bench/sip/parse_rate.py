"""Messages parsed (and serialised) per second on one core: a SIPp-like INVITE with SDP
and a 200 OK, through hotline.sip.message."""

from __future__ import annotations

import sys
import time

from hotline.sip.message import Request, make_response, parse_message

INVITE = (
    b"INVITE sip:service@127.0.0.1:5060 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-12345-1-0\r\n"
    b"From: sipp <sip:sipp@127.0.0.1:5061>;tag=12345SIPpTag001\r\n"
    b"To: service <sip:service@127.0.0.1:5060>\r\n"
    b"Call-ID: 1-12345@127.0.0.1\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"Contact: sip:sipp@127.0.0.1:5061\r\n"
    b"Max-Forwards: 70\r\n"
    b"Subject: Performance Test\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 129\r\n\r\n"
    b"v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
    b"t=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


def rate(label: str, function: object, seconds: float = 2.0) -> None:
    assert callable(function)
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(200):
            function()
        count += 200
    elapsed = time.perf_counter() - start
    sys.stdout.write(f"{label}: {count / elapsed:,.0f}/s ({elapsed / count * 1e6:.1f} us each)\n")


def main() -> None:
    request = parse_message(INVITE)
    assert isinstance(request, Request)
    response = make_response(request, 200, to_tag="abc")
    response_bytes = bytes(response)
    rate("parse INVITE with SDP", lambda: parse_message(INVITE))
    rate("parse 200 OK", lambda: parse_message(response_bytes))
    rate("serialise 200 OK", lambda: bytes(response))


if __name__ == "__main__":
    main()
