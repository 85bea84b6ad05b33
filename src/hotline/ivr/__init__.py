"""Declarative IVR flows (YAML, versioned) and their interpreter: play, menu, digit and
speech input, HTTP look-ups, business hours, surveys, hand-off to a queue or voicemail.
It drives calls only through an interface, so flows are testable without telephony.
"""
