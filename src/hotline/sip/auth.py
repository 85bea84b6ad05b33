"""Digest access authentication for SIP (RFC 3261 §22, RFC 7616 algorithms, RFC 8760 for SIP).

Server side: stateless nonces (a timestamp and an HMAC over it with the node's secret), so
that any node holding the secret can check them and a restart loses nothing; a nonce past its
lifetime whose digest is otherwise right gets ``stale=true`` so the phone retries silently.
Passwords are never stored: a :class:`CredentialStore` gives the HA1 for each algorithm.
Unknown users and wrong passwords look alike to the caller (no extension enumeration).

Client side: :func:`authorization` answers a 401/407 challenge, for trunks that authenticate
us. Everything takes ``now`` and caller-chosen randomness (``cnonce``); nothing reads a clock.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from hotline.sip import grammar
from hotline.sip.headers import quote_string, unquote_string
from hotline.sip.message import Request, Response

#: RFC 8760 §2.3: SHA-256 first, MD5 kept for old phones. Names as in the IANA registry.
ALGORITHMS = {"SHA-256": hashlib.sha256, "MD5": hashlib.md5}

# auth-param = auth-param-name EQUAL ( token / quoted-string )   (§25.1 digest-response)
_AUTH_PARAM_RE = re.compile(rf"\s*({grammar.TOKEN})\s*=\s*({grammar.QUOTED_STRING}|[^\s,]+)\s*,?")


def _h(algorithm: str, data: str) -> str:
    return ALGORITHMS[algorithm](data.encode("utf-8")).hexdigest()


def make_ha1(username: str, realm: str, password: str, algorithm: str = "MD5") -> str:
    """HA1 = H(username ":" realm ":" password): what we store instead of the password."""
    return _h(algorithm, f"{username}:{realm}:{password}")


def make_ha1s(username: str, realm: str, password: str) -> dict[str, str]:
    """The HA1 of every supported algorithm, computed once when the password is set."""
    return {alg: make_ha1(username, realm, password, alg) for alg in ALGORITHMS}


@dataclass(frozen=True)
class DigestParams:
    """The parameters of a ``Digest`` challenge or credentials, names lower-cased, values
    unquoted."""

    params: Mapping[str, str]

    @classmethod
    def parse(cls, value: str) -> DigestParams | None:
        """Parse ``Digest k=v, ...``; None when the scheme is not Digest or it is malformed."""
        scheme, _, rest = value.strip().partition(" ")
        if scheme.lower() != "digest":
            return None
        params: dict[str, str] = {}
        position = 0
        rest = rest.strip()
        while position < len(rest):
            match = _AUTH_PARAM_RE.match(rest, position)
            if match is None:
                return None
            params[match.group(1).lower()] = unquote_string(match.group(2))
            position = match.end()
        return cls(params)

    def get(self, name: str, default: str = "") -> str:
        return self.params.get(name, default)

    @property
    def algorithm(self) -> str:
        return self.params.get("algorithm", "MD5").upper()


class CredentialStore(Protocol):
    """Where HA1s live (a dict now, the users table later)."""

    def ha1(self, username: str, realm: str, algorithm: str) -> str | None: ...


@dataclass
class MemoryCredentialStore:
    """HA1s in a dict: for the demo, tests and as the reference behaviour."""

    entries: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def add_user(self, username: str, realm: str, password: str) -> None:
        self.entries[(username, realm)] = make_ha1s(username, realm, password)

    def ha1(self, username: str, realm: str, algorithm: str) -> str | None:
        return self.entries.get((username, realm), {}).get(algorithm)


@dataclass
class AccountCredentials:
    """The phone accounts of one realm, replaced whole when the directory changes.

    ``replace`` swaps the table in one assignment, so a REGISTER is checked against the old
    accounts or the new ones, never a mix; an account no longer listed fails like an
    unknown user (its bindings are left to expire: the registrar does not drop them).
    """

    realm: str
    accounts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def replace(self, accounts: Mapping[str, Mapping[str, str]]) -> None:
        self.accounts = {user: dict(ha1s) for user, ha1s in accounts.items()}

    def ha1(self, username: str, realm: str, algorithm: str) -> str | None:
        if realm != self.realm:
            return None
        return self.accounts.get(username, {}).get(algorithm)


class AuthStatus(enum.Enum):
    OK = "ok"
    MISSING = "missing"  # no credentials for our realm: challenge
    STALE = "stale"  # right digest, expired nonce: challenge with stale=true
    FAILED = "failed"  # wrong password, unknown user, bad nonce: challenge again (or 403)


@dataclass(frozen=True)
class AuthResult:
    status: AuthStatus
    username: str | None = None


@dataclass
class NonceKeeper:
    """Issues and checks stateless nonces: ``<ms timestamp hex>.<HMAC-SHA-256 prefix>``."""

    secret: bytes
    lifetime: float = 300.0

    def issue(self, now: float) -> str:
        stamp = format(int(now * 1000), "x")
        return f"{stamp}.{self._mac(stamp)}"

    def check(self, nonce: str, now: float) -> AuthStatus:
        stamp, dot, mac = nonce.partition(".")
        if not dot or not hmac.compare_digest(mac, self._mac(stamp)):
            return AuthStatus.FAILED
        try:
            issued = int(stamp, 16) / 1000
        except ValueError:
            return AuthStatus.FAILED
        if issued > now + 1 or now - issued > self.lifetime:
            return AuthStatus.STALE
        return AuthStatus.OK

    def _mac(self, stamp: str) -> str:
        return hmac.new(self.secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]


@dataclass
class DigestAuthenticator:
    """Challenges requests and checks their credentials for one realm."""

    realm: str
    credentials: CredentialStore
    nonces: NonceKeeper
    algorithms: tuple[str, ...] = ("SHA-256", "MD5")

    def challenges(self, now: float, *, stale: bool = False) -> list[str]:
        """``WWW-Authenticate``/``Proxy-Authenticate`` values, one per algorithm, best first."""
        nonce = self.nonces.issue(now)
        values = []
        for algorithm in self.algorithms:
            value = (
                f"Digest realm={quote_string(self.realm)}, nonce={quote_string(nonce)}, "
                f'algorithm={algorithm}, qop="auth"'
            )
            if stale:
                value += ", stale=true"
            values.append(value)
        return values

    def check(self, request: Request, now: float, header: str = "Authorization") -> AuthResult:
        for value in request.get_all(header):
            credentials = DigestParams.parse(value)
            if credentials is None or credentials.get("realm") != self.realm:
                continue
            return self._check_credentials(request, credentials, now)
        return AuthResult(AuthStatus.MISSING)

    def _check_credentials(
        self, request: Request, credentials: DigestParams, now: float
    ) -> AuthResult:
        username = credentials.get("username")
        algorithm = credentials.algorithm
        if algorithm not in self.algorithms:
            return AuthResult(AuthStatus.FAILED, username)
        ha1 = self.credentials.ha1(username, self.realm, algorithm)
        if ha1 is None:
            return AuthResult(AuthStatus.FAILED, username)
        expected = digest_response(
            algorithm,
            ha1,
            method=request.method,
            uri=credentials.get("uri"),
            nonce=credentials.get("nonce"),
            qop=credentials.get("qop") or None,
            nc=credentials.get("nc"),
            cnonce=credentials.get("cnonce"),
        )
        if not hmac.compare_digest(expected, credentials.get("response").lower()):
            return AuthResult(AuthStatus.FAILED, username)
        nonce_status = self.nonces.check(credentials.get("nonce"), now)
        return AuthResult(nonce_status, username)


def digest_response(
    algorithm: str,
    ha1: str,
    *,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None,
    nc: str = "",
    cnonce: str = "",
) -> str:
    """``response`` of RFC 7616 §3.4.1: KD(HA1, nonce:nc:cnonce:qop:HA2), or the RFC 2069
    form when the challenge had no qop."""
    ha2 = _h(algorithm, f"{method}:{uri}")
    if qop:
        return _h(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _h(algorithm, f"{ha1}:{nonce}:{ha2}")


def choose_challenge(values: list[str]) -> DigestParams | None:
    """The challenge to answer among several: the strongest algorithm we support."""
    parsed = [p for p in (DigestParams.parse(v) for v in values) if p is not None]
    supported = [p for p in parsed if p.algorithm in ALGORITHMS]
    supported.sort(key=lambda p: list(ALGORITHMS).index(p.algorithm))
    return supported[0] if supported else None


def authorization(
    challenge: DigestParams,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str,
    nc: int = 1,
) -> str:
    """The ``Authorization``/``Proxy-Authorization`` value answering ``challenge``."""
    algorithm = challenge.algorithm
    realm = challenge.get("realm")
    nonce = challenge.get("nonce")
    qops = [q.strip() for q in challenge.get("qop").split(",") if q.strip()]
    qop = "auth" if "auth" in qops else None
    nc_text = f"{nc:08x}"
    ha1 = make_ha1(username, realm, password, algorithm)
    response = digest_response(
        algorithm,
        ha1,
        method=method,
        uri=uri,
        nonce=nonce,
        qop=qop,
        nc=nc_text if qop else "",
        cnonce=cnonce if qop else "",
    )
    parts = [
        f"username={quote_string(username)}",
        f"realm={quote_string(realm)}",
        f"nonce={quote_string(nonce)}",
        f"uri={quote_string(uri)}",
        f"response={quote_string(response)}",
        f"algorithm={algorithm}",
    ]
    if qop:
        parts += [f"qop={qop}", f"nc={nc_text}", f"cnonce={quote_string(cnonce)}"]
    if "opaque" in challenge.params:
        parts.append(f"opaque={quote_string(challenge.get('opaque'))}")
    return "Digest " + ", ".join(parts)


def retry_with_credentials(
    request: Request,
    challenge_response: Response,
    *,
    username: str,
    password: str,
    cnonce: str,
) -> Request | None:
    """The request to send after a 401/407 (§22.2): same Call-ID and tags, CSeq + 1, no
    Via (the endpoint adds one with a new branch), and credentials answering the strongest
    challenge we support. None when there is nothing we can answer, or when the challenge
    is not stale and these credentials were already refused (avoids a loop)."""
    status = challenge_response.status
    if status not in (401, 407):
        return None
    challenge_header, answer_header = (
        ("WWW-Authenticate", "Authorization")
        if status == 401
        else ("Proxy-Authenticate", "Proxy-Authorization")
    )
    challenge = choose_challenge(challenge_response.get_all(challenge_header))
    if challenge is None:
        return None
    realm = challenge.get("realm")
    stale = challenge.get("stale").lower() == "true"
    for value in request.get_all(answer_header):
        sent = DigestParams.parse(value)
        if sent is not None and sent.get("realm") == realm and not stale:
            return None  # we already answered this realm and were refused
    headers = [
        (name, value)
        for name, value in request.headers
        if name not in ("Via", "CSeq", answer_header)
    ]
    headers.append(("CSeq", f"{request.cseq.number + 1} {request.method}"))
    uri = str(request.uri)
    headers.append(
        (
            answer_header,
            authorization(
                challenge,
                method=request.method,
                uri=uri,
                username=username,
                password=password,
                cnonce=cnonce,
            ),
        )
    )
    return Request(headers=headers, body=request.body, method=request.method, uri=request.uri)
