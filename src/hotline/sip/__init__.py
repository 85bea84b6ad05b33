"""SIP signalling as sans-IO code: messages, URIs, SDP, digest authentication,
transactions (RFC 3261 §17), dialogs and registrar bindings.

Nothing here does I/O or reads the clock: callers pass bytes and ``now`` and get back
events, bytes to send and the next timer. That keeps the stack testable with an explicit
clock and lets the same code run under any transport adapter. Imports only the stdlib.
"""
