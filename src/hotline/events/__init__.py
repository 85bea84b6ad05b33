"""Typed events (frozen dataclasses) and the bus that carries them: in-process by
default, Redis Streams or NATS for a cluster. Everything that happens to a call, a queue
or an agent is an event here; dashboards, CDRs and webhooks subscribe instead of polling.
Imports only the stdlib so that every layer may depend on it.
"""

from hotline.events.base import Event
from hotline.events.bus import EventBus, Subscription, SubscriptionClosedError

__all__ = ["Event", "EventBus", "Subscription", "SubscriptionClosedError"]
