"""SDP (RFC 8866, formerly 4566) for one audio stream, and the answerer of RFC 3264.

Enough for a call center's audio: codecs by payload type and rtpmap, telephone-event
(RFC 4733), ptime and the direction attributes used for hold. An offer with more than one
m-line gets its other streams rejected with port 0 (RFC 3264 §6), never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hotline.sip.errors import RemoteProtocolError

#: Static payload types of RFC 3551 that we know by number.
STATIC_PAYLOADS = {0: ("PCMU", 8000), 8: ("PCMA", 8000), 9: ("G722", 8000), 18: ("G729", 8000)}
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_ANSWER_DIRECTION = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}


@dataclass
class MediaDescription:
    media: str
    port: int
    proto: str
    formats: list[str]
    connection: str | None = None
    attributes: list[tuple[str, str | None]] = field(default_factory=list)

    def rtpmap(self) -> dict[int, tuple[str, int]]:
        """Payload type -> (encoding, clock rate), static types included."""
        mapping: dict[int, tuple[str, int]] = {}
        for fmt in self.formats:
            if fmt.isdigit() and int(fmt) in STATIC_PAYLOADS:
                mapping[int(fmt)] = STATIC_PAYLOADS[int(fmt)]
        for name, value in self.attributes:
            if name == "rtpmap" and value:
                pt, _, rest = value.partition(" ")
                encoding, _, rate = rest.partition("/")
                if pt.isdigit() and rate.split("/")[0].isdigit():
                    mapping[int(pt)] = (encoding, int(rate.split("/")[0]))
        return mapping

    @property
    def direction(self) -> str:
        for name, _ in self.attributes:
            if name in DIRECTIONS:
                return name
        return "sendrecv"


@dataclass
class SessionDescription:
    origin: str
    session_name: str = "-"
    connection: str | None = None
    media: list[MediaDescription] = field(default_factory=list)

    @classmethod
    def parse(cls, body: bytes) -> SessionDescription:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise RemoteProtocolError("SDP is not UTF-8", 488) from None
        session = cls(origin="")
        current: MediaDescription | None = None
        for line in text.replace("\r\n", "\n").split("\n"):
            if not line:
                continue
            if len(line) < 2 or line[1] != "=":
                raise RemoteProtocolError("Bad SDP line", 488)
            kind, value = line[0], line[2:]
            if kind == "o":
                session.origin = value
            elif kind == "s":
                session.session_name = value
            elif kind == "c":
                address = value.split(" ")[-1]
                if current is None:
                    session.connection = address
                else:
                    current.connection = address
            elif kind == "m":
                parts = value.split(" ")
                if len(parts) < 4 or not parts[1].split("/")[0].isdigit():
                    raise RemoteProtocolError("Bad SDP m-line", 488)
                current = MediaDescription(
                    parts[0], int(parts[1].split("/")[0]), parts[2], parts[3:]
                )
                session.media.append(current)
            elif kind == "a" and current is not None:
                name, _, attr_value = value.partition(":")
                current.attributes.append((name, attr_value or None))
        if not session.origin:
            raise RemoteProtocolError("SDP without o= line", 488)
        return session

    def __bytes__(self) -> bytes:
        lines = ["v=0", f"o={self.origin}", f"s={self.session_name}"]
        if self.connection:
            lines.append(f"c=IN IP4 {self.connection}")
        lines.append("t=0 0")
        for media in self.media:
            lines.append(f"m={media.media} {media.port} {media.proto} {' '.join(media.formats)}")
            if media.connection:
                lines.append(f"c=IN IP4 {media.connection}")
            for name, value in media.attributes:
                lines.append(f"a={name}" if value is None else f"a={name}:{value}")
        return ("\r\n".join(lines) + "\r\n").encode()


def answer(
    offer: SessionDescription,
    *,
    address: str,
    port: int,
    codecs: tuple[str, ...] = ("PCMU", "PCMA"),
    session_id: int = 1,
) -> SessionDescription:
    """The RFC 3264 answer: for the first audio stream, the offer's codecs we support (in
    the offerer's order, §6.1), telephone-event if offered, ptime echoed, direction mirrored;
    every other stream rejected with port 0. 488 if no codec is shared."""
    result = SessionDescription(
        origin=f"hotline {session_id} {session_id} IN IP4 {address}",
        connection=address,
    )
    accepted = False
    for media in offer.media:
        if media.media != "audio" or accepted or media.port == 0:
            result.media.append(MediaDescription(media.media, 0, media.proto, media.formats[:1]))
            continue
        mapping = media.rtpmap()
        chosen = [
            pt
            for pt in (int(f) for f in media.formats if f.isdigit())
            if pt in mapping and mapping[pt][0].upper() in codecs
        ]
        if not chosen:
            result.media.append(MediaDescription(media.media, 0, media.proto, media.formats[:1]))
            continue
        events = [pt for pt, (enc, _) in mapping.items() if enc.lower() == "telephone-event"]
        formats = [chosen[0], *events[:1]]
        attributes: list[tuple[str, str | None]] = [
            ("rtpmap", f"{pt} {mapping[pt][0]}/{mapping[pt][1]}") for pt in formats
        ]
        if events:
            attributes.append(("fmtp", f"{events[0]} 0-15"))
        for name, value in media.attributes:
            if name == "ptime":
                attributes.append(("ptime", value))
        attributes.append((_ANSWER_DIRECTION[media.direction], None))
        result.media.append(
            MediaDescription(
                "audio", port, media.proto, [str(f) for f in formats], None, attributes
            )
        )
        accepted = True
    if not accepted:
        raise RemoteProtocolError("Not Acceptable Here: no common codec", 488)
    return result
