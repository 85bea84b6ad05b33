"""A discrete-event simulation that drives the real ACD on a simulated clock.

Poisson arrivals, exponential handle times, ``agents`` identical agents who answer at once
and need no wrap-up: the M/M/c queue of Erlang C. If the ACD routes correctly (never leaves
an agent idle while a contact waits, never loses or double-books one), the measured
probability of waiting and service level converge to the formulas in
:mod:`hotline.acd.erlang`. It exercises the ACD's own timers and statistics, not a model of
them, which is the point: the simulation is a test of the routing core.

It also serves staffing "what if" questions, so it lives in the package rather than in the
test suite. Runs are reproducible from their seed.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass

from hotline.acd.config import AgentProfile, QueueConfig
from hotline.acd.distributor import Acd
from hotline.acd.events import ContactConnected, ContactOffered
from hotline.events import Event

QUEUE = "simulated"


@dataclass(frozen=True, slots=True)
class SimulationResult:
    contacts: int
    probability_of_waiting: float
    service_level: float
    average_speed_of_answer: float
    #: Standard errors from batch means (successive contacts are correlated, so the
    #: binomial formula would understate them).
    probability_of_waiting_error: float
    service_level_error: float
    #: Service level as the ACD's live statistics computed it over the whole run.
    acd_service_level: float | None


def _batch_error(samples: list[float], batches: int = 10) -> float:
    size = len(samples) // batches
    if size < 2:
        return math.inf
    means = [sum(samples[i * size : (i + 1) * size]) / size for i in range(batches)]
    mean = sum(means) / batches
    variance = sum((m - mean) ** 2 for m in means) / (batches - 1)
    return math.sqrt(variance / batches)


def simulate(
    *,
    arrivals_per_second: float,
    handle_seconds: float,
    agents: int,
    contacts: int,
    threshold_seconds: float = 20.0,
    warmup: int = 1000,
    seed: int = 1,
    strategy: str = "longest-idle",
) -> SimulationResult:
    """Run ``warmup + contacts`` arrivals and measure the last ``contacts`` of them."""
    rng = random.Random(seed)
    acd = Acd(seed=seed)
    acd.configure_queue(
        QueueConfig(
            name=QUEUE,
            strategy=strategy,
            ring_timeout=3600.0,
            service_level_seconds=threshold_seconds,
        )
    )
    for index in range(agents):
        agent_id = f"agent-{index}"
        acd.add_agent(AgentProfile(agent_id=agent_id, queues={QUEUE: 0}))
        acd.agent_login(0.0, agent_id)

    total = warmup + contacts
    arrived_at: dict[str, float] = {}
    number: dict[str, int] = {}
    waits: dict[int, float] = {}
    #: (time, order, contact id) of the calls that will end.
    hang_ups: list[tuple[float, int, str]] = []
    order = 0
    next_arrival = rng.expovariate(arrivals_per_second)
    arrivals = 0

    def settle(now: float, events: list[Event]) -> None:
        """Agents answer every offer at once; answered calls get a handle time."""
        nonlocal order
        pending = list(events)
        while pending:
            event = pending.pop(0)
            if isinstance(event, ContactOffered):
                pending.extend(acd.offer_answered(now, event.contact_id, event.agent_id))
            elif isinstance(event, ContactConnected):
                waits[number[event.contact_id]] = now - arrived_at[event.contact_id]
                order += 1
                end = now + rng.expovariate(1.0 / handle_seconds)
                heapq.heappush(hang_ups, (end, order, event.contact_id))

    while arrivals < total or hang_ups:
        timer = acd.next_timer()
        candidates = [next_arrival if arrivals < total else math.inf]
        candidates.append(hang_ups[0][0] if hang_ups else math.inf)
        candidates.append(timer if timer is not None else math.inf)
        now = min(candidates)
        if now == math.inf:
            break
        if timer is not None and timer <= now:
            settle(now, acd.handle_timer(now))
        elif hang_ups and hang_ups[0][0] <= now:
            _, _, contact_id = heapq.heappop(hang_ups)
            settle(now, acd.contact_ended(now, contact_id))
        else:
            contact_id = f"contact-{arrivals}"
            arrived_at[contact_id] = now
            number[contact_id] = arrivals
            arrivals += 1
            next_arrival = now + rng.expovariate(arrivals_per_second)
            settle(now, acd.contact_arrived(now, contact_id, QUEUE))

    measured = [waits[i] for i in range(warmup, total)]
    waited = [1.0 if wait > 0 else 0.0 for wait in measured]
    within = [1.0 if wait <= threshold_seconds else 0.0 for wait in measured]
    count = len(measured)
    return SimulationResult(
        contacts=count,
        probability_of_waiting=sum(waited) / count,
        service_level=sum(within) / count,
        average_speed_of_answer=sum(measured) / count,
        probability_of_waiting_error=_batch_error(waited),
        service_level_error=_batch_error(within),
        acd_service_level=acd.queue_statistics(QUEUE, now).service_level,
    )
