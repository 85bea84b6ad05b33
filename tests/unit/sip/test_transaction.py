"""Transactions with an explicit clock: exact retransmission instants, timeouts and the
absorption of late retransmissions, through the endpoint as a transport would drive it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.sip.endpoint import Outgoing, SipEndpoint
from hotline.sip.events import (
    AckReceived,
    CancelReceived,
    Event,
    MessageRejected,
    RequestReceived,
    ResponseReceived,
    TransactionTimedOut,
)
from hotline.sip.message import Request, Response, make_response, parse_message
from hotline.sip.transaction import (
    TRANSITIONS,
    ClientTransaction,
    Kind,
    ServerTransaction,
    State,
    transitions_as_text,
)
from hotline.sip.uri import Uri

PEER = ("192.0.2.50", 5070)


def endpoint() -> SipEndpoint:
    counter = iter(range(10**6))
    return SipEndpoint(
        sent_by={"UDP": ("192.0.2.1", 5060), "TCP": ("192.0.2.1", 5060)},
        make_token=lambda: f"t{next(counter)}",
    )


def events(ep: SipEndpoint) -> list[Event]:
    out = []
    while (event := ep.next_event()) is not None:
        out.append(event)
    return out


def run_timers(ep: SipEndpoint, until: float) -> list[tuple[float, Outgoing]]:
    """Step the clock from timer to timer, collecting what was sent at each instant."""
    sent: list[tuple[float, Outgoing]] = []
    while (deadline := ep.get_timer()) is not None and deadline <= until:
        ep.handle_timer(deadline)
        sent.extend((deadline, out) for out in ep.take_outgoing())
    return sent


def new_request(method: str, branch: str = "z9hG4bKabc", cseq: int = 1) -> bytes:
    return (
        f"{method} sip:uas@192.0.2.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 192.0.2.50:5070;branch={branch};rport\r\n"
        "From: <sip:uac@192.0.2.50>;tag=f1\r\n"
        "To: <sip:uas@192.0.2.1>\r\n"
        "Call-ID: call-1\r\n"
        f"CSeq: {cseq} {method}\r\n"
        "Max-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def outgoing_request(method: str) -> Request:
    return Request(
        headers=[
            ("From", "<sip:uas@192.0.2.1>;tag=x"),
            ("To", "<sip:peer@192.0.2.50>"),
            ("Call-ID", "out-1"),
            ("CSeq", f"1 {method}"),
            ("Max-Forwards", "70"),
        ],
        method=method,
        uri=Uri.parse("sip:peer@192.0.2.50:5070"),
    )


def test_table_is_complete_for_every_kind() -> None:
    kinds = {kind for kind, _, _ in TRANSITIONS}
    assert kinds == set(Kind)
    assert "invite server: Completed --ACK--> Confirmed" in transitions_as_text()


def test_invite_client_timer_a_doubles_without_cap_until_timer_b() -> None:
    ep = endpoint()
    ep.send_request(outgoing_request("INVITE"), PEER, "UDP", 100.0)
    assert len(ep.take_outgoing()) == 1
    sent = run_timers(ep, 200.0)
    instants = [round(t - 100.0, 3) for t, _ in sent]
    # Timer A: 0.5, 1, 2, 4, 8, 16 s after the previous send; Timer B at 64*T1 = 32 s.
    assert instants == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    timeouts = [e for e in events(ep) if isinstance(e, TransactionTimedOut)]
    assert len(timeouts) == 1
    assert ep.transaction_count == 0


def test_non_invite_client_timer_e_caps_at_t2_and_timer_f_fires_at_32s() -> None:
    ep = endpoint()
    ep.send_request(outgoing_request("OPTIONS"), PEER, "UDP", 0.0)
    ep.take_outgoing()
    instants = [t for t, _ in run_timers(ep, 100.0)]
    assert instants == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert any(isinstance(e, TransactionTimedOut) for e in events(ep))


def test_no_retransmissions_over_tcp() -> None:
    ep = endpoint()
    ep.send_request(outgoing_request("OPTIONS"), PEER, "TCP", 0.0)
    assert len(ep.take_outgoing()) == 1
    assert run_timers(ep, 100.0) == []
    assert any(isinstance(e, TransactionTimedOut) for e in events(ep))


def response_to(out: Outgoing, status: int) -> bytes:
    request = parse_message(out.data)
    assert isinstance(request, Request)
    return bytes(make_response(request, status, to_tag="peer"))


def test_non_invite_client_timer_k_absorbs_retransmitted_final() -> None:
    ep = endpoint()
    ep.send_request(outgoing_request("OPTIONS"), PEER, "UDP", 0.0)
    [first] = ep.take_outgoing()
    ep.receive(response_to(first, 200), PEER, "UDP", 0.2)
    assert [type(e) for e in events(ep)] == [ResponseReceived]
    ep.receive(response_to(first, 200), PEER, "UDP", 1.0)  # retransmission: absorbed
    assert events(ep) == []
    assert ep.get_timer() == 0.2 + 5.0  # Timer K = T4
    ep.handle_timer(5.2)
    assert ep.transaction_count == 0


def test_invite_client_acks_non_2xx_and_timer_d_absorbs() -> None:
    ep = endpoint()
    ep.send_request(outgoing_request("INVITE"), PEER, "UDP", 0.0)
    [invite] = ep.take_outgoing()
    ep.receive(response_to(invite, 100), PEER, "UDP", 0.1)
    assert run_timers(ep, 0.4) == []  # 1xx stops Timer A
    ep.receive(response_to(invite, 486), PEER, "UDP", 1.0)
    [ack] = ep.take_outgoing()
    ack_message = parse_message(ack.data)
    assert isinstance(ack_message, Request)
    assert ack_message.method == "ACK"
    assert ack_message.top_via.branch == parse_message(invite.data).top_via.branch
    assert ack_message.to.tag == "peer"
    assert [e.response.status for e in events(ep) if isinstance(e, ResponseReceived)] == [100, 486]
    ep.receive(response_to(invite, 486), PEER, "UDP", 2.0)
    assert len(ep.take_outgoing()) == 1  # the ACK again, not a second 486 upwards
    assert events(ep) == []
    assert ep.get_timer() == 1.0 + 32.0  # Timer D
    ep.handle_timer(33.0)
    assert ep.transaction_count == 0


def test_server_answers_100_and_retransmits_final_on_request_retransmission() -> None:
    ep = endpoint()
    ep.receive(new_request("INVITE"), PEER, "UDP", 0.0)
    [trying] = ep.take_outgoing()
    assert parse_message(trying.data).status == 100  # type: ignore[union-attr]
    assert trying.destination == PEER
    [event] = events(ep)
    assert isinstance(event, RequestReceived)
    ep.receive(new_request("INVITE"), PEER, "UDP", 0.3)  # retransmission
    assert [parse_message(o.data).status for o in ep.take_outgoing()] == [100]  # type: ignore[union-attr]
    assert events(ep) == []
    ep.respond(event.transaction_id, make_response(event.request, 480, to_tag="s"), 1.0)
    assert len(ep.take_outgoing()) == 1
    # Timer G: 0.5, 1, 2, 4, 4, ... until Timer H at 64*T1.
    instants = [round(t - 1.0, 3) for t, _ in run_timers(ep, 10.0)]
    assert instants == [0.5, 1.5, 3.5, 7.5]


def test_invite_server_ack_stops_timer_g_and_timer_i_absorbs_acks() -> None:
    ep = endpoint()
    ep.receive(new_request("INVITE"), PEER, "UDP", 0.0)
    ep.take_outgoing()
    [event] = events(ep)
    assert isinstance(event, RequestReceived)
    ep.respond(event.transaction_id, make_response(event.request, 486, to_tag="s"), 0.0)
    ep.take_outgoing()
    ack = new_request("ACK").replace(b"To: <sip:uas@192.0.2.1>", b"To: <sip:uas@192.0.2.1>;tag=s")
    ep.receive(ack, PEER, "UDP", 0.2)
    assert events(ep) == []  # the ACK of a non-2xx belongs to the transaction
    assert run_timers(ep, 5.1) == []
    ep.receive(ack, PEER, "UDP", 5.15)  # absorbed by Timer I (T4 = 5 s from 0.2)
    assert ep.take_outgoing() == []
    ep.handle_timer(5.2)
    assert ep.transaction_count == 0


def test_timer_h_reports_missing_ack() -> None:
    ep = endpoint()
    ep.receive(new_request("INVITE"), PEER, "UDP", 0.0)
    [event] = events(ep)
    assert isinstance(event, RequestReceived)
    ep.respond(event.transaction_id, make_response(event.request, 486, to_tag="s"), 0.0)
    run_timers(ep, 40.0)
    assert [type(e) for e in events(ep)] == [TransactionTimedOut]


def test_2xx_to_invite_is_retransmitted_until_ack() -> None:
    ep = endpoint()
    ep.receive(new_request("INVITE"), PEER, "UDP", 0.0)
    [event] = events(ep)
    assert isinstance(event, RequestReceived)
    ep.take_outgoing()
    ep.respond(event.transaction_id, make_response(event.request, 200, to_tag="s"), 0.0)
    ep.take_outgoing()
    sent = run_timers(ep, 1.6)
    assert [t for t, _ in sent] == [0.5, 1.5]
    assert all(parse_message(o.data).status == 200 for _, o in sent)  # type: ignore[union-attr]
    ack = new_request("ACK", branch="z9hG4bKack").replace(
        b"To: <sip:uas@192.0.2.1>", b"To: <sip:uas@192.0.2.1>;tag=s"
    )
    ep.receive(ack, PEER, "UDP", 2.0)
    assert [type(e) for e in events(ep)] == [AckReceived]
    assert [o for _, o in run_timers(ep, 10.0)] == []
    ep.receive(new_request("INVITE"), PEER, "UDP", 3.0)  # Accepted absorbs retransmissions
    assert ep.take_outgoing() == []
    assert events(ep) == []


def test_non_invite_server_timer_j_absorbs_retransmissions() -> None:
    ep = endpoint()
    ep.receive(new_request("OPTIONS"), PEER, "UDP", 0.0)
    [event] = events(ep)
    assert isinstance(event, RequestReceived)
    assert ep.take_outgoing() == []  # no 100 for non-INVITE
    ep.respond(event.transaction_id, make_response(event.request, 200), 0.0)
    assert len(ep.take_outgoing()) == 1
    ep.receive(new_request("OPTIONS"), PEER, "UDP", 10.0)
    assert len(ep.take_outgoing()) == 1  # the same 200 again
    assert events(ep) == []
    assert ep.get_timer() == 32.0  # Timer J = 64*T1
    ep.handle_timer(32.0)
    assert ep.transaction_count == 0


def test_cancel_matches_pending_invite() -> None:
    ep = endpoint()
    ep.receive(new_request("INVITE"), PEER, "UDP", 0.0)
    [invite] = events(ep)
    ep.take_outgoing()
    ep.receive(new_request("CANCEL"), PEER, "UDP", 0.5)
    [cancel_ok] = ep.take_outgoing()
    assert parse_message(cancel_ok.data).status == 200  # type: ignore[union-attr]
    [cancelled] = events(ep)
    assert isinstance(cancelled, CancelReceived)
    assert isinstance(invite, RequestReceived)
    assert cancelled.invite_transaction_id == invite.transaction_id
    ep.respond(invite.transaction_id, make_response(invite.request, 487, to_tag="s"), 0.6)
    assert parse_message(ep.take_outgoing()[0].data).status == 487  # type: ignore[union-attr]


def test_cancel_without_invite_gets_481() -> None:
    ep = endpoint()
    ep.receive(new_request("CANCEL"), PEER, "UDP", 0.0)
    assert parse_message(ep.take_outgoing()[0].data).status == 481  # type: ignore[union-attr]


def test_received_and_rport_are_stamped_and_used() -> None:
    ep = endpoint()
    ep.receive(new_request("OPTIONS"), ("198.51.100.7", 40000), "UDP", 0.0)
    [event] = events(ep)
    assert isinstance(event, RequestReceived)
    via = event.request.top_via
    assert via.received == "198.51.100.7"
    assert via.rport == 40000
    ep.respond(event.transaction_id, make_response(event.request, 200), 0.0)
    [out] = ep.take_outgoing()
    assert out.destination == ("198.51.100.7", 40000)
    response = parse_message(out.data)
    assert isinstance(response, Response)
    assert response.top_via.rport == 40000


def test_malformed_request_gets_400_with_reason_and_garbage_is_dropped() -> None:
    ep = endpoint()
    bad = new_request("OPTIONS").replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE")
    ep.receive(bad, PEER, "UDP", 0.0)
    [out] = ep.take_outgoing()
    assert out.data.startswith(b"SIP/2.0 400 CSeq method does not match")
    assert b"Call-ID: call-1" in out.data
    [rejected] = events(ep)
    assert isinstance(rejected, MessageRejected)
    assert rejected.status == 400
    ep.receive(b"\x00\xff garbage", PEER, "UDP", 0.0)
    assert ep.take_outgoing() == []
    assert isinstance(ep.next_event(), MessageRejected)


def test_wrong_version_gets_505() -> None:
    ep = endpoint()
    ep.receive(new_request("OPTIONS").replace(b"SIP/2.0\r\n", b"SIP/3.0\r\n", 1), PEER, "UDP", 0.0)
    assert ep.take_outgoing()[0].data.startswith(b"SIP/2.0 505 ")


def test_large_udp_request_switches_to_tcp() -> None:
    ep = endpoint()
    request = outgoing_request("MESSAGE")
    request.body = b"x" * 1400
    ep.send_request(request, PEER, "UDP", 0.0)
    [out] = ep.take_outgoing()
    assert out.transport == "TCP"
    assert b"SIP/2.0/TCP" in out.data


def test_transaction_objects_directly() -> None:
    request = parse_message(new_request("OPTIONS"))
    assert isinstance(request, Request)
    server = ServerTransaction.start(request, reliable=True)
    server.send_response(make_response(request, 200), 0.0)
    assert server.deadlines == {"J": 0.0}
    server.handle_timer(0.0)
    assert server.state is State.TERMINATED
    client = ClientTransaction.start(request, reliable=False, now=0.0)
    assert set(client.deadlines) == {"E", "F"}


def test_ack_reusing_the_invite_branch_stops_2xx_retransmissions() -> None:
    ep = endpoint()
    ep.receive(new_request("INVITE"), PEER, "UDP", 0.0)
    [event] = events(ep)
    assert isinstance(event, RequestReceived)
    ep.respond(event.transaction_id, make_response(event.request, 200, to_tag="s"), 0.0)
    ep.take_outgoing()
    ack = new_request("ACK").replace(b"To: <sip:uas@192.0.2.1>", b"To: <sip:uas@192.0.2.1>;tag=s")
    ep.receive(ack, PEER, "UDP", 0.2)  # same branch as the INVITE (RFC 6026 §7.1)
    assert [type(e) for e in events(ep)] == [AckReceived]
    assert run_timers(ep, 40.0) == []


def test_bye_stops_2xx_retransmissions_when_the_ack_was_lost() -> None:
    ep = endpoint()
    ep.receive(new_request("INVITE"), PEER, "UDP", 0.0)
    [event] = events(ep)
    assert isinstance(event, RequestReceived)
    ep.respond(event.transaction_id, make_response(event.request, 200, to_tag="s"), 0.0)
    ep.take_outgoing()
    bye = new_request("BYE", branch="z9hG4bKbye", cseq=2)
    ep.receive(bye, PEER, "UDP", 0.2)
    assert [type(e) for e in events(ep)] == [RequestReceived]
    assert run_timers(ep, 40.0) == []


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([b"INVITE", b"OPTIONS", b"ACK", b"CANCEL", b"BYE"]))
def test_endpoint_never_raises_on_garbage(noise: bytes, method: bytes) -> None:
    ep = endpoint()
    valid = new_request(method.decode())
    for data in (
        noise,
        valid[:40] + noise,
        valid.replace(b"\r\n\r\n", b"\r\n" + noise + b"\r\n\r\n"),
    ):
        ep.receive(data, PEER, "UDP", 0.0)
        ep.take_outgoing()
        events(ep)
    ep.handle_timer(100.0)
