"""The traffic between calls and the ACD, both ways: what each side's outputs mean to the other.

A call's ``EnqueueContact``/``OfferAnswered``/``OfferFailed``/``ContactLeft`` become ACD
inputs (:func:`report_to_acd`); the ACD's ``ContactOffered``, ``OfferWithdrawn``,
``ContactExited`` and ``PositionAnnounced`` become call inputs or commands
(:func:`call_effects`). The contact centre passes them back and forth until both are quiet.

Mapping notes:
- A phone that gives up before the ACD's own ring timeout (480, 408, 486) counts as a
  rejection, so the ACD applies the agent's reject delay.
- ``ContactOffered`` for a callback (the caller hung up and asked to be called back) needs an
  outbound call placed for the agent. That belongs to the dialer and is not handled here:
  the event goes on the bus, and nothing rings.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from hotline.acd import Acd, AcdError, ExitKind, SkillRequirement
from hotline.acd.events import ContactExited, ContactOffered, OfferWithdrawn, PositionAnnounced
from hotline.calls.call import Call
from hotline.calls.commands import ContactLeft, EnqueueContact, OfferAnswered, OfferFailed
from hotline.events import Event

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AnnouncePosition:
    """Tell a waiting caller their place in line and the estimated wait."""

    call_id: str
    leg_id: str
    position: int
    estimated_wait: float


AcdCommand = EnqueueContact | OfferAnswered | OfferFailed | ContactLeft

EXIT_KINDS: dict[
    ExitKind, Literal["overflow", "voicemail", "callback_offer", "busy", "hang_up"]
] = {
    ExitKind.OVERFLOW: "overflow",
    ExitKind.VOICEMAIL: "voicemail",
    ExitKind.CALLBACK_OFFER: "callback_offer",
    ExitKind.BUSY: "busy",
    ExitKind.HANG_UP: "hang_up",
}


def report_to_acd(acd: Acd, command: AcdCommand, now: float) -> list[Event]:
    """Tell the ACD what a call reported; a refusal is logged, never raised: the call
    goes on."""
    try:
        if isinstance(command, EnqueueContact):
            needs = [SkillRequirement(s, level) for s, level in command.skills.items()]
            return acd.contact_arrived(
                now, command.call_id, command.queue, priority=command.priority, needs=needs
            )
        if isinstance(command, OfferAnswered):
            return acd.offer_answered(now, command.call_id, command.agent)
        if isinstance(command, OfferFailed):
            return acd.offer_rejected(now, command.call_id, command.agent)
        if command.agent is None:
            return acd.contact_abandoned(now, command.call_id)
        return acd.contact_ended(now, command.call_id)
    except AcdError as error:
        # The ACD refused a report (unknown queue, contact it no longer holds). The
        # call goes on; the refusal is logged with the call id for the operator.
        log.warning(
            "ACD refused %s: %s",
            type(command).__name__,
            error,
            extra={"call_id": command.call_id},
        )
        return []


def call_effects(
    call: Call, event: Event, exit_flows: Mapping[str, str], now: float
) -> Sequence[object]:
    """What an ACD decision about ``call`` does to it (nothing for plain state changes)."""
    if isinstance(event, ContactOffered):
        return [] if event.callback else call.offer(event.agent_id, now)
    if isinstance(event, OfferWithdrawn):
        return call.withdraw(event.agent_id, now)
    if isinstance(event, ContactExited):
        kind = EXIT_KINDS[event.kind]
        return call.queue_exit(kind, event.target, exit_flows.get(kind), now)
    if isinstance(event, PositionAnnounced):
        return [
            AnnouncePosition(call.call_id, call.customer_leg, event.position, event.estimated_wait)
        ]
    return []
