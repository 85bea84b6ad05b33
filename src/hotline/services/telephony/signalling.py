"""``CallSignalling``: the SIP side of calls coming in, as inputs to the contact centre.

The node's user agent reports what happens to every leg; this adapter hands each event to
the contact centre at once, with ``now``, and queues the little SIP and media work that
cannot wait for a decision on the call's job queue:

- setup: an incoming INVITE is checked (an SDP offer with PCMU or PCMA, else 488 before
  anything is allocated), named by the trunk it came from (source address) and given a call
  id; agents' and trunks' ringing, answers and failures (486/600/603 count as a rejection,
  408/480 as no answer, anything else as unreachable; a trunk's status goes to the
  centre as it is); a phone that answers after the customer left is hung up at once;
- in the call: re-INVITEs (a phone's own hold key, session refreshes) are answered with
  the same endpoint, a change of direction reported as ``phone_hold``; REFER (a phone's
  transfer key) is answered 202/4xx and the result sent in a NOTIFY;
- teardown: the peer's BYE, and the release of every ended leg's media.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

from hotline.calls.sdp_media import answer_offer, check_offer, read_answer
from hotline.calls.trunk_dial import OriginateError
from hotline.calls.trunks import TrunkConfig
from hotline.ivr import io as ivr_io
from hotline.services.contact_center import ContactCenter
from hotline.services.telephony.endpoints import CODECS, LegEndpoints
from hotline.services.telephony.executor import reject_leg
from hotline.services.telephony.state import CallRuntime, CallState, CallTable, LegState
from hotline.services.trunk_service import TrunkService
from hotline.sip.call_events import (
    CallConfirmed,
    CallEnded,
    CallEvent,
    IncomingCall,
    OfferReceived,
    OptionsAnswered,
    OutgoingAnswered,
    OutgoingFailed,
    OutgoingProgress,
    ReferReceived,
)
from hotline.sip.errors import ProtocolError
from hotline.transport.sip_service import SipService

log = logging.getLogger(__name__)

#: The final answer to a REFER whose outside number cannot be dialled, by OriginateError kind.
_REFER_REFUSALS: dict[str, tuple[int, str]] = {
    "forbidden": (403, "Transfer to this number is not allowed"),
    "unavailable": (503, "No trunk can carry the transfer"),
    "invalid": (404, "No such queue, user or number"),
}

#: How an agent phone's final answer counts for the ACD (anything else: unreachable).
_AGENT_FAILURES: dict[int, Literal["no_answer", "rejected"]] = {
    408: "no_answer",
    480: "no_answer",
    486: "rejected",
    600: "rejected",
    603: "rejected",
}


class CallSignalling:
    def __init__(
        self,
        runtime: CallRuntime,
        center: ContactCenter,
        sip: SipService,
        trunks: TrunkService,
        table: CallTable,
        endpoints: LegEndpoints,
        inbound_trunks: Sequence[TrunkConfig],
    ) -> None:
        self.runtime = runtime
        self.center = center
        self.sip = sip
        self.trunks = trunks
        self.table = table
        self.endpoints = endpoints
        self.name_trunks(inbound_trunks)

    def name_trunks(self, trunks: Sequence[TrunkConfig]) -> None:
        """Name inbound calls after these trunks from now on (by source host; the first
        trunk of a host names them)."""
        hosts: dict[str, str] = {}
        for trunk in trunks:
            hosts.setdefault(trunk.host, trunk.name)
        self._trunk_hosts = hosts

    def on_event(self, event: CallEvent, now: float) -> None:
        """Called inside the SIP stack's event loop callback."""
        match event:
            case IncomingCall():
                self._incoming(event, now)
            case OutgoingProgress():
                # The ACD's ring timeout governs agents' legs; a trunk leg's ringing shows
                # the carrier is alive. Early media is not relayed.
                leg = self.table.legs.get(event.call_id)
                if leg is not None and leg.role in ("customer", "external"):
                    self.runtime.decide(
                        lambda: self.center.trunk_progress(now, leg.call_id, leg.leg_id)
                    )
            case OptionsAnswered():
                self.trunks.options_answered(event, now)
            case OutgoingAnswered():
                self._answered(event, now)
            case OutgoingFailed():
                self._failed(event, now)
            case CallEnded():
                self._leg_ended(event, now)
            case OfferReceived():
                self._reoffer(event, now)
            case ReferReceived():
                self._refer(event, now)
            case CallConfirmed():
                pass

    # ---- setup -------------------------------------------------------------------------------

    def _incoming(self, event: IncomingCall, now: float) -> None:
        request = event.request
        try:
            check_offer(event.offer, CODECS)
        except ProtocolError as error:
            reject_leg(self.sip, event.call_id, error.status, error.reason, now)
            return
        call_id = self.table.new_call_id()
        via = request.top_via
        source_host = via.received or via.host
        trunk = self._trunk_hosts.get(source_host)
        caller = request.from_.uri.user if request.from_.uri and request.from_.uri.user else ""
        callee = request.uri.user or ""
        self.table.legs[event.call_id] = LegState(
            event.call_id, call_id, "customer", offer=event.offer
        )
        self.table.calls[call_id] = CallState(call_id, event.call_id, trunk=trunk)
        log.info(
            "inbound call",
            extra={"call_id": call_id, "caller": caller, "callee": callee, "trunk": trunk},
        )
        self.runtime.decide(
            lambda: self.center.inbound_call(
                now,
                call_id=call_id,
                leg_id=event.call_id,
                caller=caller or "anonymous",
                callee=callee,
                trunk=trunk,
            )
        )

    def _answered(self, event: OutgoingAnswered, now: float) -> None:
        """An agent's phone or a trunk answered the INVITE we sent."""
        leg = self.table.legs.get(event.call_id)
        if leg is None:
            return
        call = self.table.calls[leg.call_id]
        endpoint = leg.endpoint
        try:
            if endpoint is None:
                raise ProtocolError("agent leg answered without a media endpoint", 500)
            remote = read_answer(event.answer, endpoint)
        except ProtocolError as error:
            log.warning("agent answer unusable: %s", error.reason, extra={"call_id": call.call_id})
            self.runtime.submit(call, lambda: self._hang_up_leg(leg, now))
            self.runtime.decide(
                lambda: self.center.leg_failed(now, leg.call_id, leg.leg_id, "rejected")
            )
            return
        if not self.center.is_live(leg.call_id):  # the customer left while it rang
            self.runtime.submit(call, lambda: self._hang_up_leg(leg, now))
            return
        self.runtime.submit(call, lambda: self.endpoints.set_remote(endpoint, remote))
        if not self.runtime.decide(lambda: self.center.leg_answered(now, leg.call_id, leg.leg_id)):
            self.runtime.submit(call, lambda: self._hang_up_leg(leg, now))

    def _failed(self, event: OutgoingFailed, now: float) -> None:
        """A final failure of an INVITE we sent, to an agent's phone or a trunk."""
        leg = self.table.legs.get(event.call_id)
        if leg is None:
            return
        leg.ended = True
        if leg.role in ("customer", "external"):  # a leg on a carrier trunk
            log.info(
                "trunk leg failed: %s %s",
                event.status,
                event.reason,
                extra={"call_id": leg.call_id},
            )
            self.runtime.decide(
                lambda: self.center.trunk_failed(
                    now, leg.call_id, leg.leg_id, event.status, event.reason
                )
            )
            self._release_later(leg)
            return
        reason: Literal["no_answer", "rejected", "unreachable"] = _AGENT_FAILURES.get(
            event.status, "unreachable"
        )
        log.info(
            "agent leg failed: %s %s",
            event.status,
            event.reason,
            extra={"call_id": leg.call_id},
        )
        self.runtime.decide(lambda: self.center.leg_failed(now, leg.call_id, leg.leg_id, reason))
        self._release_later(leg)

    # ---- in the call -------------------------------------------------------------------------

    def _reoffer(self, event: OfferReceived, now: float) -> None:
        """A re-INVITE (a phone's own hold, a session refresh): answer it with our same
        endpoint and follow the peer if it moved."""
        leg = self.table.legs.get(event.call_id)
        if leg is None or leg.endpoint is None:
            return
        endpoint = leg.endpoint
        try:
            answer, remote = answer_offer(event.offer, endpoint, session_id=2)
        except ProtocolError as error:
            log.warning("re-INVITE refused: %s", error.reason, extra={"call_id": leg.call_id})
            return
        self.sip.user_agent.answer(event.call_id, answer, now)
        self.runtime.submit(
            self.table.calls[leg.call_id], lambda: self.endpoints.set_remote(endpoint, remote)
        )
        held = remote.direction in ("sendonly", "inactive")
        if leg.role != "customer" and held != leg.phone_held:
            # Only a change counts: a session refresh repeats the direction, and must not
            # resume a hold the desktop (API) asked for.
            leg.phone_held = held
            self.runtime.decide(lambda: self.center.phone_hold(now, leg.call_id, leg.leg_id, held))

    def _refer(self, event: ReferReceived, now: float) -> None:
        """A phone's transfer key (REFER): answered here, carried out by the contact centre
        as a blind transfer; NOTIFY tells the phone at once whether the B2BUA took it.
        Attended transfer by REFER with Replaces is refused: the agent's consultation call
        would be a second dialog through this node, which agents' phones do not place; the
        API's consult/complete is the supported attended transfer (docs/calls.md)."""
        ua = self.sip.user_agent
        leg = self.table.legs.get(event.call_id)
        talking = self.center.talking_leg(leg.call_id) if leg is not None else None
        if leg is None or leg.ended or talking is None or talking != leg.leg_id:
            ua.answer_refer(event.call_id, 403, now, "Only the talking agent may transfer")
            return
        if event.replaces:
            ua.answer_refer(event.call_id, 403, now, "Use the API for attended transfer")
            return
        number = event.target.user or ""
        try:
            destination = self.center.transfer_destination(number, now)
        except OriginateError as error:  # an outside number we may not or cannot dial
            log.info("REFER to %s refused: %s", number, error, extra={"call_id": leg.call_id})
            status, reason = _REFER_REFUSALS.get(error.kind, (404, "No such queue or user"))
            ua.answer_refer(event.call_id, status, now, reason)
            return
        if destination is None:
            log.info("REFER to %s: no such queue or user", number, extra={"call_id": leg.call_id})
            ua.answer_refer(event.call_id, 404, now, "No such queue or user")
            return
        ua.answer_refer(event.call_id, 202, now)
        done = self.runtime.decide(
            lambda: self.center.refer(now, leg.call_id, leg.leg_id, destination)
        )
        if done:
            ua.notify_refer(event.call_id, 200, "OK", now)
        else:
            ua.notify_refer(event.call_id, 503, "Service Unavailable", now)

    # ---- teardown ----------------------------------------------------------------------------

    def _leg_ended(self, event: CallEnded, now: float) -> None:
        leg = self.table.legs.get(event.call_id)
        if leg is None or leg.ended:
            return
        leg.ended = True
        if event.reason != "hangup":  # our own BYE's completion is no news to the centre
            self.runtime.decide(lambda: self.center.leg_hung_up(now, leg.call_id, leg.leg_id))
        call = self.table.calls.get(leg.call_id)
        if call is not None and leg.role == "customer" and call.ivr is not None:
            call.ivr.feed(ivr_io.CallerHungUp())
        self._release_later(leg)

    async def _hang_up_leg(self, leg: LegState, now: float) -> None:
        if not leg.ended:
            leg.ended = True
            self.sip.user_agent.hangup(leg.leg_id, now)
        await self.endpoints.release(leg)

    def _release_later(self, leg: LegState) -> None:
        call = self.table.calls.get(leg.call_id)
        if call is not None:
            self.runtime.submit(call, lambda: self.endpoints.release(leg))
