"""The controls of a connected call: hold, transfers, consultation, conference, supervision.

One set of controls for every kind of call (``CallKind``): an inbound call, a click-to-call
and a campaign call are the same once customer and agent talk, so whatever the API or the
agent's phone asks is carried out here the same way. Extra legs are rung like agents
(``RingAgent`` with a role) or, for an outside number, dialled through a trunk (``TrunkDial``,
the consultation or conference party's leg); they never go through the ACD. Every input only
changes state and asks the audio to follow (``_connect``), see ``calls/topology.py``.
"""

from __future__ import annotations

from typing import Literal

from hotline.calls.call_base import AgentLeg, CallBase, External
from hotline.calls.commands import (
    Bridge,
    CallControlError,
    ContactLeft,
    HangUpLeg,
    Output,
    PlayMusicOnHold,
    PlayRingback,
    RingAgent,
    SetMix,
    StopMedia,
    TransferDestination,
)
from hotline.calls.events import (
    AgentLegRinging,
    CallConnected,
    CallHeld,
    CallPartyJoined,
    CallPartyModeChanged,
    CallResumed,
    CallTransferred,
    PartyRole,
    SupervisorMode,
)
from hotline.calls.topology import Party, is_mix
from hotline.calls.trunk_dial import DialOutput, TrunkDial

#: The priority a caller gets back in their queue when a transfer to an outside number
#: failed: ahead of callers who have not been served yet (they were, once).
FALLBACK_PRIORITY = 10


class CallControls(CallBase):
    """Hold, transfer, consult, conference and supervise; see the module docstring."""

    # ---- hold --------------------------------------------------------------------------------

    def hold(self, now: float) -> list[Output]:
        """The agent put the customer on hold: the customer hears music, not the agent."""
        self._talking_leg()
        if self._held:
            return []
        if self._answered_party("third_party") is not None:
            raise CallControlError(f"call {self.call_id}: no hold in a conference")
        before = self._topology()
        self._held = True
        return [
            *self._connect(before),
            PlayMusicOnHold(self.customer_leg),
            CallHeld(at=now, call_id=self.call_id),
        ]

    def resume(self, now: float) -> list[Output]:
        self._talking_leg()
        if not self._held:
            return []
        if self._party_of("consult") is not None:
            raise CallControlError(f"call {self.call_id}: complete or cancel the consultation")
        before = self._topology()
        self._held = False
        return [
            StopMedia(self.customer_leg),
            *self._connect(before),
            CallResumed(at=now, call_id=self.call_id),
        ]

    def phone_hold(self, leg_id: str, held: bool, now: float) -> list[Output]:
        """The agent's phone changed its own direction by re-INVITE: ``a=sendonly`` or
        ``inactive`` (its hold key) holds the customer, ``sendrecv`` again resumes. A
        direction change on any other leg (a supervisor's phone) changes nothing here."""
        if self._talking is None or self._talking.leg_id != leg_id or self.state != "connected":
            return []
        try:
            return self.hold(now) if held else self.resume(now)
        except CallControlError:
            # Hold in a conference, resume during a consultation: the phone's key does not
            # change what the desktop set up (its own media direction is all it changes).
            return []

    # ---- blind transfers ---------------------------------------------------------------------

    def refer(
        self,
        leg_id: str,
        destination: TransferDestination,
        now: float,
        dial: TrunkDial | None = None,
    ) -> list[Output]:
        """The agent's phone transferred the caller (REFER): blind, to a queue, a user, or
        an outside number (``dial``: its dial through the trunks)."""
        talking = self._talking_leg()
        if talking.leg_id != leg_id:
            raise CallControlError(f"call {self.call_id}: leg {leg_id} is not the agent's")
        if destination.kind == "user" and destination.target == talking.agent:
            raise CallControlError(f"call {self.call_id}: {talking.agent} is the agent already")
        if destination.kind == "queue":
            return self.transfer_to_queue(destination.target, now)
        if destination.kind == "number":
            if dial is None:
                raise CallControlError(f"call {self.call_id}: no trunk dial for a number")
            return self.transfer_to_number(dial, now)
        return self.transfer_to_user(destination.target, now)

    def transfer_to_queue(self, queue: str, now: float) -> list[Output]:
        """Blind transfer into a queue: the agent is released to wrap-up, the caller waits."""
        outputs = self._release_agent("queue", queue, now)
        self.state = "queued"
        return outputs + self.enqueue(queue, 0, {}, {}, now)

    def transfer_to_user(self, target: str, now: float) -> list[Output]:
        """Blind transfer to a user: ring it directly, without the ACD."""
        outputs = self._release_agent("blind", target, now)
        self._queue = None  # the new target's talk is not the queue's (recording policy)
        return [*outputs, PlayMusicOnHold(self.customer_leg), *self._ring(target, now)]

    def transfer_to_number(self, dial: TrunkDial, now: float) -> list[Output]:
        """Blind transfer to an outside number through a carrier trunk.

        ``dial`` is built by the contact centre: the number normalized and checked against
        the transfer rules, the transfer trunk group, the DID the caller dialled as the
        number to present. As for any blind transfer the agent is released at once (BYE,
        wrap-up); the caller hears music while trunks are tried (failover, channels and
        timers are the dial's). On answer the caller is bridged to the outside party and
        recorded per the policy of the queue the call came from, on the same call record.
        If no trunk gets an answer the caller is not dropped (``_external_failed``).
        """
        talking = self._talking_leg()
        outputs = self._release_agent("blind", dial.number, now)
        self._external = External(dial, talking.agent, self._queue)
        self.state = "transferring"
        outputs.append(PlayMusicOnHold(self.customer_leg))
        dial.number_legs(lambda: self._next_leg_id("x"))
        return outputs + self._after_external_dial(dial.start(now), now)

    def _after_external_dial(self, outputs: list[DialOutput], now: float) -> list[Output]:
        external = self._external
        if external is None or external.dial.state != "failed":
            return list(outputs)
        return [*outputs, *self._external_failed(now)]

    def _external_failed(self, now: float) -> list[Output]:
        """Nobody answered at the outside number (busy, no answer, every trunk failed).

        Decision: the caller goes back where a call-centre operator expects it, never to
        the dial tone: into the queue the call came from, ahead of callers not served yet
        (``FALLBACK_PRIORITY``, or the contact's own priority if higher: a VIP stays
        ahead) and with its skill needs (the IVR's language), with ``transfer_failed`` on
        the screen pop; a call that reached the agent without a queue (a direct route, a
        click-to-call) rings that agent again. The music goes on throughout; the failed
        tries are in the CDR's trunk attempts.
        """
        external = self._external
        assert external is not None
        self._external = None
        number = external.dial.number
        if external.origin_queue is not None:
            self.state = "queued"
            attributes = {"transfer_failed": number}
            priority = max(self._priority, FALLBACK_PRIORITY)
            skills = self._skills
            return self.enqueue(external.origin_queue, priority, skills, attributes, now)
        return self._ring(external.from_agent, now)

    def _external_answered(self, external: External, leg_id: str, now: float) -> list[Output]:
        outputs: list[Output] = [*external.dial.answered(leg_id, now)]
        external.connected = True
        self._talking, self.state = AgentLeg(leg_id, external.dial.number), "connected"
        outputs += [
            StopMedia(self.customer_leg),
            Bridge(self.customer_leg, leg_id),
            CallPartyJoined(
                at=now,
                call_id=self.call_id,
                leg_id=leg_id,
                role="external",
                party=external.dial.number,
            ),
        ]
        if self._recording_mode() == "always":
            outputs += self.start_recording(now)
        return outputs

    def _release_agent(
        self, kind: Literal["queue", "blind"], target: str, now: float
    ) -> list[Output]:
        talking = self._talking_leg()
        if self._party_of("consult", "third_party") is not None:
            raise CallControlError(f"call {self.call_id}: end the consultation or conference")
        before = self._topology()
        outputs: list[Output] = [*self._drop_parties("dropped", now)]
        if is_mix(before):
            outputs.append(SetMix(self.call_id, ()))
        outputs += [*self.stop_recording(now), HangUpLeg(talking.leg_id)]
        if self._in_acd:
            self._in_acd = False
            outputs.append(ContactLeft(self.call_id, talking.agent))  # wrap-up starts
        outputs.append(
            CallTransferred(
                at=now, call_id=self.call_id, from_agent=talking.agent, target=target, kind=kind
            )
        )
        self._talking, self._held = None, False
        return outputs

    # ---- more parties: consultation, conference, supervisor ----------------------------------

    def consult(self, target: str, now: float, dial: TrunkDial | None = None) -> list[Output]:
        """Attended transfer, step one: the customer is held (music), ``target`` (a user,
        or the outside number ``dial`` reaches) is rung and the agent hears ringback; when
        it answers the agent and ``target`` talk, the customer does not hear them."""
        self._check_new_party(target, "a consultation or conference is on")
        talking = self._talking_leg()
        outputs = self.hold(now) if not self._held else []
        outputs += self._ring_party(target, "consult", None, now, dial)
        if self._party_of("consult") is None:  # the dial failed at once (no trunk)
            return outputs
        return [*outputs, PlayRingback(talking.leg_id)]

    def complete_transfer(self, now: float) -> list[Output]:
        """Attended transfer, step two: the consulted party takes the customer over, the
        agent is released into wrap-up."""
        self._talking_leg()
        consult = self._party_of("consult")
        if consult is None or not consult.answered:
            raise CallControlError(f"call {self.call_id}: no answered consultation")
        return self._take_over(consult, now, agent_gone=False)

    def cancel_consult(self, now: float) -> list[Output]:
        """Attended transfer abandoned: the consulted party is let go, the agent is back
        with the customer."""
        self._talking_leg()
        return self._let_party_go("consult", "no consultation", "cancelled", now)

    def add_party(self, target: str, now: float, dial: TrunkDial | None = None) -> list[Output]:
        """Conference: ring ``target`` (a user, or the outside number ``dial`` reaches);
        when it answers, customer, agent and it all hear each other."""
        self._talking_leg()
        if self._held:
            raise CallControlError(f"call {self.call_id} is on hold")
        self._check_new_party(target, "a consultation or conference is on")
        return self._ring_party(target, "third_party", None, now, dial)

    def drop_party(self, now: float) -> list[Output]:
        """End the conference's third party (customer and agent go on alone)."""
        return self._let_party_go("third_party", "no conference party", "dropped", now)

    def supervise(self, supervisor: str, mode: SupervisorMode, now: float) -> list[Output]:
        """Ring ``supervisor``'s phone; once answered it listens (hears both, heard by
        none), whispers (heard by the agent only) or barges in (all hear all)."""
        self._check_new_party(supervisor, "it is supervised already", ("supervisor",))
        return self._ring_party(supervisor, "supervisor", mode, now)

    def set_supervision(self, mode: SupervisorMode, now: float) -> list[Output]:
        """Switch the supervisor between listen, whisper and barge."""
        party = self._party_of("supervisor")
        if party is None:
            raise CallControlError(f"call {self.call_id} is not supervised")
        if party.mode == mode:
            return []
        before = self._topology()
        party.mode = mode
        if not party.answered:
            return []
        return [
            *self._connect(before),
            CallPartyModeChanged(at=now, call_id=self.call_id, leg_id=party.leg_id, mode=mode),
        ]

    def end_supervision(self, now: float) -> list[Output]:
        return self._let_party_go("supervisor", "it is not supervised", "dropped", now)

    def _check_new_party(
        self,
        target: str,
        busy: str,
        roles: tuple[PartyRole, ...] = ("consult", "third_party"),
    ) -> None:
        """The guard every new party passes: an agent talks, no party of ``roles`` is on
        (``busy`` says so), and ``target`` is not that agent."""
        talking = self._talking_leg()
        if self._party_of(*roles) is not None:
            raise CallControlError(f"call {self.call_id}: {busy}")
        if target == talking.agent:
            raise CallControlError(f"call {self.call_id}: {target} is the agent already")

    def _let_party_go(self, role: PartyRole, missing: str, reason: str, now: float) -> list[Output]:
        """End the party of ``role`` (``missing`` says there is none) for ``reason``."""
        party = self._party_of(role)
        if party is None:
            raise CallControlError(f"call {self.call_id}: {missing}")
        return self._party_gone(party, reason, now)

    def _ring_party(
        self,
        target: str,
        role: Literal["consult", "third_party", "supervisor"],
        mode: SupervisorMode | None,
        now: float,
        dial: TrunkDial | None = None,
    ) -> list[Output]:
        if dial is None:
            leg_id = self._next_leg_id(role[0])
            self._parties[leg_id] = Party(leg_id, target, role, mode)
            return [RingAgent(self.call_id, leg_id, target, role)]
        dial.number_legs(lambda: self._next_leg_id("o"))
        self._party_dial = dial
        outputs = dial.start(now)
        if dial.leg_id is not None:
            self._parties[dial.leg_id] = Party(dial.leg_id, dial.number, role, mode)
        return [*outputs, *self._after_party_dial(now)]

    def _after_party_dial(self, now: float) -> list[Output]:
        """Follow the outside party's dial: a new trunk tried means a new leg for the same
        party; a dial that failed is the party gone."""
        dial = self._party_dial
        if dial is None:
            return []
        party = self._party_of("consult", "third_party")  # one at a time: the dialled one
        if dial.state == "failed":
            self._party_dial = None
            if party is None:
                return []
            return self._party_gone(party, "failed", now)
        if party is not None and dial.leg_id is not None and party.leg_id != dial.leg_id:
            del self._parties[party.leg_id]
            party.leg_id = dial.leg_id
            self._parties[dial.leg_id] = party
        return []

    def _party_answered(self, party: Party, now: float) -> list[Output]:
        if party.answered or self.state != "connected":
            raise CallControlError(f"call {self.call_id}: unexpected answer on {party.leg_id}")
        outputs: list[Output] = []
        if self._party_dial is not None and party.leg_id in self._dialled_legs:
            outputs += self._party_dial.answered(party.leg_id, now)
        before = self._topology()
        party.answered = True
        if party.role == "consult" and self._talking is not None:
            outputs.append(StopMedia(self._talking.leg_id))  # the ringback
        return [
            *outputs,
            *self._connect(before),
            CallPartyJoined(
                at=now,
                call_id=self.call_id,
                leg_id=party.leg_id,
                role=party.role,
                party=party.party,
                mode=party.mode,
            ),
        ]

    def _party_gone(self, party: Party, reason: str, now: float) -> list[Output]:
        """A party's leg failed, hung up, or is let go (``reason`` cancelled/dropped): the
        others go on; a consultation that ends takes the agent back to the customer."""
        before = self._topology()
        outputs = self._end_party_leg(party, now, hang_up=reason in ("cancelled", "dropped"))
        del self._parties[party.leg_id]
        if party.role == "consult" and self._held and self.state == "connected":
            self._held = False
            if not party.answered and self._talking is not None:
                outputs.append(StopMedia(self._talking.leg_id))  # the ringback
            outputs += [
                StopMedia(self.customer_leg),
                *self._connect(before),
                CallResumed(at=now, call_id=self.call_id),
            ]
        else:
            outputs += self._connect(before)
        outputs.append(self._party_left(party, reason, now))
        return outputs

    def _take_over(self, party: Party, now: float, *, agent_gone: bool) -> list[Output]:
        """``party`` (an answered consultation or conference party) becomes the agent: the
        old agent is released (BYE unless it hung up itself) into wrap-up, and the customer
        is bridged to the new one, recorded on the same call record. An outside party that
        takes over is the call's outside party from then on (as after a blind transfer to
        a number), its trunk channel held until the call ends."""
        talking = self._talking_leg()
        before = self._topology()
        outputs: list[Output] = [*self.stop_recording(now)]
        del self._parties[party.leg_id]
        dial, self._party_dial = self._party_dial, None
        if dial is not None and dial.leg_id != party.leg_id:
            self._party_dial, dial = dial, None  # not this party's dial
        outputs += self._drop_parties("dropped", now)  # a supervisor of the old agent
        if is_mix(before):
            outputs.append(SetMix(self.call_id, ()))
        if not agent_gone:
            outputs.append(HangUpLeg(talking.leg_id))
        if self._in_acd:
            self._in_acd = False
            outputs.append(ContactLeft(self.call_id, talking.agent))  # wrap-up starts
        outputs += [
            CallTransferred(
                at=now,
                call_id=self.call_id,
                from_agent=talking.agent,
                target=party.party,
                kind="attended",
            ),
            self._party_left(party, "transferred", now),
        ]
        if self._held:
            self._held = False
            outputs += [StopMedia(self.customer_leg), CallResumed(at=now, call_id=self.call_id)]
        self._talking = AgentLeg(party.leg_id, party.party)
        self._queue = None  # the new party's talk is not the queue's (recording policy)
        outputs.append(Bridge(self.customer_leg, party.leg_id))
        if dial is not None:
            self._external = External(dial, talking.agent, None, connected=True)
            outputs.append(
                CallPartyJoined(
                    at=now,
                    call_id=self.call_id,
                    leg_id=party.leg_id,
                    role="external",
                    party=party.party,
                )
            )
        else:
            outputs.append(
                CallConnected(at=now, call_id=self.call_id, leg_id=party.leg_id, agent=party.party)
            )
        if self._recording_mode() == "always":
            outputs += self.start_recording(now)
        return outputs

    def _consult_to_blind(self, consult: Party, now: float) -> list[Output]:
        """The agent hung up while its consultation still rang: the ringing leg carries on as
        a blind transfer to that user (the caller keeps hearing music). An outside number
        still being dialled is given up: the caller goes where a failed outside transfer
        goes (back to the queue, or ringing the agent again)."""
        talking = self._talking_leg()
        outputs: list[Output] = [*self.stop_recording(now)]
        if self._party_dial is not None and consult.leg_id in self._dialled_legs:
            outputs += self._end_party_leg(consult, now)
            del self._parties[consult.leg_id]
            outputs.append(self._party_left(consult, "cancelled", now))
            outputs += self._drop_parties("dropped", now)
            if self._in_acd:
                self._in_acd = False
                outputs.append(ContactLeft(self.call_id, talking.agent))
            self._talking, self._held = None, False
            return outputs + self._reroute_after_agent_left(talking.agent, now)
        del self._parties[consult.leg_id]
        outputs += self._drop_parties("dropped", now)
        if self._in_acd:
            self._in_acd = False
            outputs.append(ContactLeft(self.call_id, talking.agent))
        outputs.append(
            CallTransferred(
                at=now,
                call_id=self.call_id,
                from_agent=talking.agent,
                target=consult.party,
                kind="blind",
            )
        )
        self._talking, self._held, self._queue = None, False, None
        self._ringing[consult.leg_id] = AgentLeg(consult.leg_id, consult.party)
        self.state = "ringing_agent"
        outputs.append(
            AgentLegRinging(
                at=now, call_id=self.call_id, leg_id=consult.leg_id, agent=consult.party
            )
        )
        return outputs

    def _reroute_after_agent_left(self, agent: str, now: float) -> list[Output]:
        """The agent left the caller with nobody: back to the queue the call was in (as
        after a failed outside transfer), or the call ends."""
        if self._queue is not None:
            self.state = "queued"
            priority = max(self._priority, FALLBACK_PRIORITY)
            return self.enqueue(self._queue, priority, self._skills, {}, now)
        return self._end("agent", f"agent {agent} hung up during a consultation", now)
