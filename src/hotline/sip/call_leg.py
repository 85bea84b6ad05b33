"""The state the node's user agent keeps for one call, whichever side placed it.

A call we answer (UAS) and a call we place (UAC) become the same kind of dialog once
answered: BYE, re-INVITE, REFER and NOTIFY go through the same code for both. So both halves
of the user agent (``sip/useragent.py`` and ``sip/outgoing_calls.py``) share this one record,
keyed by Call-ID; the fields only one side uses say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hotline.sip.dialog import Dialog
from hotline.sip.events import Address
from hotline.sip.message import Request
from hotline.sip.session_timer import SessionTimer


@dataclass
class CallLeg:
    """One call at the user agent: its INVITE transaction, the dialog once answered."""

    transaction_id: str
    request: Request
    local_tag: str
    source: Address  # where the peer is reached (for our own calls: where we sent)
    transport: str
    dialog: Dialog | None = None
    answered: bool = False
    pending_offer_transaction: str | None = None
    pending_refer: tuple[str, Request] | None = None  # transaction id, the REFER
    # -- calls we place (UAC) ----------------------------------------------------------
    outgoing: bool = False
    credentials: tuple[str, str] | None = None
    provisional: bool = False  # a 1xx arrived: a CANCEL may be sent (§9.1)
    cancelled: bool = False  # the caller asked us to cancel
    cancel_sent: bool = False
    # -- session timer (RFC 4028), when the peer asked for one ----------------------------
    session: SessionTimer = field(default_factory=SessionTimer)

    def dialog_destination(self) -> Address:
        """Where in-dialog requests go: the remote target, or for our own calls and
        connection transports the address the peer is reached at (NAT-safe)."""
        assert self.dialog is not None
        target = self.dialog.remote_target
        if self.transport != "UDP" or self.outgoing:
            return self.source
        return (target.host, target.port or 5060)
