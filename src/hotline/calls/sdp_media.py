"""Offer/answer between a leg's SDP and the media endpoint the engine allocated for it.

The B2BUA terminates media on both legs: the customer's offer is answered with our endpoint's
address and the first codec both sides support (RFC 3264 §6.1, the offerer's order), and an
agent's phone gets our own offer. Either way the engine must learn where the peer listens and
which payload type it chose: :class:`RemoteMedia`. Pure functions over bytes, so that a
malformed SDP is a ``RemoteProtocolError`` (488) to answer with, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.media import engine as media
from hotline.media.engine import EndpointDescription
from hotline.sip import sdp
from hotline.sip.errors import RemoteProtocolError


@dataclass(frozen=True, slots=True)
class RemoteMedia:
    """Where the peer receives RTP, in which format, and its telephone-event payload type."""

    host: str
    port: int
    payload_type: int
    telephone_event_pt: int | None
    direction: str  # the peer's: "sendrecv", or "sendonly"/"inactive" when it holds


def answer_offer(
    offer: bytes, local: EndpointDescription, session_id: int = 1
) -> tuple[bytes, RemoteMedia]:
    """Our answer to a peer's offer, and what the engine needs to send to that peer."""
    session = sdp.SessionDescription.parse(offer)
    codecs = tuple(c.name.upper() for c in local.codecs if c.name.lower() != "telephone-event")
    answer = sdp.answer(
        session, address=local.host, port=local.port, codecs=codecs, session_id=session_id
    )
    chosen = next(m for m in answer.media if m.port != 0)
    offered = session.media[answer.media.index(chosen)]
    return bytes(answer), _remote(session, offered, int(chosen.formats[0]))


def check_offer(offer: bytes, codecs: tuple[media.CodecOffer, ...]) -> None:
    """Raise the 488 :func:`answer_offer` would, before anything is allocated for the call
    (an INVITE without an offer is refused too: late offers are not supported)."""
    if not offer:
        raise RemoteProtocolError("Not Acceptable Here: an SDP offer is required", 488)
    answer_offer(offer, media.EndpointDescription("check", "0.0.0.0", 9, codecs))


def make_offer(local: EndpointDescription, session_id: int = 1) -> bytes:
    """Our offer for an outgoing leg: every codec the endpoint accepts, our preference first."""
    media = sdp.MediaDescription(
        "audio", local.port, "RTP/AVP", [str(c.payload_type) for c in local.codecs]
    )
    for codec in local.codecs:
        media.attributes.append(("rtpmap", f"{codec.payload_type} {codec.name}/{codec.clock_rate}"))
        if codec.fmtp:
            media.attributes.append(("fmtp", f"{codec.payload_type} {codec.fmtp}"))
    media.attributes += [("ptime", "20"), ("sendrecv", None)]
    session = sdp.SessionDescription(
        origin=f"hotline {session_id} {session_id} IN IP4 {local.host}",
        connection=local.host,
        media=[media],
    )
    return bytes(session)


def read_answer(answer: bytes, local: EndpointDescription) -> RemoteMedia:
    """The peer's answer to :func:`make_offer`: the first audio stream it accepted, in a
    codec we offered (488 otherwise)."""
    session = sdp.SessionDescription.parse(answer)
    ours = {c.payload_type for c in local.codecs if c.name.lower() != "telephone-event"}
    for stream in session.media:
        if stream.media != "audio" or stream.port == 0:
            continue
        for fmt in stream.formats:
            if fmt.isdigit() and int(fmt) in ours:
                return _remote(session, stream, int(fmt))
    raise RemoteProtocolError("Not Acceptable Here: the answer has none of our codecs", 488)


def _remote(
    session: sdp.SessionDescription, media: sdp.MediaDescription, payload_type: int
) -> RemoteMedia:
    host = media.connection or session.connection
    if not host:
        raise RemoteProtocolError("SDP without a connection address", 488)
    events = [pt for pt, (name, _) in media.rtpmap().items() if name.lower() == "telephone-event"]
    return RemoteMedia(
        host=host,
        port=media.port,
        payload_type=payload_type,
        telephone_event_pt=events[0] if events else None,
        direction=media.direction,
    )
