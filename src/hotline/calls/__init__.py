"""The B2BUA call model: one ``Call`` (``call.py``) for every kind of call, with its legs,
bridges and mixes, carrier trunks (load balancing, failover, health), codec negotiation,
hold, transfer, consultation, conference, supervision and recording.

It acts on decisions taken elsewhere (IVR, ACD, dialer) and reports everything that happens
to a call as an event on the bus.
"""
