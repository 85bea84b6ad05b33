"""Routing throughput and decision latency of the ACD at call-centre scale.

500 agents, 50 queues, 1000 waiting contacts (issue 5). Every agent is a member of three
queues at mixed member priorities; queues require a language at a minimum level and one
contact in five also needs VIP handling, so an agent often has to look past contacts it may
not take. Two workloads, each call timed on its own:

* saturated: every agent busy, 1000 contacts waiting. A call ends (the agent picks the best
  contact across its queues), the agent answers, a new contact arrives and has to wait.
* idle agents: half the agents available; a contact arrives and is routed among the
  eligible available agents by its queue's strategy, then answered and ended.

A "decision" is one ACD input that routes (or decides nobody can be routed). Prints one line
per measure; the goal is p99 < 1 ms.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import time

from hotline.acd import Acd, AgentProfile, QueueConfig, SkillRequirement
from hotline.acd.events import ContactOffered
from hotline.acd.strategies import strategy_names
from hotline.events import Event

LANGUAGES = ("zh", "en", "yue")


def say(line: str) -> None:
    """Benchmarks report on stdout (bench/run-all collects it)."""
    sys.stdout.write(line + "\n")


def build(agents: int, queues: int, seed: int) -> tuple[Acd, list[str]]:
    rng = random.Random(seed)
    acd = Acd(seed=seed)
    names = [f"q{i}" for i in range(queues)]
    plain = [name for name in strategy_names() if name != "ring-all"]
    for index, name in enumerate(names):
        acd.configure_queue(
            QueueConfig(
                name=name,
                strategy=plain[index % len(plain)],
                required_skills=(SkillRequirement(LANGUAGES[index % 3], 3),),
                ring_timeout=30.0,
            )
        )
    for index in range(agents):
        member_of = rng.sample(range(queues), 3)
        skills = {LANGUAGES[q % 3]: rng.randint(3, 10) for q in member_of}
        if rng.random() < 0.5:
            skills["vip"] = rng.randint(1, 10)
        acd.add_agent(
            AgentProfile(
                agent_id=f"a{index}",
                skills=skills,
                queues={names[q]: rng.randint(0, 2) for q in member_of},
            )
        )
        acd.agent_login(0.0, f"a{index}")
    return acd, names


def needs(rng: random.Random) -> tuple[SkillRequirement, ...]:
    return (SkillRequirement("vip", 1),) if rng.random() < 0.2 else ()


def percentile(samples: list[int], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1000.0


def report(label: str, samples: list[int]) -> None:
    total_seconds = sum(samples) / 1e9
    say(
        f"{label:<38} n={len(samples):>6}  decisions/s={len(samples) / total_seconds:>9.0f}"
        f"  p50={percentile(samples, 0.50):7.1f} us  p99={percentile(samples, 0.99):7.1f} us"
        f"  max={max(samples) / 1000.0:8.1f} us  mean={statistics.fmean(samples) / 1000:6.1f} us"
    )


def answer_all(acd: Acd, now: float, events: list[Event], connected: list[str]) -> None:
    for event in events:
        if isinstance(event, ContactOffered):
            acd.offer_answered(now, event.contact_id, event.agent_id)
            connected.append(event.contact_id)


def saturated(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    acd, names = build(args.agents, args.queues, args.seed)
    now = 1.0
    serial = 0
    connected: list[str] = []
    waiting_target = args.waiting
    # Fill: every agent on a call, then `waiting` contacts in line.
    while sum(len(acd.waiting_contacts(name)) for name in names) < waiting_target:
        now += 0.01
        events = acd.contact_arrived(now, f"c{serial}", rng.choice(names), needs=needs(rng))
        serial += 1
        answer_all(acd, now, events, connected)
    waiting = sum(len(acd.waiting_contacts(name)) for name in names)
    say(
        f"saturated: {args.agents} agents, {args.queues} queues, {waiting} waiting contacts,"
        f" {len(connected)} on calls"
    )
    freed: list[int] = []
    arrivals: list[int] = []
    offered = 0
    clock = time.perf_counter_ns
    for _ in range(args.rounds):
        now += 0.01
        contact_id = connected.pop(rng.randrange(len(connected)))
        start = clock()
        events = acd.contact_ended(now, contact_id)
        freed.append(clock() - start)
        offers = [e for e in events if isinstance(e, ContactOffered)]
        offered += len(offers)
        answer_all(acd, now, offers, connected)
        queue = rng.choice(names)
        start = clock()
        events = acd.contact_arrived(now, f"c{serial}", queue, needs=needs(rng))
        arrivals.append(clock() - start)
        serial += 1
        answer_all(acd, now, events, connected)
    waiting = sum(len(acd.waiting_contacts(name)) for name in names)
    say(f"  {offered}/{args.rounds} freed agents found a contact; {waiting} still waiting")
    report("  agent frees -> best contact", freed)
    report("  contact arrives, all agents busy", arrivals)
    report("  all routing decisions", freed + arrivals)


def idle_agents(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed + 1)
    acd, names = build(args.agents, args.queues, args.seed + 1)
    now = 1.0
    connected: list[str] = []
    # Half the agents on break, the rest available.
    agents = [f"a{i}" for i in range(args.agents)]
    for agent_id in rng.sample(agents, args.agents // 2):
        acd.agent_break(now, agent_id, "training")
    arrivals: list[int] = []
    routed = 0
    clock = time.perf_counter_ns
    for serial in range(args.rounds):
        now += 0.01
        start = clock()
        events = acd.contact_arrived(now, f"c{serial}", rng.choice(names), needs=needs(rng))
        arrivals.append(clock() - start)
        before = len(connected)
        answer_all(acd, now, events, connected)
        routed += len(connected) - before
        if len(connected) > 20:
            ended = connected.pop(0)
            acd.contact_ended(now, ended)
        for name in names:  # keep the line empty: this workload measures routing to agents
            for contact_id in acd.waiting_contacts(name):
                acd.contact_abandoned(now, contact_id)
    say(
        f"idle agents: {args.agents // 2} available of {args.agents}, {args.queues} queues;"
        f" {routed}/{args.rounds} arrivals routed at once"
    )
    report("  contact arrives -> strategy picks agent", arrivals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--queues", type=int, default=50)
    parser.add_argument("--waiting", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    say(f"python {platform.python_version()} on {platform.machine()}")
    saturated(args)
    idle_agents(args)


if __name__ == "__main__":
    main()
