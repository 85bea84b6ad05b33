"""Each strategy, with agents whose history makes the expected choice unambiguous."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

import pytest

from hotline.acd import AcdError, QueueConfig, SkillRequirement
from hotline.acd.strategies import (
    RoutingRequest,
    Strategy,
    create,
    register,
    strategy_names,
)

from .support import agent, build, busy, offers


@dataclass
class Fake:
    agent_id: str
    idle_since: float = 0.0
    talk_seconds: float = 0.0
    skill_levels: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)

    def calls_answered_in(self, queue: str) -> int:
        return self.calls.get(queue, 0)


def request(*agents: Fake, requirements: tuple[SkillRequirement, ...] = ()) -> RoutingRequest:
    return RoutingRequest(
        queue="q",
        requirements=requirements,
        positions={a.agent_id: index for index, a in enumerate(agents)},
    )


def choose(name: str, agents: list[Fake], req: RoutingRequest, seed: int = 0) -> str:
    return create(name).choose(agents, req, random.Random(seed)).agent_id


def test_every_strategy_of_the_issue_is_registered() -> None:
    assert set(strategy_names()) >= {
        "longest-idle",
        "round-robin",
        "fewest-calls",
        "least-talk-time",
        "ring-all",
        "linear",
        "random",
        "weighted-random",
        "skills-best-match",
    }


def test_every_strategy_documents_itself_in_one_line() -> None:
    for name in strategy_names():
        doc = type(create(name)).__doc__
        assert doc is not None
        assert "\n" not in doc.strip(), name


def test_unknown_strategy_is_refused_with_the_known_ones() -> None:
    with pytest.raises(AcdError, match="longest-idle"):
        create("best-vibes")
    with pytest.raises(AcdError, match="unknown strategy"):
        build([QueueConfig(name="q", strategy="best-vibes")], [])


def test_register_refuses_a_duplicate_name() -> None:
    class Another(Strategy):
        """Duplicate."""

        name = "linear"

        def choose(self, candidates, request, rng):
            return candidates[0]

    with pytest.raises(AcdError, match="already registered"):
        register(Another)


def test_longest_idle() -> None:
    agents = [Fake("a", idle_since=50.0), Fake("b", idle_since=10.0), Fake("c", idle_since=30.0)]
    assert choose("longest-idle", agents, request(*agents)) == "b"


def test_ties_break_by_agent_id_whatever_the_order() -> None:
    agents = [Fake("z"), Fake("m"), Fake("b")]
    for name in ("longest-idle", "fewest-calls", "least-talk-time", "skills-best-match"):
        assert choose(name, agents, request(*agents)) == "b", name
        assert choose(name, agents[::-1], request(*agents)) == "b", name


def test_round_robin_remembers_and_wraps() -> None:
    agents = [Fake("a"), Fake("b"), Fake("c")]
    req = request(*agents)
    strategy = create("round-robin")
    rng = random.Random(0)
    picks = [strategy.choose(agents, req, rng).agent_id for _ in range(4)]
    assert picks == ["a", "b", "c", "a"]
    # b is busy: after a comes c, then a again.
    picks = [strategy.choose([agents[0], agents[2]], req, rng).agent_id for _ in range(2)]
    assert picks == ["c", "a"]


def test_round_robin_memory_is_per_queue() -> None:
    members = {"sales": 0, "hr": 0}
    acd = build(
        [
            QueueConfig(name="sales", strategy="round-robin"),
            QueueConfig(name="hr", strategy="round-robin"),
        ],
        [agent("a1", members), agent("a2", members), agent("a3", members)],
    )
    busy(acd, 0.0, "a1", "s1")
    acd.contact_ended(1.0, "s1")
    busy(acd, 2.0, "a2", "s2")  # sales remembers a1 went last
    acd.contact_ended(3.0, "s2")
    # hr has its own memory: it starts at its first member.
    assert offers(acd.contact_arrived(4.0, "h1", "hr")) == [("h1", "a1")]


def test_fewest_calls_counts_this_queue_only() -> None:
    agents = [Fake("a", calls={"q": 5, "other": 0}), Fake("b", calls={"q": 2, "other": 9})]
    assert choose("fewest-calls", agents, request(*agents)) == "b"


def test_least_talk_time() -> None:
    agents = [Fake("a", talk_seconds=600.0), Fake("b", talk_seconds=900.0)]
    assert choose("least-talk-time", agents, request(*agents)) == "a"


def test_linear_always_hunts_from_the_top() -> None:
    agents = [Fake("top", idle_since=99.0), Fake("second", idle_since=0.0)]
    req = request(*agents)
    for _ in range(3):
        assert choose("linear", agents, req) == "top"
    assert choose("linear", agents[1:], req) == "second"


def test_ring_all_is_marked_to_ring_everyone() -> None:
    assert create("ring-all").rings_all
    assert not any(create(n).rings_all for n in strategy_names() if n != "ring-all")


def test_random_is_uniform_and_reproducible() -> None:
    agents = [Fake("a"), Fake("b"), Fake("c"), Fake("d")]
    req = request(*agents)
    strategy = create("random")
    rng = random.Random(7)
    counts = Counter(strategy.choose(agents, req, rng).agent_id for _ in range(4000))
    assert set(counts) == {"a", "b", "c", "d"}
    assert all(850 < n < 1150 for n in counts.values()), counts
    assert choose("random", agents, req, seed=3) == choose("random", agents[::-1], req, seed=3)


def test_weighted_random_follows_skill_levels() -> None:
    needs = (SkillRequirement("zh"),)
    agents = [Fake("low", skill_levels={"zh": 1}), Fake("high", skill_levels={"zh": 9})]
    req = request(*agents, requirements=needs)
    strategy = create("weighted-random")
    rng = random.Random(11)
    counts = Counter(strategy.choose(agents, req, rng).agent_id for _ in range(5000))
    # Expected share of "high" is 9/10.
    assert 0.88 < counts["high"] / 5000 < 0.92, counts


def test_skills_best_match_sums_levels_of_the_needed_skills_only() -> None:
    needs = (SkillRequirement("zh"), SkillRequirement("vip"))
    agents = [
        Fake("specialist", skill_levels={"zh": 10, "vip": 1, "cooking": 10}),
        Fake("all-rounder", skill_levels={"zh": 6, "vip": 6}),
    ]
    assert choose("skills-best-match", agents, request(*agents, requirements=needs)) == (
        "all-rounder"
    )


def test_strategies_drive_real_routing() -> None:
    queues = [QueueConfig(name="sales", strategy="least-talk-time")]
    acd = build(queues, [agent("a1"), agent("a2")])
    busy(acd, 0.0, "a1", "c1")
    acd.contact_ended(100.0, "c1")  # a1 talked 100 s
    busy(acd, 101.0, "a2", "c2")
    acd.contact_ended(111.0, "c2")  # a2 talked 10 s, and has been idle less long
    assert offers(acd.contact_arrived(200.0, "c3", "sales")) == [("c3", "a2")]
