"""Digest authentication: RFC 7616 test vectors, nonce expiry and stale=true, and a client
that answers our own server's challenges."""

from __future__ import annotations

from hotline.sip.auth import (
    AuthStatus,
    DigestAuthenticator,
    DigestParams,
    MemoryCredentialStore,
    NonceKeeper,
    authorization,
    choose_challenge,
    digest_response,
    make_ha1,
)
from hotline.sip.message import Request, parse_message

REGISTER = (
    b"REGISTER sip:hotline.example SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKr1\r\n"
    b"From: <sip:alice@hotline.example>;tag=a\r\n"
    b"To: <sip:alice@hotline.example>\r\n"
    b"Call-ID: reg-1\r\n"
    b"CSeq: 1 REGISTER\r\n"
    b"Contact: <sip:alice@192.0.2.1:5060>\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def register() -> Request:
    message = parse_message(REGISTER)
    assert isinstance(message, Request)
    return message


def test_rfc7616_example_vectors() -> None:
    # RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
    common = {
        "method": "GET",
        "uri": "/dir/index.html",
        "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        "qop": "auth",
        "nc": "00000001",
        "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    }
    realm = "http-auth@example.org"
    md5 = make_ha1("Mufasa", realm, "Circle of Life", "MD5")
    sha = make_ha1("Mufasa", realm, "Circle of Life", "SHA-256")
    assert digest_response("MD5", md5, **common) == "8ca523f5e9506fed4657c9700eebdbec"
    assert (
        digest_response("SHA-256", sha, **common)
        == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    )


def authenticator(lifetime: float = 300.0) -> DigestAuthenticator:
    store = MemoryCredentialStore()
    store.add_user("alice", "hotline.example", "wonderland")
    return DigestAuthenticator("hotline.example", store, NonceKeeper(b"s3cret", lifetime))


def answer(request: Request, challenge_value: str, password: str) -> Request:
    challenge = DigestParams.parse(challenge_value)
    assert challenge is not None
    request.set(
        "Authorization",
        authorization(
            challenge,
            method=request.method,
            uri=str(request.uri),
            username="alice",
            password=password,
            cnonce="0a4f113b",
        ),
    )
    return request


def test_challenge_offers_sha256_then_md5() -> None:
    values = authenticator().challenges(1000.0)
    assert [DigestParams.parse(v).algorithm for v in values] == ["SHA-256", "MD5"]  # type: ignore[union-attr]
    chosen = choose_challenge(values)
    assert chosen is not None
    assert chosen.algorithm == "SHA-256"
    assert chosen.get("qop") == "auth"


def test_no_credentials_is_missing() -> None:
    assert authenticator().check(register(), 1000.0).status is AuthStatus.MISSING


def test_right_password_passes_with_each_algorithm() -> None:
    server = authenticator()
    for value in server.challenges(1000.0):
        result = server.check(answer(register(), value, "wonderland"), 1001.0)
        assert result.status is AuthStatus.OK
        assert result.username == "alice"


def test_wrong_password_and_unknown_user_look_alike() -> None:
    server = authenticator()
    value = server.challenges(1000.0)[0]
    assert server.check(answer(register(), value, "nope"), 1001.0).status is AuthStatus.FAILED
    challenge = DigestParams.parse(value)
    assert challenge is not None
    stranger = register()
    stranger.set(
        "Authorization",
        authorization(
            challenge,
            method="REGISTER",
            uri=str(stranger.uri),
            username="mallory",
            password="x",
            cnonce="1",
        ),
    )
    assert server.check(stranger, 1001.0).status is AuthStatus.FAILED


def test_expired_nonce_is_stale_only_when_digest_is_right() -> None:
    server = authenticator(lifetime=30.0)
    value = server.challenges(1000.0)[0]
    assert server.check(answer(register(), value, "wonderland"), 1029.0).status is AuthStatus.OK
    assert server.check(answer(register(), value, "wonderland"), 1031.0).status is AuthStatus.STALE
    assert server.check(answer(register(), value, "bad"), 1031.0).status is AuthStatus.FAILED
    assert "stale=true" in server.challenges(1031.0, stale=True)[0]


def test_forged_nonce_fails() -> None:
    server = authenticator()
    value = server.challenges(1000.0)[0].replace('nonce="', 'nonce="1')
    assert server.check(answer(register(), value, "wonderland"), 1001.0).status is AuthStatus.FAILED


def test_tampered_uri_fails() -> None:
    server = authenticator()
    request = answer(register(), server.challenges(1000.0)[1], "wonderland")
    request.method = "INVITE"  # the digest covered REGISTER
    assert server.check(request, 1001.0).status is AuthStatus.FAILED
