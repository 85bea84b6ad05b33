"""Erlang C: the textbook M/M/c model of a queue, for staffing and for checking the ACD.

The simulation (``hotline.acd.simulation``) drives the real ACD with Poisson arrivals and
exponential handle times and compares what it measures with these formulas; a planner can
also use them to size a team. Erlang B is computed by its stable recurrence and Erlang C
derived from it, which avoids the factorials and powers that overflow for large teams.
"""

from __future__ import annotations

import math


def erlang_b(traffic: float, agents: int) -> float:
    """Blocking probability with ``agents`` servers and ``traffic`` Erlangs, no queue."""
    if agents < 0 or traffic < 0:
        raise ValueError("agents and traffic must not be negative")
    blocking = 1.0
    for servers in range(1, agents + 1):
        blocking = traffic * blocking / (servers + traffic * blocking)
    return blocking


def erlang_c(traffic: float, agents: int) -> float:
    """Probability that a contact waits (all agents busy on arrival).

    1 when the traffic reaches the number of agents: the queue then grows without bound.
    """
    if agents <= traffic:
        return 1.0
    blocking = erlang_b(traffic, agents)
    return agents * blocking / (agents - traffic * (1.0 - blocking))


def service_level(
    traffic: float, agents: int, handle_seconds: float, threshold_seconds: float
) -> float:
    """Fraction of contacts answered within ``threshold_seconds``."""
    if agents <= traffic:
        return 0.0
    waiting = erlang_c(traffic, agents)
    return 1.0 - waiting * math.exp(-(agents - traffic) * threshold_seconds / handle_seconds)


def average_speed_of_answer(traffic: float, agents: int, handle_seconds: float) -> float:
    """Mean wait over all contacts (those that do not wait count as 0)."""
    if agents <= traffic:
        return math.inf
    return erlang_c(traffic, agents) * handle_seconds / (agents - traffic)


def agents_for_service_level(
    traffic: float, handle_seconds: float, threshold_seconds: float, target: float
) -> int:
    """The fewest agents that reach ``target`` service level."""
    agents = max(1, math.floor(traffic) + 1)
    while service_level(traffic, agents, handle_seconds, threshold_seconds) < target:
        agents += 1
    return agents
