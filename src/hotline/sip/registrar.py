"""The registrar of RFC 3261 §10.3: bindings from an address-of-record to contacts.

Pure logic: :meth:`Registrar.handle` takes a REGISTER and ``now`` and returns the response
to send, reading and writing bindings through a :class:`BindingStore` (the store layer will
implement it on the database; a JSON file adapter lives in ``transport``; a dict here).
Bindings carry absolute expiry times so that a restarted node knows which are still valid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from hotline.sip.auth import AuthStatus, DigestAuthenticator
from hotline.sip.errors import RemoteProtocolError
from hotline.sip.message import Request, Response, make_response
from hotline.sip.uri import Uri


@dataclass(frozen=True)
class Binding:
    """One contact of an address-of-record, valid until ``expires_at`` (Unix seconds)."""

    contact: str
    expires_at: float
    call_id: str
    cseq: int
    q: str | None = None
    source: str | None = None  # "transport:host:port" it registered from, for NAT reuse


class BindingStore(Protocol):
    """Where bindings are kept: every method works on one address-of-record."""

    def load(self, aor: str) -> list[Binding]: ...

    def save(self, aor: str, bindings: list[Binding]) -> None: ...

    def all(self) -> dict[str, list[Binding]]: ...


@dataclass
class MemoryBindingStore:
    bindings: dict[str, list[Binding]] = field(default_factory=dict)

    def load(self, aor: str) -> list[Binding]:
        return list(self.bindings.get(aor, []))

    def save(self, aor: str, bindings: list[Binding]) -> None:
        if bindings:
            self.bindings[aor] = list(bindings)
        else:
            self.bindings.pop(aor, None)

    def all(self) -> dict[str, list[Binding]]:
        return {aor: list(b) for aor, b in self.bindings.items()}


def address_of_record(uri: Uri) -> str:
    """The canonical AOR key of §10.3 step 5: ``sip:user@host``, lower-case host."""
    scheme = "sip" if uri.scheme == "sips" else uri.scheme
    if uri.scheme == "tel":
        return f"tel:{uri.user}"
    user = f"{uri.user}@" if uri.user is not None else ""
    return f"{scheme}:{user}{uri.host.lower()}"


@dataclass
class Registrar:
    """REGISTER processing for the domains this node is responsible for."""

    store: BindingStore
    authenticator: DigestAuthenticator | None = None
    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = 3600
    max_contacts: int = 10

    def handle(self, request: Request, now: float, source: str | None = None) -> Response:
        """The final response to a REGISTER (401 challenge, 423, 400, or 200 listing the
        current bindings)."""
        if self.authenticator is not None:
            result = self.authenticator.check(request, now)
            if result.status is not AuthStatus.OK:
                stale = result.status is AuthStatus.STALE
                return make_response(
                    request,
                    401,
                    to_tag="reg",
                    headers=[
                        ("WWW-Authenticate", value)
                        for value in self.authenticator.challenges(now, stale=stale)
                    ],
                )
            to_user = request.to.uri.user if request.to.uri is not None else None
            if result.username != to_user:
                # Credentials for one user may not register another (§10.3 step 3).
                return make_response(request, 403, "Forbidden: wrong user", to_tag="reg")
        to_uri = request.to.uri
        if to_uri is None or to_uri.scheme not in ("sip", "sips"):
            return make_response(request, 404, "Not Found: To must be a SIP URI", to_tag="reg")
        aor = address_of_record(to_uri)
        try:
            bindings = self._apply(aor, request, now, source)
        except RemoteProtocolError as error:
            headers = []
            if error.status == 423:
                headers.append(("Min-Expires", str(self.min_expires)))
            return make_response(request, error.status, error.reason, to_tag="reg", headers=headers)
        headers = [
            ("Contact", f"<{b.contact}>;expires={max(0, int(b.expires_at - now))}")
            for b in bindings
        ]
        return make_response(request, 200, to_tag="reg", headers=headers)

    def lookup(self, aor: str, now: float) -> list[Binding]:
        """Current, unexpired bindings of an AOR, best q first."""
        live = [b for b in self.store.load(aor) if b.expires_at > now]
        return sorted(live, key=lambda b: -float(b.q or "1"))

    def _apply(self, aor: str, request: Request, now: float, source: str | None) -> list[Binding]:
        contacts = request.contacts
        current = [b for b in self.store.load(aor) if b.expires_at > now]
        if not contacts:
            return current  # a query (§10.3 step 6)
        call_id = request.call_id
        cseq = request.cseq.number
        header_expires = request.get("Expires")
        if any(c.wildcard for c in contacts):
            # §10.3 step 6: "*" needs Expires: 0 and removes everything.
            if header_expires != "0":
                raise RemoteProtocolError("Bad Request: Contact * needs Expires: 0")
            self.store.save(aor, [])
            return []
        updated = {b.contact: b for b in current}
        for contact in contacts:
            assert contact.uri is not None
            expires_text = contact.param("expires") or header_expires
            expires = int(expires_text) if expires_text and expires_text.isdigit() else None
            if expires_text is not None and expires is None:
                raise RemoteProtocolError("Bad expires value")
            if expires is None:
                expires = self.default_expires
            if 0 < expires < self.min_expires:
                raise RemoteProtocolError("Interval Too Brief", 423)
            expires = min(expires, self.max_expires)
            key = str(contact.uri)
            existing = updated.get(key)
            if existing is not None and existing.call_id == call_id and existing.cseq >= cseq:
                raise RemoteProtocolError("Bad Request: CSeq out of order")  # §10.3 step 7
            if expires == 0:
                updated.pop(key, None)
                continue
            updated[key] = Binding(key, now + expires, call_id, cseq, contact.param("q"), source)
        if len(updated) > self.max_contacts:
            raise RemoteProtocolError("Too many contacts", 403)
        bindings = list(updated.values())
        self.store.save(aor, bindings)
        return bindings


def expired(bindings: Iterable[Binding], now: float) -> list[Binding]:
    return [b for b in bindings if b.expires_at <= now]
