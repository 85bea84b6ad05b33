"""Errors the ACD raises when its caller breaks the rules.

The ACD is driven by other layers (calls/, the agent desktop through api/); an error here
always means the caller asked for something impossible, never that a peer misbehaved. Races
between the phone network and the ACD (an answer arriving after the caller hung up) are not
errors: they are ignored and reported as :class:`hotline.acd.events.InputIgnored`.
"""

from __future__ import annotations


class AcdError(ValueError):
    """The caller asked for something the configuration or the agent's state forbids."""
