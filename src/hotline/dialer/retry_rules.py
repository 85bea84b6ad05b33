"""What happens to a contact after an attempt: done, retried later, or given up on.

Each outcome class has its own rule, because each says something different about when the
contact might answer: a busy line is in use now and may be free in minutes; nobody at
home may be home tonight; an answering machine means the contact is away for longer; an
abandoned call (answered, but no agent within 2 s) was already a nuisance and is not
redialled soon (the FTC's abandonment rule is about exactly that). Two outcomes end the
contact for good: ``invalid_number`` and ``do_not_call``.

A carrier's congestion (503, no circuits) is not the contact's doing: the attempt is not
counted, the contact is tried again after a short delay, and it never exhausts a contact.
The trunk's trouble is handled where it belongs, by the pacing back-off
(:meth:`hotline.dialer.pacing.CampaignState.carrier_rejected`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Literal, get_args

Outcome = Literal[
    "answered",
    "busy",
    "no_answer",
    "machine",
    "failed",
    "abandoned",
    "congestion",
    "invalid_number",
    "do_not_call",
]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)

#: The outcomes that are retried under a :class:`RetryRule` of the same name.
RetriedOutcome = Literal["busy", "no_answer", "machine", "failed", "abandoned"]
RETRIED_OUTCOMES: tuple[RetriedOutcome, ...] = get_args(RetriedOutcome)


def _number(value: object, what: str) -> float:
    # bool is an int to Python, never a duration or a count to an operator.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, not {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, not {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class RetryRule:
    """When to try again after one outcome class, and how many times in all."""

    #: Seconds from the end of the attempt to the next one.
    delay_seconds: float
    #: Attempts in total, including the first, after which the contact is exhausted when
    #: its latest attempt ended this way.
    max_attempts: int

    def __post_init__(self) -> None:
        if not 0 <= self.delay_seconds < math.inf:
            raise ValueError(f"a retry delay must be >= 0 and finite: {self.delay_seconds}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts counts the first attempt, so >= 1: {self.max_attempts}")

    def to_spec(self) -> dict[str, Any]:
        return {"delay_seconds": self.delay_seconds, "max_attempts": self.max_attempts}


def _parse_rule(spec: Any, default: RetryRule, what: str) -> RetryRule:
    """One outcome's rule; a key left out keeps the default rule's value."""
    keys = {"delay_seconds", "max_attempts"}
    if not isinstance(spec, Mapping):
        raise ValueError(f"{what} must be a mapping with {sorted(keys)}, not {spec!r}")
    unknown = set(spec) - keys
    if unknown:
        raise ValueError(f"{what}: unknown keys {sorted(unknown)}; known: {sorted(keys)}")
    delay = _number(spec.get("delay_seconds", default.delay_seconds), f"{what}.delay_seconds")
    attempts = _number(spec.get("max_attempts", default.max_attempts), f"{what}.max_attempts")
    if not attempts.is_integer():
        raise ValueError(f"{what}.max_attempts must be a whole number, not {attempts}")
    try:
        return RetryRule(delay, int(attempts))
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None


@dataclass(frozen=True, slots=True)
class RetryRules:
    """A campaign's retry rules; the defaults suit a sales or survey list."""

    busy: RetryRule = RetryRule(600, 3)
    no_answer: RetryRule = RetryRule(3600, 3)
    machine: RetryRule = RetryRule(14400, 2)
    failed: RetryRule = RetryRule(1800, 2)
    #: An abandoned contact is not redialled soon (FTC, 16 CFR 310.4(b)(1)(iv)).
    abandoned: RetryRule = RetryRule(86400, 2)
    #: A carrier's 503 or congestion: not the contact's fault, not counted as an attempt.
    congestion_delay_seconds: float = 120

    def __post_init__(self) -> None:
        if not 0 <= self.congestion_delay_seconds < math.inf:
            raise ValueError(
                f"congestion_delay_seconds must be >= 0 and finite: {self.congestion_delay_seconds}"
            )

    def rule(self, outcome: RetriedOutcome) -> RetryRule:
        rule: RetryRule = getattr(self, outcome)
        return rule

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> RetryRules:
        """Rules from a campaign's settings; keys left out keep their defaults.

        ``{"busy": {"delay_seconds": 300, "max_attempts": 5}, "congestion_delay_seconds":
        60}``. Unknown keys are refused rather than ignored: a misspelt ``no_anwser`` would
        otherwise silently leave the default in place.
        """
        names = {f.name for f in fields(cls)}
        unknown = set(spec) - names
        if unknown:
            raise ValueError(f"unknown retry rules {sorted(unknown)}; known: {sorted(names)}")
        defaults = cls()
        values: dict[str, Any] = {}
        for outcome in RETRIED_OUTCOMES:
            if outcome in spec:
                values[outcome] = _parse_rule(spec[outcome], defaults.rule(outcome), outcome)
        if "congestion_delay_seconds" in spec:
            values["congestion_delay_seconds"] = _number(
                spec["congestion_delay_seconds"], "congestion_delay_seconds"
            )
        return cls(**values)

    def to_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {o: self.rule(o).to_spec() for o in RETRIED_OUTCOMES}
        spec["congestion_delay_seconds"] = self.congestion_delay_seconds
        return spec


@dataclass(frozen=True, slots=True)
class NextStep:
    """What to do with the contact now."""

    #: "done": never call again; "retry": call again at :attr:`at`; "exhausted": out of
    #: attempts for its latest outcome.
    status: Literal["done", "retry", "exhausted"]
    #: When to retry, on the caller's clock (status "retry" only).
    at: float | None
    #: Whether the attempt adds one to the contact's attempt count.
    counts_as_attempt: bool


def after_attempt(rules: RetryRules, outcome: Outcome, attempts: int, now: float) -> NextStep:
    """The contact's next step after an attempt that ended with ``outcome`` at ``now``.

    ``attempts`` is the number of counted attempts made to the contact, this one included.
    The latest outcome's rule decides: a contact busy twice and then unanswered has made
    three attempts, and ``no_answer``'s limit (3 by default) applies to those three. A
    congestion is not counted (``attempts`` is not read) and is always retried.
    ``do_not_call`` is the dialler refusing a blocked number before dialling, so it is not
    counted either; ``invalid_number`` (the network said the number does not exist) is.
    """
    match outcome:
        case "answered" | "invalid_number":
            return NextStep("done", None, counts_as_attempt=True)
        case "do_not_call":
            return NextStep("done", None, counts_as_attempt=False)
        case "congestion":
            return NextStep("retry", now + rules.congestion_delay_seconds, False)
        case "busy" | "no_answer" | "machine" | "failed" | "abandoned":
            rule = rules.rule(outcome)
            if attempts >= rule.max_attempts:
                return NextStep("exhausted", None, counts_as_attempt=True)
            return NextStep("retry", now + rule.delay_seconds, counts_as_attempt=True)
    raise ValueError(f"unknown outcome {outcome!r}; known: {', '.join(OUTCOMES)}")
