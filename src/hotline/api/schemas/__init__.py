"""Request and response bodies of the REST API, one module per resource.

A route module's bodies are in the module of the same name (``routes/live.py`` →
``schemas/live.py``); the configuration resources served by the generic ``routes/config.py``
each have the module of their URL name (``/trunk-groups`` → ``schemas/trunk_groups.py``).
What they all build on, and the rules every body follows (bounded strings without control
characters, 32-bit ids, PATCH bodies derived from create bodies), is in ``base.py``.
Import from the resource's module: this package re-exports nothing.
"""
