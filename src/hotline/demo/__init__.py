"""The demo hotline: its configuration and the stand-in for a customer's order system.

Only the composition root imports this package, and only in demo mode: nothing a
production node runs depends on it.
"""
