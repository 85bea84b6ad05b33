"""The dialer's pacing grid (issue 15): our predictive pacing against VICIdial's loop.

Every cell (5, 20 and 100 agents x answer rates 15 %, 30 % and 60 %) runs the same seeded
contact list and team through three policies, 120 simulated minutes each: ``predictive``
(ours), ``vicidial-adaptive`` (VICIdial's ADAPT_TAPERED loop, re-implemented in
``hotline.dialer.vicidial_adapt``) and ``progressive`` (one call per ready agent, the
reference that never abandons). It prints one Markdown table row per cell with abandon
rate, occupancy (talk / logged-in time) and contacts per agent-hour, and whether the goal
holds: abandon <= 3 % and occupancy above VICIdial's in the same cell, for every seed
(figures are means over the seeds, with the worst abandon rate in brackets).

Runs are spread over the machine's cores (``--jobs``); each run is a separate seeded
simulation, so the figures do not depend on the order or the number of workers.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from statistics import mean

from hotline.dialer.simulation import DialerResult, DialerScenario, simulate

AGENTS = (5, 20, 100)
ANSWER_RATES = (0.15, 0.30, 0.60)
MODES = ("predictive", "vicidial-adaptive", "progressive")
DEFAULTS = DialerScenario()


def say(line: str) -> None:
    """Benchmarks report on stdout (bench/run-all collects it)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def run(job: tuple[DialerScenario, str]) -> tuple[DialerResult, float]:
    scenario, mode = job
    started = time.perf_counter()
    result = simulate(scenario, mode)
    return result, time.perf_counter() - started


def percent(value: float) -> str:
    return f"{100.0 * value:.2f} %"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=120.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--agents", type=int, nargs="+", default=list(AGENTS))
    parser.add_argument("--answer-rates", type=float, nargs="+", default=list(ANSWER_RATES))
    parser.add_argument("--talk-seconds", type=float, default=DEFAULTS.talk_seconds)
    parser.add_argument("--wrap-seconds", type=float, default=DEFAULTS.wrap_seconds)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    base = DialerScenario(
        minutes=args.minutes, talk_seconds=args.talk_seconds, wrap_seconds=args.wrap_seconds
    )
    jobs = [
        (replace(base, agents=agents, answer_rate=rate, seed=seed), mode)
        for agents in args.agents
        for rate in args.answer_rates
        for seed in args.seeds
        for mode in MODES
    ]
    say(
        f"dialer pacing grid: {args.minutes:g} simulated minutes per run, seeds {args.seeds}, "
        f"talk {base.talk_seconds:g} s (cv {base.talk_cv:g}), wrap-up {base.wrap_seconds:g} s, "
        f"answered ring {base.ring_seconds:g} s, no-answer timeout {base.no_answer_timeout:g} s, "
        f"abandoned = no agent within {base.connect_deadline:g} s, cap "
        f"{percent(base.abandon_target)}"
    )
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        outcomes = list(pool.map(run, jobs))
    results = {
        (r.scenario.agents, r.scenario.answer_rate, r.scenario.seed, r.mode): r for r, _ in outcomes
    }
    cpu = sum(seconds for _, seconds in outcomes)

    say("")
    say(
        "| agents | answer rate | abandon: ours (worst) / VICIdial (worst) / progressive "
        "| occupancy: ours / VICIdial / progressive "
        "| contacts per agent-hour: ours / VICIdial / progressive | goal |"
    )
    say("|---|---|---|---|---|---|")
    met = 0
    cells = 0
    for agents in args.agents:
        for rate in args.answer_rates:
            runs = {m: [results[(agents, rate, seed, m)] for seed in args.seeds] for m in MODES}
            ours, theirs, reference = (runs[m] for m in MODES)
            wins = sum(
                o.abandon_rate <= base.abandon_target and o.occupancy > t.occupancy
                for o, t in zip(ours, theirs, strict=True)
            )
            cells += 1
            met += wins == len(args.seeds)
            misses = []
            over = sum(o.abandon_rate > base.abandon_target for o in ours)
            if over:
                misses.append(f"abandon over the cap in {over} of {len(ours)} seeds")
            below = sum(o.occupancy <= t.occupancy for o, t in zip(ours, theirs, strict=True))
            if below:
                misses.append(f"occupancy not above VICIdial's in {below} of {len(ours)} seeds")
            abandon = (
                " / ".join(
                    f"{percent(mean(rates))} ({percent(max(rates))})"
                    for rates in ([r.abandon_rate for r in rs] for rs in (ours, theirs))
                )
                + f" / {percent(mean(r.abandon_rate for r in reference))}"
            )
            occupancy = " / ".join(
                f"{mean(r.occupancy for r in rs):.3f}" for rs in (ours, theirs, reference)
            )
            contacts = " / ".join(
                f"{mean(r.contacts_per_agent_hour for r in rs):.1f}"
                for rs in (ours, theirs, reference)
            )
            verdict = "met" if not misses else "MISSED: " + "; ".join(misses)
            say(
                f"| {agents} | {percent(rate)} | {abandon} | {occupancy} | {contacts} | {verdict} |"
            )
    say("")
    say(
        f"goal met in {met} of {cells} cells; {len(jobs)} runs, {cpu:.0f} s of CPU, "
        f"{time.perf_counter() - started:.0f} s wall on {args.jobs} workers"
    )


if __name__ == "__main__":
    main()
