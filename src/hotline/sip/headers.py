"""Header field names and the structured header values the stack relies on (RFC 3261 §20).

Names: compact forms (§7.3.3) expand to their long names and known names take one spelling,
so lookups are exact dictionary hits. Values: name-addr/addr-spec (From, To, Contact, Route),
Via with branch/received/rport (RFC 3581), CSeq, and the comma-splitting of list headers
that must ignore commas inside quoted strings and angle brackets.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.sip import grammar
from hotline.sip.errors import RemoteProtocolError
from hotline.sip.uri import Params, Uri

# §7.3.3 compact forms, plus RFC 3515 (r), RFC 3891-era (b), RFC 4028 (x), RFC 3841 (j/d/a/u).
COMPACT_FORMS = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}

KNOWN_NAMES = [
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow",
    "Authentication-Info",
    "Authorization",
    "Call-ID",
    "Call-Info",
    "Contact",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Type",
    "CSeq",
    "Date",
    "Error-Info",
    "Expires",
    "From",
    "In-Reply-To",
    "Max-Forwards",
    "Min-Expires",
    "MIME-Version",
    "Organization",
    "Priority",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "Record-Route",
    "Reply-To",
    "Require",
    "Retry-After",
    "Route",
    "Server",
    "Session-Expires",
    "Min-SE",
    "Subject",
    "Supported",
    "Timestamp",
    "To",
    "Unsupported",
    "User-Agent",
    "Via",
    "Warning",
    "WWW-Authenticate",
    "Event",
    "Refer-To",
    "Referred-By",
    "Identity",
    "Allow-Events",
    "Path",
    *COMPACT_FORMS.values(),
]
_CANONICAL = {name.lower(): name for name in KNOWN_NAMES}
_CANONICAL.update({short: long for short, long in COMPACT_FORMS.items()})

#: Headers that may appear once only in a request (§20, "single" in table 2/3).
SINGLE_VALUED = frozenset(
    {
        "Call-ID",
        "CSeq",
        "From",
        "To",
        "Max-Forwards",
        "Content-Length",
        "Content-Type",
        "Expires",
        "Min-Expires",
    }
)

#: Headers whose value is a comma-separated list that we split (§7.3.1).
LIST_HEADERS = frozenset(
    {
        "Via",
        "Contact",
        "Route",
        "Record-Route",
        "Allow",
        "Supported",
        "Require",
        "Proxy-Require",
        "Unsupported",
        "Accept",
        "Path",
    }
)


def canonical_name(name: str) -> str:
    """The one spelling we use for a header name (compact forms expanded)."""
    return _CANONICAL.get(name.lower(), name)


def split_list(value: str) -> list[str]:
    """Split a list header's value at commas outside quotes and ``<...>`` (§7.3.1)."""
    if "," not in value:
        return [value.strip()]
    items: list[str] = []
    start = 0
    in_quotes = False
    in_angle = False
    index = 0
    length = len(value)
    while index < length:
        char = value[index]
        if in_quotes:
            if char == "\\":
                index += 1
            elif char == '"':
                in_quotes = False
        elif char == '"':
            in_quotes = True
        elif char == "<":
            in_angle = True
        elif char == ">":
            in_angle = False
        elif char == "," and not in_angle:
            items.append(value[start:index].strip())
            start = index + 1
        index += 1
    items.append(value[start:].strip())
    return items


def parse_params(text: str, position: int, what: str) -> tuple[Params, int]:
    """Parse ``*( SEMI generic-param )`` from ``position``; return params and end offset."""
    params: list[tuple[str, str | None]] = []
    length = len(text)
    while position < length:
        match = grammar.PARAM_RE.match(text, position)
        if match is None:
            break
        params.append((match.group(1).lower(), match.group(2)))
        position = match.end()
    return tuple(params), position


def format_params(params: Params) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params)


def get_param(params: Params, name: str) -> str | None:
    for key, value in params:
        if key == name:
            return value
    return None


def has_param(params: Params, name: str) -> bool:
    return any(key == name for key, _ in params)


def unquote_string(value: str) -> str:
    """The content of a quoted-string, quoted-pairs resolved; tokens come back unchanged."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        inner = value[1:-1]
        if "\\" not in inner:
            return inner
        out: list[str] = []
        index = 0
        while index < len(inner):
            if inner[index] == "\\" and index + 1 < len(inner):
                index += 1
            out.append(inner[index])
            index += 1
        return "".join(out)
    return value


def quote_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True, slots=True)
class NameAddress:
    """``name-addr / addr-spec`` followed by header parameters (From, To, Contact, Route…).

    ``display_name`` is kept as written (quoted or tokens) so that it serialises back
    unchanged; ``wildcard`` is the ``Contact: *`` of REGISTER (§10.2.2).
    """

    uri: Uri | None
    display_name: str | None = None
    params: Params = ()
    wildcard: bool = False

    @classmethod
    def parse(cls, text: str, header: str = "address") -> NameAddress:
        value = text.strip()
        if value == "*":
            return cls(uri=None, wildcard=True)
        display: str | None = None
        position = 0
        if value.startswith('"'):
            match = grammar.QUOTED_STRING_RE.match(value)
            if match is None:
                raise RemoteProtocolError(f"Unterminated quoted string in {header}")
            display = match.group(0)
            position = match.end()
            while position < len(value) and value[position] in " \t":
                position += 1
            if position >= len(value) or value[position] != "<":
                raise RemoteProtocolError(f"Bad {header}: no <URI> after display name")
        else:
            angle = value.find("<")
            if angle >= 0:
                words = value[:angle].split()
                # display-name = *(token LWS) / quoted-string; RFC 4475 lwsdisp accepts a
                # token glued to "<".
                for word in words:
                    if not grammar.TOKEN_RE.fullmatch(word):
                        raise RemoteProtocolError(f"Bad display name in {header}")
                display = " ".join(words) if words else None
                position = angle
        if position < len(value) and value[position] == "<":
            end = value.find(">", position)
            if end < 0:
                raise RemoteProtocolError(f"Bad {header}: missing '>'")
            inner = value[position + 1 : end]
            if not inner or inner != inner.strip():
                raise RemoteProtocolError(f"Bad {header}: spaces inside <>")
            uri = Uri.parse(inner)
            position = end + 1
        else:
            # addr-spec form: the URI ends at the first ";" and may not hold "?" or ","
            # (§20: header parameters follow, RFC 4475 regbadct).
            end = value.find(";")
            spec = value if end < 0 else value[:end]
            spec = spec.strip()
            if not spec or any(c in spec for c in " \t,?"):
                raise RemoteProtocolError(f"Bad {header}: URI with ? or , must be in <>")
            uri = Uri.parse(spec)
            position = len(value) if end < 0 else end
        params, position = parse_params(value, position, header)
        if value[position:].strip():
            raise RemoteProtocolError(f"Bad parameters in {header}")
        return cls(uri=uri, display_name=display, params=params)

    @property
    def tag(self) -> str | None:
        return get_param(self.params, "tag")

    def param(self, name: str) -> str | None:
        return get_param(self.params, name)

    def with_tag(self, tag: str) -> NameAddress:
        params = (*tuple(p for p in self.params if p[0] != "tag"), ("tag", tag))
        return NameAddress(self.uri, self.display_name, params)

    def __str__(self) -> str:
        if self.wildcard:
            return "*"
        display = f"{self.display_name} " if self.display_name else ""
        return f"{display}<{self.uri}>{format_params(self.params)}"


@dataclass(frozen=True, slots=True)
class Via:
    """One Via header value (§20.42, §18.2.1 received, RFC 3581 rport)."""

    transport: str
    host: str
    port: int | None = None
    params: Params = ()
    protocol: str = "SIP/2.0"

    @classmethod
    def parse(cls, text: str) -> Via:
        value = text.strip()
        match = grammar.VIA_RE.match(value)
        if match is None:
            raise RemoteProtocolError("Bad Via")
        name, version, transport, host, port_text = match.groups()
        port = None
        if port_text is not None:
            port = int(port_text)
            if port > 65535:
                raise RemoteProtocolError("Bad Via port")
        params, position = parse_params(value, match.end(), "Via")
        if value[position:].strip():
            raise RemoteProtocolError("Bad Via parameters")
        return cls(transport.upper(), host, port, params, f"{name.upper()}/{version}")

    @property
    def branch(self) -> str | None:
        return get_param(self.params, "branch")

    @property
    def received(self) -> str | None:
        return get_param(self.params, "received")

    @property
    def rport(self) -> int | None:
        value = get_param(self.params, "rport")
        return int(value) if value is not None and value.isdigit() else None

    @property
    def wants_rport(self) -> bool:
        return has_param(self.params, "rport")

    @property
    def sent_by(self) -> tuple[str, int | None]:
        return self.host.lower(), self.port

    def with_received(self, host: str, port: int) -> Via:
        """The Via a server keeps after §18.2.1 / RFC 3581: ``received`` when the source
        differs from sent-by, ``rport`` filled in when the client asked for it."""
        params = list(self.params)
        if self.wants_rport:
            params = [(k, str(port)) if k == "rport" else (k, v) for k, v in params]
            if not any(k == "received" for k, _ in params):
                params.append(("received", host))
        elif host != self.host and not any(k == "received" for k, _ in params):
            params.append(("received", host))
        return Via(self.transport, self.host, self.port, tuple(params), self.protocol)

    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.protocol}/{self.transport} {self.host}{port}{format_params(self.params)}"


@dataclass(frozen=True, slots=True)
class CSeq:
    """``CSeq: number method`` (§20.16); the number is below 2**31."""

    number: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        match = grammar.CSEQ_RE.fullmatch(text.strip())
        if match is None:
            raise RemoteProtocolError("Bad CSeq")
        number = int(match.group(1))
        if number >= 2**31:
            raise RemoteProtocolError("CSeq number too large")
        return cls(number, match.group(2))

    def __str__(self) -> str:
        return f"{self.number} {self.method}"
