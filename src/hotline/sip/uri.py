"""SIP, SIPS and tel URIs (RFC 3261 §19.1, §25.1; RFC 3966), and opaque URIs of other schemes.

Components are kept exactly as written (escapes included), so that a URI serialises back to
the same text and proxies forward what they received; comparison per §19.1.4 is a separate
method because it unescapes and ignores case where the RFC says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from hotline.sip import grammar
from hotline.sip.errors import RemoteProtocolError

Params = tuple[tuple[str, str | None], ...]


@dataclass(frozen=True, slots=True)
class Uri:
    """A parsed URI. For ``sip``/``sips`` every field is used; ``tel`` keeps the number in
    ``user`` and its parameters in ``params``; any other scheme keeps its text in ``opaque``.
    """

    scheme: str
    host: str = ""
    user: str | None = None
    password: str | None = None
    port: int | None = None
    params: Params = ()
    headers: tuple[tuple[str, str], ...] = ()
    opaque: str | None = None

    @classmethod
    def parse(cls, text: str) -> Uri:
        """Parse a URI; raise :class:`RemoteProtocolError` (400) if it is malformed."""
        scheme, colon, rest = text.partition(":")
        if not colon or not grammar.SCHEME_RE.fullmatch(scheme):
            raise RemoteProtocolError(f"Bad URI {text[:40]!r}")
        lowered = scheme.lower()
        if lowered in ("sip", "sips"):
            return _parse_sip(lowered, rest, text)
        if lowered == "tel":
            return _parse_tel(rest, text)
        if not grammar.ABSOLUTE_URI_RE.fullmatch(text):
            raise RemoteProtocolError(f"Bad URI {text[:40]!r}")
        return cls(scheme=lowered, opaque=rest)

    @property
    def is_sip(self) -> bool:
        return self.scheme in ("sip", "sips")

    def param(self, name: str) -> str | None:
        """The value of a URI parameter (names are case-insensitive), or None."""
        name = name.lower()
        for key, value in self.params:
            if key.lower() == name:
                return value
        return None

    def has_param(self, name: str) -> bool:
        name = name.lower()
        return any(key.lower() == name for key, _ in self.params)

    @property
    def transport(self) -> str:
        return (self.param("transport") or "udp").lower()

    def with_params(self, params: Params) -> Uri:
        return Uri(
            self.scheme,
            self.host,
            self.user,
            self.password,
            self.port,
            params,
            self.headers,
            self.opaque,
        )

    def without_headers(self) -> Uri:
        return Uri(self.scheme, self.host, self.user, self.password, self.port, self.params, ())

    def equivalent(self, other: Uri) -> bool:
        """URI comparison of §19.1.4: unescaped user, case-insensitive host and params,
        and a parameter present in only one URI matters only for user, ttl, method, maddr
        and transport."""
        if self.scheme != other.scheme:
            return False
        if not self.is_sip:
            return str(self) == str(other)
        if _unescape(self.user) != _unescape(other.user):
            return False
        if _unescape(self.password) != _unescape(other.password):
            return False
        if self.host.lower() != other.host.lower() or self.port != other.port:
            return False
        mine = {k.lower(): (v or "").lower() for k, v in self.params}
        theirs = {k.lower(): (v or "").lower() for k, v in other.params}
        for key in mine.keys() | theirs.keys():
            if key in mine and key in theirs:
                if mine[key] != theirs[key]:
                    return False
            elif key in ("user", "ttl", "method", "maddr", "transport"):
                return False
        return sorted(self.headers) == sorted(other.headers)

    def __str__(self) -> str:
        if self.opaque is not None:
            return f"{self.scheme}:{self.opaque}"
        parts = [self.scheme, ":"]
        if self.scheme == "tel":
            parts.append(self.user or "")
        else:
            if self.user is not None:
                parts.append(self.user)
                if self.password is not None:
                    parts += [":", self.password]
                parts.append("@")
            parts.append(self.host)
            if self.port is not None:
                parts += [":", str(self.port)]
        for name, value in self.params:
            parts += [";", name] if value is None else [";", name, "=", value]
        if self.headers:
            parts.append("?")
            parts.append("&".join(f"{name}={value}" for name, value in self.headers))
        return "".join(parts)


def _unescape(value: str | None) -> str | None:
    return None if value is None else unquote(value)


def _parse_sip(scheme: str, rest: str, text: str) -> Uri:
    # The userinfo may itself hold ";" "?" and ":" (user-unreserved, password), never an
    # unescaped "@", so the last "@" ends it (RFC 4475 intmeth, semiuri).
    user: str | None = None
    password: str | None = None
    if "@" in rest:
        userinfo, _, rest = rest.rpartition("@")
        user, colon, pw = userinfo.partition(":")
        if not grammar.USER_RE.fullmatch(user):
            raise RemoteProtocolError(f"Bad user part in URI {text[:40]!r}")
        if colon:
            if not grammar.PASSWORD_RE.fullmatch(pw):
                raise RemoteProtocolError(f"Bad password in URI {text[:40]!r}")
            password = pw
    rest, question, header_text = rest.partition("?")
    match = grammar.HOSTPORT_RE.match(rest)
    if match is None:
        raise RemoteProtocolError(f"Bad host in URI {text[:40]!r}")
    host = match.group(1)
    port: int | None = None
    if match.group(2) is not None:
        port = int(match.group(2))
        if port > 65535:
            raise RemoteProtocolError(f"Bad port in URI {text[:40]!r}")
    params: list[tuple[str, str | None]] = []
    position = match.end()
    while position < len(rest):
        param = grammar.URI_PARAM_RE.match(rest, position)
        if param is None:
            raise RemoteProtocolError(f"Bad URI parameter in {text[:40]!r}")
        params.append((param.group(1), param.group(2)))
        position = param.end()
    headers: list[tuple[str, str]] = []
    if question:
        for item in header_text.split("&"):
            header = grammar.URI_HEADER_RE.fullmatch(item)
            if header is None:
                raise RemoteProtocolError(f"Bad URI header in {text[:40]!r}")
            headers.append((header.group(1), header.group(2)))
    return Uri(scheme, host, user, password, port, tuple(params), tuple(headers))


def _parse_tel(rest: str, text: str) -> Uri:
    number, _, param_text = rest.partition(";")
    if not grammar.TEL_NUMBER_RE.fullmatch(number):
        raise RemoteProtocolError(f"Bad tel URI {text[:40]!r}")
    params: list[tuple[str, str | None]] = []
    if param_text:
        for item in param_text.split(";"):
            name, equal, value = item.partition("=")
            if not grammar.URI_PARAM_RE.fullmatch(";" + item):
                raise RemoteProtocolError(f"Bad tel URI parameter in {text[:40]!r}")
            params.append((name, value if equal else None))
    return Uri("tel", user=number, params=tuple(params))
