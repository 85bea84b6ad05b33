"""What a campaign has learnt so far: answer probability, ring, talk and wrap-up times.

Predictive pacing needs three distributions, all per campaign and all changing as the day
goes on: how likely a dialled number is to answer and after how long it rings (until the
customer picks up, or we give up at the no-answer timeout), how long agents talk, and how
long they take to wrap up. Each is a :class:`LifetimeEstimate`: a discrete-time survival
model on a one-second grid, learnt online.

Two things make the naive estimate (a histogram of finished durations) dangerous here,
and this module exists to get them right:

* **Right-censoring.** In the first minutes of a campaign only the *short* calls have
  ended; a histogram of them says talk is short, the pacer believes agents will be free
  soon and over-dials into abandons. The estimate counts calls still in progress as
  censored observations (Kaplan-Meier), so a two-minute-old call that has not ended is
  evidence that calls last at least two minutes.
* **A cautious prior.** A new campaign has no data. Each estimate starts from prior
  pseudo-observations (``EstimatePriors.weight`` of them) chosen on the safe side: a high
  answer probability and short rings (more answers, sooner, than will come) and long talk
  times (agents free later). Real observations outweigh the prior within minutes.

Ring outcomes are competing risks: an answer ends the ring, and so do a busy tone and the
timeout. The estimate keeps the answer hazard apart from the others, so the probability that
a call still ringing after ``c`` seconds will answer in the next ``y`` is a ratio of its
cumulative incidence and survival, with no separate answer-rate estimate to keep
consistent with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

#: Abramowitz & Stegun 7.1.26: erf to 1.5e-7, vectorised (numpy has no erf, and we do not
#: pull in scipy for one function).
_ERF_P = 0.3275911
_ERF_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def normal_cdf(x: FloatArray) -> FloatArray:
    """Standard normal CDF, elementwise."""
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + _ERF_P * z)
    a1, a2, a3, a4, a5 = _ERF_A
    erf = 1.0 - ((((a5 * t + a4) * t + a3) * t + a2) * t + a1) * t * np.exp(-z * z)
    result: FloatArray = 0.5 * (1.0 + np.sign(x) * erf)
    return result


def lognormal_pmf(mean: float, cv: float, bins: int) -> FloatArray:
    """P(duration in [t, t + 1)) for t = 0 .. bins - 1; the last bin takes the tail."""
    if mean <= 0 or cv <= 0:
        raise ValueError("a lognormal needs a positive mean and coefficient of variation")
    sigma = math.sqrt(math.log1p(cv * cv))
    mu = math.log(mean) - sigma * sigma / 2.0
    edges = np.arange(1, bins, dtype=np.float64)
    cdf = normal_cdf((np.log(edges) - mu) / sigma)
    cumulative = np.concatenate(([0.0], cdf, [1.0]))
    pmf: FloatArray = np.diff(cumulative)
    return pmf


@dataclass(frozen=True, slots=True)
class LifetimeCurves:
    """One estimate evaluated: arrays indexed by one-second bin ``t``."""

    #: P(nothing has ended the lifetime by the end of bin t).
    survival: FloatArray
    #: P(the event of interest, e.g. an answer, has happened by the end of bin t).
    incidence: FloatArray

    @property
    def event_probability(self) -> float:
        """P(the event ever happens), e.g. the answer probability."""
        return float(self.incidence[-1])

    @property
    def mean(self) -> float:
        """Mean lifetime in seconds (bins are one second; half a bin for the last one)."""
        return float(self.survival.sum()) + 0.5


class LifetimeEstimate:
    """Time to an event on a one-second grid: Kaplan-Meier with a prior and competing ends.

    ``observe`` records a lifetime that has ended, by the event of interest or by a
    competing end (``event=False``); :meth:`curves` takes the ages of the lifetimes still
    running as censored observations. The prior enters as ``weight`` pseudo-lifetimes
    distributed as ``prior_event`` (ending by the event) and ``prior_other`` (by another
    end); together they sum to one.
    """

    def __init__(
        self,
        prior_event: FloatArray,
        prior_other: FloatArray | None = None,
        *,
        weight: float,
    ) -> None:
        self.bins = len(prior_event)
        other = np.zeros(self.bins) if prior_other is None else prior_other
        if len(other) != self.bins:
            raise ValueError("prior arrays must cover the same grid")
        total = float(prior_event.sum() + other.sum())
        if not math.isclose(total, 1.0, rel_tol=1e-6):
            raise ValueError(f"prior probabilities sum to {total}, not 1")
        self._prior_event = weight * prior_event
        self._prior_other = weight * other
        self._event = np.zeros(self.bins)
        self._other = np.zeros(self.bins)
        #: Real lifetimes observed (not counting the prior).
        self.observations = 0

    def _bin(self, seconds: float) -> int:
        return min(max(int(seconds), 0), self.bins - 1)

    def observe(self, seconds: float, *, event: bool = True) -> None:
        """A lifetime ended after ``seconds``: by the event, or by a competing end."""
        (self._event if event else self._other)[self._bin(seconds)] += 1.0
        self.observations += 1

    def curves(self, running_ages: FloatArray | None = None) -> LifetimeCurves:
        """Survival and incidence given what has ended and what is still running."""
        events = self._prior_event + self._event
        others = self._prior_other + self._other
        ended = events + others
        # At risk in bin t: every lifetime that ended in bin t or later ...
        at_risk = np.cumsum(ended[::-1])[::-1]
        if running_ages is not None and len(running_ages):
            # ... and every running one that has lived through bin t entirely.
            running = np.bincount(
                np.minimum(running_ages.astype(np.int64), self.bins - 1), minlength=self.bins
            ).astype(np.float64)
            at_risk = at_risk + np.concatenate((np.cumsum(running[::-1])[::-1][1:], [0.0]))
        safe = np.where(at_risk > 0, at_risk, 1.0)
        event_hazard = np.where(at_risk > 0, events / safe, 0.0)
        other_hazard = np.where(at_risk > 0, others / safe, 0.0)
        survival = np.cumprod(
            np.clip(1.0 - event_hazard - other_hazard, 0.0, 1.0), dtype=np.float64
        )
        before = np.concatenate(([1.0], survival[:-1]))
        incidence: FloatArray = np.cumsum(before * event_hazard)
        return LifetimeCurves(survival=survival, incidence=incidence)


@dataclass(frozen=True, slots=True)
class EstimatePriors:
    """Where a campaign's estimates start, on the safe side (see the module docstring).

    Over-estimating the answer probability and under-estimating the ring time both predict
    more answers sooner than will come, and long talk times predict agents free later:
    each errs towards dialling fewer calls, so the first minutes of a campaign are close to
    progressive and speed up as the data comes in.
    """

    answer_probability: float = 0.9
    ring_seconds: float = 6.0
    ring_cv: float = 0.6
    talk_seconds: float = 180.0
    talk_cv: float = 0.5
    wrap_seconds: float = 20.0
    wrap_cv: float = 0.5
    #: Pseudo-observations each prior is worth.
    weight: float = 20.0


#: Talk and wrap-up grids. Longer lifetimes fall in the last bin, which is then an "at
#: least" bin; an hour of talk is far beyond what pacing looks at (the next half minute).
TALK_BINS = 3600
WRAP_BINS = 900


class CampaignEstimates:
    """The three lifetimes one campaign learns: ring (answer or not), talk, wrap-up."""

    def __init__(self, no_answer_timeout: float, priors: EstimatePriors | None = None) -> None:
        if no_answer_timeout <= 0:
            raise ValueError("the no-answer timeout must be positive")
        self.priors = priors or EstimatePriors()
        self.no_answer_timeout = no_answer_timeout
        p = self.priors
        #: Ring bins 0 .. timeout; a call that has not answered by the timeout is hung up
        #: in bin ``timeout`` (a competing end).
        ring_bins = math.ceil(no_answer_timeout) + 1
        answer = lognormal_pmf(p.ring_seconds, p.ring_cv, ring_bins - 1)
        prior_answer = np.concatenate((p.answer_probability * answer, [0.0]))
        prior_other = np.zeros(ring_bins)
        prior_other[-1] = 1.0 - p.answer_probability
        self.ring = LifetimeEstimate(prior_answer, prior_other, weight=p.weight)
        self.talk = LifetimeEstimate(
            lognormal_pmf(p.talk_seconds, p.talk_cv, TALK_BINS), weight=p.weight
        )
        self.wrap = LifetimeEstimate(
            lognormal_pmf(p.wrap_seconds, p.wrap_cv, WRAP_BINS), weight=p.weight
        )

    @property
    def observations(self) -> int:
        return self.ring.observations + self.talk.observations + self.wrap.observations

    def observe_answer(self, ring_seconds: float) -> None:
        self.ring.observe(ring_seconds, event=True)

    def observe_no_answer(self, ring_seconds: float) -> None:
        """The call ended without an answer: timeout, busy, or a failure of the number."""
        self.ring.observe(ring_seconds, event=False)

    def observe_talk(self, seconds: float) -> None:
        self.talk.observe(seconds)

    def observe_wrap(self, seconds: float) -> None:
        self.wrap.observe(seconds)
