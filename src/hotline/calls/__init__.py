"""The B2BUA call model: calls and their legs, bridges, carrier trunks (load balancing,
failover, health), codec negotiation, hold, transfer and recording start/stop.

It acts on decisions taken elsewhere (IVR, ACD) and reports everything that happens to a
call as an event on the bus.
"""
