"""How a call's audio is connected, as data: nothing, a bridge of two legs, or a mix.

While a call is only customer and agent, the two legs are bridged (a cheap pass-through);
as soon as a third leg has answered (consultation, conference party, supervisor) the legs
are mixed instead (``SetMix``: mix-minus and the supervisor roles of ``media/mixer.py``).
A call computes the topology its state calls for before and after each input, and
:func:`connect` turns the difference into commands, so no input has to spell out its own
Unbridge/Bridge/SetMix sequence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hotline.calls.commands import Bridge, MixMember, Output, SetMix, Unbridge
from hotline.calls.events import PartyRole, SupervisorMode

#: Nothing, the customer bridged to the agent, or the members of a mix.
Topology = tuple[()] | tuple[str, str] | tuple[MixMember, ...]


@dataclass(slots=True)
class Party:
    """A leg beyond the customer and the talking agent: a consultation, a conference party
    or a supervisor. ``party`` is a user, or an outside number for a dialled party."""

    leg_id: str
    party: str
    role: PartyRole
    mode: SupervisorMode | None = None
    answered: bool = False


def topology_of(
    customer_leg: str, talking_leg: str, *, held: bool, parties: Iterable[Party]
) -> Topology:
    """The connection a connected call calls for: the customer (unless held), the talking
    agent, and every answered party in its role."""
    members = [] if held else [MixMember(customer_leg)]
    members.append(MixMember(talking_leg))
    for party in parties:
        if not party.answered:
            continue
        if party.role == "supervisor":
            if party.mode == "listen":
                members.append(MixMember(party.leg_id, "listen"))
            elif party.mode == "whisper":
                members.append(MixMember(party.leg_id, "whisper", (talking_leg,)))
            else:
                members.append(MixMember(party.leg_id))
        elif party.role == ("consult" if held else "third_party"):
            # A consultation is mixed with the agent while the customer is held; a
            # conference party with both while not.
            members.append(MixMember(party.leg_id))
    if len(members) < 2:
        return ()
    if not held and len(members) == 2:
        return (customer_leg, talking_leg)
    return tuple(members)


def connect(call_id: str, before: Topology, after: Topology) -> list[Output]:
    """Commands that take the call's audio from ``before`` to ``after``."""
    if after == before:
        return []
    outputs: list[Output] = []
    bridged, mixed = bridge_of(before), mix_of(before)
    if bridged is not None:
        outputs.append(Unbridge(*bridged))
    wanted_bridge, wanted_mix = bridge_of(after), mix_of(after)
    if mixed is not None and wanted_mix is None:
        outputs.append(SetMix(call_id, ()))
    if wanted_mix is not None:
        outputs.append(SetMix(call_id, wanted_mix))
    elif wanted_bridge is not None:
        outputs.append(Bridge(*wanted_bridge))
    return outputs


def is_mix(topology: Topology) -> bool:
    return mix_of(topology) is not None


def mix_of(topology: Topology) -> tuple[MixMember, ...] | None:
    members = tuple(m for m in topology if isinstance(m, MixMember))
    return members if members else None


def bridge_of(topology: Topology) -> tuple[str, str] | None:
    legs = [leg for leg in topology if isinstance(leg, str)]
    return (legs[0], legs[1]) if len(legs) == 2 else None
