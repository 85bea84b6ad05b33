"""SIP requests and responses on the wire (RFC 3261 §7, §18.3 framing, §20 header rules).

:func:`parse_message` turns one datagram (or one frame cut by :class:`StreamFramer`) into a
:class:`Request` or :class:`Response`, or raises :class:`RemoteProtocolError` with the status
a server should answer with. It validates what every layer above relies on (start line, the
mandatory headers, single-valued headers, numeric ranges, Content-Length), so that code above
never meets a half-valid message. ``bytes(message)`` serialises with a correct
Content-Length, and ``parse_message(bytes(m)) == m``.

Header values are stored unfolded and trimmed, in arrival order, with canonical names;
structured views (Via, From, To, CSeq, Contact) are parsed once and cached.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hotline.sip import grammar
from hotline.sip.errors import RemoteProtocolError
from hotline.sip.headers import (
    LIST_HEADERS,
    SINGLE_VALUED,
    CSeq,
    NameAddress,
    Via,
    canonical_name,
    split_list,
)
from hotline.sip.uri import Uri

SIP_VERSION = "SIP/2.0"
MAX_UINT32 = 2**32 - 1
#: The largest message we accept from the network (§18.1.1 leaves it to us; 64 KiB is the
#: UDP ceiling and far above anything a call center needs). Bigger gets 513.
MAX_MESSAGE_SIZE = 65535

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_LINE_SPLIT = re.compile(r"\r?\n")
_FOLD = re.compile(r"[ \t]*\r?\n[ \t]+")
_NAME_RE = re.compile(grammar.TOKEN)
_CONTENT_LENGTH_RE = re.compile(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*\r?$")

REASONS = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    600: "Busy Everywhere",
    603: "Decline",
}


@dataclass(eq=True)
class Message:
    """Headers and body shared by requests and responses."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    # -- raw header access -------------------------------------------------------------
    def get(self, name: str) -> str | None:
        """The first value of a header (by canonical or compact name), or None."""
        name = canonical_name(name)
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        """Every value of a header; list headers (§7.3.1) are split at their commas."""
        name = canonical_name(name)
        values = [value for key, value in self.headers if key == name]
        if name in LIST_HEADERS:
            return [item for value in values for item in split_list(value) if item]
        return values

    def set(self, name: str, value: str) -> None:
        """Replace every occurrence of a header by one value (appended if absent)."""
        name = canonical_name(name)
        self._cache.clear()
        for index, (key, _) in enumerate(self.headers):
            if key == name:
                self.headers[index] = (name, value)
                self.headers[index + 1 :] = [h for h in self.headers[index + 1 :] if h[0] != name]
                return
        self.headers.append((name, value))

    def add(self, name: str, value: str) -> None:
        self._cache.clear()
        self.headers.append((canonical_name(name), value))

    def remove(self, name: str) -> None:
        name = canonical_name(name)
        self._cache.clear()
        self.headers = [h for h in self.headers if h[0] != name]

    # -- structured views ---------------------------------------------------------------
    @property
    def vias(self) -> list[Via]:
        cached = self._cache.get("via")
        if cached is None:
            cached = [Via.parse(v) for v in self.get_all("Via")]
            self._cache["via"] = cached
        return list(cached)

    @property
    def top_via(self) -> Via:
        vias = self.vias
        if not vias:
            raise RemoteProtocolError("Missing Via header")
        return vias[0]

    @property
    def from_(self) -> NameAddress:
        return self._address("From")

    @property
    def to(self) -> NameAddress:
        return self._address("To")

    @property
    def call_id(self) -> str:
        value = self.get("Call-ID")
        if value is None:
            raise RemoteProtocolError("Missing Call-ID header")
        return value

    @property
    def cseq(self) -> CSeq:
        cached = self._cache.get("cseq")
        if cached is None:
            value = self.get("CSeq")
            if value is None:
                raise RemoteProtocolError("Missing CSeq header")
            cached = self._cache["cseq"] = CSeq.parse(value)
        assert isinstance(cached, CSeq)
        return cached

    @property
    def contacts(self) -> list[NameAddress]:
        cached = self._cache.get("contact")
        if cached is None:
            cached = [NameAddress.parse(v, "Contact") for v in self.get_all("Contact")]
            self._cache["contact"] = cached
        return list(cached)

    @property
    def expires(self) -> int | None:
        value = self.get("Expires")
        return int(value) if value is not None else None

    def _address(self, name: str) -> NameAddress:
        cached = self._cache.get(name)
        if cached is None:
            value = self.get(name)
            if value is None:
                raise RemoteProtocolError(f"Missing {name} header")
            cached = self._cache[name] = NameAddress.parse(value, name)
        assert isinstance(cached, NameAddress)
        return cached

    def _header_bytes(self, start_line: str) -> bytes:
        lines = [start_line]
        lines.extend(f"{name}: {value}" for name, value in self.headers)
        lines.append(f"Content-Length: {len(self.body)}")
        lines.append("\r\n")
        return "\r\n".join(lines).encode("utf-8", "surrogateescape")


@dataclass(eq=True)
class Request(Message):
    method: str = "OPTIONS"
    uri: Uri = field(default_factory=lambda: Uri("sip", "invalid"))

    def __bytes__(self) -> bytes:
        return self._header_bytes(f"{self.method} {self.uri} {SIP_VERSION}") + self.body


@dataclass(eq=True)
class Response(Message):
    status: int = 200
    reason: str = "OK"

    def __bytes__(self) -> bytes:
        return self._header_bytes(f"{SIP_VERSION} {self.status} {self.reason}") + self.body


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Response:
    """A response to ``request`` with the headers §8.2.6.2 copies (Via, From, To, Call-ID,
    CSeq), a To tag added when given and the To has none."""
    copied = [(k, v) for k, v in request.headers if k in ("Via", "From", "Call-ID", "CSeq")]
    to_value = request.get("To") or ""
    if to_tag is not None and request.to.tag is None and status != 100:
        to_value = str(request.to.with_tag(to_tag))
    copied.insert(2, ("To", to_value))
    if status == 100 and request.get("Timestamp") is not None:
        copied.append(("Timestamp", request.get("Timestamp") or ""))
    copied.extend(headers)
    return Response(
        headers=copied,
        body=body,
        status=status,
        reason=reason if reason is not None else REASONS.get(status, "Unknown"),
    )


def parse_message(data: bytes) -> Request | Response:
    """Parse one whole message (a datagram, or a frame from :class:`StreamFramer`)."""
    if len(data) > MAX_MESSAGE_SIZE:
        raise RemoteProtocolError("Message Too Large", 513)
    data = data.lstrip(b"\r\n")  # §7.5: ignore CRLFs before the start line
    end = _HEADER_END.search(data)
    if end is None:
        raise RemoteProtocolError("Incomplete message: no empty line after the headers")
    head = data[: end.start()].decode("utf-8", "surrogateescape")
    rest = data[end.end() :]
    first_newline = head.find("\n")
    if first_newline < 0:
        start_line, header_block = head, ""
    else:
        start_line = head[:first_newline].rstrip("\r")
        header_block = head[first_newline + 1 :]
    headers = _parse_headers(header_block)
    message: Request | Response
    if start_line.startswith(("SIP/", "sip/")) or start_line[:4].upper() == "SIP/":
        message = _parse_status_line(start_line, headers)
    else:
        message = _parse_request_line(start_line, headers)
    length_values = [v for k, v in headers if k == "Content-Length"]
    if length_values:
        text = length_values[0]
        if not grammar.DIGITS_RE.fullmatch(text):
            raise RemoteProtocolError("Bad Content-Length")
        length = int(text)
        if length > len(rest):
            raise RemoteProtocolError("Content-Length larger than message")
        message.body = rest[:length]
    else:
        message.body = rest
    message.headers = [h for h in headers if h[0] != "Content-Length"]
    _validate(message, len(length_values))
    return message


def _parse_headers(block: str) -> list[tuple[str, str]]:
    if not block:
        return []
    if "\n " in block or "\n\t" in block:
        block = _FOLD.sub(" ", block)  # §7.3.1: folding is equivalent to one SP
    headers: list[tuple[str, str]] = []
    for line in _LINE_SPLIT.split(block):
        if not line:
            continue
        name, colon, value = line.partition(":")
        canonical = _SEEN_NAMES.get(name) if colon else None
        if canonical is None:
            name = name.rstrip(" \t")
            if not colon or not _NAME_RE.fullmatch(name):
                raise RemoteProtocolError(f"Bad header line {line[:30]!r}")
            canonical = canonical_name(name)
        headers.append((canonical, value.strip(" \t")))
    return headers


# The spellings of header names as they arrive, already checked: the same dozen names come
# in every message. Filled once at import from the names we know; never grows at run time.
_SEEN_NAMES = {
    spelling: canonical_name(spelling)
    for known in {canonical_name(n) for n in ("v", "f", "t", "i", "l", "m", "c", "k", "s")}
    | {
        "CSeq",
        "Max-Forwards",
        "Allow",
        "Content-Length",
        "User-Agent",
        "Record-Route",
        "Route",
        "Expires",
        "Authorization",
        "WWW-Authenticate",
        "Accept",
    }
    for spelling in (known, known.lower())
}


def _parse_request_line(line: str, headers: list[tuple[str, str]]) -> Request:
    # Request-Line = Method SP Request-URI SP SIP-Version CRLF: exactly single spaces
    # (RFC 4475 lwsruri, lwsstart, trws).
    parts = line.split(" ")
    if len(parts) != 3 or not all(parts):
        raise RemoteProtocolError("Bad Request-Line")
    method, uri_text, version = parts
    if not grammar.METHOD_RE.fullmatch(method):
        raise RemoteProtocolError("Bad method")
    _check_version(version)
    uri = Uri.parse(uri_text)
    if uri.headers:
        raise RemoteProtocolError("Request-URI must not contain headers")  # §19.1.1
    return Request(headers=headers, method=method, uri=uri)


def _parse_status_line(line: str, headers: list[tuple[str, str]]) -> Response:
    version, space, rest = line.partition(" ")
    code, _, reason = rest.partition(" ")
    if not space:
        raise RemoteProtocolError("Bad Status-Line")
    _check_version(version)
    if not grammar.STATUS_CODE_RE.fullmatch(code):
        raise RemoteProtocolError("Bad status code")
    return Response(headers=headers, status=int(code), reason=reason)


def _check_version(version: str) -> None:
    match = grammar.SIP_VERSION_RE.fullmatch(version)
    if match is None:
        raise RemoteProtocolError("Bad SIP version")
    if (int(match.group(1)), int(match.group(2))) != (2, 0):
        raise RemoteProtocolError("Version Not Supported", 505)


def _validate(message: Request | Response, length_count: int) -> None:
    seen: set[str] = set()
    for name, _ in message.headers:
        if name in SINGLE_VALUED:
            if name in seen:
                raise RemoteProtocolError(f"Duplicate {name} header")
            seen.add(name)
    if length_count > 1:
        raise RemoteProtocolError("Duplicate Content-Length header")
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        if name not in seen and message.get(name) is None:
            raise RemoteProtocolError(f"Missing {name} header")
    if not message.vias:
        raise RemoteProtocolError("Missing Via header")
    _ = message.from_, message.to
    if not grammar.CALL_ID_RE.fullmatch(message.call_id):
        raise RemoteProtocolError("Bad Call-ID")
    cseq = message.cseq
    if isinstance(message, Request) and cseq.method != message.method:
        raise RemoteProtocolError("CSeq method does not match the request method")
    _check_number(message, "Max-Forwards", 255)
    _check_number(message, "Expires", MAX_UINT32)
    _check_number(message, "Min-Expires", MAX_UINT32)
    retry_after = message.get("Retry-After")
    if retry_after is not None:
        leading = grammar.DIGITS_RE.match(retry_after)
        if leading is None or int(leading.group(0)) > MAX_UINT32:
            raise RemoteProtocolError("Bad Retry-After")
    date = message.get("Date")
    if date is not None and not grammar.SIP_DATE_RE.fullmatch(date):
        raise RemoteProtocolError("Bad Date: must be an RFC 1123 date in GMT")
    if isinstance(message, Request) and message.method == "REGISTER":  # others parse lazily
        contacts = message.contacts
        if len(contacts) > 1 and any(c.wildcard for c in contacts):
            raise RemoteProtocolError("Contact * must be alone")


def _check_number(message: Message, name: str, limit: int) -> None:
    value = message.get(name)
    if value is None:
        return
    if not grammar.DIGITS_RE.fullmatch(value) or int(value) > limit:
        raise RemoteProtocolError(f"Bad {name}")


@dataclass
class KeepAlive:
    """A CRLF keep-alive seen on a stream (RFC 5626 §3.5.1): a double CRLF is a ping that
    wants a single CRLF pong back."""

    ping: bool


@dataclass
class FramingError:
    """The stream cannot be framed any more (bad or oversized header block): close it."""

    reason: str


@dataclass
class StreamFramer:
    """Cuts a TCP/TLS byte stream into messages by Content-Length (§18.3).

    Feed it whatever ``recv`` returned; it yields whole messages' bytes, keep-alives and,
    on unrecoverable garbage, one :class:`FramingError` after which the connection should be
    closed (a stream cannot resynchronise without Content-Length).
    """

    max_size: int = MAX_MESSAGE_SIZE
    _buffer: bytearray = field(default_factory=bytearray)
    _broken: bool = False

    def feed(self, data: bytes) -> Iterator[bytes | KeepAlive | FramingError]:
        if self._broken:
            return
        self._buffer += data
        buffer = self._buffer
        while buffer:
            if buffer[0] in (13, 10):
                if buffer.startswith(b"\r\n\r\n"):
                    del buffer[:4]
                    yield KeepAlive(ping=True)
                    continue
                if buffer.startswith(b"\r\n"):
                    if len(buffer) < 4 and b"\r\n\r\n".startswith(bytes(buffer)):
                        return  # maybe the start of a ping: wait for more
                    del buffer[:2]
                    yield KeepAlive(ping=False)
                    continue
                if len(buffer) == 1 and buffer[0] == 13:
                    return
                del buffer[:1]
                continue
            end = _HEADER_END.search(buffer)
            if end is None:
                if len(buffer) > self.max_size:
                    self._broken = True
                    yield FramingError("header block too large")
                return
            match = _CONTENT_LENGTH_RE.search(buffer, 0, end.start())
            length = int(match.group(1)) if match else 0
            total = end.end() + length
            if total > self.max_size:
                self._broken = True
                yield FramingError("message too large")
                return
            if len(buffer) < total:
                return
            frame = bytes(buffer[:total])
            del buffer[:total]
            yield frame
