"""VICIdial's adaptive predictive loop (``ADAPT_TAPERED``), re-implemented as a pacing policy.

This is the benchmark our predictive pacing is measured against (issue 15), so it lives in
the package rather than under ``bench/``: ``hotline dialer simulate --mode
vicidial-adaptive`` runs it from an installed package, where ``bench/`` does not exist.
It is registered like any policy and could pace a real campaign, but nothing here
recommends that.

Written from a reading of VICIdial's own scripts (AGPLv2; no code copied), as mirrored in
github.com/inktel/Vicidial at commit 1278c1c:

* ``bin/AST_VDadapt.pl`` (version 2.4), the loop that adjusts ``auto_dial_level``. Every
  second ``count_agents_lines`` samples the campaign's agents (all logged in; ``READY`` or
  ``DONE``) and its answered calls waiting for an agent (``vicidial_auto_calls`` status
  ``LIVE``) and averages the last 15 samples; every 60 s ``calculate_drops`` counts the
  day's and the last minute's dialled, answered and dropped calls; every 15 s
  ``calculate_dial_level`` sets ::

      differential = avg(ready agents) - avg(waiting calls) + adaptive_dl_diff_target
      level       *= 1 + (differential / avg(agents)) x intensity factor
      level        = min(level, adaptive_maximum_level); at least 1.0
      if > 20 calls in the last minute and their drops > 50 %:   level /= 2
      if > 50 calls today and drops / answered > adaptive_dropped_percentage:
          ADAPT_TAPERED: level *= tapered_rate, or 1.0 once past the latest server time
      level = at least 1.0

  where the intensity factor is ``1 + intensity/100`` for a positive differential and
  ``|intensity/100 - 1|`` for a negative one (1 for the default intensity 0), and
  ``tapered_rate = min(1, (adaptive_latest_server_time - now) / 1000)`` on HHMM
  numbers, so the loop tolerates drops over the limit while ten or more "hours" (in HHMM
  arithmetic) are left, and cuts the level harder the closer the campaign gets to its end.
  The defaults are those of ``extras/MySQL_AST_CREATE_tables.sql``: dropped percentage 3,
  maximum level 3.0, latest server time 2100, intensity 0, difference target 0.
* ``bin/AST_VDauto_dial.pl``, which turns the level into calls: ``goal = round(level x
  (READY + INCALL agents))`` (paused agents, such as those in disposition, do not count)
  and it places ``goal - calls in progress``, where calls in progress are those ``SENT``,
  ``RINGING``, ``LIVE`` or ``XFER`` (with an agent). VICIdial runs that loop every 2.5 s; here
  it runs on whatever tick the dialler uses, the same for every policy, so a comparison
  measures the pacing rule and not the tick.

Two readings had to be made. A campaign "day" is the run: the day's drop statistics start
at zero with the campaign. And the server's time of day comes from the campaign's
``shift_end`` (:class:`~hotline.dialer.pacing.PacingConfig`): the latest server time is
reached at ``shift_end``, so a two-hour run with the default 2100 runs from 19:00 to 21:00
and the taper bites throughout; without a ``shift_end`` the taper never bites (as for a
VICIdial campaign early in a long day).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from hotline.dialer.pacing import AgentPhase, CampaignState, PacingPolicy, register_policy


@dataclass(frozen=True, slots=True)
class VicidialSettings:
    """The campaign fields ``AST_VDadapt.pl`` reads, with VICIdial's defaults."""

    dropped_percentage: float = 3.0
    maximum_level: float = 3.0
    #: HHMM, server time: when the campaign stops dialling.
    latest_server_time: int = 2100
    intensity: float = 0.0
    dl_diff_target: float = 0.0
    #: ``auto_dial_level`` when the campaign starts.
    initial_level: float = 1.0
    #: ``available_only_ratio_tally``: multiply the level by ready agents only.
    available_only_ratio_tally: bool = False
    sample_seconds: float = 1.0
    level_seconds: float = 15.0
    drops_seconds: float = 60.0
    samples: int = 15


@dataclass(slots=True)
class _DropStats:
    calls_today: int = 0
    answers_today: int = 0
    drops_today: int = 0
    calls_one: int = 0
    drops_one: int = 0

    @property
    def drops_answers_today_pct(self) -> float:
        if self.drops_today == 0:
            return 0.0
        return round(100.0 * self.drops_today / max(self.answers_today, 1), 2)

    @property
    def drops_one_pct(self) -> float:
        if self.drops_one == 0 or self.calls_one == 0:
            return 0.0
        return round(100.0 * self.drops_one / self.calls_one, 2)


@register_policy
class VicidialAdaptTapered(PacingPolicy):
    """``ADAPT_TAPERED`` as ``AST_VDadapt.pl`` and ``AST_VDauto_dial.pl`` run it."""

    name = "vicidial-adaptive"

    def __init__(self, settings: VicidialSettings | None = None) -> None:
        self.settings = settings or VicidialSettings()
        self.level = self.settings.initial_level
        self._samples: deque[tuple[int, int, int]] = deque(maxlen=self.settings.samples)
        self._next_sample = -math.inf
        self._level_at: float | None = None
        self._drops_at = -math.inf
        self._drops = _DropStats()
        #: Totals at the last drop count, for "the last minute".
        self._last_totals = (0, 0)

    def wanted_calls(self, state: CampaignState, now: float) -> int:
        settings = self.settings
        if now >= self._next_sample:
            self._samples.append((state.count(AgentPhase.READY), state.waiting, state.logged_in))
            self._next_sample = now + settings.sample_seconds
        if now - self._drops_at >= settings.drops_seconds:
            self._count_drops(state)
            self._drops_at = now
        if self._level_at is None:
            self._level_at = now
        elif now - self._level_at >= settings.level_seconds:
            self._adjust_level(state, now)
            self._level_at = now

        ready = state.count(AgentPhase.READY)
        talking = state.count(AgentPhase.TALKING)
        counted = ready if settings.available_only_ratio_tally else ready + talking
        agents = max(counted + settings.dl_diff_target, 0.0)
        # Perl's sprintf("%.0f") rounds half to even, as round() does.
        goal = round(self.level * agents)
        in_progress = state.ringing + state.waiting + talking
        return goal - in_progress

    def _count_drops(self, state: CampaignState) -> None:
        """``calculate_drops``: the day's totals and the last minute's."""
        dialled, dropped = self._last_totals
        self._drops = _DropStats(
            calls_today=state.dialled,
            answers_today=state.answered,
            drops_today=state.abandoned,
            calls_one=state.dialled - dialled,
            drops_one=state.abandoned - dropped,
        )
        self._last_totals = (state.dialled, state.abandoned)

    def _hours_left(self, state: CampaignState, now: float) -> float | None:
        """``adaptive_latest_server_time - current HHMM``, on HHMM numbers as VICIdial does."""
        shift_end = state.config.shift_end
        if shift_end is None:
            return None
        latest = self.settings.latest_server_time
        latest_minutes = (latest // 100) * 60 + latest % 100
        minutes = math.floor(latest_minutes - (shift_end - now) / 60.0)
        hourmin = (minutes // 60) * 100 + minutes % 60
        return float(latest - hourmin)

    def _adjust_level(self, state: CampaignState, now: float) -> None:
        """``calculate_dial_level``."""
        settings = self.settings
        if not self._samples:
            return
        count = len(self._samples)
        ready_avg = sum(s[0] for s in self._samples) / count
        waiting_avg = sum(s[1] for s in self._samples) / count
        agents_avg = sum(s[2] for s in self._samples) / count
        if agents_avg <= 0:
            return
        differential = ready_avg - waiting_avg + settings.dl_diff_target
        multiplier = differential / agents_avg if differential != 0 else 0.0
        percent = multiplier * 100.0
        intensity = settings.intensity / 100.0
        if percent < 0:
            intensity_percent = percent * abs(intensity - 1.0)
        else:
            intensity_percent = percent * (intensity + 1.0)
        level = round(self.level * (intensity_percent / 100.0 + 1.0), 3)
        level = min(level, settings.maximum_level)
        level = max(level, 1.0)

        drops = self._drops
        if drops.calls_one > 20 and drops.drops_one_pct > 50:
            level /= 2.0
        if drops.calls_today > 50 and drops.drops_answers_today_pct > settings.dropped_percentage:
            hours_left = self._hours_left(state, now)
            if hours_left is not None and hours_left < 0:
                level = 1.0
            elif hours_left is not None:
                level *= min(1.0, hours_left / 1000.0)
        self.level = max(level, 1.0)
