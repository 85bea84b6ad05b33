"""Automatic call distribution as a pure core: queues, agents, skills, the agent state
machine, routing strategies, overflow, callbacks, wrap-up and live queue statistics.

It takes events with ``now`` and returns decisions; it never touches SIP or RTP. Policy
lives here, side effects in ``hotline.calls``.
"""
