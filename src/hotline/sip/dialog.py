"""Dialogs (RFC 3261 §12): the state two user agents share once an INVITE is answered.

A :class:`Dialog` is created from the INVITE and a 1xx/2xx carrying a To tag, on either side
(:meth:`Dialog.for_uas`, :meth:`Dialog.for_uac`). It builds in-dialog requests (§12.2.1.1:
remote target as Request-URI, the route set as Route, local CSeq incremented), checks
incoming ones (§12.2.2: CSeq order, 500 when lower), refreshes the remote target on
re-INVITE/UPDATE, builds the ACK for a 2xx (§13.2.2.4) and detects re-INVITE glare (491,
§14.2). Pure data and functions: the user feeds requests and responses and sends what it
gets back through the endpoint.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from hotline.sip.errors import LocalProtocolError, RemoteProtocolError
from hotline.sip.headers import NameAddress
from hotline.sip.message import Request, Response
from hotline.sip.uri import Uri

TARGET_REFRESH = frozenset({"INVITE", "UPDATE"})


class DialogState(enum.Enum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


@dataclass
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: NameAddress
    remote_uri: NameAddress
    remote_target: Uri
    route_set: list[str] = field(default_factory=list)
    local_seq: int = 0
    remote_seq: int | None = None
    state: DialogState = DialogState.EARLY
    secure: bool = False
    #: The CSeq of our own re-INVITE awaiting its final response (glare detection).
    pending_reinvite: int | None = None
    #: The CSeq of the peer's re-INVITE we have not answered finally yet.
    remote_reinvite_pending: int | None = None

    @property
    def id(self) -> tuple[str, str, str]:
        return (self.call_id, self.local_tag, self.remote_tag)

    # -- creation -----------------------------------------------------------------------
    @classmethod
    def for_uas(cls, invite: Request, response: Response) -> Dialog:
        """§12.1.1: route set from Record-Route in order, remote target from Contact."""
        local_tag = response.to.tag
        if local_tag is None:
            raise LocalProtocolError("a dialog-creating response needs a To tag")
        remote_tag = invite.from_.tag or ""
        contacts = invite.contacts
        if not contacts or contacts[0].uri is None:
            raise RemoteProtocolError("INVITE without Contact")
        return cls(
            call_id=invite.call_id,
            local_tag=local_tag,
            remote_tag=remote_tag,
            local_uri=response.to,
            remote_uri=invite.from_,
            remote_target=contacts[0].uri,
            route_set=invite.get_all("Record-Route"),
            remote_seq=invite.cseq.number,
            state=DialogState.CONFIRMED if response.status >= 200 else DialogState.EARLY,
            secure=invite.uri.scheme == "sips",
        )

    @classmethod
    def for_uac(cls, invite: Request, response: Response) -> Dialog:
        """§12.1.2: route set from Record-Route in reverse order."""
        remote_tag = response.to.tag
        if remote_tag is None:
            raise RemoteProtocolError("dialog-creating response without To tag")
        contacts = response.contacts
        if not contacts or contacts[0].uri is None:
            raise RemoteProtocolError("dialog-creating response without Contact")
        return cls(
            call_id=invite.call_id,
            local_tag=invite.from_.tag or "",
            remote_tag=remote_tag,
            local_uri=invite.from_,
            remote_uri=response.to,
            remote_target=contacts[0].uri,
            route_set=list(reversed(response.get_all("Record-Route"))),
            local_seq=invite.cseq.number,
            state=DialogState.CONFIRMED if response.status >= 200 else DialogState.EARLY,
            secure=invite.uri.scheme == "sips",
        )

    # -- outgoing -----------------------------------------------------------------------
    def create_request(
        self,
        method: str,
        *,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> Request:
        """An in-dialog request (§12.2.1.1). ACK uses :meth:`ack_for` instead."""
        if self.state is DialogState.TERMINATED:
            raise LocalProtocolError("dialog is terminated")
        if method == "ACK":
            raise LocalProtocolError("use ack_for() for the ACK of a 2xx")
        if method == "INVITE" and self.pending_reinvite is not None:
            raise LocalProtocolError("a re-INVITE is already pending (§14.1)")
        self.local_seq += 1
        request = self._request(method, self.local_seq, headers or [], body)
        if method == "INVITE":
            self.pending_reinvite = self.local_seq
        return request

    def ack_for(self, response: Response) -> Request:
        """The ACK of a 2xx to INVITE: same CSeq number, method ACK (§13.2.2.4)."""
        return self._request("ACK", response.cseq.number, [], b"")

    def _request(
        self, method: str, number: int, extra: list[tuple[str, str]], body: bytes
    ) -> Request:
        headers = [
            ("From", str(self.local_uri.with_tag(self.local_tag))),
            ("To", str(self.remote_uri.with_tag(self.remote_tag))),
            ("Call-ID", self.call_id),
            ("CSeq", f"{number} {method}"),
            ("Max-Forwards", "70"),
        ]
        uri = self.remote_target
        routes = list(self.route_set)
        if routes:
            first = NameAddress.parse(routes[0], "Route")
            if first.uri is not None and not first.uri.has_param("lr"):
                # §12.2.1.1 strict router: it becomes the Request-URI, the target goes last.
                uri = first.uri.without_headers()
                routes = [*routes[1:], f"<{self.remote_target}>"]
        headers.extend(("Route", route) for route in routes)
        headers.extend(extra)
        return Request(headers=headers, body=body, method=method, uri=uri)

    def response_received(self, request: Request, response: Response) -> None:
        """Track our re-INVITE's outcome, a 2xx refreshes the target; 481/408 end it."""
        if request.method == "INVITE" and response.status >= 200:
            self.pending_reinvite = None
            if 200 <= response.status < 300:
                self.state = DialogState.CONFIRMED
                contacts = response.contacts
                if contacts and contacts[0].uri is not None:
                    self.remote_target = contacts[0].uri
        if response.status in (481, 408):
            self.state = DialogState.TERMINATED  # §12.2.1.2
        if request.method == "BYE" and response.status >= 200:
            self.state = DialogState.TERMINATED

    # -- incoming -----------------------------------------------------------------------
    def matches(self, request: Request) -> bool:
        return (
            request.call_id == self.call_id
            and request.to.tag == self.local_tag
            and (request.from_.tag or "") == self.remote_tag
        )

    def receive_request(self, request: Request) -> int | None:
        """Check and apply an incoming in-dialog request (not ACK). Returns the status to
        answer with when it must be refused (500 for an old CSeq, 491 for glare), else
        None."""
        number = request.cseq.number
        if self.remote_seq is not None and number <= self.remote_seq:
            return 500  # §12.2.2: lower CSeq: out of order
        self.remote_seq = number
        if request.method == "INVITE":
            if self.pending_reinvite is not None or self.remote_reinvite_pending is not None:
                return 491  # §14.2 glare
            self.remote_reinvite_pending = number
        if request.method in TARGET_REFRESH:
            contacts = request.contacts
            if contacts and contacts[0].uri is not None:
                self.remote_target = contacts[0].uri
        if request.method == "BYE":
            self.state = DialogState.TERMINATED
        return None

    def answered_reinvite(self) -> None:
        """We sent the final response to the peer's re-INVITE."""
        self.remote_reinvite_pending = None

    def session_expires(self, message: Request | Response) -> int | None:
        """RFC 4028 ``Session-Expires`` delta-seconds when present (honoured by the user,
        not required)."""
        value = message.get("Session-Expires")
        if value is None:
            return None
        head = value.split(";")[0].strip()
        return int(head) if head.isdigit() else None
