"""Dialogs (§12): both sides built from one INVITE/200 exchange, in-dialog requests with
route sets, CSeq rules, target refresh, glare and the ACK of a 2xx."""

from __future__ import annotations

import pytest

from hotline.sip.dialog import Dialog, DialogState
from hotline.sip.errors import LocalProtocolError
from hotline.sip.message import Request, make_response, parse_message

INVITE = (
    b"INVITE sip:agent@192.0.2.9 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKinv\r\n"
    b"Record-Route: <sip:p1.example;lr>, <sip:p2.example;lr>\r\n"
    b"From: <sip:caller@example.com>;tag=uac\r\n"
    b"To: <sip:agent@example.com>\r\n"
    b"Call-ID: dlg-1\r\n"
    b"CSeq: 10 INVITE\r\n"
    b"Contact: <sip:caller@192.0.2.1:5060>\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def pair() -> tuple[Dialog, Dialog, Request]:
    invite = parse_message(INVITE)
    assert isinstance(invite, Request)
    ok = make_response(
        invite,
        200,
        to_tag="uas",
        headers=[
            ("Record-Route", "<sip:p1.example;lr>, <sip:p2.example;lr>"),
            ("Contact", "<sip:agent@192.0.2.9:5070>"),
        ],
    )
    return Dialog.for_uac(invite, ok), Dialog.for_uas(invite, ok), invite


def test_both_sides_agree_on_identity_and_routes() -> None:
    uac, uas, _ = pair()
    assert uac.id == ("dlg-1", "uac", "uas")
    assert uas.id == ("dlg-1", "uas", "uac")
    assert uac.state is uas.state is DialogState.CONFIRMED
    assert uac.route_set == ["<sip:p2.example;lr>", "<sip:p1.example;lr>"]
    assert uas.route_set == ["<sip:p1.example;lr>", "<sip:p2.example;lr>"]
    assert str(uac.remote_target) == "sip:agent@192.0.2.9:5070"


def test_in_dialog_request_from_uac_is_accepted_by_uas() -> None:
    uac, uas, _ = pair()
    bye = uac.create_request("BYE")
    assert str(bye.uri) == "sip:agent@192.0.2.9:5070"
    assert bye.get_all("Route") == ["<sip:p2.example;lr>", "<sip:p1.example;lr>"]
    assert bye.cseq.number == 11
    assert uas.matches(bye)
    assert uas.receive_request(bye) is None
    assert uas.state is DialogState.TERMINATED


def test_lower_cseq_is_refused_with_500() -> None:
    uac, uas, _ = pair()
    info = uac.create_request("INFO")
    assert uas.receive_request(info) is None
    assert uas.receive_request(info) == 500


def test_reinvite_refreshes_target_and_glare_gets_491() -> None:
    uac, uas, _ = pair()
    reinvite = uac.create_request("INVITE", headers=[("Contact", "<sip:caller@198.51.100.1:5060>")])
    with pytest.raises(LocalProtocolError):
        uac.create_request("INVITE")  # one re-INVITE at a time
    uas_reinvite = uas.create_request("INVITE")  # both sides re-INVITE at once
    assert uas.receive_request(reinvite) == 491
    assert uac.receive_request(uas_reinvite) == 491
    uac.response_received(reinvite, make_response(reinvite, 491))
    assert uac.pending_reinvite is None
    fresh = Dialog.for_uas(*pair()[2:], make_response(pair()[2], 200, to_tag="uas"))
    second = uac.create_request("INVITE", headers=[("Contact", "<sip:caller@198.51.100.1>")])
    assert fresh.receive_request(second) is None
    assert str(fresh.remote_target) == "sip:caller@198.51.100.1"


def test_ack_for_2xx_keeps_the_invite_cseq_number() -> None:
    uac, _, invite = pair()
    ok = make_response(invite, 200, to_tag="uas")
    ack = uac.ack_for(ok)
    assert ack.method == "ACK"
    assert ack.cseq.number == 10
    assert ack.to.tag == "uas"


def test_strict_router_becomes_request_uri() -> None:
    uac, _, _ = pair()
    uac.route_set = ["<sip:strict.example>", "<sip:p1.example;lr>"]
    request = uac.create_request("OPTIONS")
    assert str(request.uri) == "sip:strict.example"
    assert request.get_all("Route")[-1] == "<sip:agent@192.0.2.9:5070>"


def test_481_terminates() -> None:
    uac, _, _ = pair()
    info = uac.create_request("INFO")
    uac.response_received(info, make_response(info, 481))
    assert uac.state is DialogState.TERMINATED
    with pytest.raises(LocalProtocolError):
        uac.create_request("BYE")


def test_session_expires_is_read() -> None:
    uac, _, _ = pair()
    request = uac.create_request("UPDATE", headers=[("Session-Expires", "1800;refresher=uac")])
    assert uac.session_expires(request) == 1800
