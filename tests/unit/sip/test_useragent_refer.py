"""In-dialog REFER (RFC 3515): a phone's transfer button, answered by the B2BUA."""

from __future__ import annotations

import pytest

from hotline.sip.call_events import CallEnded, ReferReceived
from hotline.sip.errors import LocalProtocolError
from hotline.sip.message import Request, Response, make_response
from tests.unit.sip.test_useragent import PEER, SDP, Harness, request


def refer(refer_to: str | None, cseq: int = 2) -> bytes:
    extra = f"Refer-To: {refer_to}\r\n" if refer_to is not None else ""
    return request("REFER", cseq=cseq, to_tag=";tag=h").replace(
        b"Content-Length", extra.encode() + b"Content-Length"
    )


def connected() -> Harness:
    h = Harness()
    h.feed(request("INVITE", body=SDP))
    h.ua.answer("ua-1", SDP, 0.0)
    h.feed(request("ACK", to_tag=";tag=h"))
    h.sent()
    return h


def test_refer_is_reported_then_accepted_with_202_and_notified_with_sipfrag() -> None:
    h = connected()
    [event] = h.feed(refer("<sip:1003@192.0.2.1>"))
    assert isinstance(event, ReferReceived)
    assert str(event.target) == "sip:1003@192.0.2.1"
    assert event.replaces is False
    assert [m.status for m in h.sent() if isinstance(m, Response)] == []  # the B2BUA decides
    h.ua.answer_refer("ua-1", 202, 0.1)
    [accepted] = h.sent()
    assert isinstance(accepted, Response)
    assert accepted.status == 202
    h.ua.notify_refer("ua-1", 200, "OK", 0.2)
    [notify] = h.sent()
    assert isinstance(notify, Request)
    assert notify.method == "NOTIFY"
    assert notify.get("Event") == "refer"
    assert notify.get("Subscription-State") == "terminated;reason=noresource"
    assert notify.get("Content-Type") == "message/sipfrag;version=2.0"
    assert notify.body == b"SIP/2.0 200 OK\r\n"
    assert notify.cseq.number == 1  # our first request in this dialog
    # The phone answers the NOTIFY; that changes nothing for the call.
    h.endpoint.receive(bytes(make_response(notify, 200)), PEER, "UDP", 0.3)
    assert h.drain() == []
    assert "ua-1" in h.ua.legs


def test_refer_with_replaces_is_flagged_and_can_be_refused() -> None:
    h = connected()
    [event] = h.feed(refer("<sip:1003@192.0.2.1?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2>"))
    assert isinstance(event, ReferReceived)
    assert event.replaces is True
    assert str(event.target) == "sip:1003@192.0.2.1"
    h.ua.answer_refer("ua-1", 403, 0.1, "Attended transfer by REFER not supported")
    [refused] = h.sent()
    assert isinstance(refused, Response)
    assert (refused.status, refused.reason) == (403, "Attended transfer by REFER not supported")
    with pytest.raises(LocalProtocolError):
        h.ua.answer_refer("ua-1", 202, 0.2)  # nothing pending any more


@pytest.mark.parametrize("refer_to", [None, "<tel:+8613800138000>", "<sip:192.0.2.1>", "<<bad"])
def test_refer_without_a_usable_sip_target_gets_400(refer_to: str | None) -> None:
    h = connected()
    assert h.feed(refer(refer_to)) == []
    [response] = h.sent()
    assert isinstance(response, Response)
    assert response.status == 400


def test_a_second_refer_while_one_is_pending_gets_491() -> None:
    h = connected()
    h.feed(refer("<sip:1003@192.0.2.1>"))
    assert h.feed(refer("<sip:1004@192.0.2.1>", cseq=3)) == []
    [response] = h.sent()
    assert isinstance(response, Response)
    assert response.status == 491


def test_an_unanswered_notify_does_not_end_the_call() -> None:
    h = connected()
    h.feed(refer("<sip:1003@192.0.2.1>"))
    h.ua.answer_refer("ua-1", 202, 0.0)
    h.ua.notify_refer("ua-1", 100, "Trying", 0.0, final=False)
    [_, notify] = h.sent()
    assert isinstance(notify, Request)
    assert notify.get("Subscription-State") == "active;expires=60"
    ended = []
    while (deadline := h.endpoint.get_timer()) is not None and deadline <= 40.0:
        h.endpoint.handle_timer(deadline)
        h.now = deadline
        ended.extend(h.drain())
    assert not [e for e in ended if isinstance(e, CallEnded)]
    assert "ua-1" in h.ua.legs
