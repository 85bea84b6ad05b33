"""The built-in media engine: one worker process per core, calls sharded over them.

Measured on this machine class, one Python process relays at most ~70k packets/s with uvloop;
a thousand bridged calls are ~100k packets/s each way, so the work must be spread over every
core. Each worker is a separate process running its own uvloop loop with its endpoints,
recorders and one 20 ms timer; the node talks to it over a pipe with pickled command
dataclasses (``hotline.media.engine``). All endpoints of a call live in the same worker
(sharded by call id), so bridging and recording never cross processes.

The package is split by duty, and its modules import each other in one direction only
(``core`` <- ``local``; ``core``, ``channel`` <- ``process`` <- ``pool``):

- ``core``: ``WorkerCore``, one shard's endpoints, bridges, recordings, conferences and
  captures, and its 20 ms tick (``WorkerConfig`` configures it);
- ``local``: ``LocalMediaEngine``, one core in the node's own loop (demo, tests);
- ``channel``: the node-worker pipe, its framing and message conventions;
- ``process``: a worker process's entry point and the serving of its pipe;
- ``pool``: ``MediaWorkerPool``, the node's side: spawning, sharding, routing, replacing.

Import the engine from here; the modules are its parts.
"""

from hotline.transport.media_worker.core import WorkerConfig, WorkerCore
from hotline.transport.media_worker.local import LocalMediaEngine
from hotline.transport.media_worker.pool import MediaWorkerPool

__all__ = ["LocalMediaEngine", "MediaWorkerPool", "WorkerConfig", "WorkerCore"]
