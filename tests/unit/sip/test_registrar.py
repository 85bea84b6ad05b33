"""Registrar (§10.3) with digest auth, several contacts, ``*``, 423 and persistence."""

from __future__ import annotations

from pathlib import Path

from hotline.sip.auth import (
    DigestAuthenticator,
    DigestParams,
    MemoryCredentialStore,
    NonceKeeper,
    authorization,
)
from hotline.sip.message import Request, Response, parse_message
from hotline.sip.registrar import MemoryBindingStore, Registrar
from hotline.transport.sip_bindings import JsonFileBindingStore

AOR = "sip:alice@hotline.example"


def register(contact: str | None, expires: str | None = None, cseq: int = 1) -> Request:
    lines = [
        "REGISTER sip:hotline.example SIP/2.0",
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKr",
        "From: <sip:alice@hotline.example>;tag=a",
        "To: <sip:alice@hotline.example>",
        "Call-ID: reg-call",
        f"CSeq: {cseq} REGISTER",
    ]
    if contact is not None:
        lines.append(f"Contact: {contact}")
    if expires is not None:
        lines.append(f"Expires: {expires}")
    message = parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


def test_several_contacts_query_and_expiry() -> None:
    registrar = Registrar(MemoryBindingStore())
    response = registrar.handle(
        register("<sip:a@192.0.2.1>;expires=120, <sip:a@192.0.2.2>;q=0.5"), 1000.0
    )
    assert response.status == 200
    assert len(response.get_all("Contact")) == 2
    assert [b.contact for b in registrar.lookup(AOR, 1000.0)] == [
        "sip:a@192.0.2.1",
        "sip:a@192.0.2.2",
    ]
    query = registrar.handle(register(None, cseq=2), 1001.0)
    assert len(query.get_all("Contact")) == 2
    assert [b.contact for b in registrar.lookup(AOR, 1121.0)] == ["sip:a@192.0.2.2"]


def test_expires_zero_removes_one_and_star_removes_all() -> None:
    registrar = Registrar(MemoryBindingStore())
    registrar.handle(register("<sip:a@192.0.2.1>, <sip:a@192.0.2.2>"), 0.0)
    registrar.handle(register("<sip:a@192.0.2.1>;expires=0", cseq=2), 1.0)
    assert [b.contact for b in registrar.lookup(AOR, 2.0)] == ["sip:a@192.0.2.2"]
    assert registrar.handle(register("*", cseq=3), 2.0).status == 400  # needs Expires: 0
    assert registrar.handle(register("*", "0", cseq=4), 2.0).status == 200
    assert registrar.lookup(AOR, 3.0) == []


def test_too_brief_gets_423_with_min_expires() -> None:
    registrar = Registrar(MemoryBindingStore(), min_expires=60)
    response = registrar.handle(register("<sip:a@192.0.2.1>", "30"), 0.0)
    assert response.status == 423
    assert response.get("Min-Expires") == "60"


def test_out_of_order_cseq_is_refused() -> None:
    registrar = Registrar(MemoryBindingStore())
    registrar.handle(register("<sip:a@192.0.2.1>", cseq=5), 0.0)
    assert registrar.handle(register("<sip:a@192.0.2.1>", cseq=4), 1.0).status == 400


def test_digest_protected_registration() -> None:
    credentials = MemoryCredentialStore()
    credentials.add_user("alice", "hotline.example", "wonderland")
    credentials.add_user("bob", "hotline.example", "builder")
    authenticator = DigestAuthenticator("hotline.example", credentials, NonceKeeper(b"k"))
    registrar = Registrar(MemoryBindingStore(), authenticator)
    challenge = registrar.handle(register("<sip:a@192.0.2.1>"), 0.0)
    assert challenge.status == 401
    assert registrar.lookup(AOR, 0.0) == []

    def signed(user: str, password: str, response: Response) -> Request:
        params = DigestParams.parse(response.get_all("WWW-Authenticate")[0])
        assert params is not None
        request = register("<sip:a@192.0.2.1>", cseq=2)
        request.set(
            "Authorization",
            authorization(
                params,
                method="REGISTER",
                uri=str(request.uri),
                username=user,
                password=password,
                cnonce="c",
            ),
        )
        return request

    assert registrar.handle(signed("alice", "wrong", challenge), 1.0).status == 401
    assert registrar.handle(signed("bob", "builder", challenge), 1.0).status == 403
    assert registrar.handle(signed("alice", "wonderland", challenge), 1.0).status == 200
    assert len(registrar.lookup(AOR, 1.0)) == 1


def test_bindings_survive_a_restart_in_the_json_file(tmp_path: Path) -> None:
    path = tmp_path / "bindings.json"
    Registrar(JsonFileBindingStore(path)).handle(register("<sip:a@192.0.2.1>", "600"), 100.0)
    reborn = Registrar(JsonFileBindingStore(path))
    [binding] = reborn.lookup(AOR, 200.0)
    assert binding.contact == "sip:a@192.0.2.1"
    assert binding.expires_at == 700.0
    assert reborn.lookup(AOR, 701.0) == []


def test_unreadable_bindings_file_starts_empty(tmp_path: Path) -> None:
    path = tmp_path / "bindings.json"
    path.write_text("{not json")
    assert JsonFileBindingStore(path).all() == {}


def test_client_retries_a_401_through_two_endpoints() -> None:
    """Our UAC side (a trunk authenticating us) against our registrar, all in memory."""
    from hotline.sip.auth import retry_with_credentials
    from hotline.sip.endpoint import SipEndpoint
    from hotline.sip.events import RequestReceived, ResponseReceived
    from hotline.sip.uri import Uri

    credentials = MemoryCredentialStore()
    credentials.add_user("trunk", "carrier", "s3cret")
    registrar = Registrar(
        MemoryBindingStore(),
        DigestAuthenticator("carrier", credentials, NonceKeeper(b"k"), ("SHA-256", "MD5")),
    )
    client = SipEndpoint(sent_by={"UDP": ("192.0.2.1", 5060)})
    server = SipEndpoint(sent_by={"UDP": ("192.0.2.9", 5060)})

    def exchange(now: float) -> list[Response]:
        responses: list[Response] = []
        for _ in range(4):
            for out in client.take_outgoing():
                server.receive(out.data, ("192.0.2.1", 5060), "UDP", now)
            while (event := server.next_event()) is not None:
                assert isinstance(event, RequestReceived)
                server.respond(event.transaction_id, registrar.handle(event.request, now), now)
            for out in server.take_outgoing():
                client.receive(out.data, ("192.0.2.9", 5060), "UDP", now)
            while (event := client.next_event()) is not None:
                assert isinstance(event, ResponseReceived)
                responses.append(event.response)
        return responses

    request = Request(
        headers=[
            ("From", "<sip:trunk@carrier>;tag=t"),
            ("To", "<sip:trunk@carrier>"),
            ("Call-ID", "trunk-reg"),
            ("CSeq", "1 REGISTER"),
            ("Contact", "<sip:trunk@192.0.2.1:5060>"),
        ],
        method="REGISTER",
        uri=Uri.parse("sip:carrier"),
    )
    client.send_request(request, ("192.0.2.9", 5060), "UDP", 0.0)
    [challenge] = exchange(0.0)
    assert challenge.status == 401
    retry = retry_with_credentials(
        request, challenge, username="trunk", password="s3cret", cnonce="abc"
    )
    assert retry is not None
    assert retry.cseq.number == 2
    assert "algorithm=SHA-256" in (retry.get("Authorization") or "")
    client.send_request(retry, ("192.0.2.9", 5060), "UDP", 1.0)
    [ok] = exchange(1.0)
    assert ok.status == 200
    assert (
        retry_with_credentials(retry, challenge, username="trunk", password="x", cnonce="c") is None
    )
