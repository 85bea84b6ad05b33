"""Long runs of the ACD simulation against Erlang C (the unit test runs short ones).

Usage: ``.venv/bin/python bench/acd_sim.py [--contacts N] [--seeds K]``. For each case it
prints the measured probability of waiting and service level (mean over seeds, with the
batch-means standard error) next to the Erlang C figures.
"""

from __future__ import annotations

import argparse
import math
import sys

from hotline.acd import erlang
from hotline.acd.simulation import simulate

# (label, arrivals per second, handle seconds, agents)
CASES = [
    ("10 Erl (200/h x 3 min), 11 agents", 10 / 180, 180.0, 11),
    ("10 Erl (200/h x 3 min), 12 agents", 10 / 180, 180.0, 12),
    ("10 Erl (200/h x 3 min), 14 agents", 10 / 180, 180.0, 14),
    ("30 Erl (10/min x 3 min), 33 agents", 10 / 60, 180.0, 33),
    ("30 Erl (10/min x 3 min), 35 agents", 10 / 60, 180.0, 35),
]


def say(line: str) -> None:
    """Benchmarks report on stdout (bench/run-all collects it)."""
    sys.stdout.write(line + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description="ACD simulation vs Erlang C")
    parser.add_argument("--contacts", type=int, default=60_000)
    parser.add_argument("--seeds", type=int, default=2)
    args = parser.parse_args()
    say(f"simulation: {args.contacts} measured contacts x {args.seeds} seeds per case, T=20 s")
    say(f"{'case':<36} {'P(wait) sim':>14} {'ErlangC':>8} {'SL20 sim':>14} {'formula':>8}")
    for label, rate, handle, agents in CASES:
        runs = [
            simulate(
                arrivals_per_second=rate,
                handle_seconds=handle,
                agents=agents,
                contacts=args.contacts,
                seed=seed,
            )
            for seed in range(1, args.seeds + 1)
        ]
        wait = sum(r.probability_of_waiting for r in runs) / len(runs)
        level = sum(r.service_level for r in runs) / len(runs)
        wait_error = math.sqrt(sum(r.probability_of_waiting_error**2 for r in runs)) / len(runs)
        level_error = math.sqrt(sum(r.service_level_error**2 for r in runs)) / len(runs)
        traffic = rate * handle
        say(
            f"{label:<36} {wait:>7.4f}±{wait_error:.4f} {erlang.erlang_c(traffic, agents):>8.4f}"
            f" {level:>7.4f}±{level_error:.4f}"
            f" {erlang.service_level(traffic, agents, handle, 20.0):>8.4f}"
        )


if __name__ == "__main__":
    main()
