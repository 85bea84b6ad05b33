"""Typed events (frozen dataclasses) and the bus that carries them: in-process by
default, Redis Streams or NATS for a cluster. Everything that happens to a call, a queue
or an agent is an event here; dashboards, CDRs and webhooks subscribe instead of polling.
Imports only the stdlib so that every layer may depend on it.

Only the ``Event`` base is exported here: pure cores (sip/, media/, acd/) import this
package, and must not pull in the bus, which runs on asyncio (``hotline.events.bus``).
"""

from hotline.events.base import Event

__all__ = ["Event"]
