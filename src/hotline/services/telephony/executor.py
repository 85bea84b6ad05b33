"""``CommandExecutor``: carries out the contact centre's commands for one call's job queue,
on SIP legs and media endpoints.

The legs: answer the customer's INVITE (allocate an endpoint, answer its offer, 200), reject
it, ring an agent's registered phone (an INVITE to the binding's source address, NAT-safe),
dial a carrier trunk (our offer, the trunk's credentials, the presented number or RFC 3323
anonymity), cancel and hang up. The media: bridge and unbridge, the call's mix (conference,
consultation, supervisor; ``services/mixing.py``), music on hold, ringback, stopping
playback. Recording commands go to ``CallRecorder``, IVR commands and position
announcements to ``IvrPort``, answering-machine detection to ``MachineDetection``.

A command that cannot be carried out any more (the leg hung up while its answer was being
prepared) is logged and dropped: the SIP event that made it moot has already reached the
contact centre, which decides what follows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import assert_never

from hotline.calls import commands as control
from hotline.calls.commands import DialTrunk
from hotline.calls.sdp_media import answer_offer, make_offer
from hotline.media import engine as media
from hotline.media.speexdsp import VoiceProcessing
from hotline.services.acd_link import AnnouncePosition
from hotline.services.contact_center import AdapterCommand, ContactCenter
from hotline.services.mixing import CallMix
from hotline.services.telephony.config import TelephonyConfig
from hotline.services.telephony.endpoints import LegEndpoints
from hotline.services.telephony.ivr_port import IvrPort
from hotline.services.telephony.machine_detection import MachineDetection
from hotline.services.telephony.recording import CallRecorder
from hotline.services.telephony.state import CallRuntime, CallTable, LegState, Role
from hotline.sip.errors import ProtocolError
from hotline.sip.uri import Uri
from hotline.transport.sip_service import SipService

log = logging.getLogger(__name__)


class CommandExecutor:
    def __init__(
        self,
        runtime: CallRuntime,
        center: ContactCenter,
        sip: SipService,
        table: CallTable,
        endpoints: LegEndpoints,
        recorder: CallRecorder,
        ivr: IvrPort,
        machines: MachineDetection,
        clock: Callable[[], float],
        config: TelephonyConfig,
    ) -> None:
        self.runtime = runtime
        self.center = center
        self.sip = sip
        self.table = table
        self.endpoints = endpoints
        self.recorder = recorder
        self.ivr = ivr
        self.machines = machines
        self.clock = clock
        self.agent_domain = config.agent_domain
        self._tones = _tone_plan(config.numbering_plan.region)
        self.voice_processing = config.voice_processing

    async def carry_out(self, commands: Sequence[AdapterCommand]) -> None:
        """One batch of a call's commands, in order (a job on the call's queue)."""
        for command in commands:
            try:
                await self._command(command)
            except (ProtocolError, media.MediaEngineError, KeyError) as error:
                # KeyError: a leg that is already gone; the event that ended it has reached
                # the contact centre, which decided what follows.
                log.warning("%s not carried out: %s", type(command).__name__, error)
            finally:
                self.sip.flush()

    async def _command(self, command: AdapterCommand) -> None:
        """Exhaustive over the commands (mypy checks it): one without a case here would
        be silently dropped."""
        now = self.clock()
        ua = self.sip.user_agent
        legs = self.table.legs
        match command:
            case control.AnswerLeg():
                await self._answer_customer(legs[command.leg_id])
            case control.RejectLeg():
                reject_leg(self.sip, command.leg_id, command.status, command.reason, now)
                leg = legs.get(command.leg_id)
                if leg is not None:
                    leg.ended = True
                    await self.endpoints.release(leg)
            case control.RingAgent():
                await self._ring_agent(command)
            case DialTrunk():
                await self._dial_trunk(command)
            case control.CancelLeg():
                leg = legs.get(command.leg_id)
                if leg is not None and not leg.ended:
                    try:
                        ua.cancel(command.leg_id, now)
                    except ProtocolError:  # answered meanwhile: end it instead
                        ua.hangup(command.leg_id, now)
            case control.HangUpLeg():
                leg = legs.get(command.leg_id)
                if leg is not None and not leg.ended:
                    ua.hangup(command.leg_id, now)
                    await self.endpoints.stop_media(leg)
            case control.StartIvr():
                await self.ivr.start(command)
            case control.StopIvr():
                self.ivr.stop(self.table.calls[command.call_id])
            case control.PlayMusicOnHold():
                leg = legs[command.leg_id]
                await self.endpoints.stop_media(leg)
                if leg.endpoint is not None:
                    await self.endpoints.play_music_on_hold(leg.endpoint.endpoint_id)
            case control.PlayRingback():
                leg = legs[command.leg_id]
                await self.endpoints.stop_media(leg)
                if leg.endpoint is not None:
                    await self.endpoints.run(
                        media.PlayProgressTone(leg.endpoint.endpoint_id, self._tones, "ringback")
                    )
            case control.DetectMachine():
                self.machines.start(command)
            case control.StopMedia():
                await self.endpoints.stop_media(legs[command.leg_id])
            case control.Bridge():
                customer, agent = legs[command.customer_leg], legs[command.agent_leg]
                if customer.endpoint and agent.endpoint:
                    await self.endpoints.run(
                        media.Bridge(
                            customer.endpoint.endpoint_id,
                            agent.endpoint.endpoint_id,
                            toward_b=self._voice_toward(customer, agent),
                        )
                    )
            case control.Unbridge():
                customer = legs[command.customer_leg]
                if customer.endpoint is not None:
                    await self.endpoints.run(media.Unbridge(customer.endpoint.endpoint_id))
            case control.StartRecording():
                await self.recorder.start(command)
            case control.StopRecording():
                await self.recorder.stop(command.recording_id)
            case control.PauseRecording() | control.ResumeRecording():
                await self.recorder.pause(command)
            case control.SetMix():
                await self._set_mix(command)
            case AnnouncePosition():
                self.ivr.announce(command)
            case _:
                assert_never(command)

    def _voice_toward(self, customer: LegState, agent: LegState) -> VoiceProcessing | None:
        """What the agent's side hears from the customer is cleaned as the call's queue and
        trunk say (``voice_processing.py``); an outside party gets nothing."""
        if agent.role == "external" or not self.voice_processing.configured:
            return None
        call = self.table.calls.get(customer.call_id)
        live = self.center.calls.get(customer.call_id)
        return self.voice_processing.for_call(
            live.queue if live else None, call.trunk if call else None
        )

    async def _answer_customer(self, leg: LegState) -> None:
        if leg.ended:
            return
        endpoint = await self.endpoints.allocate(leg)
        answer, remote = answer_offer(leg.offer, endpoint)
        await self.endpoints.set_remote(endpoint, remote)
        if leg.ended:  # the caller gave up while we prepared
            return
        self.sip.user_agent.answer(leg.leg_id, answer, self.clock())

    async def _ring_agent(self, command: control.RingAgent) -> None:
        now = self.clock()
        registrar = self.sip.registrar
        aor = f"sip:{command.agent}@{self.agent_domain}"
        bindings = registrar.lookup(aor, now)
        leg = LegState(command.leg_id, command.call_id, command.role)
        self.table.legs[command.leg_id] = leg
        if not bindings:
            log.info("agent %s has no registered phone", command.agent)
            leg.ended = True
            self.runtime.decide(
                lambda: self.center.leg_failed(now, command.call_id, command.leg_id, "unreachable")
            )
            return
        binding = bindings[0]
        contact = Uri.parse(binding.contact)
        transport, destination = _destination(contact, binding.source)
        endpoint = await self.endpoints.allocate(leg)
        self.sip.user_agent.invite(
            request_uri=binding.contact,
            destination=destination,
            transport=transport,
            from_uri=f"sip:hotline@{self.agent_domain}",
            to_uri=aor,
            offer=make_offer(endpoint),
            now=self.clock(),
            call_id=command.leg_id,
            extra_headers=[("X-Hotline-Call", command.call_id)],
        )

    async def _dial_trunk(self, command: DialTrunk) -> None:
        """An INVITE to the carrier with our offer: the customer leg of an outbound call, or
        the outside party of an inbound call's transfer."""
        role: Role = command.role
        leg = LegState(command.leg_id, command.call_id, role)
        self.table.legs[command.leg_id] = leg
        call = self.table.calls.get(command.call_id)
        if call is not None and role == "customer":
            # A click-to-call's customer is on this leg (the last one tried answers): its
            # prompts, music and survey go there, also after the call is transferred.
            call.customer_leg = command.leg_id
            call.trunk = command.trunk
        endpoint = await self.endpoints.allocate(leg)
        if leg.ended or not self.center.is_live(command.call_id):
            leg.ended = True
            await self.endpoints.release(leg)
            return
        if command.from_user:
            from_uri, headers = f"sip:{command.from_user}@{command.host}", []
        else:  # RFC 3323: no number to present
            from_uri, headers = "sip:anonymous@anonymous.invalid", [("Privacy", "id")]
        try:
            self.sip.user_agent.invite(
                request_uri=command.request_uri,
                destination=(command.host, command.port),
                transport=command.transport,
                from_uri=from_uri,
                to_uri=command.to_uri,
                offer=make_offer(endpoint),
                now=self.clock(),
                call_id=command.leg_id,
                extra_headers=headers,
                credentials=command.credentials,
            )
        except (ProtocolError, KeyError) as error:  # KeyError: no listener of that transport
            log.warning("trunk %s: INVITE not sent: %r", command.trunk, error)
            leg.ended = True
            now = self.clock()
            self.runtime.decide(
                lambda: self.center.trunk_failed(
                    now, command.call_id, command.leg_id, 503, "cannot send to the trunk"
                )
            )
            await self.endpoints.release(leg)

    async def _set_mix(self, command: control.SetMix) -> None:
        """The call's mix (conference, consultation, supervisor) as call control wants it."""
        call = self.table.calls[command.call_id]
        if call.mix is None:
            call.mix = CallMix(call.call_id)
        wanted: dict[str, tuple[str, tuple[str, ...]]] = {}
        for member in command.members:
            endpoint = self.table.live_endpoint(member.leg_id)
            if endpoint is None:
                continue  # a leg that ended meanwhile; its end reached the centre
            whisper_to = tuple(
                e for e in (self.table.live_endpoint(leg) for leg in member.whisper_to) if e
            )
            wanted[endpoint] = (member.role, whisper_to)
        await call.mix.apply(wanted, self.endpoints.by_id.keys(), self.endpoints.run)


def reject_leg(sip: SipService, leg_id: str, status: int, reason: str, now: float) -> None:
    """A final refusal of an incoming INVITE; a leg that is gone meanwhile is only logged."""
    try:
        sip.user_agent.reject(leg_id, status, now, reason)
    except ProtocolError:
        log.info("could not reject leg %s (gone)", leg_id)


def _destination(contact: Uri, source: str | None) -> tuple[str, tuple[str, int]]:
    """Where to send an INVITE for a binding: the address it registered from (NAT-safe,
    RFC 5626 spirit) when known, else the Contact URI's host and port."""
    if source:
        transport, host, port = source.split(":", 2)
        if port.isdigit():
            return transport.upper(), (host, int(port))
    return contact.transport.upper(), (contact.host, contact.port or 5060)


#: Regions whose call-progress tones are not the ITU's common 425 Hz plan
#: (``media/players.py``: ``TONE_PLANS``): ringback sounds as the agents' network does.
_TONE_PLANS = {"CN": "cn", "US": "us", "CA": "us"}


def _tone_plan(region: str) -> str:
    return _TONE_PLANS.get(region.upper(), "itu")
