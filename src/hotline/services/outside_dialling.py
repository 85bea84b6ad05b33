"""Which trunk, number and caller ID a call dials outside with: the node's carrier policy.

The contact centre places calls to outside numbers for five reasons: a click-to-call's and a
campaign's customer, and the outside party of a blind transfer, a consultation or a
conference. Each is a :class:`~hotline.calls.trunk_dial.TrunkDial`; this module builds them
from the node's trunk groups, numbering plan and toll-fraud rules
(:class:`~hotline.calls.transfer_rules.ExternalTransferRules`), and refuses with
:class:`~hotline.calls.trunk_dial.OriginateError` before anything rings or a channel is
taken. Pure: the trunk groups' states are shared with the trunk service that probes them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from hotline.calls.numbers import NumberError, NumberingPlan, normalize
from hotline.calls.transfer_rules import ExternalTransferRules
from hotline.calls.trunk_dial import (
    CUSTOMER_RING_TIMEOUT,
    OriginateError,
    TrunkDial,
    check_caller_id,
    usable_trunks_or_raise,
)
from hotline.calls.trunks import TrunkGroup

log = logging.getLogger(__name__)


class OutsideDialling:
    """The node's trunk groups, numbering plan and transfer rules, and the dials they make."""

    def __init__(self) -> None:
        self.groups: dict[str, TrunkGroup] = {}
        self.plan = NumberingPlan()
        self.rules = ExternalTransferRules()

    def configure(
        self,
        groups: Mapping[str, TrunkGroup],
        plan: NumberingPlan,
        rules: ExternalTransferRules | None = None,
    ) -> None:
        """New groups and plan (None rules: they stay; they come from the settings, the
        live directory changes only trunks and groups)."""
        self.groups = dict(groups)
        self.plan = plan
        if rules is not None:
            self.rules = rules

    def group(self, name: str | None) -> TrunkGroup:
        """The trunk group ``name`` (default: the first configured), or OriginateError."""
        if not self.groups:
            raise OriginateError("unavailable", "no trunk group is configured on this node")
        name = name or next(iter(self.groups))
        group = self.groups.get(name)
        if group is None:
            raise OriginateError("not_found", f"no trunk group {name}")
        return group

    def customer_dial(
        self,
        call_id: str,
        number: str,
        group: TrunkGroup,
        caller_id: str | None,
        ring_timeout: float | None = None,
    ) -> TrunkDial:
        """The dial of a customer we call (click-to-call, campaign): ``number`` in any
        format people write, presenting ``caller_id`` if ``group`` owns it (else refused);
        ``ring_timeout``: how long it may ring (default ``CUSTOMER_RING_TIMEOUT``)."""
        try:
            normalized = normalize(number, self.plan)
        except NumberError as error:
            raise OriginateError("invalid", str(error)) from None
        return TrunkDial(
            call_id=call_id,
            number=normalized,
            group=group,
            plan=self.plan,
            caller_id=check_caller_id(group.config, caller_id, self.plan),
            ring_timeout=CUSTOMER_RING_TIMEOUT if ring_timeout is None else ring_timeout,
        )

    def outside_number(self, raw: str) -> str:
        """``raw`` normalized, if transfers may reach it and a trunk could carry the call
        now; else :class:`OriginateError` ("invalid", "forbidden", "unavailable",
        "not_found")."""
        try:
            number = normalize(raw, self.plan)
        except NumberError as error:
            raise OriginateError("invalid", str(error)) from None
        refusal = self.rules.refusal(number, self.plan)
        if refusal is not None:
            raise OriginateError("forbidden", refusal)
        usable_trunks_or_raise(self._transfer_group())
        return number

    def outside_party_dial(self, call_id: str, did: str | None, raw: str) -> TrunkDial:
        """The dial of an outside party (transfer, consultation, conference) of a call
        whose customer dialled ``did``: presented if the transfer group owns that number
        (a forwarded call shows the company's number), else the group's default."""
        number = self.outside_number(raw)
        group = self._transfer_group()
        try:
            caller_id = check_caller_id(group.config, did or None, self.plan)
        except OriginateError:
            caller_id = None
        return TrunkDial(
            call_id=call_id,
            number=number,
            group=group,
            plan=self.plan,
            caller_id=caller_id,
            callee="outside party",
            leg_tag="x",
            role="external",
        )

    def is_outside_number(self, target: str) -> bool:
        """Whether a consultation or conference target is an outside number: one that
        normalizes to an E.164 number. Extensions, queue numbers and short codes are
        users (a short code such as 110 is never a party one consults)."""
        try:
            return normalize(target, self.plan).startswith("+")
        except NumberError:
            return False

    def _transfer_group(self) -> TrunkGroup:
        if not self.groups:
            raise OriginateError("unavailable", "no trunk group is configured on this node")
        name = self.rules.trunk_group or next(iter(self.groups))
        group = self.groups.get(name)
        if group is None:  # the node's configuration, not the caller, is wrong
            log.error("external_transfer.trunk_group %s is no trunk group of this node", name)
            raise OriginateError("unavailable", f"no trunk group {name} for transfers")
        return group
