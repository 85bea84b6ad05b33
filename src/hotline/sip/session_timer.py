"""Session timers (RFC 4028) for the calls the node's user agent answers.

We never ask for a session timer; we honour one when the peer asks: our 200 echoes
``Session-Expires: N;refresher=uac`` (never below :data:`MIN_SE`), every refresh (re-INVITE,
UPDATE) moves the deadline, and the user agent ends a call whose deadline passed. The rule
lives apart from the user agent because it is a small state machine of its own over one
call's requests and ``now``; the user agent only asks it for headers and deadlines.
"""

from __future__ import annotations

from dataclasses import dataclass

from hotline.sip.message import Request

#: RFC 4028 §5: the smallest session interval we accept (and the default Min-SE).
MIN_SE = 90


def delta_seconds(value: str | None) -> int | None:
    """The delta-seconds of a ``Session-Expires``/``Min-SE`` value, None if absent or bad."""
    if value is None:
        return None
    head = value.split(";")[0].strip()
    return int(head) if head.isdigit() and len(head) < 10 else None


@dataclass
class SessionTimer:
    """One call's session timer: not running (``interval`` None) until the peer asks."""

    interval: int | None = None
    #: When the call ends unless the peer refreshes it first.
    deadline: float | None = None

    def answer_headers(self, request: Request, now: float) -> list[tuple[str, str]]:
        """Honour a peer's ``Session-Expires``: it refreshes (``refresher=uac``), we end the
        call if no refresh comes in time. Without the header, no timer (not required)."""
        interval = delta_seconds(request.get("Session-Expires"))
        if interval is None and self.interval is None:
            return []
        interval = max(interval or self.interval or MIN_SE, MIN_SE)
        self.interval = interval
        self.deadline = now + interval
        headers = [("Session-Expires", f"{interval};refresher=uac")]
        supported = ",".join(request.get_all("Supported")).replace(" ", "").split(",")
        if "timer" in supported:
            headers.append(("Require", "timer"))
        return headers

    def refresh(self, request: Request, now: float) -> None:
        """A re-INVITE or UPDATE arrived: a running timer starts over (its interval may
        change with the request's ``Session-Expires``)."""
        if self.interval is not None:
            interval = delta_seconds(request.get("Session-Expires")) or self.interval
            self.interval = max(interval, MIN_SE)
            self.deadline = now + self.interval
