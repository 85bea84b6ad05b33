"""The live node's directory: queues, agents, inbound routes, calendars, IVR flows, phone
accounts and trunks, read from the store and applied to the running node.

The database is the one source of configuration: the admin console and the API write it,
and a node builds its ACD, router and flow catalog from it at start and again whenever the
configuration changes (``ConfigurationChanged`` on the bus), without dropping calls.
Agents' phone accounts and carrier trunks follow the same reloads (the registrar's
credentials and the trunk service), on top of what settings bootstrap: on a name clash the
settings' account, trunk or group wins and the clash is a problem.

Loading never stops a node: a row that cannot be used is left out and reported in
``Directory.problems``, which the node logs; everything else is applied.

The modules, each importing only those before it:

- :mod:`~hotline.services.directory.model`: the values a loaded directory is made of
  (``Directory``, ``FlowPilot``) and what settings add (``Bootstrap``);
- :mod:`~hotline.services.directory.builder`: stored rows to those values, collecting
  problems instead of raising (pure, no database);
- :mod:`~hotline.services.directory.loader`: ``load_directory``, the one read transaction;
- :mod:`~hotline.services.directory.live`: ``LiveDirectory``, which applies a directory to
  the running contact centre and reloads on configuration changes.
"""
