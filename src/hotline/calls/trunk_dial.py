"""Dialling a number through a carrier trunk group, sans-IO: the carrier half of a call.

A click-to-call's or a campaign's customer, and the outside party of a transfer, a
consultation or a conference, are all reached the same way: :class:`TrunkDial` tries trunk
after trunk of a group until one answers. Trunk choice, capacity and failover are
:class:`~hotline.calls.trunks.OutboundAttempt`'s: on a failover answer (``failover_on``: 408,
5xx, 604, 606 by default) or on a trunk that shows no sign of life within its
``setup_timeout_s`` (no ringing, no final answer), the next usable trunk is tried within the
same attempt. Each trunk tried leaves a ``TrunkAttemptEnded`` event, so the CDR lists them in
order. The dial owns its timers (the trunk's setup time, the callee's ring time) on an
explicit clock.

Caller-ID rules (:func:`presented_number`), first match wins:

1. the trunk's fixed ``caller_id`` (a carrier that only lets its own number through);
2. the number the call asks to present (the API's ``caller_id``; a transfer passes the DID
   the customer dialled) if it is one of the group's ``caller_ids`` (numbers we own);
3. the group's ``default_caller_id``;
4. none: the call goes out anonymous (``From: anonymous``, ``Privacy: id``, RFC 3323).

A requested number that the group does not allow is refused when the call is placed, not
replaced silently: presenting a number one does not own is illegal in many countries.
A transfer's DID that the group does not list is not refused: the transfer goes out with
the group's default (or anonymous), since the caller, not the agent, chose that number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from hotline.calls.commands import CallControlError, CancelLeg, DialTrunk, HangUpLeg
from hotline.calls.events import TrunkAttemptEnded
from hotline.calls.numbers import NumberError, NumberingPlan, normalize, to_dial_format
from hotline.calls.trunks import OutboundAttempt, TrunkConfig, TrunkGroup, TrunkGroupConfig

#: How long the customer's (or outside party's) phone may ring once the carrier reports it.
CUSTOMER_RING_TIMEOUT = 60.0


class OriginateError(Exception):
    """An outbound call (or a transfer to an outside number) that cannot be placed.
    ``kind``: "invalid" (a bad number or caller ID), "unavailable" (no usable trunk),
    "conflict" (the agent cannot take it now), "not_found" (no such agent or trunk group),
    "forbidden" (the number is outside what transfers may reach)."""

    def __init__(
        self,
        kind: Literal["invalid", "unavailable", "conflict", "not_found", "forbidden"],
        message: str,
    ) -> None:
        super().__init__(message)
        self.kind = kind


def presented_number(
    trunk: TrunkConfig, group: TrunkGroupConfig, requested: str | None
) -> str | None:
    """The number an outbound call presents on ``trunk`` (see the module docstring);
    ``requested`` must already be one of the group's ``caller_ids`` or None."""
    if trunk.caller_id:
        return trunk.caller_id
    if requested is not None and requested in group.caller_ids:
        return requested
    return group.default_caller_id


def check_caller_id(
    group: TrunkGroupConfig, requested: str | None, plan: NumberingPlan
) -> str | None:
    """The group's ``caller_ids`` entry that ``requested`` names (in any format that reads
    as the same number), or OriginateError if the group may not present it."""
    if requested is None:
        return None
    wanted = _canonical(requested, plan)
    for allowed in group.caller_ids:
        if allowed == requested or _canonical(allowed, plan) == wanted:
            return allowed
    raise OriginateError(
        "invalid", f"caller_id {requested!r} is not a number of trunk group {group.name}"
    )


def _canonical(number: str, plan: NumberingPlan) -> str:
    try:
        return normalize(number, plan)
    except NumberError:
        return number


def usable_trunks_or_raise(group: TrunkGroup) -> None:
    """Fail fast, before an agent's phone rings, when no trunk could carry the call."""
    if any(trunk.usable for trunk in group.trunks):
        return
    states = ", ".join(f"{t.name} {'down' if not t.up else 'full'}" for t in group.trunks)
    raise OriginateError("unavailable", f"no usable trunk in group {group.config.name}: {states}")


DialState = Literal["idle", "dialling", "ringing", "answered", "failed", "ended"]
DialOutput = DialTrunk | CancelLeg | HangUpLeg | TrunkAttemptEnded


class TrunkDial:
    """One number dialled through a trunk group, trunk after trunk, until it answers.

    The carrier half that a dialled customer and an outside party share: channels and
    failover (:class:`OutboundAttempt`), the number in each trunk's dial format, the
    caller-ID rules, digest credentials, and two timers on an explicit clock
    (``deadline``): a trunk's ``setup_timeout_s`` without ringing or a final answer moves to
    the next trunk; ``ring_timeout`` after ringing gives up. Every trunk tried leaves a
    ``TrunkAttemptEnded``. The owner reads ``state`` after each input: ``failed`` (with
    ``failure``: the SIP status and cause) means no trunk will carry the call any more.
    """

    def __init__(
        self,
        *,
        call_id: str,
        number: str,
        group: TrunkGroup,
        plan: NumberingPlan,
        caller_id: str | None = None,
        ring_timeout: float = CUSTOMER_RING_TIMEOUT,
        callee: str = "customer",
        leg_tag: str = "t",
        role: Literal["customer", "external"] = "customer",
    ) -> None:
        self.call_id = call_id
        self.number = number  # normalized (calls/numbers.py)
        self.state: DialState = "idle"
        self.leg_id: str | None = None  # the leg being dialled, or answered
        self.deadline: float | None = None
        self.failure: tuple[int, str] | None = None
        self._group = group
        self._plan = plan
        self._caller_id = caller_id  # one of the group's caller_ids, or None
        self._ring_timeout = ring_timeout
        self._callee = callee  # how causes name the dialled party
        self._leg_tag = leg_tag
        self.role: Literal["customer", "external"] = role
        self._attempt: OutboundAttempt | None = None
        self._dialled = ""  # the number as the current trunk was sent it
        self._legs = 0
        self._leg_ids: Callable[[], str] | None = None

    def number_legs(self, leg_ids: Callable[[], str]) -> None:
        """Take each new leg's id from ``leg_ids`` (the call's own numbering), so that the
        legs of several dials in one call (a consultation, then a transfer) never share
        an id, which is also the SIP Call-ID of the leg."""
        self._leg_ids = leg_ids

    @property
    def group(self) -> str:
        return self._group.config.name

    @property
    def caller_id(self) -> str | None:
        """The number the call asked to present (one of the group's), or None."""
        return self._caller_id

    @property
    def trunk(self) -> str | None:
        """The trunk whose channel the dial holds now."""
        trunk = self._attempt.in_use if self._attempt is not None else None
        return trunk.name if trunk is not None else None

    def start(self, now: float) -> list[DialOutput]:
        if self.state != "idle":
            raise CallControlError(f"call {self.call_id}: {self.number} is dialled already")
        self._attempt = OutboundAttempt(self._group)
        return self._dial_next(now)

    def owns(self, leg_id: str) -> bool:
        """Whether ``leg_id`` is the leg being dialled (not one given up on)."""
        return leg_id == self.leg_id and self.state in ("dialling", "ringing")

    def progress(self, leg_id: str, now: float) -> None:
        """The carrier reports ringing (180/183): the trunk lives; the ring time starts."""
        if leg_id == self.leg_id and self.state == "dialling":
            self.state = "ringing"
            self.deadline = now + self._ring_timeout

    def failed(self, leg_id: str, status: int | None, reason: str, now: float) -> list[DialOutput]:
        """The current leg ended before an answer: the next trunk, or ``failed``."""
        if not self.owns(leg_id):
            return []  # a leg given up on already (its 487 after our CANCEL)
        return self._give_up(status, reason, now, cancel=False)

    def answered(self, leg_id: str, now: float) -> list[DialOutput]:
        if not self.owns(leg_id):
            raise CallControlError(f"call {self.call_id}: unexpected answer on leg {leg_id}")
        self.state, self.deadline = "answered", None
        return [self._attempt_ended(200, "answered", now)]

    def handle_timer(self, now: float) -> list[DialOutput]:
        if self.deadline is None or now < self.deadline:
            return []
        self.deadline = None
        if self.state == "dialling":
            return self._give_up(None, "no answer from the trunk in time", now, cancel=True)
        if self.state == "ringing":
            outputs = self.stop(now, reason="no answer in time")
            self.state, self.failure = "failed", (480, f"{self._callee} did not answer")
            return outputs
        return []

    def stop(
        self, now: float, *, hang_up: bool = True, reason: str = "call ended while dialling"
    ) -> list[DialOutput]:
        """The call is over (or goes elsewhere): cancel a leg still being dialled, or hang
        up an answered one (``hang_up`` False: it hung up itself); the channel is free."""
        attempt, leg_id, state = self._attempt, self.leg_id, self.state
        self.state, self.deadline = "ended", None
        if attempt is None or attempt.in_use is None or leg_id is None:
            return []
        if state == "answered":
            attempt.ended()
            return [HangUpLeg(leg_id)] if hang_up else []
        ended = self._attempt_ended(None, reason, now)
        attempt.failed(487)
        return [CancelLeg(leg_id), ended]

    def _dial_next(self, now: float) -> list[DialOutput]:
        assert self._attempt is not None
        trunk = self._attempt.next_trunk()
        if trunk is None:
            tried = ", ".join(self._attempt.tried) or "none usable"
            self.state, self.leg_id, self.deadline = "failed", None, None
            self.failure = (503, f"no trunk could carry the call (tried: {tried})")
            return []
        config = trunk.config
        self._legs += 1
        if self._leg_ids is not None:
            self.leg_id = self._leg_ids()
        else:
            self.leg_id = f"{self.call_id}-{self._leg_tag}{self._legs}"
        self.state = "dialling"
        self.deadline = now + config.setup_timeout_s
        self._dialled = to_dial_format(self.number, config.dial_format, self._plan)
        presented = presented_number(config, self._group.config, self._caller_id)
        from_user = (
            to_dial_format(presented, config.dial_format, self._plan)
            if presented is not None and presented.startswith("+")
            else presented
        )
        credentials = None
        if config.username and config.password is not None:
            credentials = (config.username, config.password.get_secret_value())
        host = config.host if ":" not in config.host else f"[{config.host}]"
        parameters = "" if config.transport == "udp" else f";transport={config.transport}"
        return [
            DialTrunk(
                call_id=self.call_id,
                leg_id=self.leg_id,
                trunk=config.name,
                request_uri=f"sip:{self._dialled}@{host}:{config.port}{parameters}",
                to_uri=f"sip:{self._dialled}@{host}",
                from_user=from_user,
                host=config.host,
                port=config.port,
                transport=config.transport,
                credentials=credentials,
                role=self.role,
            )
        ]

    def _give_up(
        self, status: int | None, reason: str, now: float, *, cancel: bool
    ) -> list[DialOutput]:
        assert self._attempt is not None
        assert self.leg_id is not None
        outputs: list[DialOutput] = [CancelLeg(self.leg_id)] if cancel else []
        outputs.append(self._attempt_ended(status, reason, now))
        self.leg_id = None
        if self._attempt.failed(status):
            return [*outputs, *self._dial_next(now)]
        self.state, self.deadline = "failed", None
        if status is None:
            self.failure = (408, "no trunk answered in time")
        else:
            self.failure = (status, f"{self._callee} leg failed: {status} {reason}")
        return outputs

    def _attempt_ended(self, status: int | None, reason: str, now: float) -> TrunkAttemptEnded:
        assert self._attempt is not None
        assert self.leg_id is not None
        trunk = self._attempt.in_use
        return TrunkAttemptEnded(
            at=now,
            call_id=self.call_id,
            leg_id=self.leg_id,
            trunk=trunk.name if trunk else "",
            number=self._dialled,
            status=status,
            reason=reason,
            role=self.role,
        )
